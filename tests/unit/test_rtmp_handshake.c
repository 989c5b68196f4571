/* Unit tests for the RTMP handshake responder: plain (S2 echoes C1), digest at both offsets
 * (S1 carries a server digest, S2 the signature derived from C1's digest), fallback to plain
 * when a C1 announcing a version has no valid digest, and version checks on C0. */
#include <string.h>

#include "core/error.h"
#include "ingest/rtmp_handshake.h"
#include "testlib.h"

static uint8_t c0c1[GV_RTMP_HS_C0C1_SIZE];
static uint8_t rnd[GV_RTMP_HS_RANDOM_SIZE];
static uint8_t out[GV_RTMP_HS_S0S1S2_SIZE];

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static void test_plain(void)
{
    fill(c0c1, sizeof(c0c1), 1);
    fill(rnd, sizeof(rnd), 2);
    c0c1[0] = 3;
    memset(c0c1 + 1, 0, 8); /* time 0, zero version: a plain client */
    bool digest = true;
    GV_CHECK_INT(gv_rtmp_handshake_respond(c0c1, rnd, 1234, out, &digest), 0);
    GV_CHECK(!digest);
    GV_CHECK_INT(out[0], 3);
    GV_CHECK(out[1] == 0 && out[2] == 0 && out[3] == 0x04 && out[4] == 0xd2); /* time 1234 */
    GV_CHECK(out[5] == 0 && out[6] == 0 && out[7] == 0 && out[8] == 0);
    GV_CHECK(memcmp(out + 9, rnd, GV_RTMP_HS_SIZE - 8) == 0);
    GV_CHECK(memcmp(out + 1 + GV_RTMP_HS_SIZE, c0c1 + 1, GV_RTMP_HS_SIZE) == 0);
    GV_CHECK_INT(gv_rtmp_handshake_check_c2(out + 1), 0);
}

static void check_digest(size_t base)
{
    fill(c0c1, sizeof(c0c1), (unsigned)base);
    fill(rnd, sizeof(rnd), 3);
    c0c1[0] = 3;
    uint8_t *c1 = c0c1 + 1;
    c1[4] = 9; /* client version 9.0.124.2 */
    c1[5] = 0;
    c1[6] = 124;
    c1[7] = 2;
    int pos = gv_rtmp_handshake_imprint(c1, base, false);
    GV_CHECK(pos >= (int)base + 4 && pos < (int)base + 4 + 728);
    GV_CHECK_INT(gv_rtmp_handshake_find_digest(c1, false), pos);
    GV_CHECK_INT(gv_rtmp_handshake_find_digest(c1, true), -1); /* wrong key */

    bool digest = false;
    GV_CHECK_INT(gv_rtmp_handshake_respond(c0c1, rnd, 0, out, &digest), 0);
    GV_CHECK(digest);
    const uint8_t *s1 = out + 1, *s2 = out + 1 + GV_RTMP_HS_SIZE;
    int spos = gv_rtmp_handshake_find_digest(s1, true);
    GV_CHECK(spos >= 0);
    /* The server digest uses the same scheme (area) as the client's. */
    GV_CHECK((spos >= 772) == (base == 772));
    GV_CHECK(s1[4] != 0); /* a non-zero server version announces the digest scheme */
    GV_CHECK(gv_rtmp_handshake_check_s2(s2, c1));
    /* Any change to S2 breaks the signature. */
    uint8_t s2copy[GV_RTMP_HS_SIZE];
    memcpy(s2copy, s2, sizeof(s2copy));
    s2copy[100] ^= 1;
    GV_CHECK(!gv_rtmp_handshake_check_s2(s2copy, c1));
}

static void test_digest(void)
{
    check_digest(772);
    check_digest(8);
}

static void test_fallback_to_plain(void)
{
    fill(c0c1, sizeof(c0c1), 77);
    c0c1[0] = 3;
    c0c1[5] = 9; /* a version is announced but no digest is present */
    bool digest = true;
    GV_CHECK_INT(gv_rtmp_handshake_respond(c0c1, rnd, 0, out, &digest), 0);
    GV_CHECK(!digest);
    GV_CHECK(memcmp(out + 1 + GV_RTMP_HS_SIZE, c0c1 + 1, GV_RTMP_HS_SIZE) == 0);
}

static void test_versions(void)
{
    bool digest;
    c0c1[0] = 6;
    GV_CHECK_INT(gv_rtmp_handshake_respond(c0c1, rnd, 0, out, &digest), GV_EUNSUPP);
    const uint8_t bad[] = {0, 1, 2, 4, 'G', 0xff};
    for (size_t i = 0; i < sizeof(bad); i++) {
        c0c1[0] = bad[i];
        GV_CHECK_INT(gv_rtmp_handshake_respond(c0c1, rnd, 0, out, &digest), GV_EPROTO);
    }
}

GV_TEST_MAIN(GV_TEST(test_plain), GV_TEST(test_digest), GV_TEST(test_fallback_to_plain),
             GV_TEST(test_versions))
