/* Unit tests for the SRT stream id parser: every accepted form, key order, modes, users, the
 * limits, and malformed input (truncations of valid ids at every offset never crash and never
 * yield a key that was not in the input). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ingest/srt_streamid.h"
#include "testlib.h"

static int parse(const char *s, gv_srt_streamid_t *o)
{
    return gv_srt_streamid_parse(s, strlen(s), o);
}

static void test_access_control_forms(void)
{
    gv_srt_streamid_t o;
    GV_CHECK_INT(parse("#!::r=live/abc123,m=publish", &o), 0);
    GV_CHECK_STR(o.key, "abc123");
    GV_CHECK_INT(o.mode, GV_SRT_MODE_PUBLISH);
    GV_CHECK_STR(o.user, "");

    GV_CHECK_INT(parse("#!::m=publish,u=seller7,r=live/k-ey_9", &o), 0);
    GV_CHECK_STR(o.key, "k-ey_9");
    GV_CHECK_STR(o.user, "seller7");

    GV_CHECK_INT(parse("#!::r=bare.key", &o), 0);
    GV_CHECK_STR(o.key, "bare.key");
    GV_CHECK_INT(o.mode, GV_SRT_MODE_PUBLISH); /* absent m is publish */

    GV_CHECK_INT(parse("#!::u=x,h=example.com,s=sess1,t=stream,r=live/K,m=publish,xyz=1", &o), 0);
    GV_CHECK_STR(o.key, "K");
    GV_CHECK_STR(o.user, "x");

    /* A key may hold '=' (split at the first one) and spaces. */
    GV_CHECK_INT(parse("#!::r=a=b c", &o), 0);
    GV_CHECK_STR(o.key, "a=b c");
}

static void test_modes(void)
{
    gv_srt_streamid_t o;
    GV_CHECK_INT(parse("#!::r=live/k,m=request", &o), 0);
    GV_CHECK_INT(o.mode, GV_SRT_MODE_REQUEST);
    GV_CHECK_INT(parse("#!::m=bidirectional,r=k", &o), 0);
    GV_CHECK_INT(o.mode, GV_SRT_MODE_BIDIR);
    GV_CHECK_INT(parse("#!::r=k,m=play", &o), GV_EPROTO);
    GV_CHECK_INT(parse("#!::r=k,m=", &o), GV_EPROTO);
    GV_CHECK_STR(gv_srt_mode_name(GV_SRT_MODE_REQUEST), "request");
    GV_CHECK_STR(gv_srt_mode_name(GV_SRT_MODE_PUBLISH), "publish");
}

static void test_plain_forms(void)
{
    gv_srt_streamid_t o;
    GV_CHECK_INT(parse("live/s3cret", &o), 0);
    GV_CHECK_STR(o.key, "s3cret");
    GV_CHECK_INT(o.mode, GV_SRT_MODE_PUBLISH);
    GV_CHECK_INT(parse("s3cret", &o), 0);
    GV_CHECK_STR(o.key, "s3cret");
    GV_CHECK_INT(parse("live", &o), 0); /* no slash: the key is "live" */
    GV_CHECK_STR(o.key, "live");
    GV_CHECK_INT(parse("live/", &o), GV_EPROTO);
    GV_CHECK_INT(parse("app/key", &o), GV_EPROTO);
    GV_CHECK_INT(parse("live/a/b", &o), GV_EPROTO);
    GV_CHECK_INT(parse("key?x=1", &o), GV_EPROTO);
    GV_CHECK_INT(parse("#key", &o), GV_EPROTO);
    GV_CHECK_INT(parse("", &o), GV_EPROTO);
}

static void test_malformed(void)
{
    gv_srt_streamid_t o;
    const char *bad[] = {
        "#!::",              /* nothing */
        "#!::m=publish",     /* no r */
        "#!::r=",            /* empty resource */
        "#!::r=live/",       /* empty key */
        "#!::r=k,",          /* empty trailing item */
        "#!::,r=k",          /* empty leading item */
        "#!::r=k,,m=publish",
        "#!::r",             /* no '=' */
        "#!::=k",            /* empty key name */
        "#!::r=a,r=b",       /* duplicate r */
        "#!::r=a,m=publish,m=publish",
        "#!::r=a,u=x,u=y",
        "#!::r=a,t=file",    /* only t=stream is served */
        "#!::r=a,t=stream,t=stream",
        "#!::r=live/a/b",
        "#!::r=x#y",
        "#!::r=x?y",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse(bad[i], &o);
        if (rc != GV_EPROTO)
            fprintf(stderr, "accepted or wrong code %d for '%s'\n", rc, bad[i]);
        GV_CHECK_INT(rc, GV_EPROTO);
        GV_CHECK_STR(o.key, ""); /* nothing half-filled on failure */
    }
    /* Control characters and non-ASCII bytes anywhere. */
    const char ctl[] = {'#', '!', ':', ':', 'r', '=', 'a', '\n', 'b'};
    GV_CHECK_INT(gv_srt_streamid_parse(ctl, sizeof(ctl), &o), GV_EPROTO);
    const char nul[] = {'k', '\0', 'x'};
    GV_CHECK_INT(gv_srt_streamid_parse(nul, sizeof(nul), &o), GV_EPROTO);
    const char hi[] = {'k', (char)0xc3, (char)0xa9};
    GV_CHECK_INT(gv_srt_streamid_parse(hi, sizeof(hi), &o), GV_EPROTO);
    GV_CHECK_INT(gv_srt_streamid_parse(NULL, 0, &o), GV_EINVAL);
    GV_CHECK_INT(gv_srt_streamid_parse("k", 1, NULL), GV_EINVAL);
}

static void test_limits(void)
{
    gv_srt_streamid_t o;
    char buf[GV_SRT_STREAMID_MAX + 2];
    /* Key of exactly 256 characters is fine; 257 is too big. */
    memset(buf, 'k', GV_SRT_KEY_MAX + 1);
    GV_CHECK_INT(gv_srt_streamid_parse(buf, GV_SRT_KEY_MAX, &o), 0);
    GV_CHECK_INT(strlen(o.key), GV_SRT_KEY_MAX);
    GV_CHECK_INT(gv_srt_streamid_parse(buf, GV_SRT_KEY_MAX + 1, &o), GV_ETOOBIG);
    /* User of 64 fine, 65 too big. */
    int n = snprintf(buf, sizeof(buf), "#!::r=k,u=%064d", 0);
    GV_CHECK_INT(gv_srt_streamid_parse(buf, (size_t)n, &o), 0);
    n = snprintf(buf, sizeof(buf), "#!::r=k,u=%065d", 0);
    GV_CHECK_INT(gv_srt_streamid_parse(buf, (size_t)n, &o), GV_ETOOBIG);
    /* The whole id is bounded. */
    memset(buf, 'a', sizeof(buf));
    GV_CHECK_INT(gv_srt_streamid_parse(buf, GV_SRT_STREAMID_MAX + 1, &o), GV_ETOOBIG);
    /* Length is honoured: bytes past len are not read as part of the id. */
    GV_CHECK_INT(gv_srt_streamid_parse("live/abcdef", 7, &o), 0);
    GV_CHECK_STR(o.key, "ab");
}

static void test_truncations(void)
{
    const char *ids[] = {"#!::r=live/secretkey,m=publish,u=bob", "#!::u=bob,m=request,r=k2",
                         "live/secretkey"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        size_t len = strlen(ids[i]);
        for (size_t cut = 0; cut <= len; cut++) {
            char *copy = malloc(cut ? cut : 1); /* exact-size copy so ASan sees over-reads */
            memcpy(copy, ids[i], cut);
            gv_srt_streamid_t o;
            int rc = gv_srt_streamid_parse(copy, cut, &o);
            GV_CHECK(rc == 0 || rc == GV_EPROTO);
            if (rc == 0) {
                GV_CHECK(o.key[0] != '\0');
                GV_CHECK(memmem(copy, cut, o.key, strlen(o.key)) != NULL);
            }
            free(copy);
        }
    }
}

static void test_random_bytes(void)
{
    unsigned seed = 12345;
    for (int iter = 0; iter < 20000; iter++) {
        char buf[64];
        size_t n = (size_t)(rand_r(&seed) % 64);
        for (size_t i = 0; i < n; i++) {
            const char alpha[] = "#!:=,/rmuthlive?abc\x01\x7f ";
            buf[i] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
        }
        gv_srt_streamid_t o;
        int rc = gv_srt_streamid_parse(buf, n, &o);
        GV_CHECK(rc == 0 || rc == GV_EPROTO || rc == GV_ETOOBIG);
        if (rc == 0)
            GV_CHECK(strlen(o.key) >= 1 && strlen(o.key) <= GV_SRT_KEY_MAX);
    }
}

GV_TEST_MAIN(GV_TEST(test_access_control_forms), GV_TEST(test_modes), GV_TEST(test_plain_forms),
             GV_TEST(test_malformed), GV_TEST(test_limits), GV_TEST(test_truncations),
             GV_TEST(test_random_bytes))
