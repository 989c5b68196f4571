/* The per-stream composer (see compose.h): owns the card renderer and the card converted to
 * yuv420p with alpha. gv_composer_set_lot only records the lot; gv_composer_apply renders what
 * changed (lot version, countdown second, highlight frame), converts only the dirty rectangle,
 * and blends the card's rectangle onto every frame. */
#include "overlay/compose.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "overlay/blend.h"
#include "overlay/card.h"

struct gv_composer {
    int frame_w, frame_h;
    gv_card_t *card;
    gv_yuva_t yuva;
    int x, y; /* card corner in the frame, even */
    bool visible;
    uint64_t version;
    const uint8_t *image;
    int image_w, image_h, image_stride;
};

static uint32_t parse_accent(const char *s)
{
    uint32_t dflt = 0xFFC400;
    if (!s || s[0] != '#' || strlen(s) != 7)
        return dflt;
    char *end = NULL;
    long v = strtol(s + 1, &end, 16);
    if (!end || *end != '\0' || v < 0)
        return dflt;
    return (uint32_t)v;
}

gv_composer_t *gv_composer_create(const gv_overlay_config_t *cfg, int frame_w, int frame_h,
                                  gv_colorspace_t cs)
{
    if (frame_w <= 0 || frame_h <= 0 || frame_w > 16384 || frame_h > 16384)
        return NULL;
    gv_composer_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->frame_w = frame_w;
    c->frame_h = frame_h;
    gv_card_params_t p = {
        .card_w = cfg && cfg->card_width > 0 ? cfg->card_width : 640,
        .card_h = cfg && cfg->card_height > 0 ? cfg->card_height : 200,
        .frame_w = frame_w,
        .frame_h = frame_h,
        .margin = cfg && cfg->margin >= 0 ? cfg->margin : 24,
        .font = cfg ? cfg->font : NULL,
        .accent = parse_accent(cfg ? cfg->accent_color : NULL),
    };
    c->card = gv_card_create(&p);
    if (!c->card)
        goto fail;
    int w, h;
    gv_card_size(c->card, &w, &h);
    if (gv_yuva_init(&c->yuva, w, h, cs) != 0)
        goto fail;

    /* Position: margins scale with the picture like the card does. */
    int m = (int)lround(p.margin * gv_card_scale(c->card));
    const char *pos = cfg && cfg->position ? cfg->position : "bottom-left";
    bool right = strstr(pos, "right") != NULL, top = strncmp(pos, "top", 3) == 0;
    c->x = (right ? frame_w - m - w : m) & ~1;
    c->y = (top ? m : frame_h - m - h) & ~1;
    return c;
fail:
    gv_composer_destroy(c);
    return NULL;
}

void gv_composer_destroy(gv_composer_t *c)
{
    if (!c)
        return;
    gv_card_destroy(c->card);
    gv_yuva_free(&c->yuva);
    free(c);
}

void gv_composer_set_lot(gv_composer_t *c, const gv_lot_t *lot, uint64_t version,
                         const uint8_t *image_bgra, int image_w, int image_h, int image_stride)
{
    if (!lot) {
        c->visible = false;
        c->version = 0;
        return;
    }
    if (c->visible && version == c->version && image_bgra == c->image && image_w == c->image_w &&
        image_h == c->image_h && image_stride == c->image_stride)
        return;
    if (gv_card_set_lot(c->card, lot, image_bgra, image_w, image_h, image_stride) != 0) {
        gv_log(GV_LOG_WARN, "overlay", "lot %s: card update failed", lot->id);
        return;
    }
    c->visible = true;
    c->version = version;
    c->image = image_bgra;
    c->image_w = image_w;
    c->image_h = image_h;
    c->image_stride = image_stride;
}

uint64_t gv_composer_apply(gv_composer_t *c, int64_t now_ms, uint8_t *const planes[3],
                           const int linesize[3])
{
    if (!c->visible)
        return 0;
    gv_rect_t d;
    if (gv_card_render(c->card, now_ms, &d)) {
        int stride, w, h;
        const uint8_t *px = gv_card_pixels(c->card, &stride);
        gv_card_size(c->card, &w, &h);
        gv_yuva_convert(&c->yuva, px, stride, w, h, d.x, d.y, d.w, d.h);
    }
    gv_yuva_blend(&c->yuva, c->x, c->y, planes, linesize, c->frame_w, c->frame_h);
    return c->version;
}
