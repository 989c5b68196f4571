/* Unit tests for FLV tag parsing: AVC sequence header + NAL units with a negative composition
 * offset, 1- and 2-byte NAL lengths re-framed to 4 bytes (and the config rewritten to match),
 * Enhanced RTMP hvc1 SequenceStart / CodedFrames / CodedFramesX built by hand, AAC config and
 * frames, 32-bit timestamp wrap, frames before their sequence header, and truncation of every
 * tag at every offset. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ingest/flv.h"
#include "testlib.h"

/* avcC: version 1, High profile, level 3.1, lengthSizeMinusOne in the low bits of byte 4,
 * one SPS (4 bytes), one PPS (2 bytes). */
static size_t make_avcc(uint8_t *p, int length_size)
{
    const uint8_t avcc[] = {0x01, 0x64, 0x00, 0x1f, 0xfc, 0xe1, 0x00, 0x04, 0x67,
                            0x64, 0x00, 0x1f, 0x01, 0x00, 0x02, 0x68, 0xee};
    memcpy(p, avcc, sizeof(avcc));
    p[4] = (uint8_t)(0xfc | (length_size - 1));
    return sizeof(avcc);
}

/* NAL units "AAAA" and "BB" framed with the given length size. */
static size_t make_nals(uint8_t *p, int ls)
{
    size_t n = 0;
    const char *nals[2] = {"\x65"
                           "AAA",
                           "\x41"
                           "B"};
    for (int i = 0; i < 2; i++) {
        size_t len = strlen(nals[i]);
        for (int k = ls - 1; k >= 0; k--)
            p[n++] = (uint8_t)(len >> (8 * k));
        memcpy(p + n, nals[i], len);
        n += len;
    }
    return n;
}

static void check_four_byte_payload(const gv_unit_t *u)
{
    const uint8_t want[] = {0, 0, 0, 4, 0x65, 'A', 'A', 'A', 0, 0, 0, 2, 0x41, 'B'};
    GV_CHECK_INT(u->size, sizeof(want));
    GV_CHECK(u->size == sizeof(want) && memcmp(u->data, want, sizeof(want)) == 0);
}

static void test_avc(void)
{
    for (int ls = 1; ls <= 4; ls *= 2) {
        gv_flv_t f;
        gv_flv_init(&f);
        uint8_t tag[64];
        gv_unit_t *u = NULL;

        /* A frame before any sequence header is dropped. */
        tag[0] = 0x17;
        tag[1] = 1;
        tag[2] = tag[3] = tag[4] = 0;
        size_t n = 5 + make_nals(tag + 5, 4);
        GV_CHECK_INT(gv_flv_video(&f, 0, tag, n, &u), 0);
        GV_CHECK(u == NULL);
        GV_CHECK_INT(f.dropped, 1);

        tag[0] = 0x17;
        tag[1] = 0;
        n = 5 + make_avcc(tag + 5, ls);
        GV_CHECK_INT(gv_flv_video(&f, 0, tag, n, &u), 0);
        GV_CHECK(u == NULL && f.video_cfg && f.video_cfg_changed);
        GV_CHECK_INT(f.nal_len_size, ls);
        GV_CHECK_INT(f.video_cfg->codec, GV_CODEC_H264);
        GV_CHECK_INT(f.video_cfg->data[4] & 3, 3); /* rewritten to 4-byte lengths */
        gv_codec_config_t *first = f.video_cfg;
        f.video_cfg_changed = false;
        /* The same header again keeps the same config object. */
        GV_CHECK_INT(gv_flv_video(&f, 0, tag, n, &u), 0);
        GV_CHECK(f.video_cfg == first && !f.video_cfg_changed);

        /* Keyframe at 1000 ms with cts -40 ms (a broken but real-world encoder). */
        tag[0] = 0x17;
        tag[1] = 1;
        tag[2] = 0xff;
        tag[3] = 0xff;
        tag[4] = 0xd8;
        n = 5 + make_nals(tag + 5, ls);
        GV_CHECK_INT(gv_flv_video(&f, 1000, tag, n, &u), 0);
        GV_CHECK(u != NULL);
        if (u) {
            GV_CHECK(u->keyframe);
            GV_CHECK_INT(u->track, GV_TRACK_VIDEO);
            GV_CHECK_INT(u->codec, GV_CODEC_H264);
            GV_CHECK_INT(u->dts, 90000);
            GV_CHECK_INT(u->pts, 90000 - 40 * 90);
            GV_CHECK(u->config == f.video_cfg);
            GV_CHECK(u->arrival_us > 0);
            check_four_byte_payload(u);
            gv_unit_unref(u);
        }
        /* Inter frame with positive cts. */
        tag[0] = 0x27;
        tag[2] = 0;
        tag[3] = 0;
        tag[4] = 66;
        GV_CHECK_INT(gv_flv_video(&f, 1033, tag, n, &u), 0);
        if (u) {
            GV_CHECK(!u->keyframe);
            GV_CHECK_INT(u->pts - u->dts, 66 * 90);
            gv_unit_unref(u);
        }
        /* End of sequence and a command frame produce nothing. */
        tag[0] = 0x17;
        tag[1] = 2;
        GV_CHECK_INT(gv_flv_video(&f, 1033, tag, 5, &u), 0);
        GV_CHECK(u == NULL);
        tag[0] = 0x57;
        GV_CHECK_INT(gv_flv_video(&f, 1033, tag, 2, &u), 0);
        GV_CHECK(u == NULL);
        gv_flv_reset(&f);
    }
}

static void test_video_errors(void)
{
    gv_flv_t f;
    gv_flv_init(&f);
    gv_unit_t *u = NULL;
    const uint8_t vp6[] = {0x14, 0, 0, 0, 0};
    GV_CHECK_INT(gv_flv_video(&f, 0, vp6, sizeof(vp6), &u), GV_EUNSUPP);
    const uint8_t bad_pkt[] = {0x17, 9, 0, 0, 0};
    GV_CHECK_INT(gv_flv_video(&f, 0, bad_pkt, sizeof(bad_pkt), &u), GV_EPROTO);
    uint8_t tag[64] = {0x17, 0, 0, 0, 0};
    size_t n = 5 + make_avcc(tag + 5, 4);
    tag[5] = 2; /* avcC version must be 1 */
    GV_CHECK_INT(gv_flv_video(&f, 0, tag, n, &u), GV_EPROTO);
    tag[5] = 1;
    tag[9] = 0xfe; /* lengthSizeMinusOne 2: three-byte lengths are not allowed */
    GV_CHECK_INT(gv_flv_video(&f, 0, tag, n, &u), GV_EPROTO);
    tag[9] = 0xff;
    GV_CHECK_INT(gv_flv_video(&f, 0, tag, n, &u), 0);
    /* A NAL length pointing past the end of the tag. */
    const uint8_t overlong[] = {0x27, 1, 0, 0, 0, 0, 0, 0, 9, 0x41, 1, 2};
    GV_CHECK_INT(gv_flv_video(&f, 0, overlong, sizeof(overlong), &u), GV_ETRUNC);
    /* Zero-length NAL units are dropped; a tag of only those yields no unit. */
    const uint8_t empty_nals[] = {0x27, 1, 0, 0, 0, 0, 0, 0, 0};
    GV_CHECK_INT(gv_flv_video(&f, 0, empty_nals, sizeof(empty_nals), &u), 0);
    GV_CHECK(u == NULL);
    gv_flv_reset(&f);
}

/* hvcC: version 1, 20 bytes of profile/level fields, byte 21 = 0xf0 | lengthSizeMinusOne,
 * numOfArrays 0. */
static size_t make_hvcc(uint8_t *p, int ls)
{
    memset(p, 0, 23);
    p[0] = 1;
    p[1] = 0x01;
    p[12] = 93;
    p[21] = (uint8_t)(0xf0 | (ls - 1));
    p[22] = 0;
    return 23;
}

static void test_enhanced_hevc(void)
{
    gv_flv_t f;
    gv_flv_init(&f);
    gv_unit_t *u = NULL;
    uint8_t tag[64];

    /* SequenceStart, key frame type: 0x80 | 1 << 4 | 0. */
    tag[0] = 0x90;
    memcpy(tag + 1, "hvc1", 4);
    size_t n = 5 + make_hvcc(tag + 5, 2);
    GV_CHECK_INT(gv_flv_video(&f, 0, tag, n, &u), 0);
    GV_CHECK(u == NULL && f.video_cfg);
    if (!f.video_cfg)
        return;
    GV_CHECK_INT(f.video_cfg->codec, GV_CODEC_HEVC);
    GV_CHECK_INT(f.video_cfg->data[21] & 3, 3);
    GV_CHECK_INT(f.nal_len_size, 2);

    /* CodedFrames, key, cts +80 ms. */
    tag[0] = 0x91;
    tag[5] = 0;
    tag[6] = 0;
    tag[7] = 80;
    n = 8 + make_nals(tag + 8, 2);
    GV_CHECK_INT(gv_flv_video(&f, 2000, tag, n, &u), 0);
    GV_CHECK(u != NULL);
    if (u) {
        GV_CHECK(u->keyframe);
        GV_CHECK_INT(u->codec, GV_CODEC_HEVC);
        GV_CHECK_INT(u->dts, 2000 * 90);
        GV_CHECK_INT(u->pts, 2080 * 90);
        check_four_byte_payload(u);
        gv_unit_unref(u);
    }
    /* CodedFramesX, inter frame (type 2): no composition time field. */
    tag[0] = 0x80 | 0x20 | 3;
    n = 5 + make_nals(tag + 5, 2);
    GV_CHECK_INT(gv_flv_video(&f, 2033, tag, n, &u), 0);
    GV_CHECK(u != NULL);
    if (u) {
        GV_CHECK(!u->keyframe);
        GV_CHECK_INT(u->pts, u->dts);
        GV_CHECK_INT(u->dts, 2033 * 90);
        check_four_byte_payload(u);
        gv_unit_unref(u);
    }
    /* Metadata and SequenceEnd are ignored. */
    tag[0] = 0x80 | 0x10 | 4;
    GV_CHECK_INT(gv_flv_video(&f, 2033, tag, 9, &u), 0);
    GV_CHECK(u == NULL);
    tag[0] = 0x80 | 0x10 | 2;
    GV_CHECK_INT(gv_flv_video(&f, 2033, tag, 5, &u), 0);
    GV_CHECK(u == NULL);
    /* avc1 frames while the config is HEVC: treated as frames without a sequence header. */
    uint64_t dropped = f.dropped;
    tag[0] = 0x80 | 0x10 | 3;
    memcpy(tag + 1, "avc1", 4);
    GV_CHECK_INT(gv_flv_video(&f, 2066, tag, 5 + make_nals(tag + 5, 2), &u), 0);
    GV_CHECK(u == NULL && f.dropped == dropped + 1);
    /* Codecs and packet types gavel does not take. */
    memcpy(tag + 1, "av01", 4);
    tag[0] = 0x90;
    GV_CHECK_INT(gv_flv_video(&f, 0, tag, 9, &u), GV_EUNSUPP);
    memcpy(tag + 1, "vp09", 4);
    GV_CHECK_INT(gv_flv_video(&f, 0, tag, 9, &u), GV_EUNSUPP);
    memcpy(tag + 1, "hvc1", 4);
    for (uint8_t pkt = 5; pkt < 16; pkt++) { /* MPEG-2 TS start, multitrack, ModEx, reserved */
        tag[0] = (uint8_t)(0x90 | pkt);
        GV_CHECK_INT(gv_flv_video(&f, 0, tag, 9, &u), GV_EUNSUPP);
    }
    gv_flv_reset(&f);
}

static void test_aac(void)
{
    gv_flv_t f;
    gv_flv_init(&f);
    gv_unit_t *u = NULL;
    const uint8_t frame[] = {0xaf, 1, 0x21, 0x10, 0x05};
    GV_CHECK_INT(gv_flv_audio(&f, 0, frame, sizeof(frame), &u), 0); /* before config: dropped */
    GV_CHECK(u == NULL && f.dropped == 1);
    const uint8_t asc[] = {0xaf, 0, 0x12, 0x10}; /* AAC-LC, 44100 Hz, 2 channels */
    GV_CHECK_INT(gv_flv_audio(&f, 0, asc, sizeof(asc), &u), 0);
    GV_CHECK(f.audio_cfg && f.audio_cfg->codec == GV_CODEC_AAC);
    if (f.audio_cfg) {
        GV_CHECK_INT(f.audio_cfg->sample_rate, 44100);
        GV_CHECK_INT(f.audio_cfg->channels, 2);
        GV_CHECK_INT(f.audio_cfg->size, 2);
    }
    GV_CHECK_INT(gv_flv_audio(&f, 23, frame, sizeof(frame), &u), 0);
    GV_CHECK(u != NULL);
    if (u) {
        GV_CHECK(u->keyframe);
        GV_CHECK_INT(u->track, GV_TRACK_AUDIO);
        GV_CHECK_INT(u->codec, GV_CODEC_AAC);
        GV_CHECK_INT(u->dts, 23 * 90);
        GV_CHECK_INT(u->pts, 23 * 90);
        GV_CHECK_INT(u->size, 3);
        GV_CHECK(u->size == 3 && memcmp(u->data, frame + 2, 3) == 0);
        gv_unit_unref(u);
    }
    /* Explicit sample rate (sampling index 15). */
    const uint8_t asc_explicit[] = {0xaf, 0, 0x17, 0x80, 0x5d, 0xc0, 0x08}; /* 48000, 1 ch */
    GV_CHECK_INT(gv_flv_audio(&f, 0, asc_explicit, sizeof(asc_explicit), &u), 0);
    if (f.audio_cfg) {
        GV_CHECK_INT(f.audio_cfg->sample_rate, 48000);
        GV_CHECK_INT(f.audio_cfg->channels, 1);
    }
    const uint8_t mp3[] = {0x2f, 0xff};
    GV_CHECK_INT(gv_flv_audio(&f, 0, mp3, sizeof(mp3), &u), GV_EUNSUPP);
    const uint8_t bad_pkt[] = {0xaf, 7, 0};
    GV_CHECK_INT(gv_flv_audio(&f, 0, bad_pkt, sizeof(bad_pkt), &u), GV_EPROTO);
    const uint8_t bad_rate[] = {0xaf, 0, 0x16, 0x90}; /* sampling index 13 is reserved */
    GV_CHECK_INT(gv_flv_audio(&f, 0, bad_rate, sizeof(bad_rate), &u), GV_EPROTO);
    gv_flv_reset(&f);
}

static void test_timestamp_wrap(void)
{
    gv_ts_unwrap_t w = {0};
    GV_CHECK_INT(gv_ts_unwrap(&w, 0xfffffff0u), 0xfffffff0LL);
    GV_CHECK_INT(gv_ts_unwrap(&w, 0x00000010u), 0x100000010LL);
    GV_CHECK_INT(gv_ts_unwrap(&w, 0x00000008u), 0x100000008LL); /* small step back */
    GV_CHECK_INT(gv_ts_unwrap(&w, 0xfffffff8u), 0xfffffff8LL);  /* back across the wrap */

    gv_flv_t f;
    gv_flv_init(&f);
    gv_unit_t *u = NULL;
    const uint8_t asc[] = {0xaf, 0, 0x12, 0x10};
    const uint8_t frame[] = {0xaf, 1, 0x21};
    gv_flv_audio(&f, 0xffffffe0u, asc, sizeof(asc), &u);
    int64_t prev = -1;
    uint32_t ts = 0xffffffe0u;
    for (int i = 0; i < 6; i++, ts += 23) {
        GV_CHECK_INT(gv_flv_audio(&f, ts, frame, sizeof(frame), &u), 0);
        if (!u)
            continue;
        if (prev >= 0)
            GV_CHECK_INT(u->dts - prev, 23 * 90);
        prev = u->dts;
        gv_unit_unref(u);
    }
    /* A unit going backwards is clamped so dts never decreases per track. */
    GV_CHECK_INT(gv_flv_audio(&f, ts - 100, frame, sizeof(frame), &u), 0);
    if (u) {
        GV_CHECK_INT(u->dts, prev);
        gv_unit_unref(u);
    }
    gv_flv_reset(&f);
}

typedef int (*parse_fn)(gv_flv_t *, uint32_t, const uint8_t *, size_t, gv_unit_t **);

/* Every prefix of a valid tag must parse to an error or to nothing, never crash or leak. */
static void truncate_all(parse_fn fn, const uint8_t *setup, size_t setup_n, const uint8_t *tag,
                         size_t n)
{
    for (size_t cut = 0; cut < n; cut++) {
        gv_flv_t f;
        gv_flv_init(&f);
        gv_unit_t *u = NULL;
        if (setup)
            GV_CHECK_INT(fn(&f, 0, setup, setup_n, &u), 0);
        uint8_t *copy = malloc(cut ? cut : 1); /* exact-size copy so ASan sees overreads */
        memcpy(copy, tag, cut);
        int rc = fn(&f, 0, copy, cut, &u);
        GV_CHECK(rc == 0 || rc == GV_ETRUNC || rc == GV_EPROTO);
        if (u)
            gv_unit_unref(u);
        free(copy);
        gv_flv_reset(&f);
    }
}

static void test_truncations(void)
{
    uint8_t seq[64] = {0x17, 0, 0, 0, 0};
    size_t seq_n = 5 + make_avcc(seq + 5, 1);
    truncate_all(gv_flv_video, NULL, 0, seq, seq_n);
    uint8_t nalu[64] = {0x17, 1, 0, 0, 0};
    size_t nalu_n = 5 + make_nals(nalu + 5, 1);
    truncate_all(gv_flv_video, seq, seq_n, nalu, nalu_n);

    uint8_t hseq[64] = {0x90, 'h', 'v', 'c', '1'};
    size_t hseq_n = 5 + make_hvcc(hseq + 5, 4);
    truncate_all(gv_flv_video, NULL, 0, hseq, hseq_n);
    uint8_t hfr[64] = {0x91, 'h', 'v', 'c', '1', 0, 0, 0};
    size_t hfr_n = 8 + make_nals(hfr + 8, 4);
    truncate_all(gv_flv_video, hseq, hseq_n, hfr, hfr_n);
    uint8_t hfx[64] = {0xa3, 'h', 'v', 'c', '1'};
    size_t hfx_n = 5 + make_nals(hfx + 5, 4);
    truncate_all(gv_flv_video, hseq, hseq_n, hfx, hfx_n);

    const uint8_t asc[] = {0xaf, 0, 0x17, 0x80, 0x5d, 0xc0, 0x08};
    truncate_all(gv_flv_audio, NULL, 0, asc, sizeof(asc));
    const uint8_t asc2[] = {0xaf, 0, 0x12, 0x10};
    const uint8_t frame[] = {0xaf, 1, 0x21, 0x10};
    truncate_all(gv_flv_audio, asc2, sizeof(asc2), frame, sizeof(frame));
}

GV_TEST_MAIN(GV_TEST(test_avc), GV_TEST(test_video_errors), GV_TEST(test_enhanced_hevc),
             GV_TEST(test_aac), GV_TEST(test_timestamp_wrap), GV_TEST(test_truncations))
