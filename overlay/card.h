/* Overlay-internal: the lot card renderer (cairo + pango). It keeps a static layer (panel,
 * image, badge, labels, title, captions) and draws the fast-changing parts (bid block, timer)
 * over it, re-rendering only what changed and reporting the dirty rectangle. Output is a
 * premultiplied BGRA (cairo ARGB32) image of even width and height. One card per thread. */
#ifndef GV_CARD_H
#define GV_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/lot.h"

typedef struct gv_card gv_card_t;

typedef struct {
    int x, y, w, h;
} gv_rect_t;

typedef struct {
    int card_w, card_h; /* size at the 720p reference, e.g. 640 x 200 */
    int frame_w, frame_h;
    int margin;       /* px at 720p; the card never gets wider than frame_w - 2 margins */
    const char *font; /* pango family list; NULL = Noto Sans + CJK (emoji by fallback) */
    uint32_t accent;  /* 0xRRGGBB */
} gv_card_params_t;

/* Parts whose layout the tests inspect. */
typedef enum {
    GV_CARD_TITLE = 0,
    GV_CARD_AMOUNT,
    GV_CARD_LEADER,
    GV_CARD_TIMER,
    GV_CARD_BADGE,
    GV_CARD_PART_COUNT
} gv_card_part_t;

typedef struct {
    gv_rect_t box;      /* where the part is drawn, px in card coordinates */
    int text_w, text_h; /* the text's logical size, px */
    bool ellipsized;
    int unknown_glyphs;
    const char *text; /* the text as set on the layout (valid until the next render) */
} gv_card_part_info_t;

gv_card_t *gv_card_create(const gv_card_params_t *p);
void gv_card_destroy(gv_card_t *c);

/* Card size in px (even), and the scale from the 720p reference (frame_h / 720, less when
 * the frame is too narrow for the card and its margins). */
void gv_card_size(const gv_card_t *c, int *w, int *h);
double gv_card_scale(const gv_card_t *c);

/* Sets the lot and its image (premultiplied BGRA, copied; NULL = none). Nothing is drawn
 * here; the next gv_card_render does the work. The image counts as unchanged while its
 * pointer, size and the lot's image reference stay the same: pass a new buffer for new
 * content. A bid (amount or count up, same lot id) starts the highlight on the next render. */
int gv_card_set_lot(gv_card_t *c, const gv_lot_t *lot, const uint8_t *image_bgra, int image_w,
                    int image_h, int image_stride);

/* Brings the pixels up to date for now_ms. Returns true and the dirty rectangle when any
 * pixel changed, false when the card is unchanged (nothing drawn). */
bool gv_card_render(gv_card_t *c, int64_t now_ms, gv_rect_t *dirty);

/* The card's pixels (premultiplied BGRA rows of *stride bytes). */
const uint8_t *gv_card_pixels(const gv_card_t *c, int *stride);

/* Layout facts of a part after the last render; 0 or GV_EINVAL. */
int gv_card_part_info(const gv_card_t *c, gv_card_part_t part, gv_card_part_info_t *out);

/* Countdown text for a remaining time: "1:02:03", "0:42", "ENDED" at 0. */
void gv_card_format_countdown(int64_t remaining_ms, char *out, size_t outlen);

/* Writes the current pixels as PNG (for inspection and tests). 0 or GV_EIO. */
int gv_card_write_png(const gv_card_t *c, const char *path);

#endif
