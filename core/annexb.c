/* Annex B byte-stream helpers (see annexb.h). */
#include "core/annexb.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define MAX_SPS 31
#define MAX_PPS 255

/* Offset of the next 00 00 01 at or after from, or size when none. */
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
    while (gv_annexb_next_nal(buf, size, &pos, &nal, &len)) {
        o[w] = (uint8_t)(len >> 24);
        o[w + 1] = (uint8_t)(len >> 16);
        o[w + 2] = (uint8_t)(len >> 8);
        o[w + 3] = (uint8_t)len;
        memcpy(o + w + 4, nal, len);
        w += 4 + len;
    }
    *out = o;
    *out_size = w;
    return 0;
}

/* ---- a minimal SPS reader for the High-profile fields of avcC ---- */

typedef struct {
    const uint8_t *b;
    size_t size;
    size_t bit;
    bool bad;
} bits_t;

static unsigned read_bit(bits_t *r)
{
    /* The reader walks the NAL with emulation prevention bytes already removed. */
    if (r->bit >= r->size * 8) {
        r->bad = true;
        return 0;
    }
    unsigned v = (r->b[r->bit >> 3] >> (7 - (r->bit & 7))) & 1;
    r->bit++;
    return v;
}

static unsigned read_ue(bits_t *r)
{
    int zeros = 0;
    while (!r->bad && read_bit(r) == 0) {
        if (++zeros > 31) {
            r->bad = true;
            return 0;
        }
    }
    unsigned v = 0;
    for (int i = 0; i < zeros; i++)
        v = (v << 1) | read_bit(r);
    return (1u << zeros) - 1 + v;
}

/* chroma_format_idc and bit depths from an SPS NAL (header included). Defaults on failure. */
static void sps_chroma(const uint8_t *nal, size_t n, unsigned *chroma, unsigned *bdl,
                       unsigned *bdc)
{
    *chroma = 1;
    *bdl = 0;
    *bdc = 0;
    uint8_t rbsp[64];
    size_t w = 0, zeros = 0;
    for (size_t i = 4; i < n && w < sizeof(rbsp); i++) {
        if (zeros >= 2 && nal[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = nal[i] == 0 ? zeros + 1 : 0;
        rbsp[w++] = nal[i];
    }
    bits_t r = {rbsp, w, 0, false};
    read_ue(&r); /* seq_parameter_set_id */
    unsigned c = read_ue(&r);
    if (c == 3)
        read_bit(&r); /* separate_colour_plane_flag */
    unsigned l = read_ue(&r), ch = read_ue(&r);
    if (!r.bad && c <= 3 && l <= 6 && ch <= 6) {
        *chroma = c;
        *bdl = l;
        *bdc = ch;
    }
}

int gv_annexb_build_avcc(const uint8_t *buf, size_t size, uint8_t **out, size_t *out_size)
{
    const uint8_t *sps[MAX_SPS], *pps[MAX_PPS];
    size_t sps_n[MAX_SPS], pps_n[MAX_PPS];
    size_t nsps = 0, npps = 0, pos = 0, len, total = 7;
    const uint8_t *nal;
    while (gv_annexb_next_nal(buf, size, &pos, &nal, &len)) {
        int type = nal[0] & 0x1f;
        if (type != 7 && type != 8)
            continue;
        if (len > 65535)
            return GV_ETOOBIG;
        if (type == 7) {
            if (nsps >= MAX_SPS)
                return GV_ETOOBIG;
            sps[nsps] = nal;
            sps_n[nsps++] = len;
        } else {
            if (npps >= MAX_PPS)
                return GV_ETOOBIG;
            pps[npps] = nal;
            pps_n[npps++] = len;
        }
        total += 2 + len;
    }
    if (nsps == 0 || npps == 0 || sps_n[0] < 4)
        return GV_EINVAL;
    uint8_t profile = sps[0][1];
    bool high = profile == 100 || profile == 110 || profile == 122 || profile == 144 ||
                profile == 244;
    if (high)
        total += 4;
    uint8_t *o = malloc(total);
    if (!o)
        return GV_ENOMEM;
    size_t w = 0;
    o[w++] = 1;         /* configurationVersion */
    o[w++] = profile;   /* AVCProfileIndication */
    o[w++] = sps[0][2]; /* profile_compatibility */
    o[w++] = sps[0][3]; /* AVCLevelIndication */
    o[w++] = 0xfc | 3;  /* lengthSizeMinusOne = 3 */
    o[w++] = (uint8_t)(0xe0 | nsps);
    for (size_t i = 0; i < nsps; i++) {
        o[w++] = (uint8_t)(sps_n[i] >> 8);
        o[w++] = (uint8_t)sps_n[i];
        memcpy(o + w, sps[i], sps_n[i]);
        w += sps_n[i];
    }
    o[w++] = (uint8_t)npps;
    for (size_t i = 0; i < npps; i++) {
        o[w++] = (uint8_t)(pps_n[i] >> 8);
        o[w++] = (uint8_t)pps_n[i];
        memcpy(o + w, pps[i], pps_n[i]);
        w += pps_n[i];
    }
    if (high) {
        unsigned chroma, bdl, bdc;
        sps_chroma(sps[0], sps_n[0], &chroma, &bdl, &bdc);
        o[w++] = (uint8_t)(0xfc | chroma);
        o[w++] = (uint8_t)(0xf8 | bdl);
        o[w++] = (uint8_t)(0xf8 | bdc);
        o[w++] = 0; /* numOfSequenceParameterSetExt */
    }
    *out = o;
    *out_size = w;
    return 0;
}
