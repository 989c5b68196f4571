/* Unit tests for the Annex B helpers (core/annexb.h), shared by the overlay worker's encoder
 * output and the MPEG-TS ingest: NAL splitting (3- and 4-byte start codes, leading garbage,
 * trailing zeros, empty NALs), conversion to length-prefixed units, splitting into an access
 * unit (parameter sets, AUD and filler taken out, keyframe detection, H.264 and HEVC, limits),
 * avcC building (fields, High-profile extension, 4:4:4 10-bit, limits), hvcC building (with
 * sub-layers), truncation at every offset, random input, and a real encoder's output (a libx264
 * extradata, cross-checked with the packager's codec string and size probe). */
#include <libavcodec/avcodec.h>
#include <stdint.h>
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

/* ---------------------------------------------------------------------------------------- */
/* bit writer for hand-made parameter sets */

typedef struct {
    uint8_t b[256];
    size_t bit;
} bw_t;

static void bw_put(bw_t *w, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        if ((v >> i) & 1)
            w->b[w->bit / 8] |= (uint8_t)(0x80 >> (w->bit % 8));
        w->bit++;
    }
}

static void bw_ue(bw_t *w, uint32_t v)
{
    uint32_t x = v + 1;
    int len = 0;
    while ((x >> len) > 1)
        len++;
    bw_put(w, 0, len);
    bw_put(w, x, len + 1);
}

static size_t bw_finish(bw_t *w)
{
    bw_put(w, 1, 1); /* rbsp_stop_one_bit */
    while (w->bit % 8)
        bw_put(w, 0, 1);
    return w->bit / 8;
}

/* A record from the list-based builders; each call frees the previous one, like a reset. */
typedef struct {
    uint8_t *data;
    size_t len;
} rec_t;

static int avcc(rec_t *r, const gv_annexb_nal_t *s, size_t ns, const gv_annexb_nal_t *p,
                size_t np)
{
    free(r->data);
    *r = (rec_t){NULL, 0};
    return gv_annexb_avcc_from_ps(s, ns, p, np, &r->data, &r->len);
}

static int hvcc(rec_t *r, const gv_annexb_nal_t *v, size_t nv, const gv_annexb_nal_t *s,
                size_t ns, const gv_annexb_nal_t *p, size_t np)
{
    free(r->data);
    *r = (rec_t){NULL, 0};
    return gv_annexb_hvcc_from_ps(v, nv, s, ns, p, np, &r->data, &r->len);
}

/* ---------------------------------------------------------------------------------------- */
/* splitting into an access unit and building records from parameter sets */

static void test_annexb_split(void)
{
    static const uint8_t au_bytes[] = {
        0, 0, 0, 1, 0x09, 0xf0,                         /* AUD: dropped */
        0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac,       /* SPS */
        0, 0, 1, 0x68, 0xee, 0x3c, 0x80,                /* PPS */
        0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac,          /* same SPS again: listed once */
        0, 0, 1, 0x06, 0x05, 0x01, 0xaa, 0x80,          /* SEI: kept */
        0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01, /* IDR slice */
        0, 0, 0,                                        /* trailing zeros */
    };
    gv_annexb_au_t au;
    gv_annexb_au_init(&au);
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_H264, au_bytes, sizeof(au_bytes), &au), 0);
    GV_CHECK(au.keyframe);
    GV_CHECK(au.has_vcl);
    GV_CHECK_INT(au.n_ps[GV_ANNEXB_SPS], 1);
    GV_CHECK_INT(au.n_ps[GV_ANNEXB_PPS], 1);
    GV_CHECK_INT(au.n_ps[GV_ANNEXB_SPS] ? au.ps[GV_ANNEXB_SPS][0].n : 0, 5);
    GV_CHECK_INT(au.n_ps[GV_ANNEXB_PPS] ? au.ps[GV_ANNEXB_PPS][0].n : 0, 4);
    static const uint8_t want[] = {0, 0, 0, 5, 0x06, 0x05, 0x01, 0xaa, 0x80,
                                   0, 0, 0, 7, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01};
    GV_CHECK_INT(au.len, sizeof(want));
    GV_CHECK(au.len == sizeof(want) && !memcmp(au.payload, want, sizeof(want)));
    GV_CHECK_INT(au.n_nalus, 2);

    /* Non-IDR slice only: not a keyframe. Back-to-back start codes are tolerated. */
    static const uint8_t p_frame[] = {0, 0, 1, 0, 0, 1, 0x41, 0x9a, 0x02};
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_H264, p_frame, sizeof(p_frame), &au), 0);
    GV_CHECK(!au.keyframe);
    GV_CHECK(au.has_vcl);
    GV_CHECK_INT(au.len, 7);

    /* HEVC: VPS/SPS/PPS extracted, CRA (21) is IRAP, AUD (35) dropped. */
    static const uint8_t hevc[] = {0, 0, 0, 1, 0x46, 0x01, 0x50,          /* AUD */
                                   0, 0, 0, 1, 0x40, 0x01, 0x0c,          /* VPS */
                                   0, 0, 0, 1, 0x42, 0x01, 0x01,          /* SPS */
                                   0, 0, 0, 1, 0x44, 0x01, 0xc1,          /* PPS */
                                   0, 0, 0, 1, 0x2a, 0x01, 0xaf, 0x10};   /* CRA slice */
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_HEVC, hevc, sizeof(hevc), &au), 0);
    GV_CHECK(au.keyframe);
    GV_CHECK_INT(au.n_ps[GV_ANNEXB_VPS], 1);
    GV_CHECK_INT(au.n_ps[GV_ANNEXB_SPS], 1);
    GV_CHECK_INT(au.n_ps[GV_ANNEXB_PPS], 1);
    GV_CHECK_INT(au.len, 8);
    /* TRAIL_R (1) is not a keyframe. */
    static const uint8_t trail[] = {0, 0, 1, 0x02, 0x01, 0xd0};
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_HEVC, trail, sizeof(trail), &au), 0);
    GV_CHECK(!au.keyframe && au.has_vcl);

    /* Malformed. */
    static const uint8_t nostart[] = {0x65, 0x88, 0x84};
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_H264, nostart, sizeof(nostart), &au), GV_EPROTO);
    static const uint8_t forbidden[] = {0, 0, 1, 0xe5, 0x00};
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_H264, forbidden, sizeof(forbidden), &au), GV_EPROTO);
    static const uint8_t short_hevc[] = {0, 0, 1, 0x02};
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_HEVC, short_hevc, sizeof(short_hevc), &au),
                 GV_EPROTO);
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_AAC, au_bytes, sizeof(au_bytes), &au), GV_EINVAL);
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_H264, NULL, 0, &au), GV_EPROTO);

    /* Too many parameter sets / NAL units. */
    uint8_t *many = calloc(1, 64 * 1024);
    size_t n = 0;
    for (int i = 0; i < GV_ANNEXB_MAX_PS + 1; i++) {
        const uint8_t sps[] = {0, 0, 1, 0x67, 0x42, 0x00, (uint8_t)i, 0x80};
        memcpy(many + n, sps, sizeof(sps));
        n += sizeof(sps);
    }
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_H264, many, n, &au), GV_ELIMIT);
    n = 0;
    for (int i = 0; i < GV_ANNEXB_MAX_NALUS + 1; i++) {
        const uint8_t sl[] = {0, 0, 1, 0x41, 0x01};
        memcpy(many + n, sl, sizeof(sl));
        n += sizeof(sl);
    }
    GV_CHECK_INT(gv_annexb_split(GV_CODEC_H264, many, n, &au), GV_ELIMIT);

    /* Every truncation of a valid AU: no crash, any success is self-consistent. */
    for (size_t cut = 0; cut <= sizeof(au_bytes); cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, au_bytes, cut);
        int rc = gv_annexb_split(GV_CODEC_H264, copy, cut, &au);
        GV_CHECK(rc == 0 || rc == GV_EPROTO);
        if (rc == 0) {
            size_t pos = 0;
            while (pos + 4 <= au.len) {
                uint32_t l = (uint32_t)au.payload[pos] << 24 | au.payload[pos + 1] << 16 |
                             au.payload[pos + 2] << 8 | au.payload[pos + 3];
                pos += 4 + l;
            }
            GV_CHECK_INT(pos, au.len);
        }
        free(copy);
    }
    free(many);
    gv_annexb_au_free(&au);
}

static void test_avcc_build(void)
{
    /* High profile SPS: sps_id 0, chroma_format_idc 1, bit depths 8. */
    static const uint8_t sps[] = {0x67, 0x64, 0x00, 0x1f, 0xac};
    static const uint8_t pps[] = {0x68, 0xee, 0x3c, 0x80};
    gv_annexb_nal_t s = {sps, sizeof(sps)}, p = {pps, sizeof(pps)};
    rec_t out = {NULL, 0};
    GV_CHECK_INT(avcc(&out, &s, 1, &p, 1), 0);
    static const uint8_t want[] = {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x05, 0x67, 0x64,
                                   0x00, 0x1f, 0xac, 0x01, 0x00, 0x04, 0x68, 0xee, 0x3c, 0x80,
                                   0xfd, 0xf8, 0xf8, 0x00};
    GV_CHECK_INT(out.len, sizeof(want));
    GV_CHECK(out.len == sizeof(want) && !memcmp(out.data, want, sizeof(want)));
    gv_codec_config_t *c = gv_codec_config_create(GV_CODEC_H264, out.data, out.len);
    char str[64];
    GV_CHECK_INT(gv_codec_string(c, str, sizeof(str)), 0);
    GV_CHECK_STR(str, "avc1.64001f");
    gv_codec_config_unref(c);

    /* Baseline: no extension bytes. */
    static const uint8_t sps_b[] = {0x67, 0x42, 0xc0, 0x1e, 0x80};
    gv_annexb_nal_t sb = {sps_b, sizeof(sps_b)};
    GV_CHECK_INT(avcc(&out, &sb, 1, &p, 1), 0);
    GV_CHECK_INT(out.len, 6 + 2 + 5 + 1 + 2 + 4);

    /* High 4:4:4 with 10-bit depths, written with a bit writer; an emulation prevention byte
     * inside the SPS must not disturb the read. */
    bw_t w = {{0}, 0};
    bw_put(&w, 0x67, 8);
    bw_put(&w, 244, 8);
    bw_put(&w, 0, 8);
    bw_put(&w, 40, 8);
    bw_ue(&w, 0);
    bw_ue(&w, 3);
    bw_put(&w, 0, 1);
    bw_ue(&w, 2);
    bw_ue(&w, 2);
    size_t n = bw_finish(&w);
    gv_annexb_nal_t s444 = {w.b, n};
    GV_CHECK_INT(avcc(&out, &s444, 1, &p, 1), 0);
    GV_CHECK(out.len >= 4 && out.data[out.len - 4] == 0xff && out.data[out.len - 3] == 0xfa &&
             out.data[out.len - 2] == 0xfa);

    /* Errors. */
    static const uint8_t short_sps[] = {0x67, 0x64, 0x00};
    gv_annexb_nal_t ss = {short_sps, sizeof(short_sps)};
    GV_CHECK_INT(avcc(&out, &ss, 1, &p, 1), GV_EPROTO);
    GV_CHECK_INT(avcc(&out, &s, 0, &p, 1), GV_EINVAL);
    GV_CHECK_INT(avcc(&out, &s, 1, &p, 0), GV_EINVAL);
    static const uint8_t cut_sps[] = {0x67, 0x64, 0x00, 0x1f}; /* high profile, fields missing */
    gv_annexb_nal_t cs = {cut_sps, sizeof(cut_sps)};
    GV_CHECK_INT(avcc(&out, &cs, 1, &p, 1), GV_EPROTO);
    static const uint8_t zero_sps[] = {0x67, 0x64, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00};
    gv_annexb_nal_t zs = {zero_sps, sizeof(zero_sps)};
    GV_CHECK_INT(avcc(&out, &zs, 1, &p, 1), GV_EPROTO);
    free(out.data);
}

/* An HEVC SPS: Main profile level 3.1, 4:2:0 8-bit, with max_sub_layers_minus1 = msl. */
static size_t make_hevc_sps(bw_t *w, int msl)
{
    memset(w, 0, sizeof(*w));
    bw_put(w, 0x4201, 16);
    bw_put(w, 0, 4);
    bw_put(w, (uint32_t)msl, 3);
    bw_put(w, 1, 1);
    bw_put(w, 0x01, 8);       /* space 0, tier 0, profile 1 */
    bw_put(w, 0x60000000, 32); /* compatibility flags 1 and 2 */
    bw_put(w, 0x9000, 16);    /* progressive, frame-only */
    bw_put(w, 0, 32);
    bw_put(w, 93, 8);
    for (int i = 0; i < msl; i++) {
        bw_put(w, 1, 1); /* sub_layer_profile_present */
        bw_put(w, 1, 1); /* sub_layer_level_present */
    }
    if (msl > 0)
        for (int i = msl; i < 8; i++)
            bw_put(w, 0, 2);
    for (int i = 0; i < msl; i++) {
        bw_put(w, 0x7fffffff, 31); /* 88 bits of sub-layer profile, all ones-ish */
        bw_put(w, 0x7fffffff, 31);
        bw_put(w, 0x3ffffff, 26);
        bw_put(w, 0xff, 8);       /* sub-layer level */
    }
    bw_ue(w, 0);   /* sps id */
    bw_ue(w, 1);   /* chroma 4:2:0 */
    bw_ue(w, 320);
    bw_ue(w, 240);
    bw_put(w, 1, 1); /* conformance window */
    bw_ue(w, 0);
    bw_ue(w, 0);
    bw_ue(w, 0);
    bw_ue(w, 4);
    bw_ue(w, 0);   /* luma 8-bit */
    bw_ue(w, 2);   /* chroma 10-bit (unusual, proves the field is read) */
    return bw_finish(w);
}

static void test_hvcc_build(void)
{
    static const uint8_t vps[] = {0x40, 0x01, 0x0c, 0x01, 0xff};
    static const uint8_t pps[] = {0x44, 0x01, 0xc1, 0x72};
    bw_t w;
    size_t n = make_hevc_sps(&w, 0);
    gv_annexb_nal_t v = {vps, sizeof(vps)}, s = {w.b, n}, p = {pps, sizeof(pps)};
    rec_t out = {NULL, 0};
    GV_CHECK_INT(hvcc(&out, &v, 1, &s, 1, &p, 1), 0);
    GV_CHECK_INT(out.len, 23 + 3 * 3 + 2 * 3 + sizeof(vps) + n + sizeof(pps));
    if (out.len > 30) {
        GV_CHECK_INT(out.data[0], 1);
        GV_CHECK_INT(out.data[1], 0x01);
        GV_CHECK_INT(out.data[2], 0x60);
        GV_CHECK_INT(out.data[6], 0x90);
        GV_CHECK_INT(out.data[12], 93);
        GV_CHECK_INT(out.data[13], 0xf0);
        GV_CHECK_INT(out.data[15], 0xfc);
        GV_CHECK_INT(out.data[16], 0xfd);
        GV_CHECK_INT(out.data[17], 0xf8);
        GV_CHECK_INT(out.data[18], 0xfa);
        GV_CHECK_INT(out.data[21], (1 << 3) | 4 | 3);
        GV_CHECK_INT(out.data[22], 3);
        GV_CHECK_INT(out.data[23], 0x80 | 32);
        GV_CHECK_INT(out.data[24] << 8 | out.data[25], 1);
        GV_CHECK_INT(out.data[26] << 8 | out.data[27], sizeof(vps));
    }
    gv_codec_config_t *c = gv_codec_config_create(GV_CODEC_HEVC, out.data, out.len);
    char str[64];
    GV_CHECK_INT(gv_codec_string(c, str, sizeof(str)), 0);
    GV_CHECK_STR(str, "hvc1.1.6.L93.90");
    gv_codec_config_unref(c);

    /* Two temporal sub-layers with sub-layer PTL present: chroma and depths still found. */
    n = make_hevc_sps(&w, 2);
    s.n = n;
    GV_CHECK_INT(hvcc(&out, &v, 1, &s, 1, &p, 1), 0);
    if (out.len > 22) {
        GV_CHECK_INT(out.data[16], 0xfd);
        GV_CHECK_INT(out.data[18], 0xfa);
        GV_CHECK_INT(out.data[21], (3 << 3) | 4 | 3);
    }
    /* Every truncation of the SPS fails cleanly. */
    for (size_t cut = 0; cut < n - 1; cut++) {
        uint8_t copy[256];
        memcpy(copy, w.b, cut);
        gv_annexb_nal_t sc = {copy, cut};
        int rc = hvcc(&out, &v, 1, &sc, 1, &p, 1);
        GV_CHECK(rc == GV_EPROTO);
    }
    GV_CHECK_INT(hvcc(&out, &v, 0, &s, 1, &p, 1), GV_EINVAL);
    free(out.data);
}

/* ---------------------------------------------------------------------------------------- */
/* NAL iteration, length-prefixed conversion and avcC from a byte stream */

static void test_next_nal(void)
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

    /* missing PPS / missing SPS (no list) / SPS too short to hold profile and level */
    uint8_t only_sps[16];
    size_t w = put_sc(only_sps, 1);
    memcpy(only_sps + w, SPS_B, sizeof(SPS_B));
    GV_CHECK_INT(gv_annexb_build_avcc(only_sps, w + sizeof(SPS_B), &o, &on), GV_EINVAL);
    uint8_t only_pps[16];
    w = put_sc(only_pps, 0);
    memcpy(only_pps + w, PPS_B, sizeof(PPS_B));
    GV_CHECK_INT(gv_annexb_build_avcc(only_pps, w + sizeof(PPS_B), &o, &on), GV_EINVAL);
    static const uint8_t short_sps[] = {0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce};
    GV_CHECK_INT(gv_annexb_build_avcc(short_sps, sizeof(short_sps), &o, &on), GV_EPROTO);
}

static void test_avcc_limits(void)
{
    /* 32 SPS: the same one repeated is listed once; 32 different ones exceed the limit */
    size_t cap = 32 * (4 + sizeof(SPS_B)) + 8;
    uint8_t *buf = malloc(cap);
    uint8_t *o = NULL;
    size_t on = 0;
    for (int distinct = 0; distinct < 2; distinct++) {
        size_t w = 0;
        for (int i = 0; i < 32; i++) {
            w += put_sc(buf + w, 1);
            memcpy(buf + w, SPS_B, sizeof(SPS_B));
            if (distinct)
                buf[w + sizeof(SPS_B) - 1] = (uint8_t)(0x80 | i);
            w += sizeof(SPS_B);
        }
        w += put_sc(buf + w, 1);
        memcpy(buf + w, PPS_B, sizeof(PPS_B));
        w += sizeof(PPS_B);
        int rc = gv_annexb_build_avcc(buf, w, &o, &on);
        GV_CHECK_INT(rc, distinct ? GV_ELIMIT : 0);
        if (rc == 0) {
            GV_CHECK_INT(on, 7 + 2 + sizeof(SPS_B) + 2 + sizeof(PPS_B));
            free(o);
            o = NULL;
        }
    }
    free(buf);

    /* an SPS longer than the parameter-set limit (and than a 16-bit length) */
    size_t big = 70000;
    buf = calloc(1, big + 16);
    size_t w = put_sc(buf, 1);
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
        GV_CHECK(rc == 0 || rc == GV_EINVAL || rc == GV_EPROTO);
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
    gv_annexb_au_t au;
    gv_annexb_au_init(&au);
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
        GV_CHECK(rc == 0 || rc == GV_EINVAL || rc == GV_ETOOBIG || rc == GV_EPROTO ||
                 rc == GV_ELIMIT);
        free(o);
        o = NULL;
        rc = gv_annexb_to_lp(buf, n, &o, &on);
        GV_CHECK(rc == 0 || rc == GV_EINVAL);
        if (rc == 0)
            GV_CHECK(on <= n + 4 * (n / 3 + 1));
        free(o);
        for (int c = 0; c < 2; c++) {
            rc = gv_annexb_split(c ? GV_CODEC_HEVC : GV_CODEC_H264, buf, n, &au);
            GV_CHECK(rc == 0 || rc == GV_EPROTO || rc == GV_ELIMIT);
            GV_CHECK(au.len <= au.cap);
            size_t pos = 0;
            while (rc == 0 && pos + 4 <= au.len)
                pos += 4 + ((size_t)au.payload[pos] << 24 | (size_t)au.payload[pos + 1] << 16 |
                            (size_t)au.payload[pos + 2] << 8 | au.payload[pos + 3]);
            if (rc == 0)
                GV_CHECK_INT(pos, au.len);
        }
    }
    gv_annexb_au_free(&au);
}

GV_TEST_MAIN(GV_TEST(test_annexb_split), GV_TEST(test_avcc_build), GV_TEST(test_hvcc_build),
             GV_TEST(test_next_nal), GV_TEST(test_to_lp), GV_TEST(test_avcc_baseline),
             GV_TEST(test_avcc_limits), GV_TEST(test_avcc_x264), GV_TEST(test_garbage))
