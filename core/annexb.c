/* Annex B byte-stream helpers (see annexb.h): NAL splitting, length-prefixed conversion and
 * avcC/hvcC building. Everything is bounded by the limits in the header. */
#include "core/annexb.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* ---- bit reader over an RBSP copy (emulation prevention bytes removed) ---- */

typedef struct {
    uint8_t buf[GV_ANNEXB_MAX_PS_SIZE];
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

/* ---- splitting ---- */

/* Offset of the next 00 00 01 at or after from, or size when none. A 4-byte start code is found
 * one byte in; its leading zero is trimmed as a trailing zero of the NAL unit before it. */
static size_t find_start(const uint8_t *b, size_t size, size_t from)
{
    for (size_t i = from; i + 3 <= size; i++) {
        if (b[i + 2] > 1) {
            i += 2; /* b[i+2] cannot be part of a start code at i or i+1 */
            continue;
        }
        if (b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1)
            return i;
    }
    return size;
}

int gv_annexb_next_nal(const uint8_t *buf, size_t size, size_t *pos, const uint8_t **nal,
                       size_t *nal_size)
{
    while (*pos < size) {
        size_t sc = find_start(buf, size, *pos);
        if (sc >= size) {
            *pos = size;
            return 0;
        }
        size_t begin = sc + 3;
        size_t next = find_start(buf, size, begin);
        size_t end = next;
        while (end > begin && buf[end - 1] == 0)
            end--; /* zero_byte / trailing_zero_8bits */
        *pos = next;
        if (end > begin) {
            *nal = buf + begin;
            *nal_size = end - begin;
            return 1;
        }
    }
    return 0;
}

/* Writes one NAL unit with its 4-byte big-endian length at o; returns the bytes written. */
static size_t put_lp(uint8_t *o, const uint8_t *nal, size_t len)
{
    o[0] = (uint8_t)(len >> 24);
    o[1] = (uint8_t)(len >> 16);
    o[2] = (uint8_t)(len >> 8);
    o[3] = (uint8_t)len;
    memcpy(o + 4, nal, len);
    return 4 + len;
}

int gv_annexb_to_lp(const uint8_t *buf, size_t size, uint8_t **out, size_t *out_size)
{
    size_t pos = 0, total = 0, n = 0, len;
    const uint8_t *nal;
    while (gv_annexb_next_nal(buf, size, &pos, &nal, &len)) {
        if (len > UINT32_MAX)
            return GV_ETOOBIG;
        total += 4 + len;
        n++;
    }
    if (n == 0)
        return GV_EINVAL;
    uint8_t *o = malloc(total);
    if (!o)
        return GV_ENOMEM;
    size_t w = 0;
    pos = 0;
    while (gv_annexb_next_nal(buf, size, &pos, &nal, &len))
        w += put_lp(o + w, nal, len);
    *out = o;
    *out_size = w;
    return 0;
}

void gv_annexb_au_init(gv_annexb_au_t *au)
{
    memset(au, 0, sizeof(*au));
}

void gv_annexb_au_free(gv_annexb_au_t *au)
{
    free(au->payload);
    au->payload = NULL;
    au->len = au->cap = 0;
}

static int add_ps(gv_annexb_au_t *au, gv_annexb_ps_kind_t kind, const uint8_t *p, size_t n)
{
    if (n > GV_ANNEXB_MAX_PS_SIZE)
        return GV_ETOOBIG;
    for (size_t i = 0; i < au->n_ps[kind]; i++)
        if (au->ps[kind][i].n == n && memcmp(au->ps[kind][i].p, p, n) == 0)
            return 0;
    if (au->n_ps[kind] >= GV_ANNEXB_MAX_PS)
        return GV_ELIMIT;
    au->ps[kind][au->n_ps[kind]++] = (gv_annexb_nal_t){p, n};
    return 0;
}

static int add_nal(gv_codec_t codec, const uint8_t *p, size_t n, gv_annexb_au_t *au)
{
    if (p[0] & 0x80) /* forbidden_zero_bit */
        return GV_EPROTO;
    if (codec == GV_CODEC_H264) {
        int t = p[0] & 0x1f;
        switch (t) {
        case 7:
            return add_ps(au, GV_ANNEXB_SPS, p, n);
        case 8:
            return add_ps(au, GV_ANNEXB_PPS, p, n);
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
            return add_ps(au, GV_ANNEXB_VPS, p, n);
        case 33:
            return add_ps(au, GV_ANNEXB_SPS, p, n);
        case 34:
            return add_ps(au, GV_ANNEXB_PPS, p, n);
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
    if (++au->n_nalus > GV_ANNEXB_MAX_NALUS)
        return GV_ELIMIT;
    /* The payload was sized for the worst case in gv_annexb_split. */
    au->len += put_lp(au->payload + au->len, p, n);
    return 0;
}

int gv_annexb_split(gv_codec_t codec, const uint8_t *p, size_t n, gv_annexb_au_t *au)
{
    if (!au || (!p && n) || (codec != GV_CODEC_H264 && codec != GV_CODEC_HEVC))
        return GV_EINVAL;
    au->len = 0;
    memset(au->ps, 0, sizeof(au->ps));
    memset(au->n_ps, 0, sizeof(au->n_ps));
    au->n_nalus = 0;
    au->keyframe = au->has_vcl = false;
    if (n > GV_ANNEXB_MAX_AU_SIZE)
        return GV_ETOOBIG;
    if (find_start(p, n, 0) >= n)
        return GV_EPROTO;
    /* Each NAL unit takes at least 4 input bytes (start code and header) and grows by at most
     * one byte when its start code becomes a length, so this bound holds for any input. */
    size_t need = n + n / 4 + 4;
    if (au->cap < need) {
        uint8_t *b = realloc(au->payload, need);
        if (!b)
            return GV_ENOMEM;
        au->payload = b;
        au->cap = need;
    }
    size_t pos = 0, len;
    const uint8_t *nal;
    while (gv_annexb_next_nal(p, n, &pos, &nal, &len)) {
        int err = add_nal(codec, nal, len, au);
        if (err < 0)
            return err;
    }
    return 0;
}

/* ---- config records ---- */

/* Profiles whose SPS carries chroma_format_idc and bit depths (and whose avcC has the
 * extension bytes); 144 is the withdrawn High 4:4:4 that old streams may still name. */
static bool h264_high_profile(int profile)
{
    switch (profile) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118: case 128:
    case 138: case 139: case 134: case 135: case 144:
        return true;
    default:
        return false;
    }
}

static int check_list(const gv_annexb_nal_t *l, size_t n, size_t min_len)
{
    if (!l || n == 0)
        return GV_EINVAL;
    if (n > GV_ANNEXB_MAX_PS)
        return GV_ELIMIT;
    for (size_t i = 0; i < n; i++) {
        if (!l[i].p || l[i].n < min_len)
            return GV_EPROTO;
        if (l[i].n > GV_ANNEXB_MAX_PS_SIZE)
            return GV_ETOOBIG;
    }
    return 0;
}

/* Bytes taken by a list of 16-bit-length-prefixed NAL units. */
static size_t list_size(const gv_annexb_nal_t *l, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += 2 + l[i].n;
    return s;
}

static size_t put_u16(uint8_t *o, unsigned v)
{
    o[0] = (uint8_t)(v >> 8);
    o[1] = (uint8_t)v;
    return 2;
}

static size_t put_list(uint8_t *o, const gv_annexb_nal_t *l, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        w += put_u16(o + w, (unsigned)l[i].n);
        memcpy(o + w, l[i].p, l[i].n);
        w += l[i].n;
    }
    return w;
}

int gv_annexb_avcc_from_ps(const gv_annexb_nal_t *sps, size_t n_sps, const gv_annexb_nal_t *pps,
                           size_t n_pps, uint8_t **out, size_t *out_size)
{
    int err;
    if (!out || !out_size)
        return GV_EINVAL;
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
    size_t total = 7 + list_size(sps, n_sps) + list_size(pps, n_pps) + (high ? 4 : 0);
    uint8_t *o = malloc(total);
    if (!o)
        return GV_ENOMEM;
    size_t w = 0;
    o[w++] = 1;
    o[w++] = (uint8_t)profile;
    o[w++] = (uint8_t)compat;
    o[w++] = (uint8_t)level;
    o[w++] = 0xff; /* 4-byte NAL lengths */
    o[w++] = (uint8_t)(0xe0 | n_sps);
    w += put_list(o + w, sps, n_sps);
    o[w++] = (uint8_t)n_pps;
    w += put_list(o + w, pps, n_pps);
    if (high) {
        o[w++] = (uint8_t)(0xfc | chroma);
        o[w++] = (uint8_t)(0xf8 | depth_l);
        o[w++] = (uint8_t)(0xf8 | depth_c);
        o[w++] = 0; /* no SPS extensions */
    }
    *out = o;
    *out_size = w;
    return 0;
}

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

int gv_annexb_hvcc_from_ps(const gv_annexb_nal_t *vps, size_t n_vps, const gv_annexb_nal_t *sps,
                           size_t n_sps, const gv_annexb_nal_t *pps, size_t n_pps, uint8_t **out,
                           size_t *out_size)
{
    int err;
    if (!out || !out_size)
        return GV_EINVAL;
    if ((err = check_list(vps, n_vps, 2)) < 0 || (err = check_list(sps, n_sps, 3)) < 0 ||
        (err = check_list(pps, n_pps, 2)) < 0)
        return err;
    hevc_sps_t s;
    if ((err = hevc_sps_parse(sps[0].p, sps[0].n, &s)) < 0)
        return err;
    const gv_annexb_nal_t *lists[3] = {vps, sps, pps};
    size_t counts[3] = {n_vps, n_sps, n_pps};
    size_t total = 23;
    for (int k = 0; k < 3; k++)
        total += 3 + list_size(lists[k], counts[k]);
    uint8_t *o = malloc(total);
    if (!o)
        return GV_ENOMEM;
    size_t w = 0;
    o[w++] = 1;
    memcpy(o + w, s.ptl, 12);
    w += 12;
    w += put_u16(o + w, 0xf000); /* min_spatial_segmentation_idc 0 */
    o[w++] = 0xfc;               /* parallelismType unknown */
    o[w++] = (uint8_t)(0xfc | s.chroma);
    o[w++] = (uint8_t)(0xf8 | s.depth_l);
    o[w++] = (uint8_t)(0xf8 | s.depth_c);
    w += put_u16(o + w, 0); /* avgFrameRate unknown */
    o[w++] = (uint8_t)((s.max_sub_layers << 3) | (s.temporal_id_nested ? 4 : 0) | 3);
    o[w++] = 3; /* arrays: VPS, SPS, PPS */
    for (int k = 0; k < 3; k++) {
        o[w++] = (uint8_t)(0x80 | (32 + k)); /* array_completeness = 1 */
        w += put_u16(o + w, (unsigned)counts[k]);
        w += put_list(o + w, lists[k], counts[k]);
    }
    *out = o;
    *out_size = w;
    return 0;
}

int gv_annexb_build_avcc(const uint8_t *buf, size_t size, uint8_t **out, size_t *out_size)
{
    gv_annexb_au_t au;
    gv_annexb_au_init(&au);
    int err = gv_annexb_split(GV_CODEC_H264, buf, size, &au);
    if (err == 0)
        err = gv_annexb_avcc_from_ps(au.ps[GV_ANNEXB_SPS], au.n_ps[GV_ANNEXB_SPS],
                                     au.ps[GV_ANNEXB_PPS], au.n_ps[GV_ANNEXB_PPS], out, out_size);
    gv_annexb_au_free(&au);
    return err;
}
