/* Elementary-stream helpers (see mpegts_es.h): Annex B splitting, avcC/hvcC building from
 * parameter sets (ISO/IEC 14496-15 layouts, reading only the few SPS fields the records need)
 * and ADTS headers. Everything is bounded by the limits in the header. */
#include "ingest/mpegts_es.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* ---- bit reader over an RBSP copy (emulation prevention bytes removed) ---- */

typedef struct {
    uint8_t buf[GV_ES_MAX_PS_SIZE];
    size_t len;
    size_t bit;
    bool overrun;
} rbsp_t;

static void rbsp_load(rbsp_t *r, const uint8_t *p, size_t n)
{
    size_t zeros = 0;
    r->len = r->bit = 0;
    r->overrun = false;
    for (size_t i = 0; i < n && r->len < sizeof(r->buf); i++) {
        if (zeros >= 2 && p[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = p[i] == 0 ? zeros + 1 : 0;
        r->buf[r->len++] = p[i];
    }
}

static uint32_t rd_bits(rbsp_t *r, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        if (r->bit >= r->len * 8) {
            r->overrun = true;
            return 0;
        }
        v = (v << 1) | ((r->buf[r->bit / 8] >> (7 - r->bit % 8)) & 1u);
        r->bit++;
    }
    return v;
}

static void skip_bits(rbsp_t *r, size_t n)
{
    if (r->bit + n > r->len * 8) {
        r->overrun = true;
        r->bit = r->len * 8;
        return;
    }
    r->bit += n;
}

/* Exp-Golomb; values past 2^31 are treated as an overrun (no real SPS field is that large). */
static uint32_t rd_ue(rbsp_t *r)
{
    int zeros = 0;
    while (rd_bits(r, 1) == 0) {
        if (r->overrun || ++zeros > 31) {
            r->overrun = true;
            return 0;
        }
    }
    if (zeros == 0)
        return 0;
    return (1u << zeros) - 1 + rd_bits(r, zeros);
}

/* ---- Annex B ---- */

void gv_es_au_init(gv_es_au_t *au)
{
    memset(au, 0, sizeof(*au));
    gv_bytes_init(&au->payload, GV_ES_MAX_AU_SIZE);
}

void gv_es_au_free(gv_es_au_t *au)
{
    gv_bytes_free(&au->payload);
}

/* Finds the next start code at or after pos; returns its offset (n if none), *sc_len its size. */
static size_t next_start(const uint8_t *p, size_t n, size_t pos, size_t *sc_len)
{
    for (size_t i = pos; i + 3 <= n; i++) {
        if (p[i] == 0 && p[i + 1] == 0) {
            if (p[i + 2] == 1) {
                *sc_len = 3;
                return i;
            }
            if (i + 4 <= n && p[i + 2] == 0 && p[i + 3] == 1) {
                *sc_len = 4;
                return i;
            }
        }
    }
    *sc_len = 0;
    return n;
}

static int add_ps(gv_es_au_t *au, gv_es_ps_kind_t kind, const uint8_t *p, size_t n)
{
    if (n > GV_ES_MAX_PS_SIZE)
        return GV_ETOOBIG;
    for (size_t i = 0; i < au->n_ps[kind]; i++)
        if (au->ps[kind][i].n == n && memcmp(au->ps[kind][i].p, p, n) == 0)
            return 0;
    if (au->n_ps[kind] >= GV_ES_MAX_PS)
        return GV_ELIMIT;
    au->ps[kind][au->n_ps[kind]++] = (gv_es_nal_t){p, n};
    return 0;
}

static int add_nal(gv_codec_t codec, const uint8_t *p, size_t n, gv_es_au_t *au)
{
    if (p[0] & 0x80) /* forbidden_zero_bit */
        return GV_EPROTO;
    if (codec == GV_CODEC_H264) {
        int t = p[0] & 0x1f;
        switch (t) {
        case 7:
            return add_ps(au, GV_ES_SPS, p, n);
        case 8:
            return add_ps(au, GV_ES_PPS, p, n);
        case 9:  /* access unit delimiter */
        case 12: /* filler */
            return 0;
        default:
            break;
        }
        if (t >= 1 && t <= 5)
            au->has_vcl = true;
        if (t == 5)
            au->keyframe = true;
    } else {
        if (n < 2)
            return GV_EPROTO;
        int t = (p[0] >> 1) & 0x3f;
        switch (t) {
        case 32:
            return add_ps(au, GV_ES_VPS, p, n);
        case 33:
            return add_ps(au, GV_ES_SPS, p, n);
        case 34:
            return add_ps(au, GV_ES_PPS, p, n);
        case 35: /* access unit delimiter */
        case 38: /* filler */
            return 0;
        default:
            break;
        }
        if (t <= 31)
            au->has_vcl = true;
        if (t >= 16 && t <= 23)
            au->keyframe = true;
    }
    if (++au->n_nalus > GV_ES_MAX_NALUS)
        return GV_ELIMIT;
    gv_bytes_u32be(&au->payload, (uint32_t)n);
    gv_bytes_put(&au->payload, p, n);
    return au->payload.err;
}

int gv_es_annexb_split(gv_codec_t codec, const uint8_t *p, size_t n, gv_es_au_t *au)
{
    if (!au || (!p && n) || (codec != GV_CODEC_H264 && codec != GV_CODEC_HEVC))
        return GV_EINVAL;
    gv_bytes_reset(&au->payload);
    memset(au->ps, 0, sizeof(au->ps));
    memset(au->n_ps, 0, sizeof(au->n_ps));
    au->n_nalus = 0;
    au->keyframe = au->has_vcl = false;
    if (n > GV_ES_MAX_AU_SIZE)
        return GV_ETOOBIG;
    size_t sc;
    size_t pos = next_start(p, n, 0, &sc);
    if (sc == 0)
        return GV_EPROTO;
    while (pos < n) {
        size_t start = pos + sc;
        size_t nsc;
        size_t next = next_start(p, n, start, &nsc);
        size_t end = next;
        /* trailing_zero_8bits belong to no NAL unit */
        while (end > start && p[end - 1] == 0)
            end--;
        if (end > start) { /* back-to-back start codes carry no NAL unit */
            int err = add_nal(codec, p + start, end - start, au);
            if (err < 0)
                return err;
        }
        pos = next;
        sc = nsc;
    }
    return 0;
}

/* ---- avcC ---- */

static bool h264_high_profile(int profile)
{
    switch (profile) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118: case 128:
    case 138: case 139: case 134: case 135:
        return true;
    default:
        return false;
    }
}

static void put_nal_list(gv_bytes_t *out, const gv_es_nal_t *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        gv_bytes_u16be(out, (uint16_t)l[i].n);
        gv_bytes_put(out, l[i].p, l[i].n);
    }
}

static int check_list(const gv_es_nal_t *l, size_t n, size_t min_len)
{
    if (!l || n == 0)
        return GV_EINVAL;
    if (n > GV_ES_MAX_PS)
        return GV_ELIMIT;
    for (size_t i = 0; i < n; i++) {
        if (!l[i].p || l[i].n < min_len)
            return GV_EPROTO;
        if (l[i].n > GV_ES_MAX_PS_SIZE)
            return GV_ETOOBIG;
    }
    return 0;
}

int gv_es_avcc_build(const gv_es_nal_t *sps, size_t n_sps, const gv_es_nal_t *pps, size_t n_pps,
                     gv_bytes_t *out)
{
    int err;
    if (!out)
        return GV_EINVAL;
    gv_bytes_reset(out);
    if ((err = check_list(sps, n_sps, 4)) < 0 || (err = check_list(pps, n_pps, 1)) < 0)
        return err;
    rbsp_t *r = malloc(sizeof(*r));
    if (!r)
        return GV_ENOMEM;
    rbsp_load(r, sps[0].p + 1, sps[0].n - 1);
    int profile = (int)rd_bits(r, 8);
    int compat = (int)rd_bits(r, 8);
    int level = (int)rd_bits(r, 8);
    uint32_t chroma = 1, depth_l = 0, depth_c = 0;
    bool high = h264_high_profile(profile);
    if (rd_ue(r) > 31)
        r->overrun = true;
    if (high) {
        chroma = rd_ue(r);
        if (chroma == 3)
            rd_bits(r, 1);
        depth_l = rd_ue(r);
        depth_c = rd_ue(r);
    }
    bool bad = r->overrun || chroma > 3 || depth_l > 6 || depth_c > 6;
    free(r);
    if (bad)
        return GV_EPROTO;
    gv_bytes_u8(out, 1);
    gv_bytes_u8(out, (uint8_t)profile);
    gv_bytes_u8(out, (uint8_t)compat);
    gv_bytes_u8(out, (uint8_t)level);
    gv_bytes_u8(out, 0xff);                      /* 4-byte NAL lengths */
    gv_bytes_u8(out, (uint8_t)(0xe0 | n_sps));
    put_nal_list(out, sps, n_sps);
    gv_bytes_u8(out, (uint8_t)n_pps);
    put_nal_list(out, pps, n_pps);
    if (high) {
        gv_bytes_u8(out, (uint8_t)(0xfc | chroma));
        gv_bytes_u8(out, (uint8_t)(0xf8 | depth_l));
        gv_bytes_u8(out, (uint8_t)(0xf8 | depth_c));
        gv_bytes_u8(out, 0); /* no SPS extensions */
    }
    return out->err;
}

/* ---- hvcC ---- */

typedef struct {
    uint8_t ptl[12]; /* general profile_tier_level bytes: space/tier/idc, compat, flags, level */
    int max_sub_layers;
    bool temporal_id_nested;
    uint32_t chroma, depth_l, depth_c;
} hevc_sps_t;

static int hevc_sps_parse(const uint8_t *p, size_t n, hevc_sps_t *s)
{
    rbsp_t *r = malloc(sizeof(*r));
    if (!r)
        return GV_ENOMEM;
    rbsp_load(r, p + 2, n - 2);
    rd_bits(r, 4); /* sps_video_parameter_set_id */
    uint32_t msl = rd_bits(r, 3);
    s->max_sub_layers = (int)msl + 1;
    s->temporal_id_nested = rd_bits(r, 1) != 0;
    for (int i = 0; i < 12; i++)
        s->ptl[i] = (uint8_t)rd_bits(r, 8);
    bool prof[8] = {0}, lvl[8] = {0};
    for (uint32_t i = 0; i < msl; i++) {
        prof[i] = rd_bits(r, 1) != 0;
        lvl[i] = rd_bits(r, 1) != 0;
    }
    if (msl > 0)
        for (uint32_t i = msl; i < 8; i++)
            rd_bits(r, 2);
    for (uint32_t i = 0; i < msl; i++) {
        if (prof[i])
            skip_bits(r, 88);
        if (lvl[i])
            skip_bits(r, 8);
    }
    if (rd_ue(r) > 15)
        r->overrun = true;
    s->chroma = rd_ue(r);
    if (s->chroma == 3)
        rd_bits(r, 1);
    rd_ue(r); /* pic_width_in_luma_samples */
    rd_ue(r); /* pic_height_in_luma_samples */
    if (rd_bits(r, 1)) {
        for (int i = 0; i < 4; i++)
            rd_ue(r);
    }
    s->depth_l = rd_ue(r);
    s->depth_c = rd_ue(r);
    bool bad = r->overrun || msl > 6 || s->chroma > 3 || s->depth_l > 7 || s->depth_c > 7;
    free(r);
    return bad ? GV_EPROTO : 0;
}

int gv_es_hvcc_build(const gv_es_nal_t *vps, size_t n_vps, const gv_es_nal_t *sps, size_t n_sps,
                     const gv_es_nal_t *pps, size_t n_pps, gv_bytes_t *out)
{
    int err;
    if (!out)
        return GV_EINVAL;
    gv_bytes_reset(out);
    if ((err = check_list(vps, n_vps, 2)) < 0 || (err = check_list(sps, n_sps, 3)) < 0 ||
        (err = check_list(pps, n_pps, 2)) < 0)
        return err;
    hevc_sps_t s;
    if ((err = hevc_sps_parse(sps[0].p, sps[0].n, &s)) < 0)
        return err;
    gv_bytes_u8(out, 1);
    gv_bytes_put(out, s.ptl, 12);
    gv_bytes_u16be(out, 0xf000);                 /* min_spatial_segmentation_idc 0 */
    gv_bytes_u8(out, 0xfc);                      /* parallelismType unknown */
    gv_bytes_u8(out, (uint8_t)(0xfc | s.chroma));
    gv_bytes_u8(out, (uint8_t)(0xf8 | s.depth_l));
    gv_bytes_u8(out, (uint8_t)(0xf8 | s.depth_c));
    gv_bytes_u16be(out, 0);                      /* avgFrameRate unknown */
    gv_bytes_u8(out, (uint8_t)((s.max_sub_layers << 3) | (s.temporal_id_nested ? 4 : 0) | 3));
    gv_bytes_u8(out, 3);                         /* arrays: VPS, SPS, PPS */
    const gv_es_nal_t *lists[3] = {vps, sps, pps};
    size_t counts[3] = {n_vps, n_sps, n_pps};
    for (int k = 0; k < 3; k++) {
        gv_bytes_u8(out, (uint8_t)(0x80 | (32 + k))); /* array_completeness = 1 */
        gv_bytes_u16be(out, (uint16_t)counts[k]);
        put_nal_list(out, lists[k], counts[k]);
    }
    return out->err;
}

/* ---- ADTS ---- */

static const int adts_rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                   22050, 16000, 12000, 11025, 8000,  7350};

int gv_adts_parse(const uint8_t *p, size_t n, gv_adts_t *h)
{
    if (!p || !h)
        return GV_EINVAL;
    memset(h, 0, sizeof(*h));
    if (n < 7)
        return GV_ETRUNC;
    if (p[0] != 0xff || (p[1] & 0xf6) != 0xf0) /* sync, layer 0 (MPEG-2/4 flag is free) */
        return GV_EPROTO;
    bool crc = !(p[1] & 1);
    h->header_len = crc ? 9 : 7;
    h->aot = (p[2] >> 6) + 1;
    h->sr_index = (p[2] >> 2) & 0x0f;
    h->chan_config = ((p[2] & 1) << 2) | (p[3] >> 6);
    h->frame_len = ((size_t)(p[3] & 3) << 11) | ((size_t)p[4] << 3) | (p[5] >> 5);
    h->raw_blocks = (p[6] & 3) + 1;
    if (h->sr_index >= 13 || h->frame_len < h->header_len)
        return GV_EPROTO;
    h->sample_rate = adts_rates[h->sr_index];
    h->channels = h->chan_config == 7 ? 8 : h->chan_config;
    if (n < h->header_len)
        return GV_ETRUNC;
    if (h->chan_config == 0 || h->raw_blocks != 1)
        return GV_EUNSUPP;
    return 0;
}

void gv_adts_asc(const gv_adts_t *h, uint8_t asc[2])
{
    asc[0] = (uint8_t)((h->aot << 3) | (h->sr_index >> 1));
    asc[1] = (uint8_t)(((h->sr_index & 1) << 7) | (h->chan_config << 3));
}
