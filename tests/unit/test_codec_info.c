/* Unit tests for packager/codec_info.c: codec strings from known avcC/hvcC/ASC bytes,
 * AudioSpecificConfig parsing (including escapes and malformed input at every truncation),
 * and probe-size input validation. Probing real encoded streams is in test_fmp4.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/log.h>

#include "core/error.h"
#include "core/media.h"
#include "packager/codec_info.h"
#include "testlib.h"

static gv_codec_config_t mkcfg(gv_codec_t codec, const uint8_t *d, size_t n)
{
    gv_codec_config_t c = {.refs = 1, .codec = codec, .data = (uint8_t *)d, .size = n};
    return c;
}

static const char *cs(gv_codec_t codec, const uint8_t *d, size_t n, int *ret)
{
    static char buf[64];
    gv_codec_config_t c = mkcfg(codec, d, n);
    *ret = gv_codec_string(&c, buf, sizeof(buf));
    return buf;
}

/* Packs (value, nbits) pairs MSB first; returns the byte count. */
typedef struct {
    uint32_t v;
    int n;
} field_t;

static size_t pack(const field_t *f, size_t nf, uint8_t *out, size_t cap)
{
    size_t bit = 0;
    memset(out, 0, cap);
    for (size_t i = 0; i < nf; i++)
        for (int k = f[i].n - 1; k >= 0; k--, bit++)
            if ((f[i].v >> k) & 1)
                out[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
    return (bit + 7) / 8;
}

static void test_avc_strings(void)
{
    int ret;
    static const uint8_t high[] = {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x00};
    static const uint8_t base[] = {0x01, 0x42, 0xc0, 0x1e, 0xff};
    GV_CHECK_STR(cs(GV_CODEC_H264, high, sizeof(high), &ret), "avc1.64001f");
    GV_CHECK_INT(ret, 0);
    GV_CHECK_STR(cs(GV_CODEC_H264, base, sizeof(base), &ret), "avc1.42c01e");
    GV_CHECK_INT(ret, 0);
    cs(GV_CODEC_H264, high, 3, &ret);
    GV_CHECK_INT(ret, GV_EINVAL);
    static const uint8_t badver[] = {0x00, 0x64, 0x00, 0x1f};
    cs(GV_CODEC_H264, badver, sizeof(badver), &ret);
    GV_CHECK_INT(ret, GV_EINVAL);
}

static void test_hevc_strings(void)
{
    int ret;
    /* configurationVersion, PTL byte, 4 compat bytes, 6 constraint bytes, level. */
    static const uint8_t main_l31[] = {0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0xb0,
                                       0x00, 0x00, 0x00, 0x00, 0x00, 0x5d};
    GV_CHECK_STR(cs(GV_CODEC_HEVC, main_l31, sizeof(main_l31), &ret), "hvc1.1.6.L93.B0");
    GV_CHECK_INT(ret, 0);
    static const uint8_t main10[] = {0x01, 0x02, 0x20, 0x00, 0x00, 0x00, 0x90,
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x78};
    GV_CHECK_STR(cs(GV_CODEC_HEVC, main10, sizeof(main10), &ret), "hvc1.2.4.L120.90");
    static const uint8_t high_tier[] = {0x01, 0x21, 0x60, 0x00, 0x00, 0x00, 0xb0,
                                        0x00, 0x00, 0x00, 0x00, 0x00, 0x99};
    GV_CHECK_STR(cs(GV_CODEC_HEVC, high_tier, sizeof(high_tier), &ret), "hvc1.1.6.H153.B0");
    /* Profile space 1 ('A'), inner zero constraint bytes kept, trailing ones dropped. */
    static const uint8_t space[] = {0x01, 0x41, 0x00, 0x00, 0x00, 0x01, 0xb0,
                                    0x00, 0x01, 0x00, 0x00, 0x00, 0x3c};
    GV_CHECK_STR(cs(GV_CODEC_HEVC, space, sizeof(space), &ret), "hvc1.A1.80000000.L60.B0.0.1");
    /* No constraint flags at all: nothing after the level. */
    static const uint8_t none[] = {0x01, 0x04, 0x10, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x5a};
    GV_CHECK_STR(cs(GV_CODEC_HEVC, none, sizeof(none), &ret), "hvc1.4.8.L90");
    for (size_t n = 0; n < sizeof(main_l31); n++) {
        cs(GV_CODEC_HEVC, main_l31, n, &ret);
        GV_CHECK_INT(ret, GV_EINVAL);
    }
    /* Output buffer too small: error and an empty string, never a partial one. */
    char small[8] = "xxxxxxx";
    gv_codec_config_t c = mkcfg(GV_CODEC_HEVC, main_l31, sizeof(main_l31));
    GV_CHECK_INT(gv_codec_string(&c, small, sizeof(small)), GV_EINVAL);
    GV_CHECK_STR(small, "");
    char exact[16];
    GV_CHECK_INT(gv_codec_string(&c, exact, sizeof(exact)), 0); /* 15 chars + NUL */
    GV_CHECK_INT(gv_codec_string(&c, exact, 15), GV_EINVAL);
}

static void test_aac_strings(void)
{
    int ret;
    static const uint8_t lc[] = {0x12, 0x10};
    GV_CHECK_STR(cs(GV_CODEC_AAC, lc, sizeof(lc), &ret), "mp4a.40.2");
    GV_CHECK_INT(ret, 0);
    static const uint8_t he[] = {0x2b, 0x11, 0x88}; /* AOT 5, 24 kHz core, 48 kHz SBR */
    GV_CHECK_STR(cs(GV_CODEC_AAC, he, sizeof(he), &ret), "mp4a.40.5");
    cs(GV_CODEC_AAC, lc, 1, &ret);
    GV_CHECK_INT(ret, GV_EINVAL);
    GV_CHECK_INT(gv_codec_string(NULL, (char[8]){0}, 8), GV_EINVAL);
    gv_codec_config_t none = mkcfg(GV_CODEC_NONE, lc, sizeof(lc));
    char buf[16];
    GV_CHECK_INT(gv_codec_string(&none, buf, sizeof(buf)), GV_EINVAL);
    gv_codec_config_t c = mkcfg(GV_CODEC_AAC, lc, sizeof(lc));
    GV_CHECK_INT(gv_codec_string(&c, NULL, 16), GV_EINVAL);
    GV_CHECK_INT(gv_codec_string(&c, buf, 0), GV_EINVAL);
}

/* Random records of every length up to 32 bytes: a defined result and a terminated string. */
static void test_strings_garbage(void)
{
    static const gv_codec_t codecs[] = {GV_CODEC_H264, GV_CODEC_HEVC, GV_CODEC_AAC};
    srand(3);
    for (int i = 0; i < 30000; i++) {
        uint8_t d[32];
        size_t n = (size_t)(rand() % 33);
        for (size_t k = 0; k < n; k++)
            d[k] = (uint8_t)rand();
        if (n && rand() % 2)
            d[0] = 1; /* mostly valid configurationVersion */
        char out[48];
        gv_codec_config_t c = mkcfg(codecs[i % 3], d, n);
        size_t outlen = 1 + (size_t)(rand() % (int)sizeof(out));
        int r = gv_codec_string(&c, out, outlen);
        GV_CHECK(r == 0 || r == GV_EINVAL);
        GV_CHECK(strlen(out) < outlen);
        if (r < 0)
            GV_CHECK_STR(out, "");
    }
}

static void test_asc_parse(void)
{
    int aot = -1, rate = -1, ch = -1;
    static const uint8_t lc44[] = {0x12, 0x10};
    GV_CHECK_INT(gv_aac_asc_parse(lc44, sizeof(lc44), &aot, &rate, &ch), 0);
    GV_CHECK_INT(aot, 2);
    GV_CHECK_INT(rate, 44100);
    GV_CHECK_INT(ch, 2);
    static const uint8_t lc48_51[] = {0x11, 0xb0};
    GV_CHECK_INT(gv_aac_asc_parse(lc48_51, sizeof(lc48_51), &aot, &rate, &ch), 0);
    GV_CHECK_INT(rate, 48000);
    GV_CHECK_INT(ch, 6);

    uint8_t b[16];
    size_t n;
    /* Escaped object type: 31 then 6 bits (42 = USAC). */
    n = pack((field_t[]){{31, 5}, {10, 6}, {3, 4}, {2, 4}}, 4, b, sizeof(b));
    GV_CHECK_INT(gv_aac_asc_parse(b, n, &aot, &rate, &ch), 0);
    GV_CHECK_INT(aot, 42);
    GV_CHECK_INT(rate, 48000);
    GV_CHECK_INT(ch, 2);
    /* Explicit 24-bit sampling rate (index 15). */
    n = pack((field_t[]){{2, 5}, {15, 4}, {37800, 24}, {1, 4}}, 4, b, sizeof(b));
    GV_CHECK_INT(gv_aac_asc_parse(b, n, &aot, &rate, &ch), 0);
    GV_CHECK_INT(rate, 37800);
    GV_CHECK_INT(ch, 1);
    /* Channel configuration 7 is eight channels. */
    n = pack((field_t[]){{2, 5}, {3, 4}, {7, 4}}, 3, b, sizeof(b));
    GV_CHECK_INT(gv_aac_asc_parse(b, n, &aot, &rate, &ch), 0);
    GV_CHECK_INT(ch, 8);
    /* HE-AACv2: PS on a mono core decodes to stereo; the core rate is reported. */
    n = pack((field_t[]){{29, 5}, {6, 4}, {1, 4}, {3, 4}, {2, 5}}, 5, b, sizeof(b));
    GV_CHECK_INT(gv_aac_asc_parse(b, n, &aot, &rate, &ch), 0);
    GV_CHECK_INT(aot, 29);
    GV_CHECK_INT(rate, 24000);
    GV_CHECK_INT(ch, 2);
    /* NULL outputs are allowed. */
    GV_CHECK_INT(gv_aac_asc_parse(lc44, sizeof(lc44), NULL, NULL, NULL), 0);

    /* Malformed. */
    GV_CHECK_INT(gv_aac_asc_parse(NULL, 0, &aot, &rate, &ch), GV_ETRUNC);
    GV_CHECK_INT(gv_aac_asc_parse(NULL, 4, &aot, &rate, &ch), GV_EINVAL);
    n = pack((field_t[]){{0, 5}, {3, 4}, {2, 4}}, 3, b, sizeof(b));
    GV_CHECK_INT(gv_aac_asc_parse(b, n, &aot, &rate, &ch), GV_EPROTO); /* AOT 0 */
    n = pack((field_t[]){{2, 5}, {13, 4}, {2, 4}}, 3, b, sizeof(b));
    GV_CHECK_INT(gv_aac_asc_parse(b, n, &aot, &rate, &ch), GV_EPROTO); /* reserved index */
    n = pack((field_t[]){{2, 5}, {3, 4}, {9, 4}}, 3, b, sizeof(b));
    GV_CHECK_INT(gv_aac_asc_parse(b, n, &aot, &rate, &ch), GV_EPROTO); /* reserved config */
    n = pack((field_t[]){{2, 5}, {15, 4}, {0, 24}, {2, 4}}, 4, b, sizeof(b));
    GV_CHECK_INT(gv_aac_asc_parse(b, n, &aot, &rate, &ch), GV_EPROTO); /* explicit 0 Hz */
    n = pack((field_t[]){{5, 5}, {6, 4}, {2, 4}, {3, 4}, {0, 5}}, 5, b, sizeof(b));
    GV_CHECK_INT(gv_aac_asc_parse(b, n, &aot, &rate, &ch), GV_EPROTO); /* SBR over AOT 0 */

    /* Every truncation of valid configs that need all their bytes fails with ETRUNC. */
    n = pack((field_t[]){{31, 5}, {10, 6}, {15, 4}, {44100, 24}, {2, 4}}, 5, b, sizeof(b));
    GV_CHECK_INT(gv_aac_asc_parse(b, n, &aot, &rate, &ch), 0);
    GV_CHECK_INT(rate, 44100);
    for (size_t k = 0; k < n; k++)
        GV_CHECK_INT(gv_aac_asc_parse(b, k, &aot, &rate, &ch), GV_ETRUNC);
    static const uint8_t he[] = {0x2b, 0x11, 0x88};
    for (size_t k = 0; k < sizeof(he); k++)
        GV_CHECK_INT(gv_aac_asc_parse(he, k, &aot, &rate, &ch), GV_ETRUNC);

    /* Garbage: every 2-byte input and random longer ones return a defined result. */
    for (unsigned v = 0; v < 65536; v++) {
        uint8_t g[2] = {(uint8_t)(v >> 8), (uint8_t)v};
        int r = gv_aac_asc_parse(g, 2, &aot, &rate, &ch);
        GV_CHECK(r == 0 || r == GV_EPROTO || r == GV_ETRUNC);
        if (r == 0)
            GV_CHECK(aot > 0 && rate > 0 && ch >= 0 && ch <= 24);
    }
    srand(7);
    for (int i = 0; i < 20000; i++) {
        uint8_t g[8];
        size_t len = (size_t)(rand() % 9);
        for (size_t k = 0; k < len; k++)
            g[k] = (uint8_t)rand();
        int r = gv_aac_asc_parse(g, len, &aot, &rate, &ch);
        GV_CHECK(r == 0 || r == GV_EPROTO || r == GV_ETRUNC);
    }
}

static void test_probe_invalid(void)
{
    int w = -1, h = -1;
    static const uint8_t key[] = {0, 0, 0, 2, 0x65, 0x88};
    static const uint8_t avcc_nosps[] = {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe0, 0x00};
    gv_codec_config_t c = mkcfg(GV_CODEC_H264, avcc_nosps, sizeof(avcc_nosps));
    /* The parser's complaints about the garbage below are expected: silence them. */
    int level = av_log_get_level();
    av_log_set_level(AV_LOG_QUIET);

    GV_CHECK_INT(gv_video_probe_size(NULL, key, sizeof(key), &w, &h), GV_EINVAL);
    GV_CHECK_INT(gv_video_probe_size(&c, NULL, 4, &w, &h), GV_EINVAL);
    GV_CHECK_INT(gv_video_probe_size(&c, key, sizeof(key), NULL, &h), GV_EINVAL);
    gv_codec_config_t aac = mkcfg(GV_CODEC_AAC, avcc_nosps, 2);
    GV_CHECK_INT(gv_video_probe_size(&aac, key, sizeof(key), &w, &h), GV_EINVAL);

    /* A keyframe whose NAL length runs past the end. */
    static const uint8_t over[] = {0, 0, 0, 9, 0x65, 0x88};
    GV_CHECK_INT(gv_video_probe_size(&c, over, sizeof(over), &w, &h), GV_ETRUNC);
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x65};
    GV_CHECK_INT(gv_video_probe_size(&c, huge, sizeof(huge), &w, &h), GV_ETRUNC);
    static const uint8_t zero[] = {0, 0, 0, 0};
    GV_CHECK_INT(gv_video_probe_size(&c, zero, sizeof(zero), &w, &h), GV_EPROTO);

    /* avcC announcing one SPS longer than the record. */
    static const uint8_t avcc_over[] = {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x20, 0x67};
    gv_codec_config_t co = mkcfg(GV_CODEC_H264, avcc_over, sizeof(avcc_over));
    GV_CHECK_INT(gv_video_probe_size(&co, key, sizeof(key), &w, &h), GV_ETRUNC);
    /* hvcC with too many arrays. */
    uint8_t hvcc[23] = {0x01};
    hvcc[22] = 3;
    gv_codec_config_t ch = mkcfg(GV_CODEC_HEVC, hvcc, sizeof(hvcc));
    GV_CHECK_INT(gv_video_probe_size(&ch, key, sizeof(key), &w, &h), GV_ETRUNC);
    ch.size = 10;
    GV_CHECK_INT(gv_video_probe_size(&ch, key, sizeof(key), &w, &h), GV_ETRUNC);

    /* Parameter sets that say nothing: no size can be found, and nothing crashes. */
    GV_CHECK_INT(gv_video_probe_size(&c, key, sizeof(key), &w, &h), GV_ECODEC);
    GV_CHECK_INT(w, 0);
    GV_CHECK_INT(h, 0);

    /* Random keyframe bytes behind an empty config: a defined error every time. */
    srand(11);
    for (int i = 0; i < 300; i++) {
        uint8_t g[64];
        size_t len = (size_t)(rand() % (int)sizeof(g));
        for (size_t k = 0; k < len; k++)
            g[k] = (uint8_t)rand();
        if (len >= 4) { /* mostly well-framed so the parser sees the garbage */
            g[0] = g[1] = 0;
            g[2] = 0;
            g[3] = (uint8_t)(len - 4);
        }
        int r = gv_video_probe_size(&c, g, len, &w, &h);
        GV_CHECK(r == GV_ECODEC || r == GV_ETRUNC || r == GV_EPROTO || r == 0);
    }
    av_log_set_level(level);
}

GV_TEST_MAIN(GV_TEST(test_avc_strings), GV_TEST(test_hevc_strings), GV_TEST(test_aac_strings),
             GV_TEST(test_strings_garbage), GV_TEST(test_asc_parse), GV_TEST(test_probe_invalid))
