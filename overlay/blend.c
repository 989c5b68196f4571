/* Card-to-YUV conversion with alpha and the per-frame blend onto yuv420p frames (see blend.h).
 * Integer math throughout: conversion uses 16.16 fixed-point BT.709 / BT.601 limited-range
 * coefficients applied directly to premultiplied RGB (the transform is affine, so a*Y equals
 * a*16/255 + the matrix applied to a*RGB); the blend's division by 255 is the exact rounding
 * form (t + 128 + ((t + 128) >> 8)) >> 8, which fits 16-bit lanes so the row loop vectorises. */
#include "overlay/blend.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Hot loops: optimised even in debug builds (tests and benches then agree), and compiled
 * twice, for AVX2 and for baseline x86-64, picked at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GV_HOT __attribute__((optimize("O3"), target_clones("avx2", "default")))
#else
#define GV_HOT __attribute__((optimize("O3")))
#endif

#define FIX(v) ((int32_t)((v)*65536.0 + ((v) < 0 ? -0.5 : 0.5)))

/* Limited range: Y = 16 + 219 * (Kr R + Kg G + Kb B) / 255,
 * U = 128 + 224 * (B - Y') / (2 (1 - Kb)) / 255, V = 128 + 224 * (R - Y') / (2 (1 - Kr)) / 255,
 * with R, G, B, Y' in 0..255. The offsets are scaled by alpha for premultiplied output. */
#define COEFFS(kr, kb)                                                                             \
    {                                                                                              \
        FIX(16.0 / 255), FIX(219.0 / 255 * (kr)), FIX(219.0 / 255 * (1 - (kr) - (kb))),            \
            FIX(219.0 / 255 * (kb)), FIX(128.0 / 255),                                             \
            FIX(-224.0 / 255 * (kr) / (2 * (1 - (kb)))),                                           \
            FIX(-224.0 / 255 * (1 - (kr) - (kb)) / (2 * (1 - (kb)))), FIX(112.0 / 255),            \
            FIX(112.0 / 255), FIX(-224.0 / 255 * (1 - (kr) - (kb)) / (2 * (1 - (kr)))),            \
            FIX(-224.0 / 255 * (kb) / (2 * (1 - (kr))))                                            \
    }

typedef struct {
    int32_t ya, yr, yg, yb; /* Y: alpha (offset), R, G, B */
    int32_t ca;             /* U and V offset per alpha */
    int32_t ur, ug, ub;
    int32_t vr, vg, vb;
} coeffs_t;

static const coeffs_t coeffs_709 = COEFFS(0.2126, 0.0722);
static const coeffs_t coeffs_601 = COEFFS(0.299, 0.114);

int gv_yuva_init(gv_yuva_t *o, int w, int h, gv_colorspace_t cs)
{
    memset(o, 0, sizeof(*o));
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384)
        return GV_EINVAL;
    o->w = (w + 1) & ~1;
    o->h = (h + 1) & ~1;
    o->cw = o->w / 2;
    o->ch = o->h / 2;
    o->nb = (o->w + GV_YUVA_BLOCK - 1) / GV_YUVA_BLOCK;
    o->cs = cs;
    size_t ls = (size_t)o->w * o->h, cs_ = (size_t)o->cw * o->ch;
    o->y = calloc(ls, 1);
    o->ya = calloc(ls, 1);
    o->u = calloc(cs_, 1);
    o->v = calloc(cs_, 1);
    o->ca = calloc(cs_, 1);
    o->lclass = calloc((size_t)o->h * o->nb, 1);
    o->cclass = calloc((size_t)o->ch * o->nb, 1);
    if (!o->y || !o->ya || !o->u || !o->v || !o->ca || !o->lclass || !o->cclass) {
        gv_yuva_free(o);
        return GV_ENOMEM;
    }
    return 0;
}

void gv_yuva_free(gv_yuva_t *o)
{
    free(o->y);
    free(o->ya);
    free(o->u);
    free(o->v);
    free(o->ca);
    free(o->lclass);
    free(o->cclass);
    memset(o, 0, sizeof(*o));
}

/* Classifies blocks [b0, b1] of one alpha row of length len (blocks of bw samples). */
GV_HOT static void classify_row(const uint8_t *restrict a, int len, int bw, int b0, int b1,
                                uint8_t *restrict cls)
{
    for (int b = b0; b <= b1; b++) {
        int c0 = b * bw, n = len - c0 < bw ? len - c0 : bw;
        uint8_t lo = 255, hi = 0;
        for (int i = 0; i < n; i++) {
            lo = a[c0 + i] < lo ? a[c0 + i] : lo;
            hi = a[c0 + i] > hi ? a[c0 + i] : hi;
        }
        cls[b] = hi == 0 ? GV_BLOCK_CLEAR : lo == 255 ? GV_BLOCK_OPAQUE : GV_BLOCK_MIXED;
    }
}

/* Luma row: premultiplied Y and alpha for n source pixels. */
GV_HOT static void luma_row(const coeffs_t *k, const uint8_t *restrict src, uint8_t *restrict y,
                            uint8_t *restrict a, int n)
{
    /* Coefficients in locals: the byte stores could alias *k and would force reloads. */
    const int32_t ka = k->ya, kr = k->yr, kg = k->yg, kb = k->yb;
    for (int i = 0; i < n; i++) {
        int32_t B = src[4 * i], G = src[4 * i + 1], R = src[4 * i + 2], A = src[4 * i + 3];
        int32_t v = (ka * A + kr * R + kg * G + kb * B + 32768) >> 16;
        y[i] = (uint8_t)(v > 255 ? 255 : v);
        a[i] = (uint8_t)A;
    }
}

/* Chroma row: 2x2 averages of premultiplied BGRA from rows r0 and r1 (n chroma samples). The
 * sums of four pixels are scaled by 16.16 coefficients and shifted by 18 (= 16 + divide by 4). */
GV_HOT static void chroma_row(const coeffs_t *k, const uint8_t *restrict r0,
                              const uint8_t *restrict r1, uint8_t *restrict u, uint8_t *restrict v,
                              uint8_t *restrict a, int n)
{
    const int32_t ca = k->ca, ur = k->ur, ug = k->ug, ub = k->ub, vr = k->vr, vg = k->vg,
                  vb = k->vb;
    for (int i = 0; i < n; i++) {
        int32_t sb = r0[8 * i] + r0[8 * i + 4] + r1[8 * i] + r1[8 * i + 4];
        int32_t sg = r0[8 * i + 1] + r0[8 * i + 5] + r1[8 * i + 1] + r1[8 * i + 5];
        int32_t sr = r0[8 * i + 2] + r0[8 * i + 6] + r1[8 * i + 2] + r1[8 * i + 6];
        int32_t sa = r0[8 * i + 3] + r0[8 * i + 7] + r1[8 * i + 3] + r1[8 * i + 7];
        int32_t cu = (ca * sa + ur * sr + ug * sg + ub * sb + 131072) >> 18;
        int32_t cv = (ca * sa + vr * sr + vg * sg + vb * sb + 131072) >> 18;
        u[i] = (uint8_t)(cu < 0 ? 0 : cu > 255 ? 255 : cu);
        v[i] = (uint8_t)(cv < 0 ? 0 : cv > 255 ? 255 : cv);
        a[i] = (uint8_t)((sa + 2) >> 2);
    }
}

void gv_yuva_convert(gv_yuva_t *o, const uint8_t *bgra, int stride, int src_w, int src_h, int x,
                     int y, int w, int h)
{
    const coeffs_t *k = o->cs == GV_CS_BT601 ? &coeffs_601 : &coeffs_709;
    int x0 = x < 0 ? 0 : x & ~1, y0 = y < 0 ? 0 : y & ~1;
    int x1 = (x + w + 1) & ~1, y1 = (y + h + 1) & ~1;
    if (x1 > o->w)
        x1 = o->w;
    if (y1 > o->h)
        y1 = o->h;
    if (x0 >= x1 || y0 >= y1)
        return;
    int n = x1 - x0;

    /* Source rows, padded with transparency past the source's right and bottom edges. */
    uint8_t *pad = calloc((size_t)n * 2, 4);
    if (!pad)
        return;
    const uint8_t *rows[2];
    for (int r = y0; r < y1; r += 2) {
        for (int dy = 0; dy < 2; dy++) {
            int sr = r + dy, have = src_w - x0 > n ? n : src_w - x0;
            const uint8_t *s = bgra + (size_t)sr * stride + (size_t)x0 * 4;
            if (sr < src_h && have == n) {
                rows[dy] = s;
            } else {
                uint8_t *p = pad + (size_t)dy * n * 4;
                memset(p, 0, (size_t)n * 4);
                if (sr < src_h && have > 0)
                    memcpy(p, s, (size_t)have * 4);
                rows[dy] = p;
            }
            luma_row(k, rows[dy], o->y + (size_t)sr * o->w + x0, o->ya + (size_t)sr * o->w + x0, n);
        }
        size_t ci = (size_t)(r / 2) * o->cw + x0 / 2;
        chroma_row(k, rows[0], rows[1], o->u + ci, o->v + ci, o->ca + ci, n / 2);
    }
    free(pad);

    int b0 = x0 / GV_YUVA_BLOCK, b1 = (x1 - 1) / GV_YUVA_BLOCK;
    for (int r = y0; r < y1; r++)
        classify_row(o->ya + (size_t)r * o->w, o->w, GV_YUVA_BLOCK, b0, b1,
                     o->lclass + (size_t)r * o->nb);
    for (int r = y0 / 2; r < y1 / 2; r++)
        classify_row(o->ca + (size_t)r * o->cw, o->cw, GV_YUVA_BLOCK / 2, b0, b1,
                     o->cclass + (size_t)r * o->nb);
}

/* The hot loop. 16-bit intermediates (d * (255 - a) + 128 + 255 <= 65535) keep it in
 * 16-bit vector lanes. Inlined into each build of blend_plane. */
static inline __attribute__((always_inline)) void
blend_span(uint8_t *restrict d, const uint8_t *restrict s, const uint8_t *restrict a, int n)
{
    for (int i = 0; i < n; i++) {
        uint16_t t = (uint16_t)(d[i] * (uint16_t)(255 - a[i]) + 128);
        d[i] = (uint8_t)(s[i] + ((t + (t >> 8)) >> 8));
    }
}

/* One plane: card rows [r0, r1) and columns [c0, c1) (card coordinates) onto the plane dst
 * with the card's corner at (ox, oy). Consecutive blocks of the same class form one span. */
GV_HOT static void blend_plane(uint8_t *dst, int dst_ls, int ox, int oy, const uint8_t *src,
                               const uint8_t *alpha, int src_ls, const uint8_t *cls, int nb, int bw,
                               int r0, int r1, int c0, int c1)
{
    for (int r = r0; r < r1; r++) {
        uint8_t *d = dst + (ptrdiff_t)(oy + r) * dst_ls + ox;
        const uint8_t *s = src + (size_t)r * src_ls, *a = alpha + (size_t)r * src_ls;
        const uint8_t *k = cls + (size_t)r * nb;
        int i = c0;
        while (i < c1) {
            int b = i / bw, kind = k[b];
            int j = (b + 1) * bw;
            while (j < c1 && k[j / bw] == kind)
                j += bw;
            if (j > c1)
                j = c1;
            if (kind == GV_BLOCK_MIXED)
                blend_span(d + i, s + i, a + i, j - i);
            else if (kind == GV_BLOCK_OPAQUE)
                memcpy(d + i, s + i, (size_t)(j - i));
            i = j;
        }
    }
}

void gv_yuva_blend(const gv_yuva_t *o, int x, int y, uint8_t *const planes[3],
                   const int linesize[3], int fw, int fh)
{
    if (!o->y || fw <= 0 || fh <= 0)
        return;
    x &= ~1;
    y &= ~1;
    /* Luma: visible card rows/columns. */
    int r0 = y < 0 ? -y : 0, r1 = fh - y < o->h ? fh - y : o->h;
    int c0 = x < 0 ? -x : 0, c1 = fw - x < o->w ? fw - x : o->w;
    if (r0 < r1 && c0 < c1)
        blend_plane(planes[0], linesize[0], x, y, o->y, o->ya, o->w, o->lclass, o->nb,
                    GV_YUVA_BLOCK, r0, r1, c0, c1);
    /* Chroma: the frame's chroma planes are ceil(fw / 2) x ceil(fh / 2). */
    int cx = x / 2, cy = y / 2, cfw = (fw + 1) / 2, cfh = (fh + 1) / 2;
    r0 = cy < 0 ? -cy : 0;
    r1 = cfh - cy < o->ch ? cfh - cy : o->ch;
    c0 = cx < 0 ? -cx : 0;
    c1 = cfw - cx < o->cw ? cfw - cx : o->cw;
    if (r0 >= r1 || c0 >= c1)
        return;
    for (int p = 1; p <= 2; p++)
        blend_plane(planes[p], linesize[p], cx, cy, p == 1 ? o->u : o->v, o->ca, o->cw, o->cclass,
                    o->nb, GV_YUVA_BLOCK / 2, r0, r1, c0, c1);
}
