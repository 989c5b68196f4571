/* FLV tag body parsing into media units (see flv.h). Video payloads leave here as 4-byte
 * length-prefixed NAL units whatever length size the sender used; the config record is
 * rewritten to announce 4-byte lengths so the packager sees one consistent layout. */
#include "ingest/flv.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ingest/bytes.h"

enum {
    LEGACY_AVC = 7,
    LEGACY_HEVC = 12, /* widespread non-standard id for HEVC in plain FLV */
    FRAME_KEY = 1,
    FRAME_COMMAND = 5,
    SOUND_AAC = 10,
};

enum { /* Enhanced RTMP video packet types */
       EX_SEQUENCE_START = 0,
       EX_CODED_FRAMES = 1,
       EX_SEQUENCE_END = 2,
       EX_CODED_FRAMES_X = 3,
       EX_METADATA = 4,
};

int64_t gv_ts_unwrap(gv_ts_unwrap_t *u, uint32_t ms)
{
    if (!u->started) {
        u->started = true;
        u->value = ms;
    } else {
        u->value += (int32_t)(ms - u->prev);
    }
    u->prev = ms;
    return u->value;
}

void gv_flv_init(gv_flv_t *f)
{
    memset(f, 0, sizeof(*f));
}

void gv_flv_reset(gv_flv_t *f)
{
    gv_codec_config_unref(f->video_cfg);
    gv_codec_config_unref(f->audio_cfg);
    gv_flv_init(f);
}

/* Replaces *slot with a config for (codec, data) unless it already holds identical bytes. */
static int install_config(gv_codec_config_t **slot, gv_codec_t codec, const uint8_t *data,
                          size_t size, bool *changed)
{
    gv_codec_config_t probe = {.codec = codec, .data = (uint8_t *)data, .size = size};
    if (*slot && gv_codec_config_equal(*slot, &probe))
        return 0;
    gv_codec_config_t *c = gv_codec_config_create(codec, data, size);
    if (!c)
        return GV_ENOMEM;
    gv_codec_config_unref(*slot);
    *slot = c;
    *changed = true;
    return 0;
}

static int video_config(gv_flv_t *f, gv_codec_t codec, const uint8_t *p, size_t n)
{
    /* avcC: version, profile, compat, level, 0xfc|lengthSizeMinusOne, ...
     * hvcC: version, 20 bytes of profile/tier/level/format fields, then the byte holding
     * lengthSizeMinusOne, then the NAL arrays. */
    size_t min = codec == GV_CODEC_H264 ? 7 : 23;
    size_t ls_at = codec == GV_CODEC_H264 ? 4 : 21;
    if (n < min)
        return GV_ETRUNC;
    if (p[0] != 1)
        return GV_EPROTO;
    int ls = (p[ls_at] & 3) + 1;
    if (ls == 3)
        return GV_EPROTO;
    uint8_t *copy = malloc(n);
    if (!copy)
        return GV_ENOMEM;
    memcpy(copy, p, n);
    copy[ls_at] |= 3;
    int err = install_config(&f->video_cfg, codec, copy, n, &f->video_cfg_changed);
    free(copy);
    if (err)
        return err;
    f->nal_len_size = ls;
    return 0;
}

/* Checks the NAL length framing and re-frames it with 4-byte lengths. Zero-length NAL units
 * are dropped. *out_n is 0 when nothing remains. */
static int reframe(const uint8_t *p, size_t n, int ls, uint8_t **out, size_t *out_n)
{
    size_t total = 0, pos = 0;
    bool identical = ls == 4;
    while (pos < n) {
        if (n - pos < (size_t)ls)
            return GV_ETRUNC;
        size_t len = 0;
        for (int i = 0; i < ls; i++)
            len = len << 8 | p[pos + i];
        pos += ls;
        if (len > n - pos)
            return GV_ETRUNC;
        if (len == 0)
            identical = false;
        else
            total += 4 + len;
        pos += len;
    }
    *out = NULL;
    *out_n = total;
    if (identical || total == 0)
        return 0;
    uint8_t *b = malloc(total);
    if (!b)
        return GV_ENOMEM;
    size_t o = 0;
    for (pos = 0; pos < n;) {
        size_t len = 0;
        for (int i = 0; i < ls; i++)
            len = len << 8 | p[pos + i];
        pos += ls;
        if (len) {
            gv_wr_u32be(b + o, (uint32_t)len);
            memcpy(b + o + 4, p + pos, len);
            o += 4 + len;
        }
        pos += len;
    }
    *out = b;
    return 0;
}

/* Timestamps for a unit of track t: unwrapped, in 90 kHz ticks, dts never going backwards. */
static int64_t track_dts(gv_flv_t *f, gv_track_t t, uint32_t ts_ms)
{
    int64_t dts = gv_ts_unwrap(&f->clock, ts_ms) * (GV_TIME_BASE / 1000);
    if (f->have_dts[t] && dts < f->last_dts[t])
        dts = f->last_dts[t];
    f->have_dts[t] = true;
    f->last_dts[t] = dts;
    return dts;
}

static int video_frames(gv_flv_t *f, gv_codec_t codec, uint32_t ts_ms, int32_t cts, bool key,
                        const uint8_t *p, size_t n, gv_unit_t **out)
{
    if (!f->video_cfg || f->video_cfg->codec != codec) {
        f->dropped++;
        return 0;
    }
    uint8_t *framed = NULL;
    size_t framed_n = 0;
    int err = reframe(p, n, f->nal_len_size, &framed, &framed_n);
    if (err)
        return err;
    if (framed_n == 0)
        return 0;
    gv_unit_t *u = gv_unit_create(GV_TRACK_VIDEO, f->video_cfg, framed ? framed : p, framed_n);
    free(framed);
    if (!u)
        return GV_ENOMEM;
    u->dts = track_dts(f, GV_TRACK_VIDEO, ts_ms);
    u->pts = u->dts + (int64_t)cts * (GV_TIME_BASE / 1000);
    u->keyframe = key;
    u->arrival_us = gv_now_us();
    *out = u;
    return 0;
}

static int32_t read_si24(const uint8_t *p)
{
    uint32_t v = gv_rd_u24be(p);
    return (int32_t)(v & 0x800000 ? v | 0xff000000u : v);
}

static int enhanced_video(gv_flv_t *f, uint32_t ts_ms, const uint8_t *p, size_t n, gv_unit_t **out)
{
    unsigned frame_type = (p[0] >> 4) & 7, pkt = p[0] & 0x0f;
    if (pkt > EX_METADATA)
        return GV_EUNSUPP; /* MPEG-2 TS sequence start, multitrack, ModEx, reserved */
    if (n < 5)
        return GV_ETRUNC;
    if (frame_type == FRAME_COMMAND && pkt != EX_METADATA)
        return 0;
    gv_codec_t codec;
    if (memcmp(p + 1, "hvc1", 4) == 0)
        codec = GV_CODEC_HEVC;
    else if (memcmp(p + 1, "avc1", 4) == 0)
        codec = GV_CODEC_H264;
    else
        return GV_EUNSUPP;
    p += 5;
    n -= 5;
    bool key = frame_type == FRAME_KEY;
    switch (pkt) {
    case EX_SEQUENCE_START:
        return video_config(f, codec, p, n);
    case EX_CODED_FRAMES:
        if (n < 3)
            return GV_ETRUNC;
        return video_frames(f, codec, ts_ms, read_si24(p), key, p + 3, n - 3, out);
    case EX_CODED_FRAMES_X:
        return video_frames(f, codec, ts_ms, 0, key, p, n, out);
    default: /* sequence end, metadata */
        return 0;
    }
}

int gv_flv_video(gv_flv_t *f, uint32_t ts_ms, const uint8_t *p, size_t n, gv_unit_t **out)
{
    *out = NULL;
    if (n < 1)
        return GV_ETRUNC;
    if (p[0] & 0x80)
        return enhanced_video(f, ts_ms, p, n, out);
    unsigned frame_type = p[0] >> 4, codec_id = p[0] & 0x0f;
    if (frame_type == FRAME_COMMAND)
        return 0;
    if (codec_id != LEGACY_AVC && codec_id != LEGACY_HEVC)
        return GV_EUNSUPP;
    gv_codec_t codec = codec_id == LEGACY_AVC ? GV_CODEC_H264 : GV_CODEC_HEVC;
    if (n < 5)
        return GV_ETRUNC;
    switch (p[1]) {
    case 0:
        return video_config(f, codec, p + 5, n - 5);
    case 1:
        return video_frames(f, codec, ts_ms, read_si24(p + 2), frame_type == FRAME_KEY, p + 5,
                            n - 5, out);
    case 2: /* end of sequence */
        return 0;
    default:
        return GV_EPROTO;
    }
}

/* Reads sample rate and channel count from an AudioSpecificConfig. */
static int parse_asc(const uint8_t *p, size_t n, int *rate, int *channels)
{
    static const int rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                  22050, 16000, 12000, 11025, 8000,  7350};
    uint64_t bits = 0;
    size_t have = n < 8 ? n : 8;
    for (size_t i = 0; i < 8; i++)
        bits = bits << 8 | (i < have ? p[i] : 0);
    size_t avail = have * 8, at = 0;
#define TAKE(k) (at += (k), (unsigned)((bits >> (64 - at)) & ((1u << (k)) - 1)))
    if (avail < 9)
        return GV_ETRUNC;
    unsigned aot = TAKE(5);
    if (aot == 31) {
        if (avail < 15)
            return GV_ETRUNC;
        aot = 32 + TAKE(6);
    }
    if (aot == 0)
        return GV_EPROTO;
    unsigned idx = TAKE(4);
    if (idx == 15) {
        if (avail < at + 24 + 4)
            return GV_ETRUNC;
        *rate = (int)TAKE(24);
    } else if (idx < 13) {
        *rate = rates[idx];
    } else {
        return GV_EPROTO;
    }
    if (avail < at + 4)
        return GV_ETRUNC;
    *channels = (int)TAKE(4);
#undef TAKE
    return 0;
}

int gv_flv_audio(gv_flv_t *f, uint32_t ts_ms, const uint8_t *p, size_t n, gv_unit_t **out)
{
    *out = NULL;
    if (n < 1)
        return GV_ETRUNC;
    if (p[0] >> 4 != SOUND_AAC)
        return GV_EUNSUPP;
    if (n < 2)
        return GV_ETRUNC;
    if (p[1] == 0) {
        int rate = 0, channels = 0;
        int err = parse_asc(p + 2, n - 2, &rate, &channels);
        if (err)
            return err;
        err = install_config(&f->audio_cfg, GV_CODEC_AAC, p + 2, n - 2, &f->audio_cfg_changed);
        if (err)
            return err;
        f->audio_cfg->sample_rate = rate;
        f->audio_cfg->channels = channels;
        return 0;
    }
    if (p[1] != 1)
        return GV_EPROTO;
    if (!f->audio_cfg) {
        f->dropped++;
        return 0;
    }
    if (n == 2)
        return 0;
    gv_unit_t *u = gv_unit_create(GV_TRACK_AUDIO, f->audio_cfg, p + 2, n - 2);
    if (!u)
        return GV_ENOMEM;
    u->dts = u->pts = track_dts(f, GV_TRACK_AUDIO, ts_ms);
    u->keyframe = true;
    u->arrival_us = gv_now_us();
    *out = u;
    return 0;
}
