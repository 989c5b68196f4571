/* Unit tests for the YAML config loader: defaults, every error class with its exact
 * "file:line:col: key: message" position, and listen-address parsing. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "testlib.h"

static int parse(const char *text, gv_config_t **cfg, char *err, size_t errlen)
{
    return gv_config_parse("t.yaml", text, strlen(text), cfg, err, errlen);
}

static void expect_error(const char *text, const char *want_prefix)
{
    gv_config_t *cfg = NULL;
    char err[512];
    int rc = parse(text, &cfg, err, sizeof(err));
    GV_CHECK_INT(rc, GV_ECONFIG);
    GV_CHECK(cfg == NULL);
    if (strncmp(err, want_prefix, strlen(want_prefix)) != 0) {
        fprintf(stderr, "error \"%s\" does not start with \"%s\"\n", err, want_prefix);
        gv_test_failures++;
    }
}

static void test_minimal_and_defaults(void)
{
    gv_config_t *cfg = NULL;
    char err[512];
    GV_CHECK_INT(parse("streams:\n  - name: demo\n    key: s3cret\n", &cfg, err, sizeof(err)), 0);
    if (!cfg)
        return;
    GV_CHECK_INT(cfg->n_streams, 1);
    GV_CHECK_STR(cfg->streams[0].name, "demo");
    GV_CHECK_STR(cfg->streams[0].key, "s3cret");
    GV_CHECK_INT(cfg->hls.part_target_ms, 200);
    GV_CHECK_INT(cfg->hls.segment_target_ms, 2000);
    GV_CHECK_INT(cfg->hls.window_segments, 7);
    GV_CHECK_INT(cfg->http.listen.port, 8080);
    GV_CHECK(!cfg->rtmp.enabled);
    GV_CHECK_INT(cfg->ingest.on_duplicate, GV_DUP_TAKEOVER_STALE);
    GV_CHECK_STR(cfg->log.level, "info");
    GV_CHECK_STR(cfg->http.cors_origin, "*");
    gv_config_free(cfg);
}

static void test_full(void)
{
    const char *doc = "http:    { listen: \"127.0.0.1:18080\" }\n"
                      "rtmp:    { listen: \"0.0.0.0:11935\", max_message_bytes: 2000000 }\n"
                      "hls:     { part_target_ms: 250, segment_target_ms: 3000, "
                      "window_segments: 5 }\n"
                      "ingest:  { on_duplicate: reject, stale_ms: 500 }\n"
                      "log:     { level: debug }\n"
                      "streams:\n"
                      "  - name: a\n    key: \"k1\"\n"
                      "  - name: b-2\n    key: k2\n    passphrase: \"0123456789\"\n";
    gv_config_t *cfg = NULL;
    char err[512];
    GV_CHECK_INT(parse(doc, &cfg, err, sizeof(err)), 0);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    GV_CHECK_STR(cfg->http.listen.host, "127.0.0.1");
    GV_CHECK_INT(cfg->http.listen.port, 18080);
    GV_CHECK(cfg->rtmp.enabled);
    GV_CHECK_INT(cfg->rtmp.listen.port, 11935);
    GV_CHECK_INT(cfg->rtmp.max_message_bytes, 2000000);
    GV_CHECK_INT(cfg->hls.part_target_ms, 250);
    GV_CHECK_INT(cfg->hls.window_segments, 5);
    GV_CHECK_INT(cfg->ingest.on_duplicate, GV_DUP_REJECT);
    GV_CHECK_INT(cfg->n_streams, 2);
    GV_CHECK_STR(cfg->streams[1].passphrase, "0123456789");
    GV_CHECK_INT(cfg->streams[1].line, 9);
    gv_config_free(cfg);
}

static void test_errors(void)
{
    const char *s = "streams:\n  - name: demo\n    key: k\n";
    char buf[512];
    snprintf(buf, sizeof(buf), "hls: { part_targt_ms: 200 }\n%s", s);
    expect_error(buf, "t.yaml:1:8: hls.part_targt_ms: unknown key");
    snprintf(buf, sizeof(buf), "hls:\n  part_target_ms: fast\n%s", s);
    expect_error(buf, "t.yaml:2:19: hls.part_target_ms: expected an integer");
    snprintf(buf, sizeof(buf), "hls:\n  part_target_ms: \"200\"\n%s", s);
    expect_error(buf, "t.yaml:2:19: hls.part_target_ms: expected an integer, got a string");
    snprintf(buf, sizeof(buf), "hls:\n  window_segments: 1\n%s", s);
    expect_error(buf, "t.yaml:2:20: hls.window_segments: 1 is out of range [3, 100]");
    snprintf(buf, sizeof(buf), "hls:\n  part_target_ms: 1500\n%s", s);
    expect_error(buf, "t.yaml:2:3: hls.segment_target_ms: must be at least twice");
    snprintf(buf, sizeof(buf), "bogus: 1\n%s", s);
    expect_error(buf, "t.yaml:1:1: bogus: unknown section");
    snprintf(buf, sizeof(buf), "http: { listen: \"nohost:99999\" }\n%s", s);
    expect_error(buf, "t.yaml:1:17: http.listen: expected \"host:port\"");
    snprintf(buf, sizeof(buf), "http: [1, 2]\n%s", s);
    expect_error(buf, "t.yaml:1:7: http: expected a mapping");
    expect_error("streams:\n  - name: a\n    key: k\n  - name: a\n    key: j\n",
                 "t.yaml:4:5: streams[1]: duplicate stream name \"a\" (first declared on line 2)");
    expect_error("streams:\n  - name: a\n    key: k\n  - name: b\n    key: k\n",
                 "t.yaml:4:5: streams[1]: duplicate publish key (also used by stream \"a\")");
    expect_error("streams:\n  - name: a\n", "t.yaml:2:5: streams[0]: missing required key \"key\"");
    expect_error("streams:\n  - name: \"a/b\"\n    key: k\n", "t.yaml:2:11: streams[0].name:");
    expect_error("streams:\n  - name: a\n    key: \"a b\"\n", "t.yaml:3:10: streams[0].key:");
    expect_error("streams:\n  - name: a\n    key: k\n    passphrase: short\n",
                 "t.yaml:4:17: streams[0].passphrase:");
    expect_error("streams:\n  - name: a\n    key: k\n    colour: red\n",
                 "t.yaml:4:5: streams[0].colour: unknown key");
    expect_error("http: {}\n", "t.yaml:1:1: streams: at least one stream is required");
    expect_error("streams: [\n", "t.yaml:");
    expect_error("", "t.yaml:1:1: (document): the file is empty");
    expect_error("ingest: { on_duplicate: maybe }\nstreams: [{name: a, key: k}]\n",
                 "t.yaml:1:25: ingest.on_duplicate: expected takeover-stale, takeover or reject");
}

static void test_overlay_and_api(void)
{
    const char *doc = "api: { token: \"change-me-please\" }\n"
                      "streams:\n"
                      "  - name: a\n    key: k1\n"
                      "    overlay: { enabled: true, position: top-right, margin: 0 }\n"
                      "  - name: b\n    key: k2\n";
    gv_config_t *cfg = NULL;
    char err[512];
    GV_CHECK_INT(parse(doc, &cfg, err, sizeof(err)), 0);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    GV_CHECK_STR(cfg->api.token, "change-me-please");
    GV_CHECK(cfg->streams[0].overlay.enabled);
    GV_CHECK_STR(cfg->streams[0].overlay.position, "top-right");
    GV_CHECK_INT(cfg->streams[0].overlay.margin, 0);
    GV_CHECK_INT(cfg->streams[0].overlay.card_width, 640);
    GV_CHECK(!cfg->streams[1].overlay.enabled);
    GV_CHECK_INT(cfg->streams[1].overlay.margin, 24);
    GV_CHECK_STR(cfg->streams[1].overlay.accent_color, "#FFC400");
    GV_CHECK_INT(cfg->streams[1].overlay.decode_nice, 10);
    gv_config_free(cfg);
    expect_error("streams:\n  - name: a\n    key: k\n    overlay: { enabled: maybe }\n",
                 "t.yaml:4:25: streams[0].overlay.enabled: expected true or false");
    expect_error("streams:\n  - name: a\n    key: k\n    overlay: { accent_color: red }\n",
                 "t.yaml:4:30: streams[0].overlay.accent_color: expected a colour");
    expect_error("streams:\n  - name: a\n    key: k\n    overlay: { decode_nice: 20 }\n",
                 "t.yaml:4:29: streams[0].overlay.decode_nice: 20 is out of range [0, 19]");
    expect_error("streams:\n  - name: a\n    key: k\n    overlay: { size: 3 }\n",
                 "t.yaml:4:16: streams[0].overlay.size: unknown key");
    expect_error("api: { token: short }\nstreams: [{name: a, key: k}]\n",
                 "t.yaml:1:15: api.token: length 5 is out of range [8, 256]");
}

static void test_listen_parse(void)
{
    gv_listen_t l;
    GV_CHECK_INT(gv_listen_parse("127.0.0.1:80", &l), 0);
    GV_CHECK_STR(l.host, "127.0.0.1");
    GV_CHECK_INT(l.port, 80);
    GV_CHECK_INT(gv_listen_parse(":1935", &l), 0);
    GV_CHECK_STR(l.host, "0.0.0.0");
    GV_CHECK_INT(gv_listen_parse("[::1]:8080", &l), 0);
    GV_CHECK_STR(l.host, "::1");
    GV_CHECK_INT(gv_listen_parse("9000", &l), 0);
    GV_CHECK_INT(l.port, 9000);
    GV_CHECK_INT(gv_listen_parse("host:", &l), GV_EINVAL);
    GV_CHECK_INT(gv_listen_parse("host:-1", &l), GV_EINVAL);
    GV_CHECK_INT(gv_listen_parse("[::1:80", &l), GV_EINVAL);
}

static void test_missing_file(void)
{
    gv_config_t *cfg = NULL;
    char err[512];
    GV_CHECK_INT(gv_config_load("/nonexistent/gavel.yaml", &cfg, err, sizeof(err)), GV_EIO);
    GV_CHECK(strstr(err, "/nonexistent/gavel.yaml:1:1:") == err);
}

GV_TEST_MAIN(GV_TEST(test_minimal_and_defaults), GV_TEST(test_full), GV_TEST(test_errors),
             GV_TEST(test_listen_parse), GV_TEST(test_missing_file), GV_TEST(test_overlay_and_api))
