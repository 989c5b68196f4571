/* Tests of the SRT listener with in-process libsrt callers on loopback: admission decisions
 * and their reject codes (malformed id, read mode, unknown key, missing/wrong passphrase,
 * connection limit, busy stream under the reject policy), publishing a TS made by ffmpeg until
 * the stream's packager holds complete segments, statistics, the handshake timeout, non-TS
 * input, takeover of a stale publisher, and detaching on disconnect and on server destroy. */
#include <arpa/inet.h>
#include <srt/srt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stream.h"
#include "ingest/ingest.h"
#include "packager/packager.h"
#include "testlib.h"

#define KEY_DEMO "demo-key-7731"
#define KEY_SEC "secure-key-0420"
#define PASS "correct-horse-battery"

static uint8_t *ts_data;
static size_t ts_len;

typedef struct {
    gv_config_t *cfg;
    gv_registry_t *reg;
    gv_srt_server_t *srv;
    int port;
} env_t;

static int env_start(env_t *e, const char *extra)
{
    char yaml[2048], err[256];
    snprintf(yaml, sizeof(yaml),
             "srt: { listen: \"127.0.0.1:0\", latency_ms: 40, handshake_timeout_ms: 800, "
             "peer_idle_timeout_ms: 2000, max_connections: 3, stats_interval_ms: 1000 }\n"
             "hls: { part_target_ms: 200, segment_target_ms: 500, window_segments: 5 }\n"
             "%s"
             "streams:\n"
             "  - { name: demo, key: \"" KEY_DEMO "\" }\n"
             "  - { name: sec, key: \"" KEY_SEC "\", passphrase: \"" PASS "\" }\n"
             "  - { name: third, key: \"third-key-9\" }\n",
             extra);
    memset(e, 0, sizeof(*e));
    if (gv_config_parse("test.yaml", yaml, strlen(yaml), &e->cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return -1;
    }
    e->reg = gv_registry_create(e->cfg);
    e->srv = e->reg ? gv_srt_server_create(e->cfg, e->reg) : NULL;
    e->port = gv_srt_server_port(e->srv);
    return e->srv && e->port > 0 ? 0 : -1;
}

static void env_stop(env_t *e)
{
    gv_srt_server_destroy(e->srv);
    gv_registry_destroy(e->reg);
    gv_config_free(e->cfg);
}

/* Connects a caller; returns the socket, or SRT_INVALID_SOCK with *reason set. */
static SRTSOCKET caller(int port, const char *sid, const char *pass, int *reason)
{
    SRTSOCKET s = srt_create_socket();
    int live = SRTT_LIVE, tmo = 3000, lat = 40;
    srt_setsockflag(s, SRTO_TRANSTYPE, &live, sizeof(live));
    srt_setsockflag(s, SRTO_CONNTIMEO, &tmo, sizeof(tmo));
    srt_setsockflag(s, SRTO_LATENCY, &lat, sizeof(lat));
    if (sid)
        srt_setsockflag(s, SRTO_STREAMID, sid, (int)strlen(sid));
    if (pass)
        srt_setsockflag(s, SRTO_PASSPHRASE, pass, (int)strlen(pass));
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (srt_connect(s, (struct sockaddr *)&sa, sizeof(sa)) == SRT_ERROR) {
        *reason = srt_getrejectreason(s);
        srt_close(s);
        return SRT_INVALID_SOCK;
    }
    *reason = 0;
    return s;
}

/* Sends the TS in 1316-byte payloads, about 8x faster than real time. */
static int send_ts(SRTSOCKET s, const uint8_t *p, size_t n)
{
    for (size_t pos = 0; pos < n; pos += 1316) {
        size_t k = n - pos < 1316 ? n - pos : 1316;
        if (srt_sendmsg(s, (const char *)p + pos, (int)k, -1, 1) == SRT_ERROR)
            return -1;
        usleep(400);
    }
    return 0;
}

static bool wait_for(bool (*pred)(void *), void *arg, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        if (pred(arg))
            return true;
        usleep(20 * 1000);
    }
    return pred(arg);
}

static bool is_live(void *s)
{
    return gv_stream_is_live(s);
}

static bool not_live(void *s)
{
    return !gv_stream_is_live(s);
}

static bool has_segment(void *s)
{
    gv_pkg_state_t st;
    gv_pkg_state(gv_stream_packager(s), &st);
    return st.has_segment && st.last_msn >= 1;
}

static bool sock_broken(void *p)
{
    SRT_SOCKSTATUS st = srt_getsockstate(*(SRTSOCKET *)p);
    return st == SRTS_BROKEN || st == SRTS_CLOSED || st == SRTS_NONEXIST;
}

static void test_reject_codes(void)
{
    env_t e;
    GV_CHECK(env_start(&e, "") == 0);
    if (!e.srv)
        return;
    int reason;
    GV_CHECK(caller(e.port, "#!::r=live/nope,m=publish", NULL, &reason) == SRT_INVALID_SOCK);
    GV_CHECK_INT(reason, 1403);
    GV_CHECK(caller(e.port, "#!::r=live/" KEY_DEMO ",m=request", NULL, &reason) ==
             SRT_INVALID_SOCK);
    GV_CHECK_INT(reason, 1405);
    GV_CHECK(caller(e.port, "#!::m=publish", NULL, &reason) == SRT_INVALID_SOCK);
    GV_CHECK_INT(reason, 1400);
    GV_CHECK(caller(e.port, NULL, NULL, &reason) == SRT_INVALID_SOCK);
    GV_CHECK_INT(reason, 1400);
    /* Passphrase-protected stream: none, wrong, then right. */
    GV_CHECK(caller(e.port, "live/" KEY_SEC, NULL, &reason) == SRT_INVALID_SOCK);
    GV_CHECK(caller(e.port, "live/" KEY_SEC, "wrong-passphrase-1", &reason) == SRT_INVALID_SOCK);
    GV_CHECK(reason == SRT_REJ_BADSECRET || reason == SRT_REJ_UNSECURE);
    gv_stream_t *sec = gv_registry_find_by_name(e.reg, "sec");
    GV_CHECK(!gv_stream_is_live(sec));
    SRTSOCKET ok = caller(e.port, KEY_SEC, PASS, &reason);
    GV_CHECK(ok != SRT_INVALID_SOCK);
    GV_CHECK(wait_for(is_live, sec, 2000));
    /* A passphrase on a stream that has none is refused too. */
    GV_CHECK(caller(e.port, KEY_DEMO, PASS, &reason) == SRT_INVALID_SOCK);
    srt_close(ok);
    GV_CHECK(wait_for(not_live, sec, 3000));
    env_stop(&e);
}

static void test_publish(void)
{
    env_t e;
    GV_CHECK(env_start(&e, "") == 0);
    if (!e.srv || !ts_data)
        return;
    gv_stream_t *demo = gv_registry_find_by_name(e.reg, "demo");
    int reason;
    SRTSOCKET s = caller(e.port, "#!::u=tester,r=live/" KEY_DEMO ",m=publish", NULL, &reason);
    GV_CHECK(s != SRT_INVALID_SOCK);
    if (s == SRT_INVALID_SOCK) {
        env_stop(&e);
        return;
    }
    GV_CHECK(wait_for(is_live, demo, 2000));
    GV_CHECK_INT(send_ts(s, ts_data, ts_len), 0);
    GV_CHECK(wait_for(has_segment, demo, 5000));
    usleep(1200 * 1000); /* let a stats refresh happen */
    gv_srt_stats_t st[4];
    size_t n = gv_srt_server_stats(e.srv, st, 4);
    GV_CHECK_INT(n, 1);
    if (n == 1) {
        GV_CHECK_STR(st[0].stream, "demo");
        GV_CHECK(st[0].pkt_recv >= (int64_t)(ts_len / 1316));
        GV_CHECK(st[0].bytes_recv >= (int64_t)ts_len);
        GV_CHECK(strncmp(st[0].peer, "127.0.0.1:", 10) == 0);
    }
    srt_close(s);
    GV_CHECK(wait_for(not_live, demo, 3000));
    GV_CHECK_INT(gv_srt_server_stats(e.srv, st, 4), 0);
    /* Bare key form, then destroy the server while publishing: the stream is detached. */
    s = caller(e.port, KEY_DEMO, NULL, &reason);
    GV_CHECK(s != SRT_INVALID_SOCK);
    GV_CHECK(wait_for(is_live, demo, 2000));
    gv_srt_server_destroy(e.srv);
    e.srv = NULL;
    GV_CHECK(!gv_stream_is_live(demo));
    srt_close(s);
    env_stop(&e);
}

static void test_timeouts_and_garbage(void)
{
    env_t e;
    GV_CHECK(env_start(&e, "") == 0);
    if (!e.srv)
        return;
    gv_stream_t *demo = gv_registry_find_by_name(e.reg, "demo");
    int reason;
    /* Sends nothing: closed after handshake_timeout_ms (800 ms). */
    SRTSOCKET s = caller(e.port, "live/" KEY_DEMO, NULL, &reason);
    GV_CHECK(s != SRT_INVALID_SOCK);
    GV_CHECK(wait_for(is_live, demo, 1000));
    GV_CHECK(wait_for(not_live, demo, 3000));
    GV_CHECK(wait_for(sock_broken, &s, 5000));
    srt_close(s);
    /* Sends bytes that are not MPEG-TS: closed. */
    s = caller(e.port, "live/" KEY_DEMO, NULL, &reason);
    GV_CHECK(s != SRT_INVALID_SOCK);
    uint8_t junk[1316];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 31 + 7);
    for (int i = 0; i < 64 && s != SRT_INVALID_SOCK; i++) {
        srt_sendmsg(s, (const char *)junk, sizeof(junk), -1, 1);
        usleep(2000);
    }
    GV_CHECK(wait_for(not_live, demo, 3000));
    srt_close(s);
    env_stop(&e);
}

static void test_limits_and_duplicates(void)
{
    env_t e;
    GV_CHECK(env_start(&e, "ingest: { on_duplicate: reject }\n") == 0);
    if (!e.srv)
        return;
    int reason;
    SRTSOCKET a = caller(e.port, "live/" KEY_DEMO, NULL, &reason);
    GV_CHECK(a != SRT_INVALID_SOCK);
    GV_CHECK(wait_for(is_live, gv_registry_find_by_name(e.reg, "demo"), 2000));
    GV_CHECK(caller(e.port, "live/" KEY_DEMO, NULL, &reason) == SRT_INVALID_SOCK);
    GV_CHECK_INT(reason, 1409);
    SRTSOCKET b = caller(e.port, "live/" KEY_SEC, PASS, &reason);
    GV_CHECK(b != SRT_INVALID_SOCK);
    env_stop(&e);
    srt_close(a);
    srt_close(b);

    /* Connection limit (3), with takeover-stale (stale_ms 300) letting a newcomer replace a
     * silent publisher. */
    GV_CHECK(env_start(&e, "ingest: { on_duplicate: takeover-stale, stale_ms: 300 }\n") == 0);
    if (!e.srv)
        return;
    gv_stream_t *demo = gv_registry_find_by_name(e.reg, "demo");
    a = caller(e.port, "live/" KEY_DEMO, NULL, &reason);
    GV_CHECK(a != SRT_INVALID_SOCK);
    GV_CHECK(wait_for(is_live, demo, 2000));
    usleep(400 * 1000);
    b = caller(e.port, "live/" KEY_DEMO, NULL, &reason);
    GV_CHECK(b != SRT_INVALID_SOCK);
    GV_CHECK(wait_for(sock_broken, &a, 3000)); /* the stale one is kicked and closed */
    GV_CHECK(gv_stream_is_live(demo));
    /* b sends media, so it stays fresh: a newcomer is refused (closed right after accept,
     * since only the reject policy can be answered before accept). */
    GV_CHECK_INT(send_ts(b, ts_data, ts_len / 3), 0);
    SRTSOCKET c = caller(e.port, "live/" KEY_DEMO, NULL, &reason);
    usleep(1300 * 1000);
    gv_srt_stats_t st[4];
    GV_CHECK_INT(gv_srt_server_stats(e.srv, st, 4), 1);
    struct sockaddr_in bs;
    int bl = sizeof(bs);
    srt_getsockname(b, (struct sockaddr *)&bs, &bl);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%d", ntohs(bs.sin_port));
    GV_CHECK_STR(st[0].peer, want);
    GV_CHECK(gv_stream_is_live(demo));
    env_stop(&e);
    srt_close(a);
    srt_close(b);
    if (c != SRT_INVALID_SOCK)
        srt_close(c);
}

static void test_connection_limit(void)
{
    env_t e;
    GV_CHECK(env_start(&e, "ingest: { on_duplicate: takeover }\n") == 0);
    if (!e.srv)
        return;
    int reason;
    SRTSOCKET s[3];
    s[0] = caller(e.port, "live/" KEY_DEMO, NULL, &reason);
    s[1] = caller(e.port, "live/" KEY_SEC, PASS, &reason);
    s[2] = caller(e.port, "live/third-key-9", NULL, &reason);
    GV_CHECK(s[0] != SRT_INVALID_SOCK && s[1] != SRT_INVALID_SOCK && s[2] != SRT_INVALID_SOCK);
    usleep(200 * 1000);
    /* max_connections is 3: a fourth is refused before accept, even though the takeover
     * policy would otherwise let it in. */
    GV_CHECK(caller(e.port, "live/" KEY_DEMO, NULL, &reason) == SRT_INVALID_SOCK);
    GV_CHECK_INT(reason, 1402);
    srt_close(s[2]);
    gv_stream_t *third = gv_registry_find_by_name(e.reg, "third");
    GV_CHECK(wait_for(not_live, third, 3000));
    usleep(100 * 1000);
    SRTSOCKET again = caller(e.port, "live/third-key-9", NULL, &reason);
    GV_CHECK(again != SRT_INVALID_SOCK);
    env_stop(&e);
    srt_close(s[0]);
    srt_close(s[1]);
    if (again != SRT_INVALID_SOCK)
        srt_close(again);
}

static void setup(void)
{
    srt_startup();
    gv_log_set_level(getenv("GV_TEST_VERBOSE") ? GV_LOG_DEBUG : GV_LOG_WARN);
    char path[] = "/tmp/gv-test-srt-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "
             "testsrc2=size=320x240:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 "
             "-t 3 -c:v libx264 -preset ultrafast -g 15 -c:a aac -f mpegts %s",
             path);
    if (system(cmd) == 0) {
        FILE *f = fopen(path, "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            ts_len = (size_t)ftell(f);
            fseek(f, 0, SEEK_SET);
            ts_data = malloc(ts_len);
            if (fread(ts_data, 1, ts_len, f) != ts_len)
                ts_len = 0;
            fclose(f);
        }
    }
    unlink(path);
    GV_CHECK(ts_data != NULL && ts_len > 0);
}

static void teardown(void)
{
    free(ts_data);
    srt_cleanup();
}

GV_TEST_MAIN(GV_TEST(setup), GV_TEST(test_reject_codes), GV_TEST(test_publish),
             GV_TEST(test_timeouts_and_garbage), GV_TEST(test_limits_and_duplicates),
             GV_TEST(test_connection_limit), GV_TEST(teardown))
