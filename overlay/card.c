/* The lot card renderer (see card.h). Geometry is designed in units of a 200-unit-high card
 * and scaled to pixels (u px per unit); text is laid out by pango in device pixels so that
 * measurements are exact. Layers: `base` holds the static parts (panel, accent bar, image,
 * state badge, labels, title); `out` is base plus the bid block and the timer, each repainted
 * inside its own rectangle by restoring that rectangle from base and drawing over it. */
#include "overlay/card.h"

#include <cairo.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

#define DEFAULT_FONT "Noto Sans, Noto Sans CJK JP"
/* Appended to every family list so Arabic and Hebrew match the Noto look. */
#define SCRIPT_FONTS "Noto Sans Arabic, Noto Sans Hebrew"
#define REF_H 200.0   /* design height in units */
#define PAD 18.0      /* inner padding */
#define BAR_W 6.0     /* accent bar */
#define TIMER_W 142.0 /* timer block width */
#define HL_MS 600     /* new-bid highlight duration */
#define HL_STEP_MS 50 /* highlight animation frame */
#define URGENT_S 10   /* countdown turns red at or below this many seconds */

enum { TIMER_NONE = -2, TIMER_ENDED_STATE = -1 };

typedef struct {
    double x, y, w, h;
} box_t;

struct gv_card {
    gv_card_params_t p;
    char font[256];
    int w, h;
    double scale; /* card px per 720p-reference px */
    double u;     /* px per unit */
    double uw;    /* card width in units */

    cairo_surface_t *base, *out, *image;
    PangoFontMap *fm;
    PangoContext *pc;
    PangoLayout *title, *badge, *labels[4], *cap_bid, *cap_time, *amount, *leader, *timer;

    gv_lot_t lot;
    bool have_lot;
    const uint8_t *image_src;
    int image_w, image_h, image_stride;

    bool dirty_static, dirty_bid;
    bool hl_pending;
    int64_t hl_start;  /* -1 when no highlight runs */
    int hl_step;       /* -1 when none shown */
    int64_t timer_key; /* TIMER_NONE, TIMER_ENDED_STATE or the remaining seconds shown */
    bool drawn;

    /* Geometry in units, set by layout_static. */
    double cx0, cx1; /* content column */
    box_t title_b, badge_b, bid_b, line_b, timer_b, amount_b, leader_b, timer_text_b;
    char timer_text[32];
    char amount_text[64]; /* what the amount layout holds, its room and width (units) */
    double amount_room, amount_w;
};

/* --- small helpers ----------------------------------------------------------------------- */

static void set_rgb(cairo_t *cr, uint32_t rgb, double a)
{
    cairo_set_source_rgba(cr, ((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0,
                          (rgb & 255) / 255.0, a);
}

static void round_rect(cairo_t *cr, double x, double y, double w, double h, double r)
{
    if (r > h / 2)
        r = h / 2;
    if (r > w / 2)
        r = w / 2;
    cairo_new_sub_path(cr);
    cairo_arc(cr, x + w - r, y + r, r, -M_PI / 2, 0);
    cairo_arc(cr, x + w - r, y + h - r, r, 0, M_PI / 2);
    cairo_arc(cr, x + r, y + h - r, r, M_PI / 2, M_PI);
    cairo_arc(cr, x + r, y + r, r, M_PI, 3 * M_PI / 2);
    cairo_close_path(cr);
}

/* Units to the smallest enclosing pixel rectangle (plus one pixel for antialiasing), clipped
 * to the card. */
static gv_rect_t to_px(const gv_card_t *c, box_t b)
{
    int x0 = (int)floor(b.x * c->u) - 1, y0 = (int)floor(b.y * c->u) - 1;
    int x1 = (int)ceil((b.x + b.w) * c->u) + 1, y1 = (int)ceil((b.y + b.h) * c->u) + 1;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > c->w ? c->w : x1;
    y1 = y1 > c->h ? c->h : y1;
    gv_rect_t r = {x0, y0, x1 > x0 ? x1 - x0 : 0, y1 > y0 ? y1 - y0 : 0};
    return r;
}

static void rect_union(gv_rect_t *a, gv_rect_t b)
{
    if (b.w <= 0 || b.h <= 0)
        return;
    if (a->w <= 0 || a->h <= 0) {
        *a = b;
        return;
    }
    int x0 = a->x < b.x ? a->x : b.x, y0 = a->y < b.y ? a->y : b.y;
    int x1 = a->x + a->w > b.x + b.w ? a->x + a->w : b.x + b.w;
    int y1 = a->y + a->h > b.y + b.h ? a->y + a->h : b.y + b.h;
    *a = (gv_rect_t){x0, y0, x1 - x0, y1 - y0};
}

static PangoLayout *new_layout(gv_card_t *c)
{
    PangoLayout *l = pango_layout_new(c->pc);
    pango_layout_set_single_paragraph_mode(l, TRUE);
    pango_layout_set_auto_dir(l, TRUE);
    return l;
}

/* Font of `size` units and `weight` for layout l (family list from the config). */
static void set_font(gv_card_t *c, PangoLayout *l, double size, PangoWeight weight)
{
    PangoFontDescription *d = pango_font_description_new();
    pango_font_description_set_family(d, c->font);
    pango_font_description_set_weight(d, weight);
    pango_font_description_set_absolute_size(d, size * c->u * PANGO_SCALE);
    pango_layout_set_font_description(l, d);
    pango_font_description_free(d);
}

static void set_text(PangoLayout *l, const char *s)
{
    const char *cur = pango_layout_get_text(l);
    if (!cur || strcmp(cur, s) != 0)
        pango_layout_set_text(l, s, -1);
}

/* Logical size of a layout in units. */
static void text_size(const gv_card_t *c, PangoLayout *l, double *w, double *h)
{
    PangoRectangle lr;
    pango_layout_get_extents(l, NULL, &lr);
    *w = lr.width / (double)PANGO_SCALE / c->u;
    *h = lr.height / (double)PANGO_SCALE / c->u;
}

/* Draws l with its first baseline at (x, baseline) in units. */
static void show_at(const gv_card_t *c, cairo_t *cr, PangoLayout *l, double x, double baseline)
{
    double b = pango_layout_get_baseline(l) / (double)PANGO_SCALE;
    cairo_move_to(cr, x * c->u, baseline * c->u - b);
    pango_cairo_show_layout(cr, l);
}

/* Letter spacing (units) and tabular figures for a caption / number layout. */
static void set_attrs(gv_card_t *c, PangoLayout *l, double spacing, bool tabular)
{
    PangoAttrList *al = pango_attr_list_new();
    if (spacing > 0)
        pango_attr_list_insert(al,
                               pango_attr_letter_spacing_new((int)(spacing * c->u * PANGO_SCALE)));
    if (tabular)
        pango_attr_list_insert(al, pango_attr_font_features_new("tnum 1"));
    pango_layout_set_attributes(l, al);
    pango_attr_list_unref(al);
}

/* --- create / destroy -------------------------------------------------------------------- */

/* Copies a family list without colour-emoji families and with the script fonts appended. An
 * emoji family named in the list makes pango take digits from it (they have emoji forms),
 * while pango's per-glyph fallback finds it for real emoji anyway. */
static void font_list(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    const char *p = in;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        bool emoji = false;
        for (size_t i = 0; i + 5 <= len; i++)
            if (strncasecmp(p + i, "emoji", 5) == 0)
                emoji = true;
        if (len && !emoji && n + len + 3 < cap) {
            if (n) {
                memcpy(out + n, ", ", 2);
                n += 2;
            }
            memcpy(out + n, p, len);
            n += len;
            out[n] = '\0';
        }
        if (!e)
            break;
        p = e + 1;
    }
    snprintf(out + n, cap - n, "%s%s", n ? ", " : "", SCRIPT_FONTS);
}

gv_card_t *gv_card_create(const gv_card_params_t *p)
{
    if (!p || p->card_w <= 0 || p->card_h <= 0 || p->frame_w <= 0 || p->frame_h <= 0)
        return NULL;
    gv_card_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->p = *p;
    font_list(p->font && p->font[0] ? p->font : DEFAULT_FONT, c->font, sizeof(c->font));
    c->p.font = c->font;

    /* Scale with the picture height; narrower pictures (portrait) shrink the whole card so it
     * fits between the margins with its proportions kept. */
    double s = p->frame_h / 720.0;
    if ((p->card_w + 2.0 * p->margin) * s > p->frame_w)
        s = p->frame_w / (p->card_w + 2.0 * p->margin);
    c->scale = s;
    int h = ((int)lround(p->card_h * s) + 1) & ~1;
    int w = ((int)lround(p->card_w * s) + 1) & ~1;
    if (h < 8)
        h = 8;
    if (w < 8)
        w = 8;
    c->w = w;
    c->h = h;
    c->u = h / REF_H;
    c->uw = w / c->u;

    c->base = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    c->out = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    if (cairo_surface_status(c->base) != CAIRO_STATUS_SUCCESS ||
        cairo_surface_status(c->out) != CAIRO_STATUS_SUCCESS)
        goto fail;

    /* A private font map per card: pango font maps must not be shared across threads. */
    c->fm = pango_cairo_font_map_new();
    if (!c->fm)
        goto fail;
    c->pc = pango_font_map_create_context(c->fm);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(c->pc, fo);
    cairo_font_options_destroy(fo);

    c->title = new_layout(c);
    set_font(c, c->title, 21, PANGO_WEIGHT_BOLD);
    pango_layout_set_ellipsize(c->title, PANGO_ELLIPSIZE_END);
    c->badge = new_layout(c);
    set_font(c, c->badge, 12, PANGO_WEIGHT_HEAVY);
    set_attrs(c, c->badge, 1.0, false);
    for (int i = 0; i < 4; i++) {
        c->labels[i] = new_layout(c);
        set_font(c, c->labels[i], 12, PANGO_WEIGHT_SEMIBOLD);
        pango_layout_set_ellipsize(c->labels[i], PANGO_ELLIPSIZE_END);
    }
    c->cap_bid = new_layout(c);
    set_font(c, c->cap_bid, 11, PANGO_WEIGHT_BOLD);
    set_attrs(c, c->cap_bid, 1.2, false);
    c->cap_time = new_layout(c);
    set_font(c, c->cap_time, 11, PANGO_WEIGHT_BOLD);
    set_attrs(c, c->cap_time, 1.2, false);
    c->amount = new_layout(c);
    set_attrs(c, c->amount, 0, true);
    c->leader = new_layout(c);
    set_font(c, c->leader, 16, PANGO_WEIGHT_NORMAL);
    pango_layout_set_ellipsize(c->leader, PANGO_ELLIPSIZE_END);
    c->timer = new_layout(c);
    set_attrs(c, c->timer, 0, true);

    c->hl_start = -1;
    c->hl_step = -1;
    c->timer_key = TIMER_NONE;
    return c;
fail:
    gv_card_destroy(c);
    return NULL;
}

void gv_card_destroy(gv_card_t *c)
{
    if (!c)
        return;
    PangoLayout *ls[] = {c->title,     c->badge,     c->labels[0], c->labels[1],
                         c->labels[2], c->labels[3], c->cap_bid,   c->cap_time,
                         c->amount,    c->leader,    c->timer};
    for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
        if (ls[i])
            g_object_unref(ls[i]);
    if (c->pc)
        g_object_unref(c->pc);
    if (c->fm)
        g_object_unref(c->fm);
    if (c->base)
        cairo_surface_destroy(c->base);
    if (c->out)
        cairo_surface_destroy(c->out);
    if (c->image)
        cairo_surface_destroy(c->image);
    free(c);
}

void gv_card_size(const gv_card_t *c, int *w, int *h)
{
    *w = c->w;
    *h = c->h;
}

double gv_card_scale(const gv_card_t *c)
{
    return c->scale;
}

const uint8_t *gv_card_pixels(const gv_card_t *c, int *stride)
{
    *stride = cairo_image_surface_get_stride(c->out);
    return cairo_image_surface_get_data(c->out);
}

/* --- lot updates ------------------------------------------------------------------------- */

static bool static_differs(const gv_lot_t *a, const gv_lot_t *b)
{
    if (strcmp(a->id, b->id) || strcmp(a->title, b->title) || strcmp(a->image, b->image) ||
        a->state != b->state || a->n_labels != b->n_labels)
        return true;
    for (int i = 0; i < a->n_labels; i++)
        if (strcmp(a->labels[i], b->labels[i]))
            return true;
    return false;
}

int gv_card_set_lot(gv_card_t *c, const gv_lot_t *lot, const uint8_t *image_bgra, int image_w,
                    int image_h, int image_stride)
{
    if (!lot)
        return GV_EINVAL;
    bool image_changed = image_bgra != c->image_src || image_w != c->image_w ||
                         image_h != c->image_h || image_stride != c->image_stride;
    if (image_changed) {
        if (c->image)
            cairo_surface_destroy(c->image);
        c->image = NULL;
        c->image_src = NULL;
        c->image_w = c->image_h = c->image_stride = 0;
        if (image_bgra && image_w > 0 && image_h > 0 && image_w <= 8192 && image_h <= 8192 &&
            image_stride >= image_w * 4) {
            cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, image_w, image_h);
            if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
                cairo_surface_destroy(s);
                return GV_ENOMEM;
            }
            cairo_surface_flush(s);
            uint8_t *d = cairo_image_surface_get_data(s);
            int ds = cairo_image_surface_get_stride(s);
            for (int y = 0; y < image_h; y++)
                memcpy(d + (size_t)y * ds, image_bgra + (size_t)y * image_stride,
                       (size_t)image_w * 4);
            cairo_surface_mark_dirty(s);
            c->image = s;
            c->image_src = image_bgra;
            c->image_w = image_w;
            c->image_h = image_h;
            c->image_stride = image_stride;
        }
    }

    if (!c->have_lot || image_changed || static_differs(&c->lot, lot)) {
        c->dirty_static = true;
        c->hl_pending = false;
        c->hl_start = -1;
    } else if (lot->current_bid != c->lot.current_bid || lot->bid_count != c->lot.bid_count ||
               strcmp(lot->leader, c->lot.leader) || strcmp(lot->currency, c->lot.currency)) {
        c->dirty_bid = true;
        if (lot->current_bid > c->lot.current_bid || lot->bid_count > c->lot.bid_count)
            c->hl_pending = true;
    }
    /* ends_at changes reach the timer through its displayed value. */
    c->lot = *lot;
    c->have_lot = true;
    return 0;
}

/* --- drawing ----------------------------------------------------------------------------- */

static const struct {
    const char *text;
    uint32_t bg;
} badges[] = {
    [GV_LOT_UPCOMING] = {"UPCOMING", 0x2F6FED},
    [GV_LOT_LIVE] = {"LIVE", 0xE5322D},
    [GV_LOT_SOLD] = {"SOLD", 0x1E9E5A},
    [GV_LOT_UNSOLD] = {"UNSOLD", 0x5F6673},
};

static void layout_static(gv_card_t *c)
{
    bool img = c->image != NULL;
    double img_size = REF_H - 2 * PAD;
    c->cx0 = img ? BAR_W + PAD + img_size + 18 : BAR_W + PAD + 4;
    c->cx1 = c->uw - PAD;
    double cw = c->cx1 - c->cx0;
    c->title_b = (box_t){c->cx0, 44, cw, 32};
    c->badge_b = (box_t){c->cx0, 16, 0, 22};
    c->timer_b = (box_t){c->cx1 - TIMER_W, 80, TIMER_W + 10, 74};
    /* The bid block: caption and amount beside the timer, the leader line below both. */
    c->bid_b = (box_t){c->cx0 - 10, 80, c->timer_b.x - 6 - (c->cx0 - 10), 74};
    c->line_b = (box_t){c->cx0 - 10, 154, c->cx1 + 10 - (c->cx0 - 10), 34};
}

static void draw_static(gv_card_t *c)
{
    layout_static(c);
    cairo_t *cr = cairo_create(c->base);
    cairo_set_operator(cr, CAIRO_OPERATOR_CLEAR);
    cairo_paint(cr);
    cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
    double u = c->u, W = c->uw;

    /* Panel: dark, translucent, slightly lighter at the top. */
    round_rect(cr, 0, 0, W * u, REF_H * u, 16 * u);
    cairo_pattern_t *g = cairo_pattern_create_linear(0, 0, 0, REF_H * u);
    cairo_pattern_add_color_stop_rgba(g, 0, 0x1C / 255.0, 0x20 / 255.0, 0x2A / 255.0, 0.90);
    cairo_pattern_add_color_stop_rgba(g, 1, 0x0C / 255.0, 0x0E / 255.0, 0x14 / 255.0, 0.86);
    cairo_set_source(cr, g);
    cairo_fill_preserve(cr);
    cairo_pattern_destroy(g);
    cairo_save(cr);
    cairo_clip_preserve(cr);
    set_rgb(cr, 0xFFFFFF, 0.10);
    cairo_set_line_width(cr, 2 * u); /* half of it inside the clip: a 1-unit hairline */
    cairo_stroke(cr);
    /* Accent bar along the left edge, following the panel's rounded corners. */
    cairo_rectangle(cr, 0, 0, BAR_W * u, REF_H * u);
    set_rgb(cr, c->p.accent, 1.0);
    cairo_fill(cr);
    cairo_restore(cr);

    /* Item image, cover-fit into a rounded square. */
    if (c->image) {
        double bx = (BAR_W + PAD) * u, by = PAD * u, bs = (REF_H - 2 * PAD) * u;
        double iw = cairo_image_surface_get_width(c->image);
        double ih = cairo_image_surface_get_height(c->image);
        double sc = fmax(bs / iw, bs / ih);
        cairo_save(cr);
        round_rect(cr, bx, by, bs, bs, 10 * u);
        cairo_clip(cr);
        set_rgb(cr, 0x000000, 0.35);
        cairo_paint(cr);
        cairo_translate(cr, bx + (bs - iw * sc) / 2, by + (bs - ih * sc) / 2);
        cairo_scale(cr, sc, sc);
        cairo_set_source_surface(cr, c->image, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
        cairo_paint(cr);
        cairo_restore(cr);
        round_rect(cr, bx + 0.5, by + 0.5, bs - 1, bs - 1, 10 * u);
        set_rgb(cr, 0xFFFFFF, 0.12);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
    }

    /* State badge, then label pills while they fit. */
    double x = c->cx0, pill_h = 22, tw, th;
    int st = c->lot.state >= GV_LOT_UPCOMING && c->lot.state <= GV_LOT_UNSOLD ? c->lot.state
                                                                              : GV_LOT_LIVE;
    set_text(c->badge, badges[st].text);
    text_size(c, c->badge, &tw, &th);
    bool dot = st == GV_LOT_LIVE;
    double bw = tw + 20 + (dot ? 12 : 0);
    round_rect(cr, x * u, 16 * u, bw * u, pill_h * u, 5 * u);
    set_rgb(cr, badges[st].bg, 1.0);
    cairo_fill(cr);
    if (dot) {
        cairo_arc(cr, (x + 12) * u, (16 + pill_h / 2) * u, 3.5 * u, 0, 2 * M_PI);
        set_rgb(cr, 0xFFFFFF, 1.0);
        cairo_fill(cr);
    }
    set_rgb(cr, 0xFFFFFF, 1.0);
    show_at(c, cr, c->badge, x + 10 + (dot ? 12 : 0), 31.5);
    c->badge_b.w = bw;
    x += bw + 8;
    for (int i = 0; i < c->lot.n_labels; i++) {
        PangoLayout *l = c->labels[i];
        pango_layout_set_width(l, -1);
        set_text(l, c->lot.labels[i]);
        text_size(c, l, &tw, &th);
        double room = c->cx1 - x - 20;
        if (room < 40)
            break;
        if (tw > room) {
            pango_layout_set_width(l, (int)(room * u * PANGO_SCALE));
            tw = room;
        }
        round_rect(cr, x * u, 16 * u, (tw + 20) * u, pill_h * u, pill_h / 2 * u);
        set_rgb(cr, 0xFFFFFF, 0.13);
        cairo_fill(cr);
        set_rgb(cr, 0xE8EAED, 1.0);
        show_at(c, cr, l, x + 10, 31.5);
        x += tw + 20 + 6;
    }

    /* Title: one line, ellipsized at the end (the start for right-to-left text). */
    pango_layout_set_width(c->title, (int)(c->title_b.w * u * PANGO_SCALE));
    set_text(c->title, c->lot.title);
    set_rgb(cr, 0xFFFFFF, 1.0);
    show_at(c, cr, c->title, c->title_b.x, 68);

    cairo_destroy(cr);
    cairo_surface_flush(c->base);
}

/* Copies rectangle r from base to out (the layer under the dynamic parts). */
static void restore_rect(gv_card_t *c, gv_rect_t r)
{
    cairo_surface_flush(c->out);
    int bs = cairo_image_surface_get_stride(c->base), os = cairo_image_surface_get_stride(c->out);
    const uint8_t *b = cairo_image_surface_get_data(c->base);
    uint8_t *o = cairo_image_surface_get_data(c->out);
    for (int y = r.y; y < r.y + r.h; y++)
        memcpy(o + (size_t)y * os + (size_t)r.x * 4, b + (size_t)y * bs + (size_t)r.x * 4,
               (size_t)r.w * 4);
    cairo_surface_mark_dirty_rectangle(c->out, r.x, r.y, r.w, r.h);
}

static cairo_t *clipped(gv_card_t *c, gv_rect_t r)
{
    cairo_t *cr = cairo_create(c->out);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_clip(cr);
    return cr;
}

/* The bid block: caption and amount (with the highlight), and when line_too is set the leader
 * line as well. A highlight frame alone repaints just the amount's wash. Returns the area
 * repainted. */
static gv_rect_t draw_bid(gv_card_t *c, bool line_too)
{
    double u = c->u, tw, th;
    gv_rect_t r = to_px(c, c->bid_b), rl = to_px(c, c->line_b);
    if (!line_too && c->amount_text[0])
        r = to_px(c, (box_t){c->cx0 - 8, 100, c->amount_w + 16, 48});
    restore_rect(c, r);
    if (line_too)
        restore_rect(c, rl);
    cairo_t *cr = cairo_create(c->out);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    if (line_too)
        cairo_rectangle(cr, rl.x, rl.y, rl.w, rl.h);
    cairo_clip(cr);
    const gv_lot_t *l = &c->lot;

    const char *cap = l->state == GV_LOT_SOLD     ? "SOLD FOR"
                      : l->state == GV_LOT_UNSOLD ? "HIGHEST BID"
                      : l->bid_count == 0         ? "STARTING BID"
                                                  : "CURRENT BID";
    set_text(c->cap_bid, cap);
    set_rgb(cr, 0x9AA1AD, 1.0);
    show_at(c, cr, c->cap_bid, c->cx0, 94);

    /* Amount: 42 units, shrunk to fit its column; laid out again only when it changes. */
    char amount[64];
    gv_lot_format_amount(l->current_bid, l->currency, amount, sizeof(amount));
    double room = c->bid_b.x + c->bid_b.w - c->cx0 - 10;
    if (strcmp(amount, c->amount_text) != 0 || room != c->amount_room) {
        set_font(c, c->amount, 42, PANGO_WEIGHT_BOLD);
        set_text(c->amount, amount);
        text_size(c, c->amount, &tw, &th);
        if (tw > room) {
            set_font(c, c->amount, fmax(16, 42 * room / tw), PANGO_WEIGHT_BOLD);
            text_size(c, c->amount, &tw, &th);
        }
        snprintf(c->amount_text, sizeof(c->amount_text), "%s", amount);
        c->amount_room = room;
        c->amount_w = tw;
    }
    tw = c->amount_w;
    c->amount_b = (box_t){c->cx0, 98, tw, 50};
    uint32_t colour = 0xFFFFFF;
    if (c->hl_step >= 0) {
        /* New bid: the amount flashes in the accent colour on a faint accent wash, both
         * fading back (ease-out) over HL_MS. */
        double t = (c->hl_step + 1) / (double)(HL_MS / HL_STEP_MS), k = (1 - t) * (1 - t);
        round_rect(cr, (c->cx0 - 8) * u, 100 * u, (tw + 16) * u, 48 * u, 8 * u);
        set_rgb(cr, c->p.accent, 0.30 * k);
        cairo_fill(cr);
        colour = 0;
        for (int sh = 0; sh <= 16; sh += 8) {
            double a = (c->p.accent >> sh) & 255;
            colour |= (uint32_t)lround(255 + (a - 255) * k) << sh;
        }
    }
    set_rgb(cr, colour, 1.0);
    show_at(c, cr, c->amount, c->cx0, 139);
    if (!line_too) {
        cairo_destroy(cr);
        return r;
    }

    /* "@leader · 12 bids": the name in white, the rest grey. */
    char line[256];
    size_t name_start = 0, name_len = 0;
    const char *sep = "";
    if (l->leader[0]) {
        const char *won = l->state == GV_LOT_SOLD ? "Won by " : "";
        snprintf(line, sizeof(line), "%s@%s", won, l->leader);
        name_start = strlen(won);
        name_len = strlen(line) - name_start;
        sep = "  \xc2\xb7  ";
    } else {
        line[0] = '\0';
    }
    size_t n = strlen(line);
    if (l->bid_count == 0 && !l->leader[0])
        snprintf(line + n, sizeof(line) - n, "No bids yet");
    else
        snprintf(line + n, sizeof(line) - n, "%s%lld bid%s", sep, (long long)l->bid_count,
                 l->bid_count == 1 ? "" : "s");
    pango_layout_set_width(c->leader, (int)((c->cx1 - c->cx0) * u * PANGO_SCALE));
    set_text(c->leader, line);
    PangoAttrList *al = pango_attr_list_new();
    PangoAttribute *at = pango_attr_foreground_new(0xA8 * 257, 0xAE * 257, 0xB8 * 257);
    pango_attr_list_insert(al, at);
    if (name_len) {
        at = pango_attr_foreground_new(0xFFFF, 0xFFFF, 0xFFFF);
        at->start_index = (guint)name_start;
        at->end_index = (guint)(name_start + name_len);
        pango_attr_list_insert(al, at);
        at = pango_attr_weight_new(PANGO_WEIGHT_SEMIBOLD);
        at->start_index = (guint)name_start;
        at->end_index = (guint)(name_start + name_len);
        pango_attr_list_insert(al, at);
    }
    pango_layout_set_attributes(c->leader, al);
    pango_attr_list_unref(al);
    text_size(c, c->leader, &tw, &th);
    c->leader_b = (box_t){c->cx0, 158, tw, 24};
    show_at(c, cr, c->leader, c->cx0, 176);
    cairo_destroy(cr);
    rect_union(&r, rl);
    return r;
}

void gv_card_format_countdown(int64_t remaining_ms, char *out, size_t outlen)
{
    int64_t s = remaining_ms <= 0 ? 0 : (remaining_ms + 999) / 1000;
    if (s <= 0)
        snprintf(out, outlen, "ENDED");
    else if (s >= 3600)
        snprintf(out, outlen, "%lld:%02d:%02d", (long long)(s / 3600), (int)(s / 60 % 60),
                 (int)(s % 60));
    else
        snprintf(out, outlen, "%d:%02d", (int)(s / 60), (int)(s % 60));
}

static int64_t timer_key(const gv_card_t *c, int64_t now_ms)
{
    if (c->lot.ends_at_ms == 0)
        return TIMER_NONE;
    if (c->lot.state == GV_LOT_SOLD || c->lot.state == GV_LOT_UNSOLD)
        return TIMER_ENDED_STATE;
    int64_t left = c->lot.ends_at_ms - now_ms;
    return left <= 0 ? 0 : (left + 999) / 1000;
}

static void draw_timer(gv_card_t *c)
{
    double u = c->u, tw, th;
    gv_rect_t r = to_px(c, c->timer_b);
    restore_rect(c, r);
    c->timer_text[0] = '\0';
    c->timer_text_b = (box_t){c->cx1, 98, 0, 0};
    if (c->timer_key == TIMER_NONE)
        return;
    cairo_t *cr = clipped(c, r);
    bool ended = c->timer_key <= 0;
    bool urgent = !ended && c->timer_key <= URGENT_S;
    gv_card_format_countdown(ended ? 0 : c->timer_key * 1000, c->timer_text, sizeof(c->timer_text));

    if (!ended) {
        set_text(c->cap_time, "TIME LEFT");
        text_size(c, c->cap_time, &tw, &th);
        set_rgb(cr, urgent ? 0xFF6B61 : 0x9AA1AD, 1.0);
        show_at(c, cr, c->cap_time, c->cx1 - tw, 94);
    }

    double size = ended ? 30 : c->timer_key >= 3600 ? 32 : 42;
    set_font(c, c->timer, size, PANGO_WEIGHT_BOLD);
    set_text(c->timer, c->timer_text);
    text_size(c, c->timer, &tw, &th);
    if (tw > TIMER_W - 6) {
        set_font(c, c->timer, size * (TIMER_W - 6) / tw, PANGO_WEIGHT_BOLD);
        text_size(c, c->timer, &tw, &th);
    }
    c->timer_text_b = (box_t){c->cx1 - tw, 98, tw, 50};
    if (urgent) {
        round_rect(cr, (c->cx1 - tw - 9) * u, 100 * u, (tw + 18) * u, 48 * u, 8 * u);
        set_rgb(cr, 0xFF3B30, 0.22);
        cairo_fill(cr);
    }
    set_rgb(cr, ended ? 0xB4B9C2 : urgent ? 0xFF453A : 0xFFFFFF, 1.0);
    show_at(c, cr, c->timer, c->cx1 - tw, 139);
    cairo_destroy(cr);
}

bool gv_card_render(gv_card_t *c, int64_t now_ms, gv_rect_t *dirty)
{
    gv_rect_t d = {0, 0, 0, 0};
    if (!c->have_lot)
        goto done;
    bool bid = c->dirty_bid, timer = false;
    if (c->hl_pending) {
        c->hl_pending = false;
        c->hl_start = now_ms;
    }
    int step = -1;
    if (c->hl_start >= 0) {
        int64_t el = now_ms - c->hl_start;
        if (el < 0)
            el = 0;
        if (el >= HL_MS)
            c->hl_start = -1;
        else
            step = (int)(el / HL_STEP_MS);
    }
    if (step != c->hl_step) {
        c->hl_step = step;
        bid = true;
    }
    int64_t tk = timer_key(c, now_ms);
    if (tk != c->timer_key) {
        c->timer_key = tk;
        timer = true;
    }
    if (c->dirty_static || !c->drawn) {
        draw_static(c);
        restore_rect(c, (gv_rect_t){0, 0, c->w, c->h});
        d = (gv_rect_t){0, 0, c->w, c->h};
        bid = timer = true;
        c->dirty_static = false;
        c->drawn = true;
    }
    if (bid) {
        rect_union(&d, draw_bid(c, c->dirty_bid || d.w > 0));
        c->dirty_bid = false;
    }
    if (timer) {
        draw_timer(c);
        rect_union(&d, to_px(c, c->timer_b));
    }
    if (d.w > 0)
        cairo_surface_flush(c->out);
done:
    if (dirty)
        *dirty = d;
    return d.w > 0 && d.h > 0;
}

/* --- inspection -------------------------------------------------------------------------- */

int gv_card_part_info(const gv_card_t *c, gv_card_part_t part, gv_card_part_info_t *out)
{
    PangoLayout *l;
    box_t b;
    switch (part) {
    case GV_CARD_TITLE:
        l = c->title;
        b = c->title_b;
        break;
    case GV_CARD_AMOUNT:
        l = c->amount;
        b = c->amount_b;
        break;
    case GV_CARD_LEADER:
        l = c->leader;
        b = c->leader_b;
        break;
    case GV_CARD_TIMER:
        l = c->timer;
        b = c->timer_text_b;
        break;
    case GV_CARD_BADGE:
        l = c->badge;
        b = c->badge_b;
        break;
    default:
        return GV_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    PangoRectangle lr;
    pango_layout_get_pixel_extents(l, NULL, &lr);
    out->box.x = (int)floor(b.x * c->u);
    out->box.y = (int)floor(b.y * c->u);
    out->box.w = (int)ceil((b.x + b.w) * c->u) - out->box.x;
    out->box.h = (int)ceil((b.y + b.h) * c->u) - out->box.y;
    out->text_w = lr.width;
    out->text_h = lr.height;
    out->ellipsized = pango_layout_is_ellipsized(l);
    out->unknown_glyphs = pango_layout_get_unknown_glyphs_count(l);
    out->text = part == GV_CARD_TIMER ? c->timer_text : pango_layout_get_text(l);
    return 0;
}

int gv_card_write_png(const gv_card_t *c, const char *path)
{
    return cairo_surface_write_to_png(c->out, path) == CAIRO_STATUS_SUCCESS ? 0 : GV_EIO;
}
