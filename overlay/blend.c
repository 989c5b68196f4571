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

#define FIX(v) ((int32_t)((v) * 65536.0 + ((v) < 0 ? -0.5 : 0.5)))

/* Limited range: Y = 16 + 219 * (Kr R + Kg G + Kb B) / 255,
 * U = 128 + 224 * (B - Y') / (2 (1 - Kb)) / 255, V = 128 + 224 * (R - Y') / (2 (1 - Kr)) / 255,
 * with R, G, B, Y' in 0..255. The offsets are scaled by alpha for premultiplied output. */
#define COEFFS(kr, kb)                                                                     \
    {                                                                                      \
        FIX(16.0 / 255), FIX(219.0 / 255 * (kr)), FIX(219.0 / 255 * (1 - (kr) - (kb))),    \
            FIX(219.0 / 255 * (kb)), FIX(128.0 / 255),                                     \
            FIX(-224.0 / 255 * (kr) / (2 * (1 - (kb)))),                                   \
            FIX(-224.0 / 255 * (1 - (kr) - (kb)) / (2 * (1 - (kb)))), FIX(112.0 / 255),    \
            FIX(112.0 / 255), FIX(-224.0 / 255 * (1 - (kr) - (kb)) / (2 * (1 - (kr)))),    \
            FIX(-224.0 / 255 * (kb) / (2 * (1 - (kr))))                                    \
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

static uint8_t clamp8(int32_t v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

static uint8_t classify(const uint8_t *a, int n)
{
    int lo = 255, hi = 0;
    for (int i = 0; i < n; i++) {
        lo = a[i] < lo ? a[i] : lo;
        hi = a[i] > hi ? a[i] : hi;
    }
    if (hi == 0)
        return GV_BLOCK_CLEAR;
    if (lo == 255)
        return GV_BLOCK_OPAQUE;
    return GV_BLOCK_MIXED;
}

void gv_yuva_convert(gv_yuva_t *o, const uint8_t *bgra, int stride, int src_w, int src_h, int x,
                     int y, int w, int h)
{
    static const uint8_t clear[4] = {0, 0, 0, 0};
    const coeffs_t *k = o->cs == GV_CS_BT601 ? &coeffs_601 : &coeffs_709;
    int x0 = x < 0 ? 0 : x & ~1, y0 = y < 0 ? 0 : y & ~1;
    int x1 = (x + w + 1) & ~1, y1 = (y + h + 1) & ~1;
    if (x1 > o->w)
        x1 = o->w;
    if (y1 > o->h)
        y1 = o->h;
    if (x0 >= x1 || y0 >= y1)
        return;

    for (int r = y0; r < y1; r += 2) {
        const uint8_t *rows[2] = {r < src_h ? bgra + (size_t)r * stride : NULL,
                                  r + 1 < src_h ? bgra + (size_t)(r + 1) * stride : NULL};
        for (int c = x0; c < x1; c += 2) {
            int32_t sb = 0, sg = 0, sr = 0, sa = 0;
            for (int dy = 0; dy < 2; dy++) {
                for (int dx = 0; dx < 2; dx++) {
                    const uint8_t *p =
                        rows[dy] && c + dx < src_w ? rows[dy] + (size_t)(c + dx) * 4 : clear;
                    int32_t B = p[0], G = p[1], R = p[2], A = p[3];
                    size_t li = (size_t)(r + dy) * o->w + c + dx;
                    o->y[li] = clamp8((k->ya * A + k->yr * R + k->yg * G + k->yb * B + 32768) >> 16);
                    o->ya[li] = (uint8_t)A;
                    sb += B;
                    sg += G;
                    sr += R;
                    sa += A;
                }
            }
            /* Averages of premultiplied values over the 2x2 block: shift by 18 = /4 and 16.16. */
            size_t ci = (size_t)(r / 2) * o->cw + c / 2;
            o->u[ci] = clamp8((k->ca * sa + k->ur * sr + k->ug * sg + k->ub * sb + 131072) >> 18);
            o->v[ci] = clamp8((k->ca * sa + k->vr * sr + k->vg * sg + k->vb * sb + 131072) >> 18);
            o->ca[ci] = (uint8_t)((sa + 2) >> 2);
        }
    }

    int b0 = x0 / GV_YUVA_BLOCK, b1 = (x1 - 1) / GV_YUVA_BLOCK;
    for (int r = y0; r < y1; r++) {
        for (int b = b0; b <= b1; b++) {
            int c0 = b * GV_YUVA_BLOCK, n = o->w - c0 < GV_YUVA_BLOCK ? o->w - c0 : GV_YUVA_BLOCK;
            o->lclass[(size_t)r * o->nb + b] = classify(o->ya + (size_t)r * o->w + c0, n);
        }
    }
    for (int r = y0 / 2; r < y1 / 2; r++) {
        for (int b = b0; b <= b1; b++) {
            int c0 = b * (GV_YUVA_BLOCK / 2);
            int n = o->cw - c0 < GV_YUVA_BLOCK / 2 ? o->cw - c0 : GV_YUVA_BLOCK / 2;
            o->cclass[(size_t)r * o->nb + b] = classify(o->ca + (size_t)r * o->cw + c0, n);
        }
    }
}

/* The hot loop. 16-bit intermediates (d * (255 - a) + 128 + 255 <= 65535) keep it in
 * 16-bit vector lanes; optimised even in debug builds so tests and benches agree. */
__attribute__((optimize("O3"))) static void blend_span(uint8_t *restrict d,
                                                        const uint8_t *restrict s,
                                                        const uint8_t *restrict a, int n)
{
    for (int i = 0; i < n; i++) {
        uint16_t t = (uint16_t)(d[i] * (uint16_t)(255 - a[i]) + 128);
        d[i] = (uint8_t)(s[i] + ((t + (t >> 8)) >> 8));
    }
}

/* One plane: card rows [r0, r1) and columns [c0, c1) (card coordinates) onto the plane dst
 * with the card's corner at (ox, oy). Consecutive blocks of the same class form one span. */
__attribute__((optimize("O3"))) static void
blend_plane(uint8_t *dst, int dst_ls, int ox, int oy, const uint8_t *src, const uint8_t *alpha,
            int src_ls, const uint8_t *cls, int nb, int bw, int r0, int r1, int c0, int c1)
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
        blend_plane(planes[p], linesize[p], cx, cy, p == 1 ? o->u : o->v, o->ca, o->cw, o->cclass, o->nb, GV_YUVA_BLOCK / 2, r0,
                    r1, c0, c1);
}
