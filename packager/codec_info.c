/* Codec facts for playlists and init segments (see codec_info.h): RFC 6381 codec strings from
 * avcC/hvcC/AudioSpecificConfig records, AudioSpecificConfig parsing, and picture size through
 * libavcodec's bitstream parser (no decoder). Every input is untrusted and length-checked. */
#include "packager/codec_info.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>

#include "core/error.h"

#define MAX_PROBE_BYTES (16u * 1024 * 1024) /* config + keyframe, as Annex B */
#define MAX_PROBE_NALUS 4096

/* ---- bit reader over a byte buffer ---- */

typedef struct {
    const uint8_t *p;
    size_t len; /* bytes */
    size_t pos; /* bits consumed */
} bits_t;

static int bits_read(bits_t *b, int n, uint32_t *out)
{
    uint32_t v = 0;
    if (n > 32 || (size_t)n > b->len * 8 - b->pos)
        return GV_ETRUNC;
    for (int i = 0; i < n; i++) {
        size_t bit = b->pos++;
        v = (v << 1) | ((b->p[bit >> 3] >> (7 - (bit & 7))) & 1);
    }
    *out = v;
    return 0;
}

/* ---- AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) ---- */

static int read_aot(bits_t *b, uint32_t *aot)
{
    int ret = bits_read(b, 5, aot);
    if (ret == 0 && *aot == 31) {
        uint32_t ext;
        if ((ret = bits_read(b, 6, &ext)) < 0)
            return ret;
        *aot = 32 + ext;
    }
    return ret;
}

static int read_rate(bits_t *b, uint32_t *rate)
{
    static const uint32_t rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                       22050, 16000, 12000, 11025, 8000,  7350};
    uint32_t idx;
    int ret;
    if ((ret = bits_read(b, 4, &idx)) < 0)
        return ret;
    if (idx == 15) {
        if ((ret = bits_read(b, 24, rate)) < 0)
            return ret;
        return *rate ? 0 : GV_EPROTO;
    }
    if (idx >= 13)
        return GV_EPROTO; /* 13 and 14 are reserved */
    *rate = rates[idx];
    return 0;
}

int gv_aac_asc_parse(const uint8_t *asc, size_t len, int *aot, int *sample_rate, int *channels)
{
    /* channelConfiguration -> channel count; 0 means "in a program config element". */
    static const int chans[16] = {0, 1, 2, 3, 4, 5, 6, 8, -1, -1, -1, 7, 8, 24, 8, -1};
    bits_t b = {asc, len, 0};
    uint32_t type, rate, cfg;
    int ret;

    if (!asc && len)
        return GV_EINVAL;
    if ((ret = read_aot(&b, &type)) < 0)
        return ret;
    if (type == 0)
        return GV_EPROTO;
    if ((ret = read_rate(&b, &rate)) < 0)
        return ret;
    if ((ret = bits_read(&b, 4, &cfg)) < 0)
        return ret;
    if (chans[cfg] < 0)
        return GV_EPROTO;
    int nch = chans[cfg];
    if (type == 5 || type == 29) {
        /* Explicit SBR/PS signalling: the output rate and the core object type follow. The
         * rate reported stays the core rate, at which one raw frame is 1024 samples. */
        uint32_t ext_rate, core;
        if ((ret = read_rate(&b, &ext_rate)) < 0)
            return ret;
        if ((ret = read_aot(&b, &core)) < 0)
            return ret;
        if (core == 0)
            return GV_EPROTO;
        if (type == 29 && nch == 1)
            nch = 2; /* parametric stereo decodes a mono core to two channels */
    }
    if (aot)
        *aot = (int)type;
    if (sample_rate)
        *sample_rate = (int)rate;
    if (channels)
        *channels = nch;
    return 0;
}

/* ---- codec strings ---- */

static uint32_t reverse32(uint32_t v)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

static int fmt_result(int n, size_t outlen)
{
    return n < 0 || (size_t)n >= outlen ? GV_EINVAL : 0;
}

/* ISO/IEC 14496-15 Annex E: hvc1.[A-C]<profile>.<compat, bit-reversed hex>.<L|H><level>
 * [.<constraint byte hex>]..., trailing zero constraint bytes omitted. */
static int hevc_string(const uint8_t *d, size_t size, char *out, size_t outlen)
{
    if (size < 13 || d[0] != 1)
        return GV_EINVAL;
    int space = d[1] >> 6, tier = (d[1] >> 5) & 1, profile = d[1] & 0x1F;
    uint32_t compat = (uint32_t)d[2] << 24 | (uint32_t)d[3] << 16 | (uint32_t)d[4] << 8 | d[5];
    const uint8_t *constraint = d + 6;
    int level = d[12];
    int last = -1;
    for (int i = 0; i < 6; i++)
        if (constraint[i])
            last = i;

    char spc[2] = {0, 0};
    if (space)
        spc[0] = (char)('A' + space - 1);
    int n = snprintf(out, outlen, "hvc1.%s%d.%X.%c%d", spc, profile, reverse32(compat),
                     tier ? 'H' : 'L', level);
    if (fmt_result(n, outlen) < 0)
        return GV_EINVAL;
    size_t used = (size_t)n;
    for (int i = 0; i <= last; i++) {
        n = snprintf(out + used, outlen - used, ".%X", constraint[i]);
        if (fmt_result(n, outlen - used) < 0)
            return GV_EINVAL;
        used += (size_t)n;
    }
    return 0;
}

int gv_codec_string(const gv_codec_config_t *c, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return GV_EINVAL;
    out[0] = '\0';
    if (!c || !c->data)
        return GV_EINVAL;
    int ret = GV_EINVAL;
    switch (c->codec) {
    case GV_CODEC_H264:
        if (c->size < 4 || c->data[0] != 1)
            return GV_EINVAL;
        ret = fmt_result(
            snprintf(out, outlen, "avc1.%02x%02x%02x", c->data[1], c->data[2], c->data[3]), outlen);
        break;
    case GV_CODEC_HEVC:
        ret = hevc_string(c->data, c->size, out, outlen);
        break;
    case GV_CODEC_AAC: {
        int aot;
        if (gv_aac_asc_parse(c->data, c->size, &aot, NULL, NULL) < 0)
            return GV_EINVAL;
        ret = fmt_result(snprintf(out, outlen, "mp4a.40.%d", aot), outlen);
        break;
    }
    default:
        break;
    }
    if (ret < 0)
        out[0] = '\0';
    return ret;
}

/* ---- picture size through libavcodec's parser ---- */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    size_t nalus;
} annexb_t;

static int annexb_add(annexb_t *a, const uint8_t *nal, size_t n)
{
    static const uint8_t start[4] = {0, 0, 0, 1};
    if (n == 0)
        return GV_EPROTO;
    if (++a->nalus > MAX_PROBE_NALUS)
        return GV_ELIMIT;
    if (n > MAX_PROBE_BYTES || a->len + 4 + n > MAX_PROBE_BYTES)
        return GV_ETOOBIG;
    size_t need = a->len + 4 + n + AV_INPUT_BUFFER_PADDING_SIZE;
    if (need > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *nb = realloc(a->buf, cap);
        if (!nb)
            return GV_ENOMEM;
        a->buf = nb;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, start, 4);
    memcpy(a->buf + a->len + 4, nal, n);
    a->len += 4 + n;
    return 0;
}

static uint32_t rd16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

/* Appends count NALUs that are each preceded by a 16-bit length, advancing *pos. */
static int add_u16_nalus(annexb_t *a, const uint8_t *d, size_t size, size_t *pos, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        if (size - *pos < 2)
            return GV_ETRUNC;
        size_t n = rd16(d + *pos);
        *pos += 2;
        if (n > size - *pos)
            return GV_ETRUNC;
        int ret = annexb_add(a, d + *pos, n);
        if (ret < 0)
            return ret;
        *pos += n;
    }
    return 0;
}

static int avcc_to_annexb(annexb_t *a, const uint8_t *d, size_t size)
{
    if (size < 6)
        return GV_ETRUNC;
    if (d[0] != 1)
        return GV_EPROTO;
    size_t pos = 6;
    int ret = add_u16_nalus(a, d, size, &pos, d[5] & 0x1F);
    if (ret < 0)
        return ret;
    if (pos >= size)
        return GV_ETRUNC;
    unsigned npps = d[pos++];
    return add_u16_nalus(a, d, size, &pos, npps);
}

static int hvcc_to_annexb(annexb_t *a, const uint8_t *d, size_t size)
{
    if (size < 23)
        return GV_ETRUNC;
    if (d[0] != 1)
        return GV_EPROTO;
    unsigned arrays = d[22];
    size_t pos = 23;
    for (unsigned i = 0; i < arrays; i++) {
        if (size - pos < 3)
            return GV_ETRUNC;
        unsigned count = rd16(d + pos + 1);
        pos += 3;
        int ret = add_u16_nalus(a, d, size, &pos, count);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int unit_to_annexb(annexb_t *a, const uint8_t *d, size_t size)
{
    size_t pos = 0;
    while (pos < size) {
        if (size - pos < 4)
            return GV_ETRUNC;
        size_t n =
            (size_t)d[pos] << 24 | (size_t)d[pos + 1] << 16 | (size_t)d[pos + 2] << 8 | d[pos + 3];
        pos += 4;
        if (n > size - pos)
            return GV_ETRUNC;
        int ret = annexb_add(a, d + pos, n);
        if (ret < 0)
            return ret;
        pos += n;
    }
    return 0;
}

int gv_video_probe_size(const gv_codec_config_t *c, const uint8_t *key, size_t key_size, int *width,
                        int *height)
{
    annexb_t a = {0};
    AVCodecParserContext *pc = NULL;
    AVCodecContext *avctx = NULL;
    enum AVCodecID id;
    int ret;

    if (!c || !c->data || (!key && key_size) || !width || !height)
        return GV_EINVAL;
    *width = *height = 0;
    if (c->codec == GV_CODEC_H264) {
        id = AV_CODEC_ID_H264;
        ret = avcc_to_annexb(&a, c->data, c->size);
    } else if (c->codec == GV_CODEC_HEVC) {
        id = AV_CODEC_ID_HEVC;
        ret = hvcc_to_annexb(&a, c->data, c->size);
    } else {
        return GV_EINVAL;
    }
    if (ret < 0)
        goto fail;
    if ((ret = unit_to_annexb(&a, key, key_size)) < 0)
        goto fail;
    if (a.len == 0) {
        ret = GV_EPROTO;
        goto fail;
    }
    memset(a.buf + a.len, 0, AV_INPUT_BUFFER_PADDING_SIZE);

    pc = av_parser_init(id);
    avctx = avcodec_alloc_context3(NULL);
    if (!pc || !avctx) {
        ret = pc ? GV_ENOMEM : GV_EUNSUPP;
        goto fail;
    }
    /* The buffer is one whole access unit: parse it now instead of waiting for the next. */
    pc->flags |= PARSER_FLAG_COMPLETE_FRAMES;
    uint8_t *outp = NULL;
    int outn = 0;
    int used = av_parser_parse2(pc, avctx, &outp, &outn, a.buf, (int)a.len, AV_NOPTS_VALUE,
                                AV_NOPTS_VALUE, 0);
    if (used < 0) {
        ret = GV_ECODEC;
        goto fail;
    }
    int w = pc->width > 0 ? pc->width : avctx->coded_width;
    int h = pc->height > 0 ? pc->height : avctx->coded_height;
    if (w <= 0 || h <= 0) {
        ret = GV_ECODEC;
        goto fail;
    }
    *width = w;
    *height = h;
    ret = 0;
fail:
    if (pc)
        av_parser_close(pc);
    avcodec_free_context(&avctx);
    free(a.buf);
    return ret;
}
