/* Overlay-internal: the card converted to the frame's format (yuv420p) with alpha, and the
 * per-frame blend. The card is premultiplied BGRA (cairo ARGB32); it is converted once per
 * change, only inside the dirty rectangle, to premultiplied Y/U/V plus alpha at luma and at
 * chroma resolution. Per frame: dst = src + dst * (255 - a) / 255, rounded, on the card's
 * rectangle only, skipping fully transparent blocks and copying fully opaque ones. */
#ifndef GV_BLEND_H
#define GV_BLEND_H

#include <stdint.h>

#include "overlay/compose.h"

/* Blocks of this many luma columns (half as many chroma columns) are classified transparent,
 * opaque or mixed so the blend can skip or copy them. */
#define GV_YUVA_BLOCK 16

enum { GV_BLOCK_CLEAR = 0, GV_BLOCK_OPAQUE = 1, GV_BLOCK_MIXED = 2 };

typedef struct {
    int w, h;   /* luma size, both even */
    int cw, ch; /* chroma size: w / 2, h / 2 */
    int nb;     /* blocks per row (luma and chroma rows alike) */
    gv_colorspace_t cs;
    uint8_t *y, *ya;     /* premultiplied luma and its alpha; stride w */
    uint8_t *u, *v, *ca; /* premultiplied chroma and its alpha; stride cw */
    uint8_t *lclass;     /* h rows of nb block classes */
    uint8_t *cclass;     /* ch rows of nb block classes */
} gv_yuva_t;

/* Allocates a fully transparent w x h overlay (w, h rounded up to even). 0 or GV_ENOMEM. */
int gv_yuva_init(gv_yuva_t *o, int w, int h, gv_colorspace_t cs);
void gv_yuva_free(gv_yuva_t *o);

/* Converts the rectangle (x, y, w, h) of a premultiplied BGRA image of size src_w x src_h
 * (byte order B, G, R, A per pixel, i.e. cairo ARGB32 on little-endian) into o. The rectangle
 * is widened to even bounds; pixels outside the source count as transparent. */
void gv_yuva_convert(gv_yuva_t *o, const uint8_t *bgra, int stride, int src_w, int src_h, int x,
                     int y, int w, int h);

/* Blends o onto a yuv420p frame of fw x fh with its top-left corner at (x, y); odd x/y are
 * rounded down to even, and the card is clipped at all four frame edges. */
void gv_yuva_blend(const gv_yuva_t *o, int x, int y, uint8_t *const planes[3],
                   const int linesize[3], int fw, int fh);

#endif
