/* Overlay-internal: the composer that puts the lot card onto decoded frames. It owns the card
 * renderer (cairo + pango, re-rendered only when the lot's data or the countdown's visible
 * second changes) and the card converted to the frame's YUV format with alpha; per frame it
 * blends only the card's rectangle. */
#ifndef GV_COMPOSE_H
#define GV_COMPOSE_H

#include <stdbool.h>
#include <stdint.h>

#include "overlay/lot.h"
#include "overlay/overlay.h"

typedef struct gv_composer gv_composer_t;

typedef enum { GV_CS_BT709 = 0, GV_CS_BT601 } gv_colorspace_t;

/* frame_w/h: the picture size (yuv420p); the card is scaled from its 720p reference size. */
gv_composer_t *gv_composer_create(const gv_overlay_config_t *cfg, int frame_w, int frame_h,
                                  gv_colorspace_t cs);
void gv_composer_destroy(gv_composer_t *c);

/* Sets the lot to show (NULL hides the card) with its version number (increases on every API
 * update) and the item image, already decoded to premultiplied BGRA (NULL = none). Cheap:
 * rendering happens lazily in gv_composer_apply. */
void gv_composer_set_lot(gv_composer_t *c, const gv_lot_t *lot, uint64_t version,
                         const uint8_t *image_bgra, int image_w, int image_h, int image_stride);

/* Composes onto a yuv420p frame in place. now_ms drives the countdown and the new-bid
 * highlight. Returns the lot version visible on this frame (0 when hidden). */
uint64_t gv_composer_apply(gv_composer_t *c, int64_t now_ms, uint8_t *const planes[3],
                           const int linesize[3]);

#endif
