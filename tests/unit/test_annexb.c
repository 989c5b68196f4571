/* Unit tests for the Annex B helpers: NAL splitting (3- and 4-byte start codes, leading garbage,
 * trailing zeros, empty NALs), conversion to length-prefixed units, avcC building (fields,
 * High-profile extension, limits), and truncation at every offset of a real encoder's output
 * (a libx264 extradata, cross-checked with the packager's codec string and size probe). */
#include <libavcodec/avcodec.h>
#include <stdlib.h>
#include <string.h>

#include "core/annexb.h"
#include "core/error.h"
#include "core/media.h"
#include "packager/codec_info.h"
#include "testlib.h"

/* A Baseline SPS/PPS pair (profile 66, level 30) and an IDR slice header stub. */
static const uint8_t SPS_B[] = {0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5};
static const uint8_t PPS_B[] = {0x68, 0xce, 0x3c, 0x80};
static const uint8_t IDR[] = {0x65, 0x88, 0x84, 0x00, 0x21};

static size_t put_sc(uint8_t *o, int four)
{
    size_t w = 0;
    if (four)
        o[w++] = 0;
    o[w++] = 0;
    o[w++] = 0;
    o[w++] = 1;
    return w;
}

static size_t build_stream(uint8_t *o)
{
    size_t w = 0;
    o[w++] = 0xaa; /* garbage before the first start code is skipped */
    w += put_sc(o + w, 1);
    memcpy(o + w, SPS_B, sizeof(SPS_B));
    w += sizeof(SPS_B);
    o[w++] = 0; /* trailing zero before the next start code */
    w += put_sc(o + w, 0);
    memcpy(o + w, PPS_B, sizeof(PPS_B));
    w += sizeof(PPS_B);
    w += put_sc(o + w, 1);
    w += put_sc(o + w, 0); /* empty NAL between two start codes */
    memcpy(o + w, IDR, sizeof(IDR));
    w += sizeof(IDR);
    return w;
}

static void test_split(void)
{
    uint8_t buf[128];
    size_t n = build_stream(buf);
    size_t pos = 0, len = 0;
    const uint8_t *nal = NULL;
    GV_CHECK_INT(gv_annexb_next_nal(buf, n, &pos, &nal, &len), 1);
    GV_CHECK_INT(len, sizeof(SPS_B));
    GV_CHECK(nal && !memcmp(nal, SPS_B, sizeof(SPS_B)));
    GV_CHECK_INT(gv_annexb_next_nal(buf, n, &pos, &nal, &len), 1);
    GV_CHECK_INT(len, sizeof(PPS_B));
    GV_CHECK(nal && !memcmp(nal, PPS_B, sizeof(PPS_B)));
    GV_CHECK_INT(gv_annexb_next_nal(buf, n, &pos, &nal, &len), 1);
    GV_CHECK_INT(len, sizeof(IDR));
    GV_CHECK(nal && !memcmp(nal, IDR, sizeof(IDR)));
    GV_CHECK_INT(gv_annexb_next_nal(buf, n, &pos, &nal, &len), 0);
    GV_CHECK_INT(gv_annexb_next_nal(buf, n, &pos, &nal, &len), 0);

    /* nothing, no start code, only start codes */
    pos = 0;
    GV_CHECK_INT(gv_annexb_next_nal(buf, 0, &pos, &nal, &len), 0);
    static const uint8_t none[] = {1, 2, 3, 0, 0, 2, 0, 0};
    pos = 0;
    GV_CHECK_INT(gv_annexb_next_nal(none, sizeof(none), &pos, &nal, &len), 0);
    static const uint8_t only[] = {0, 0, 1, 0, 0, 0, 1, 0, 0};
    pos = 0;
    GV_CHECK_INT(gv_annexb_next_nal(only, sizeof(only), &pos, &nal, &len), 0);
}

static void test_to_lp(void)
{
    uint8_t buf[128];
    size_t n = build_stream(buf);
    uint8_t *o = NULL;
    size_t on = 0;
    GV_CHECK_INT(gv_annexb_to_lp(buf, n, &o, &on), 0);
    GV_CHECK_INT(on, 3 * 4 + sizeof(SPS_B) + sizeof(PPS_B) + sizeof(IDR));
    if (o && on >= 4 + sizeof(SPS_B)) {
        GV_CHECK_INT(o[3], sizeof(SPS_B));
        GV_CHECK(!memcmp(o + 4, SPS_B, sizeof(SPS_B)));
        size_t last = on - sizeof(IDR);
        GV_CHECK_INT(o[last - 1], sizeof(IDR));
        GV_CHECK(!memcmp(o + last, IDR, sizeof(IDR)));
    }
    free(o);
    static const uint8_t none[] = {9, 9, 9};
    GV_CHECK_INT(gv_annexb_to_lp(none, sizeof(none), &o, &on), GV_EINVAL);
}

static void test_avcc_baseline(void)
{
    uint8_t buf[128];
    size_t n = build_stream(buf);
    uint8_t *o = NULL;
    size_t on = 0;
    GV_CHECK_INT(gv_annexb_build_avcc(buf, n, &o, &on), 0);
    GV_CHECK_INT(on, 7 + 2 + sizeof(SPS_B) + 2 + sizeof(PPS_B));
    if (o) {
        GV_CHECK_INT(o[0], 1);
        GV_CHECK_INT(o[1], 0x42);
        GV_CHECK_INT(o[2], 0xc0);
        GV_CHECK_INT(o[3], 0x1e);
        GV_CHECK_INT(o[4], 0xff);
        GV_CHECK_INT(o[5], 0xe1);
        GV_CHECK_INT(o[7], sizeof(SPS_B));
        GV_CHECK(!memcmp(o + 8, SPS_B, sizeof(SPS_B)));
        GV_CHECK_INT(o[8 + sizeof(SPS_B)], 1);
        gv_codec_config_t *c = gv_codec_config_create(GV_CODEC_H264, o, on);
        char cs[64];
        GV_CHECK_INT(gv_codec_string(c, cs, sizeof(cs)), 0);
        GV_CHECK_STR(cs, "avc1.42c01e");
        gv_codec_config_unref(c);
    }
    free(o);

    /* missing PPS / missing SPS / SPS too short */
    uint8_t only_sps[16];
    size_t w = put_sc(only_sps, 1);
    memcpy(only_sps + w, SPS_B, sizeof(SPS_B));
    GV_CHECK_INT(gv_annexb_build_avcc(only_sps, w + sizeof(SPS_B), &o, &on), GV_EINVAL);
    uint8_t only_pps[16];
    w = put_sc(only_pps, 0);
    memcpy(only_pps + w, PPS_B, sizeof(PPS_B));
    GV_CHECK_INT(gv_annexb_build_avcc(only_pps, w + sizeof(PPS_B), &o, &on), GV_EINVAL);
    static const uint8_t short_sps[] = {0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce};
    GV_CHECK_INT(gv_annexb_build_avcc(short_sps, sizeof(short_sps), &o, &on), GV_EINVAL);
}

static void test_avcc_limits(void)
{
    /* 32 SPS: more than avcC can count */
    size_t cap = 32 * (4 + sizeof(SPS_B)) + 8;
    uint8_t *buf = malloc(cap);
    size_t w = 0;
    for (int i = 0; i < 32; i++) {
        w += put_sc(buf + w, 1);
        memcpy(buf + w, SPS_B, sizeof(SPS_B));
        w += sizeof(SPS_B);
    }
    w += put_sc(buf + w, 1);
    memcpy(buf + w, PPS_B, sizeof(PPS_B));
    w += sizeof(PPS_B);
    uint8_t *o = NULL;
    size_t on = 0;
    GV_CHECK_INT(gv_annexb_build_avcc(buf, w, &o, &on), GV_ETOOBIG);
    free(buf);

    /* an SPS longer than a 16-bit length */
    size_t big = 70000;
    buf = calloc(1, big + 16);
    w = put_sc(buf, 1);
    memcpy(buf + w, SPS_B, sizeof(SPS_B));
    memset(buf + w + sizeof(SPS_B), 0x55, big - sizeof(SPS_B));
    w += big;
    w += put_sc(buf + w, 1);
    memcpy(buf + w, PPS_B, sizeof(PPS_B));
    w += sizeof(PPS_B);
    GV_CHECK_INT(gv_annexb_build_avcc(buf, w, &o, &on), GV_ETOOBIG);
    free(buf);
}

/* Extradata of a real libx264 (High profile, Annex B with SEI), or NULL if unavailable. */
static uint8_t *x264_extradata(size_t *n)
{
    av_log_set_level(AV_LOG_ERROR);
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec)
        return NULL;
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    ctx->width = 320;
    ctx->height = 240;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = (AVRational){1, 30};
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "preset", "veryfast", 0);
    av_dict_set(&opts, "tune", "zerolatency", 0);
    uint8_t *out = NULL;
    if (avcodec_open2(ctx, codec, &opts) == 0 && ctx->extradata_size > 0) {
        out = malloc((size_t)ctx->extradata_size);
        memcpy(out, ctx->extradata, (size_t)ctx->extradata_size);
        *n = (size_t)ctx->extradata_size;
    }
    av_dict_free(&opts);
    avcodec_free_context(&ctx);
    return out;
}

static void test_avcc_x264(void)
{
    size_t n = 0;
    uint8_t *ed = x264_extradata(&n);
    GV_CHECK(ed != NULL);
    if (!ed)
        return;
    uint8_t *o = NULL;
    size_t on = 0;
    GV_CHECK_INT(gv_annexb_build_avcc(ed, n, &o, &on), 0);
    if (o) {
        GV_CHECK_INT(o[1], 100); /* High */
        GV_CHECK_INT(o[on - 4], 0xfd); /* chroma_format_idc 1 */
        GV_CHECK_INT(o[on - 3], 0xf8); /* 8-bit luma */
        GV_CHECK_INT(o[on - 2], 0xf8); /* 8-bit chroma */
        /* libavcodec's parser accepts the record and finds the picture size */
        gv_codec_config_t *c = gv_codec_config_create(GV_CODEC_H264, o, on);
        char cs[64];
        GV_CHECK_INT(gv_codec_string(c, cs, sizeof(cs)), 0);
        GV_CHECK(!strncmp(cs, "avc1.64", 7));
        gv_codec_config_unref(c);
    }
    free(o);
    /* every truncation: no crash, and either a valid record or a clean error */
    for (size_t cut = 0; cut <= n; cut++) {
        o = NULL;
        int rc = gv_annexb_build_avcc(ed, cut, &o, &on);
        GV_CHECK(rc == 0 || rc == GV_EINVAL);
        free(o);
        o = NULL;
        rc = gv_annexb_to_lp(ed, cut, &o, &on);
        GV_CHECK(rc == 0 || rc == GV_EINVAL);
        free(o);
    }
    free(ed);
}

static void test_garbage(void)
{
    uint8_t buf[512];
    unsigned x = 12345;
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(round % (int)sizeof(buf));
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            /* bias towards zeros and ones so start codes are common */
            unsigned v = (x >> 16) & 0xff;
            buf[i] = v < 100 ? 0 : v < 140 ? 1 : (uint8_t)v;
        }
        uint8_t *o = NULL;
        size_t on = 0;
        int rc = gv_annexb_build_avcc(buf, n, &o, &on);
        GV_CHECK(rc == 0 || rc == GV_EINVAL || rc == GV_ETOOBIG);
        free(o);
        o = NULL;
        rc = gv_annexb_to_lp(buf, n, &o, &on);
        GV_CHECK(rc == 0 || rc == GV_EINVAL);
        if (rc == 0)
            GV_CHECK(on <= n + 4 * (n / 3 + 1));
        free(o);
    }
}

GV_TEST_MAIN(GV_TEST(test_split), GV_TEST(test_to_lp), GV_TEST(test_avcc_baseline),
             GV_TEST(test_avcc_limits), GV_TEST(test_avcc_x264), GV_TEST(test_garbage))
