/* Unit tests for the LL-HLS query directive parser: valid forms, every documented error, and
 * garbage/truncated input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "packager/hls_query.h"
#include "testlib.h"

static int parse(const char *q, gv_hls_query_t *out, char *err)
{
    return gv_hls_query_parse(q, out, err, 64);
}

static void test_empty(void)
{
    gv_hls_query_t q;
    char err[64];
    GV_CHECK_INT(parse(NULL, &q, err), 0);
    GV_CHECK_INT(q.msn, -1);
    GV_CHECK_INT(q.part, -1);
    GV_CHECK_INT(q.skip, GV_SKIP_NONE);
    GV_CHECK_INT(parse("", &q, err), 0);
    GV_CHECK_INT(q.msn, -1);
    GV_CHECK_INT(parse("&&&", &q, err), 0);
    GV_CHECK_INT(parse("foo=bar&x", &q, err), 0);
    GV_CHECK_INT(q.msn, -1);
}

static void test_valid(void)
{
    gv_hls_query_t q;
    char err[64];
    GV_CHECK_INT(parse("_HLS_msn=12", &q, err), 0);
    GV_CHECK_INT(q.msn, 12);
    GV_CHECK_INT(q.part, -1);
    GV_CHECK_INT(parse("_HLS_msn=12&_HLS_part=3", &q, err), 0);
    GV_CHECK_INT(q.msn, 12);
    GV_CHECK_INT(q.part, 3);
    GV_CHECK_INT(parse("_HLS_part=0&_HLS_skip=YES&_HLS_msn=0", &q, err), 0);
    GV_CHECK_INT(q.msn, 0);
    GV_CHECK_INT(q.part, 0);
    GV_CHECK_INT(q.skip, GV_SKIP_YES);
    GV_CHECK_INT(parse("a=1&_HLS_skip=v2&b", &q, err), 0);
    GV_CHECK_INT(q.skip, GV_SKIP_V2);
    GV_CHECK_INT(q.msn, -1);
    GV_CHECK_INT(parse("_HLS_msn=9007199254740992", &q, err), 0);
    GV_CHECK_INT(q.msn, (int64_t)1 << 53);
    GV_CHECK_INT(parse("_HLS_msn=007", &q, err), 0);
    GV_CHECK_INT(q.msn, 7);
    /* Similar-looking names are not directives. */
    GV_CHECK_INT(parse("_HLS_msnx=1&_hls_msn=2&HLS_msn=3", &q, err), 0);
    GV_CHECK_INT(q.msn, -1);
}

static void expect_fail(const char *query, const char *reason)
{
    gv_hls_query_t q;
    char err[64] = "unset";
    int rc = parse(query, &q, err);
    GV_CHECK_INT(rc, GV_EINVAL);
    if (reason)
        GV_CHECK_STR(err, reason);
    GV_CHECK_INT(q.msn, -1);
    GV_CHECK_INT(q.part, -1);
}

static void test_errors(void)
{
    expect_fail("_HLS_part=1", "_HLS_part without _HLS_msn");
    expect_fail("_HLS_skip=YES&_HLS_part=1", "_HLS_part without _HLS_msn");
    expect_fail("_HLS_msn=", "bad _HLS_msn");
    expect_fail("_HLS_msn", "bad _HLS_msn");
    expect_fail("_HLS_msn=-1", "bad _HLS_msn");
    expect_fail("_HLS_msn=+1", "bad _HLS_msn");
    expect_fail("_HLS_msn=1x", "bad _HLS_msn");
    expect_fail("_HLS_msn=0x10", "bad _HLS_msn");
    expect_fail("_HLS_msn= 1", "bad _HLS_msn");
    expect_fail("_HLS_msn=1.0", "bad _HLS_msn");
    expect_fail("_HLS_msn=9007199254740993", "bad _HLS_msn");
    expect_fail("_HLS_msn=99999999999999999999999", "bad _HLS_msn");
    expect_fail("_HLS_msn=1&_HLS_part=", "bad _HLS_part");
    expect_fail("_HLS_msn=1&_HLS_part=-2", "bad _HLS_part");
    expect_fail("_HLS_msn=1&_HLS_msn=2", "duplicate _HLS_msn");
    expect_fail("_HLS_msn=1&_HLS_part=1&_HLS_part=1", "duplicate _HLS_part");
    expect_fail("_HLS_skip=yes", "bad _HLS_skip");
    expect_fail("_HLS_skip=V2", "bad _HLS_skip");
    expect_fail("_HLS_skip=", "bad _HLS_skip");
    expect_fail("_HLS_skip", "bad _HLS_skip");
    expect_fail("_HLS_skip=YES&_HLS_skip=YES", "duplicate _HLS_skip");
    /* A tiny error buffer is truncated, never overrun. */
    gv_hls_query_t q;
    char small[4] = {'x', 'x', 'x', 'x'};
    GV_CHECK_INT(gv_hls_query_parse("_HLS_part=1", &q, small, sizeof(small)), GV_EINVAL);
    GV_CHECK(small[3] == '\0');
    GV_CHECK_INT(gv_hls_query_parse("_HLS_part=1", &q, NULL, 0), GV_EINVAL);
    GV_CHECK_INT(gv_hls_query_parse("", NULL, NULL, 0), GV_EINVAL);
}

static void test_truncations_and_garbage(void)
{
    const char *full = "_HLS_msn=123&_HLS_part=4&_HLS_skip=v2";
    size_t n = strlen(full);
    char buf[64];
    for (size_t i = 0; i <= n; i++) {
        memcpy(buf, full, i);
        buf[i] = '\0';
        gv_hls_query_t q;
        char err[64];
        int rc = parse(buf, &q, err);
        GV_CHECK(rc == 0 || rc == GV_EINVAL);
        if (rc == 0) {
            GV_CHECK(q.msn >= -1 && q.part >= -1);
            GV_CHECK(q.part < 0 || q.msn >= 0);
        }
    }
    /* Deterministic pseudo-random garbage, including NUL-free bytes of every value. */
    uint32_t seed = 12345;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(iter % 60);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            static const char alpha[] = "_HLS_msnpartkiYESv2=&0123456789-+ \x80\xff%";
            buf[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
        }
        buf[len] = '\0';
        gv_hls_query_t q;
        char err[64];
        int rc = parse(buf, &q, err);
        GV_CHECK(rc == 0 || rc == GV_EINVAL);
        if (rc == GV_EINVAL)
            GV_CHECK(err[0] != '\0');
    }
    /* An oversized query is refused rather than scanned without bound. */
    char *big = malloc(10000);
    if (big) {
        memset(big, 'a', 9999);
        big[9999] = '\0';
        gv_hls_query_t q;
        char err[64];
        GV_CHECK_INT(parse(big, &q, err), GV_EINVAL);
        free(big);
    }
}

GV_TEST_MAIN(GV_TEST(test_empty), GV_TEST(test_valid), GV_TEST(test_errors),
             GV_TEST(test_truncations_and_garbage))
