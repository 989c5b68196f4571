/* Unit tests for the card-to-YUV conversion and the per-frame blend: known colours in BT.709 and
 * BT.601, and synthetic cards blended at even, odd, negative and edge-crossing positions onto
 * odd and even frame sizes, checked pixel by pixel against straightforward references (an
 * exact integer one for the blend, a floating-point one for the whole conversion + blend). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "overlay/blend.h"
#include "testlib.h"

#define GUARD 16 /* bytes of sentinel around each plane row */
#define SENTINEL 0xA5

typedef struct {
    int w, h, cw, ch;
    int ls[3];
    uint8_t *buf[3]; /* with guard bands */
    uint8_t *planes[3];
} frame_t;

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static void frame_init(frame_t *f, int w, int h)
{
    f->w = w;
    f->h = h;
    f->cw = (w + 1) / 2;
    f->ch = (h + 1) / 2;
    for (int p = 0; p < 3; p++) {
        int pw = p ? f->cw : w, ph = p ? f->ch : h;
        f->ls[p] = pw + 2 * GUARD;
        f->buf[p] = malloc((size_t)f->ls[p] * (ph + 2));
        memset(f->buf[p], SENTINEL, (size_t)f->ls[p] * (ph + 2));
        f->planes[p] = f->buf[p] + f->ls[p] + GUARD;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++)
                f->planes[p][y * f->ls[p] + x] = (uint8_t)(p ? 16 + rnd() % 225 : 16 + rnd() % 220);
    }
}

static frame_t frame_copy(const frame_t *s)
{
    frame_t f = *s;
    for (int p = 0; p < 3; p++) {
        int ph = p ? s->ch : s->h;
        size_t n = (size_t)s->ls[p] * (ph + 2);
        f.buf[p] = malloc(n);
        memcpy(f.buf[p], s->buf[p], n);
        f.planes[p] = f.buf[p] + f.ls[p] + GUARD;
    }
    return f;
}

static void frame_free(frame_t *f)
{
    for (int p = 0; p < 3; p++)
        free(f->buf[p]);
}

static int frames_equal(const frame_t *a, const frame_t *b)
{
    for (int p = 0; p < 3; p++) {
        int ph = p ? a->ch : a->h;
        if (memcmp(a->buf[p], b->buf[p], (size_t)a->ls[p] * (ph + 2)) != 0)
            return 0;
    }
    return 1;
}

/* A premultiplied BGRA card: opaque and transparent blocks, random alpha, random colours. */
static uint8_t *make_card(int w, int h, int stride)
{
    uint8_t *px = calloc((size_t)stride * h, 1);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + (size_t)y * stride + x * 4;
            int region = (x / 24 + y / 10) % 4;
            unsigned a = region == 0 ? 0 : region == 1 ? 255 : rnd() % 256;
            for (int k = 0; k < 3; k++)
                p[k] = a ? (uint8_t)(rnd() % (a + 1)) : 0;
            p[3] = (uint8_t)a;
        }
    }
    return px;
}

/* Exact reference of the blend step: per pixel, dst = src + round(dst * (255 - a) / 255). */
static void ref_blend(const gv_yuva_t *o, int x, int y, frame_t *f)
{
    x &= ~1;
    y &= ~1;
    for (int fy = 0; fy < f->h; fy++) {
        for (int fx = 0; fx < f->w; fx++) {
            int cx = fx - x, cy = fy - y;
            if (cx < 0 || cy < 0 || cx >= o->w || cy >= o->h)
                continue;
            unsigned a = o->ya[cy * o->w + cx];
            uint8_t *d = &f->planes[0][fy * f->ls[0] + fx];
            if (a)
                *d = (uint8_t)(o->y[cy * o->w + cx] + (*d * (255 - a) + 127) / 255);
        }
    }
    for (int fy = 0; fy < f->ch; fy++) {
        for (int fx = 0; fx < f->cw; fx++) {
            int cx = fx - x / 2, cy = fy - y / 2;
            if (cx < 0 || cy < 0 || cx >= o->cw || cy >= o->ch)
                continue;
            unsigned a = o->ca[cy * o->cw + cx];
            for (int p = 1; p <= 2; p++) {
                const uint8_t *s = p == 1 ? o->u : o->v;
                uint8_t *d = &f->planes[p][fy * f->ls[p] + fx];
                if (a)
                    *d = (uint8_t)(s[cy * o->cw + cx] + (*d * (255 - a) + 127) / 255);
            }
        }
    }
}

/* Floating-point reference of conversion + blend for one frame pixel; returns the max error. */
static double float_check(const uint8_t *card, int stride, int w, int h, int x, int y,
                          const frame_t *before, const frame_t *after, gv_colorspace_t cs)
{
    double kr = cs == GV_CS_BT601 ? 0.299 : 0.2126, kb = cs == GV_CS_BT601 ? 0.114 : 0.0722;
    double kg = 1 - kr - kb, worst = 0;
    x &= ~1;
    y &= ~1;
    for (int fy = 0; fy < before->h; fy++) {
        for (int fx = 0; fx < before->w; fx++) {
            int cx = fx - x, cy = fy - y;
            double d = before->planes[0][fy * before->ls[0] + fx], out = d;
            if (cx >= 0 && cy >= 0 && cx < w && cy < h) {
                const uint8_t *p = card + (size_t)cy * stride + cx * 4;
                double a = p[3];
                out = (16 * a + 219 * (kr * p[2] + kg * p[1] + kb * p[0])) / 255 +
                      d * (255 - a) / 255;
            }
            double e = fabs(after->planes[0][fy * after->ls[0] + fx] - out);
            worst = e > worst ? e : worst;
        }
    }
    for (int fy = 0; fy < before->ch; fy++) {
        for (int fx = 0; fx < before->cw; fx++) {
            int cx = 2 * fx - x, cy = 2 * fy - y;
            double su = 0, sv = 0, sa = 0;
            if (cx < 0 || cy < 0 || cx >= w + (w & 1) || cy >= h + (h & 1))
                continue;
            for (int k = 0; k < 4; k++) {
                int px = cx + (k & 1), py = cy + (k >> 1);
                if (px >= w || py >= h)
                    continue;
                const uint8_t *p = card + (size_t)py * stride + px * 4;
                double a = p[3], r = p[2], g = p[1], b = p[0];
                su += (128 * a + 224 * (-kr * r - kg * g + (1 - kb) * b) / (2 * (1 - kb))) / 255;
                sv += (128 * a + 224 * ((1 - kr) * r - kg * g - kb * b) / (2 * (1 - kr))) / 255;
                sa += a;
            }
            for (int pl = 1; pl <= 2; pl++) {
                double d = before->planes[pl][fy * before->ls[pl] + fx];
                double out = (pl == 1 ? su : sv) / 4 + d * (255 - sa / 4) / 255;
                double e = fabs(after->planes[pl][fy * after->ls[pl] + fx] - out);
                worst = e > worst ? e : worst;
            }
        }
    }
    return worst;
}

static void solid(uint8_t *px, int w, int h, int stride, uint8_t b, uint8_t g, uint8_t r, uint8_t a)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + (size_t)y * stride + x * 4;
            p[0] = b;
            p[1] = g;
            p[2] = r;
            p[3] = a;
        }
}

static void check_colour(gv_colorspace_t cs, uint8_t r, uint8_t g, uint8_t b, int ey, int eu,
                         int ev, int line)
{
    uint8_t px[4 * 4 * 4];
    solid(px, 4, 4, 16, b, g, r, 255);
    gv_yuva_t o;
    GV_CHECK_INT(gv_yuva_init(&o, 4, 4, cs), 0);
    gv_yuva_convert(&o, px, 16, 4, 4, 0, 0, 4, 4);
    if (o.y[5] != ey || o.u[1] != eu || o.v[1] != ev || o.ya[0] != 255 || o.ca[3] != 255) {
        fprintf(stderr, "line %d: rgb(%d,%d,%d) -> yuv(%d,%d,%d), expected (%d,%d,%d)\n", line, r,
                g, b, o.y[5], o.u[1], o.v[1], ey, eu, ev);
        gv_test_failures++;
    }
    GV_CHECK_INT(o.lclass[0], GV_BLOCK_OPAQUE);
    gv_yuva_free(&o);
}

static void test_known_colours(void)
{
    check_colour(GV_CS_BT709, 255, 255, 255, 235, 128, 128, __LINE__);
    check_colour(GV_CS_BT709, 0, 0, 0, 16, 128, 128, __LINE__);
    check_colour(GV_CS_BT709, 255, 0, 0, 63, 102, 240, __LINE__);
    check_colour(GV_CS_BT709, 0, 255, 0, 173, 42, 26, __LINE__);
    check_colour(GV_CS_BT709, 0, 0, 255, 32, 240, 118, __LINE__);
    check_colour(GV_CS_BT601, 255, 255, 255, 235, 128, 128, __LINE__);
    check_colour(GV_CS_BT601, 255, 0, 0, 81, 90, 240, __LINE__);
    check_colour(GV_CS_BT601, 0, 255, 0, 145, 54, 34, __LINE__);
    check_colour(GV_CS_BT601, 0, 0, 255, 41, 240, 110, __LINE__);
}

static void test_opaque_transparent_half(void)
{
    int w = 64, h = 32, stride = w * 4;
    uint8_t *px = malloc((size_t)stride * h);
    frame_t f;
    frame_init(&f, 160, 90);
    gv_yuva_t o;
    GV_CHECK_INT(gv_yuva_init(&o, w, h, GV_CS_BT709), 0);

    /* Fully transparent: the frame stays bit-exact, guards included. */
    solid(px, w, h, stride, 0, 0, 0, 0);
    gv_yuva_convert(&o, px, stride, w, h, 0, 0, w, h);
    GV_CHECK_INT(o.lclass[0], GV_BLOCK_CLEAR);
    frame_t g = frame_copy(&f);
    gv_yuva_blend(&o, 10, 10, g.planes, g.ls, g.w, g.h);
    GV_CHECK(frames_equal(&f, &g));
    frame_free(&g);

    /* Fully opaque white: every covered pixel is exactly 235/128/128. */
    solid(px, w, h, stride, 255, 255, 255, 255);
    gv_yuva_convert(&o, px, stride, w, h, 0, 0, w, h);
    g = frame_copy(&f);
    gv_yuva_blend(&o, 10, 10, g.planes, g.ls, g.w, g.h);
    int bad = 0;
    for (int y = 0; y < g.h; y++)
        for (int x = 0; x < g.w; x++) {
            bool in = x >= 10 && x < 74 && y >= 10 && y < 42;
            uint8_t v = g.planes[0][y * g.ls[0] + x], was = f.planes[0][y * f.ls[0] + x];
            bad += in ? v != 235 : v != was;
        }
    for (int y = 0; y < g.ch; y++)
        for (int x = 0; x < g.cw; x++) {
            bool in = x >= 5 && x < 37 && y >= 5 && y < 21;
            for (int p = 1; p <= 2; p++) {
                uint8_t v = g.planes[p][y * g.ls[p] + x], was = f.planes[p][y * f.ls[p] + x];
                bad += in ? v != 128 : v != was;
            }
        }
    GV_CHECK_INT(bad, 0);
    frame_free(&g);

    /* Half-transparent white over black (Y 16): 235 * 128/255 + 16 * 127/255 = 126. */
    solid(px, w, h, stride, 128, 128, 128, 128);
    gv_yuva_convert(&o, px, stride, w, h, 0, 0, w, h);
    GV_CHECK_INT(o.lclass[0], GV_BLOCK_MIXED);
    g = frame_copy(&f);
    for (int y = 0; y < g.h; y++)
        memset(g.planes[0] + y * g.ls[0], 16, g.w);
    for (int p = 1; p <= 2; p++)
        for (int y = 0; y < g.ch; y++)
            memset(g.planes[p] + y * g.ls[p], 128, g.cw);
    gv_yuva_blend(&o, 0, 0, g.planes, g.ls, g.w, g.h);
    GV_CHECK_INT(g.planes[0][5 * g.ls[0] + 5], 126);
    GV_CHECK_INT(g.planes[1][5 * g.ls[1] + 5], 128);
    GV_CHECK_INT(g.planes[2][5 * g.ls[2] + 5], 128);
    frame_free(&g);

    gv_yuva_free(&o);
    frame_free(&f);
    free(px);
}

/* Random cards at many positions and frame sizes against both references. */
static void test_positions_and_clipping(void)
{
    static const struct {
        int fw, fh, cw, ch;
    } sizes[] = {{160, 90, 64, 40}, {161, 91, 63, 39}, {97, 55, 120, 70}, {33, 17, 41, 23}};
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        int fw = sizes[si].fw, fh = sizes[si].fh, w = sizes[si].cw, h = sizes[si].ch;
        int stride = w * 4 + 12;
        uint8_t *card = make_card(w, h, stride);
        for (int cs = 0; cs < 2; cs++) {
            gv_yuva_t o;
            GV_CHECK_INT(gv_yuva_init(&o, w, h, (gv_colorspace_t)cs), 0);
            gv_yuva_convert(&o, card, stride, w, h, 0, 0, w, h);
            /* Corners, odd offsets, each edge crossed, fully outside. */
            const int pos[][2] = {{0, 0},           {3, 5},           {-7, 4},
                                  {4, -9},          {-w + 3, -h + 3}, {fw - w / 2, 6},
                                  {5, fh - h / 3},  {fw - 3, fh - 3}, {fw - w, fh - h},
                                  {-w / 2, fh / 2}, {fw + 2, 0},      {-w - 4, -h - 4},
                                  {fw / 2 + 1, -3}};
            for (size_t pi = 0; pi < sizeof(pos) / sizeof(pos[0]); pi++) {
                int x = pos[pi][0], y = pos[pi][1];
                frame_t f;
                frame_init(&f, fw, fh);
                frame_t got = frame_copy(&f), want = frame_copy(&f);
                gv_yuva_blend(&o, x, y, got.planes, got.ls, fw, fh);
                ref_blend(&o, x, y, &want);
                if (!frames_equal(&got, &want)) {
                    fprintf(stderr, "frame %dx%d card %dx%d at (%d,%d) cs %d: mismatch\n", fw, fh,
                            w, h, x, y, cs);
                    gv_test_failures++;
                }
                double err = float_check(card, stride, w, h, x, y, &f, &got, (gv_colorspace_t)cs);
                if (err > 2.0) {
                    fprintf(stderr, "frame %dx%d at (%d,%d): float error %.2f\n", fw, fh, x, y,
                            err);
                    gv_test_failures++;
                }
                frame_free(&f);
                frame_free(&got);
                frame_free(&want);
            }
            gv_yuva_free(&o);
        }
        free(card);
    }
}

/* Converting only a dirty rectangle gives the same overlay as converting everything. */
static void test_dirty_rect(void)
{
    int w = 130, h = 50, stride = w * 4;
    uint8_t *card = make_card(w, h, stride);
    gv_yuva_t part, full;
    GV_CHECK_INT(gv_yuva_init(&part, w, h, GV_CS_BT709), 0);
    GV_CHECK_INT(gv_yuva_init(&full, w, h, GV_CS_BT709), 0);
    gv_yuva_convert(&part, card, stride, w, h, 0, 0, w, h);
    /* Change an odd-aligned rectangle, then convert just that. */
    const int rx = 37, ry = 13, rw = 45, rh = 21;
    for (int y = ry; y < ry + rh; y++)
        for (int x = rx; x < rx + rw; x++) {
            uint8_t *p = card + (size_t)y * stride + x * 4;
            p[3] = (uint8_t)((x * 7 + y) % 256);
            p[0] = p[1] = p[2] = p[3] / 2;
        }
    gv_yuva_convert(&part, card, stride, w, h, rx, ry, rw, rh);
    gv_yuva_convert(&full, card, stride, w, h, 0, 0, w, h);
    GV_CHECK_INT(part.w, 130);
    GV_CHECK(memcmp(part.y, full.y, (size_t)part.w * part.h) == 0);
    GV_CHECK(memcmp(part.ya, full.ya, (size_t)part.w * part.h) == 0);
    GV_CHECK(memcmp(part.u, full.u, (size_t)part.cw * part.ch) == 0);
    GV_CHECK(memcmp(part.v, full.v, (size_t)part.cw * part.ch) == 0);
    GV_CHECK(memcmp(part.ca, full.ca, (size_t)part.cw * part.ch) == 0);
    GV_CHECK(memcmp(part.lclass, full.lclass, (size_t)part.nb * part.h) == 0);
    GV_CHECK(memcmp(part.cclass, full.cclass, (size_t)part.nb * part.ch) == 0);
    /* Odd source sizes pad with transparency. */
    gv_yuva_t odd;
    GV_CHECK_INT(gv_yuva_init(&odd, 5, 3, GV_CS_BT709), 0);
    GV_CHECK_INT(odd.w, 6);
    GV_CHECK_INT(odd.h, 4);
    uint8_t px[5 * 3 * 4];
    solid(px, 5, 3, 20, 255, 255, 255, 255);
    gv_yuva_convert(&odd, px, 20, 5, 3, 0, 0, 5, 3);
    GV_CHECK_INT(odd.ya[5], 0);
    GV_CHECK_INT(odd.ya[4], 255);
    GV_CHECK_INT(odd.ca[2], 128); /* two of four pixels covered: (510 + 2) / 4 */
    GV_CHECK_INT(odd.ca[5], 64);  /* one of four */
    gv_yuva_free(&odd);
    gv_yuva_free(&part);
    gv_yuva_free(&full);
    free(card);
    GV_CHECK_INT(gv_yuva_init(&odd, 0, 3, GV_CS_BT709), GV_EINVAL);
}

GV_TEST_MAIN(GV_TEST(test_known_colours), GV_TEST(test_opaque_transparent_half),
             GV_TEST(test_positions_and_clipping), GV_TEST(test_dirty_rect))
