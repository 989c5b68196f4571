/* Unit tests for the lot card renderer: layout of long, CJK, right-to-left and emoji titles
 * (ellipsized within the box, no unknown glyphs, colour emoji really in colour), countdown text
 * and urgent colour, state badges, render-only-on-change with small dirty rectangles, scaling,
 * and item images loaded through gv_image_load. Writes sample cards to /tmp for inspection:
 * /tmp/gavel_card.png and /tmp/gavel_card_intl.png. */
#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "overlay/card.h"
#include "overlay/image.h"
#include "testlib.h"

#define T_END 1714588200000LL /* the lots end at this time (ms) */

static gv_card_t *new_card(int frame_w, int frame_h)
{
    gv_card_params_t p = {.card_w = 640,
                          .card_h = 200,
                          .frame_w = frame_w,
                          .frame_h = frame_h,
                          .margin = 24,
                          .font = NULL,
                          .accent = 0xFFC400};
    return gv_card_create(&p);
}

static gv_lot_t make_lot(const char *title)
{
    gv_lot_t l;
    memset(&l, 0, sizeof(l));
    snprintf(l.id, sizeof(l.id), "lot-42");
    snprintf(l.title, sizeof(l.title), "%s", title);
    snprintf(l.currency, sizeof(l.currency), "USD");
    snprintf(l.leader, sizeof(l.leader), "drexler_fan");
    l.starting_bid = 1000;
    l.current_bid = 125000;
    l.bid_count = 23;
    l.ends_at_ms = T_END;
    l.state = GV_LOT_LIVE;
    snprintf(l.labels[0], sizeof(l.labels[0]), "Free shipping");
    snprintf(l.labels[1], sizeof(l.labels[1]), "Graded");
    l.n_labels = 2;
    return l;
}

/* Straight-alpha colour of a card pixel. */
static void pixel(gv_card_t *c, int x, int y, int *r, int *g, int *b, int *a)
{
    int stride;
    const uint8_t *p = gv_card_pixels(c, &stride) + (size_t)y * stride + x * 4;
    *a = p[3];
    *r = p[3] ? p[2] * 255 / p[3] : 0;
    *g = p[3] ? p[1] * 255 / p[3] : 0;
    *b = p[3] ? p[0] * 255 / p[3] : 0;
}

/* Counts pixels in r that are clearly coloured (not grey), and those that are red. */
static void count_colours(gv_card_t *c, gv_rect_t r, int *coloured, int *red)
{
    *coloured = *red = 0;
    int w, h;
    gv_card_size(c, &w, &h);
    for (int y = r.y; y < r.y + r.h && y < h; y++)
        for (int x = r.x; x < r.x + r.w && x < w; x++) {
            int R, G, B, A;
            pixel(c, x, y, &R, &G, &B, &A);
            int mx = R > G ? (R > B ? R : B) : (G > B ? G : B);
            int mn = R < G ? (R < B ? R : B) : (G < B ? G : B);
            if (A > 200 && mx - mn > 60)
                (*coloured)++;
            if (A > 200 && R > 180 && G < 120 && B < 120)
                (*red)++;
        }
}

/* A synthetic item photo written as PNG: a graded card in a slab. */
static int write_item_png(const char *path)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 300, 420);
    cairo_t *cr = cairo_create(s);
    cairo_pattern_t *g = cairo_pattern_create_linear(0, 0, 300, 420);
    cairo_pattern_add_color_stop_rgb(g, 0, 0.80, 0.82, 0.86);
    cairo_pattern_add_color_stop_rgb(g, 1, 0.55, 0.58, 0.64);
    cairo_set_source(cr, g);
    cairo_paint(cr);
    cairo_pattern_destroy(g);
    cairo_rectangle(cr, 20, 20, 260, 60);
    cairo_set_source_rgb(cr, 0.75, 0.1, 0.12);
    cairo_fill(cr);
    cairo_rectangle(cr, 40, 100, 220, 300);
    cairo_set_source_rgb(cr, 0.1, 0.25, 0.6);
    cairo_fill(cr);
    cairo_arc(cr, 150, 230, 70, 0, 2 * M_PI);
    cairo_set_source_rgb(cr, 0.95, 0.6, 0.1);
    cairo_fill(cr);
    cairo_rectangle(cr, 60, 330, 180, 40);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.8);
    cairo_fill(cr);
    cairo_destroy(cr);
    int rc = cairo_surface_write_to_png(s, path) == CAIRO_STATUS_SUCCESS ? 0 : -1;
    cairo_surface_destroy(s);
    return rc;
}

static void test_sample_card(void)
{
    uint8_t *img = NULL;
    int iw = 0, ih = 0, is = 0;
    GV_CHECK_INT(write_item_png("/tmp/gavel_test_item.png"), 0);
    GV_CHECK_INT(gv_image_load("/tmp/gavel_test_item.png", 1 << 20, 2000, &img, &iw, &ih, &is), 0);
    GV_CHECK_INT(iw, 300);
    GV_CHECK_INT(ih, 420);

    gv_card_t *c = new_card(1280, 720);
    GV_CHECK(c != NULL);
    int w, h;
    gv_card_size(c, &w, &h);
    GV_CHECK_INT(w, 640);
    GV_CHECK_INT(h, 200);
    gv_lot_t lot = make_lot("1986 Fleer RC Clyde Drexler BGS 8.5 Auto");
    GV_CHECK_INT(gv_card_set_lot(c, &lot, img, iw, ih, is), 0);
    gv_rect_t d;
    GV_CHECK(gv_card_render(c, T_END - 42000, &d));
    GV_CHECK_INT(d.w, 640);
    GV_CHECK_INT(d.h, 200);
    GV_CHECK_INT(gv_card_write_png(c, "/tmp/gavel_card.png"), 0);

    gv_card_part_info_t pi;
    GV_CHECK_INT(gv_card_part_info(c, GV_CARD_TITLE, &pi), 0);
    GV_CHECK(pi.text_w <= pi.box.w);
    GV_CHECK_INT(pi.unknown_glyphs, 0);
    GV_CHECK_INT(gv_card_part_info(c, GV_CARD_AMOUNT, &pi), 0);
    GV_CHECK_STR(pi.text, "$1,250.00");
    GV_CHECK_INT(gv_card_part_info(c, GV_CARD_LEADER, &pi), 0);
    GV_CHECK(strstr(pi.text, "@drexler_fan") == pi.text);
    GV_CHECK(strstr(pi.text, "23 bids") != NULL);
    GV_CHECK_INT(gv_card_part_info(c, GV_CARD_TIMER, &pi), 0);
    GV_CHECK_STR(pi.text, "0:42");
    /* The image area shows the item (orange disc) in colour. */
    int coloured, red;
    count_colours(c, (gv_rect_t){24, 18, 168, 164}, &coloured, &red);
    GV_CHECK(coloured > 2000);
    /* Rounded corners are transparent; the panel is translucent, not opaque. */
    int R, G, B, A;
    pixel(c, 0, 0, &R, &G, &B, &A);
    GV_CHECK_INT(A, 0);
    pixel(c, 600, 190, &R, &G, &B, &A);
    GV_CHECK(A > 180 && A < 255);
    gv_card_destroy(c);
    free(img);
}

static void test_long_title_ellipsized(void)
{
    gv_card_t *c = new_card(1280, 720);
    gv_lot_t lot = make_lot("1986 Fleer Basketball #26 Clyde Drexler Rookie Card RC PSA 10 "
                            "Gem Mint Portland Trail Blazers Hall of Fame Autographed Inscribed");
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    gv_card_render(c, T_END - 5000, NULL);
    gv_card_part_info_t pi;
    GV_CHECK_INT(gv_card_part_info(c, GV_CARD_TITLE, &pi), 0);
    GV_CHECK(pi.ellipsized);
    GV_CHECK(pi.text_w <= pi.box.w);
    GV_CHECK(pi.text_w > pi.box.w * 8 / 10);
    GV_CHECK_INT(pi.unknown_glyphs, 0);
    /* A 1000-bidder-name is ellipsized too. */
    memset(lot.leader, 'W', 120);
    lot.leader[120] = '\0';
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    gv_card_render(c, T_END - 5000, NULL);
    GV_CHECK_INT(gv_card_part_info(c, GV_CARD_LEADER, &pi), 0);
    GV_CHECK(pi.ellipsized);
    gv_card_destroy(c);
}

static void check_title(gv_card_t *c, const char *title, bool expect_colour, int line)
{
    gv_lot_t lot = make_lot(title);
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    gv_card_render(c, T_END - 30000, NULL);
    gv_card_part_info_t pi;
    gv_card_part_info(c, GV_CARD_TITLE, &pi);
    int coloured, red;
    count_colours(c, pi.box, &coloured, &red);
    if (pi.unknown_glyphs != 0 || pi.text_w > pi.box.w || pi.text_w < 10 ||
        (expect_colour && coloured < 30) || (!expect_colour && coloured > 0)) {
        fprintf(stderr, "line %d: title \"%s\": unknown %d, width %d/%d, coloured px %d\n", line,
                title, pi.unknown_glyphs, pi.text_w, pi.box.w, coloured);
        gv_test_failures++;
    }
}

static void test_scripts_and_emoji(void)
{
    gv_card_t *c = new_card(1280, 720);
    check_title(c,
                "\xe9\x81\x8a\xe6\x88\xaf\xe7\x8e\x8b \xe9\x9d\x92\xe7\x9c\xbc\xe3\x81\xae"
                "\xe7\x99\xbd\xe9\xbe\x8d \xe5\x88\x9d\xe6\x9c\x9f 1999",
                false, __LINE__);
    check_title(c, "\xed\x8f\xac\xec\xbc\x93\xeb\xaa\xac \xec\xb9\xb4\xeb\x93\x9c", false,
                __LINE__);
    check_title(c,
                "\xd8\xa8\xd8\xb7\xd8\xa7\xd9\x82\xd8\xa9 \xd8\xa8\xd9\x88\xd9\x83\xd9\x8a"
                "\xd9\x85\xd9\x88\xd9\x86 \xd9\x86\xd8\xa7\xd8\xaf\xd8\xb1\xd8\xa9",
                false, __LINE__);
    check_title(c,
                "\xd7\x9b\xd7\xa8\xd7\x98\xd7\x99\xd7\xa1 \xd7\xa0\xd7\x93\xd7\x99\xd7\xa8 "
                "PSA 10",
                false, __LINE__);
    check_title(c, "\xf0\x9f\x94\xa5\xf0\x9f\x94\xa5 Charizard \xf0\x9f\x92\x8e\xe2\x9a\xa1", true,
                __LINE__);
    gv_card_destroy(c);

    /* The international sample: CJK + emoji + RTL in one title, an emoji in the name. */
    c = new_card(1280, 720);
    gv_lot_t lot = make_lot("\xe9\x81\x8a\xe6\x88\xaf\xe7\x8e\x8b \xf0\x9f\x94\xa5 \xd8\xa8\xd8"
                            "\xb7\xd8\xa7\xd9\x82\xd8\xa9 \xd7\xa0\xd7\x93\xd7\x99\xd7\xa8 "
                            "Blue-Eyes 1st Edition");
    snprintf(lot.currency, sizeof(lot.currency), "JPY");
    lot.current_bid = 1250000;
    snprintf(lot.leader, sizeof(lot.leader),
             "\xe3\x81\x95\xe3\x81\x8f\xe3\x82\x89 "
             "\xf0\x9f\x8c\xb8");
    snprintf(lot.labels[0], sizeof(lot.labels[0]),
             "\xe9\x80\x81\xe6\x96\x99\xe7\x84\xa1\xe6\x96"
             "\x99");
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    gv_card_render(c, T_END - 8000, NULL);
    gv_card_part_info_t pi;
    gv_card_part_info(c, GV_CARD_TITLE, &pi);
    GV_CHECK_INT(pi.unknown_glyphs, 0);
    gv_card_part_info(c, GV_CARD_LEADER, &pi);
    GV_CHECK_INT(pi.unknown_glyphs, 0);
    int coloured, red;
    count_colours(c, pi.box, &coloured, &red);
    GV_CHECK(coloured > 20); /* the cherry blossom */
    gv_card_part_info(c, GV_CARD_AMOUNT, &pi);
    GV_CHECK_STR(pi.text, "\xc2\xa5"
                          "1,250,000");
    GV_CHECK_INT(gv_card_write_png(c, "/tmp/gavel_card_intl.png"), 0);
    gv_card_destroy(c);
}

static void test_countdown(void)
{
    char s[32];
    gv_card_format_countdown(42000, s, sizeof(s));
    GV_CHECK_STR(s, "0:42");
    gv_card_format_countdown(41001, s, sizeof(s));
    GV_CHECK_STR(s, "0:42");
    gv_card_format_countdown(1, s, sizeof(s));
    GV_CHECK_STR(s, "0:01");
    gv_card_format_countdown(0, s, sizeof(s));
    GV_CHECK_STR(s, "ENDED");
    gv_card_format_countdown(-5000, s, sizeof(s));
    GV_CHECK_STR(s, "ENDED");
    gv_card_format_countdown(754000, s, sizeof(s));
    GV_CHECK_STR(s, "12:34");
    gv_card_format_countdown(3723000, s, sizeof(s));
    GV_CHECK_STR(s, "1:02:03");

    gv_card_t *c = new_card(1280, 720);
    gv_lot_t lot = make_lot("Timer");
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    gv_card_part_info_t pi;
    int coloured, red;
    /* 42 s left: white digits, no red. */
    gv_card_render(c, T_END - 42000, NULL);
    gv_card_part_info(c, GV_CARD_TIMER, &pi);
    GV_CHECK_STR(pi.text, "0:42");
    count_colours(c, pi.box, &coloured, &red);
    GV_CHECK_INT(red, 0);
    /* 5 s left: urgent red. */
    gv_card_render(c, T_END - 4500, NULL);
    gv_card_part_info(c, GV_CARD_TIMER, &pi);
    GV_CHECK_STR(pi.text, "0:05");
    count_colours(c, pi.box, &coloured, &red);
    GV_CHECK(red > 100);
    GV_CHECK_INT(gv_card_write_png(c, "/tmp/gavel_card_urgent.png"), 0);
    /* 10 s is urgent, 11 s is not. */
    gv_card_render(c, T_END - 10000, NULL);
    gv_card_part_info(c, GV_CARD_TIMER, &pi);
    count_colours(c, pi.box, &coloured, &red);
    GV_CHECK(red > 100);
    gv_card_render(c, T_END - 11000, NULL);
    gv_card_part_info(c, GV_CARD_TIMER, &pi);
    count_colours(c, pi.box, &coloured, &red);
    GV_CHECK_INT(red, 0);
    /* At the end: ENDED, not red. */
    gv_card_render(c, T_END, NULL);
    gv_card_part_info(c, GV_CARD_TIMER, &pi);
    GV_CHECK_STR(pi.text, "ENDED");
    count_colours(c, pi.box, &coloured, &red);
    GV_CHECK_INT(red, 0);
    gv_card_destroy(c);
}

static void test_state_badges(void)
{
    static const struct {
        gv_lot_state_t st;
        const char *text;
        int channel; /* dominant colour: 0 red, 1 green, 2 blue, -1 grey */
    } cases[] = {{GV_LOT_LIVE, "LIVE", 0},
                 {GV_LOT_SOLD, "SOLD", 1},
                 {GV_LOT_UNSOLD, "UNSOLD", -1},
                 {GV_LOT_UPCOMING, "UPCOMING", 2}};
    gv_card_t *c = new_card(1280, 720);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gv_lot_t lot = make_lot("Badge");
        lot.state = cases[i].st;
        gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
        gv_rect_t d;
        GV_CHECK(gv_card_render(c, T_END - 60000, &d));
        gv_card_part_info_t pi;
        gv_card_part_info(c, GV_CARD_BADGE, &pi);
        GV_CHECK_STR(pi.text, cases[i].text);
        GV_CHECK_INT(pi.unknown_glyphs, 0);
        int R, G, B, A;
        pixel(c, pi.box.x + 3, pi.box.y + pi.box.h / 2, &R, &G, &B, &A);
        int ch[3] = {R, G, B}, dom = -1;
        for (int k = 0; k < 3; k++)
            if (ch[k] > ch[(k + 1) % 3] + 40 && ch[k] > ch[(k + 2) % 3] + 40)
                dom = k;
        if (dom != cases[i].channel || A != 255) {
            fprintf(stderr, "badge %s: rgba(%d,%d,%d,%d)\n", cases[i].text, R, G, B, A);
            gv_test_failures++;
        }
        if (cases[i].st == GV_LOT_SOLD) {
            gv_card_part_info(c, GV_CARD_TIMER, &pi);
            GV_CHECK_STR(pi.text, "ENDED");
            GV_CHECK_INT(gv_card_write_png(c, "/tmp/gavel_card_sold.png"), 0);
        }
    }
    gv_card_destroy(c);
}

static int area(gv_rect_t r)
{
    return r.w * r.h;
}

static void test_render_only_on_change(void)
{
    gv_card_t *c = new_card(1280, 720);
    gv_lot_t lot = make_lot("Dirty rectangles");
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    gv_rect_t d;
    int64_t t = T_END - 42000;
    GV_CHECK(gv_card_render(c, t, &d));
    GV_CHECK_INT(area(d), 640 * 200);
    /* Same second, same lot: nothing to do. */
    GV_CHECK(!gv_card_render(c, t + 500, &d));
    GV_CHECK_INT(area(d), 0);
    /* Same lot set again: still nothing. */
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    GV_CHECK(!gv_card_render(c, t + 600, &d));
    /* Next second: only the timer block, a small part at the right. */
    int stride;
    const uint8_t *px = gv_card_pixels(c, &stride);
    uint8_t *before = malloc((size_t)stride * 200);
    memcpy(before, px, (size_t)stride * 200);
    GV_CHECK(gv_card_render(c, t + 1000, &d));
    GV_CHECK(area(d) > 0 && area(d) < 640 * 200 / 8);
    GV_CHECK(d.x > 400);
    int outside = 0;
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 640; x++) {
            bool in = x >= d.x && x < d.x + d.w && y >= d.y && y < d.y + d.h;
            if (!in && memcmp(before + (size_t)y * stride + x * 4, px + (size_t)y * stride + x * 4,
                              4) != 0)
                outside++;
        }
    GV_CHECK_INT(outside, 0);
    free(before);
    /* A bid: the bid block repaints (not the title), then the highlight animates and ends. */
    t += 1100;
    lot.current_bid += 500;
    lot.bid_count++;
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    GV_CHECK(gv_card_render(c, t, &d));
    GV_CHECK(d.y >= 70 && area(d) < 640 * 200 * 6 / 10); /* below the title */
    int frames = 0;
    for (int i = 1; i <= 30; i++) { /* 30 fps; stay inside the countdown's second */
        int64_t now = t + i * 33 > T_END - 40001 ? T_END - 40001 : t + i * 33;
        frames += gv_card_render(c, now, &d);
    }
    GV_CHECK(frames >= 8 && frames <= 14); /* ~12 highlight steps of 50 ms, then one clean */
    GV_CHECK(!gv_card_render(c, T_END - 40001, &d));
    /* A lower bid or same count (a correction) repaints without highlight. */
    lot.current_bid -= 100;
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    GV_CHECK(gv_card_render(c, T_END - 40001, &d));
    GV_CHECK(!gv_card_render(c, T_END - 40001, &d)); /* no highlight animation */
    /* A title change repaints everything. */
    snprintf(lot.title, sizeof(lot.title), "New title");
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    GV_CHECK(gv_card_render(c, T_END - 40001, &d));
    GV_CHECK_INT(area(d), 640 * 200);
    gv_card_destroy(c);
}

static void test_scaling(void)
{
    gv_card_t *c = new_card(1920, 1080);
    int w, h;
    gv_card_size(c, &w, &h);
    GV_CHECK_INT(w, 960);
    GV_CHECK_INT(h, 300);
    gv_card_destroy(c);
    c = new_card(854, 480);
    gv_card_size(c, &w, &h);
    GV_CHECK_INT(h, 134); /* 133.3 rounded up to even */
    GV_CHECK_INT(w % 2, 0);
    gv_card_destroy(c);
    /* Portrait: the whole card shrinks to fit between the margins, proportions kept. */
    c = new_card(720, 1280);
    gv_card_size(c, &w, &h);
    double sc = gv_card_scale(c);
    GV_CHECK(sc > 1.04 && sc < 1.05);
    GV_CHECK_INT(w, 670);
    GV_CHECK_INT(h, 210);
    GV_CHECK(w + 2 * (int)lround(24 * sc) <= 720);
    gv_lot_t lot = make_lot("Portrait stream with a fairly long title that must be ellipsized");
    gv_card_set_lot(c, &lot, NULL, 0, 0, 0);
    GV_CHECK(gv_card_render(c, T_END - 3000, NULL));
    gv_card_part_info_t pi;
    gv_card_part_info(c, GV_CARD_TITLE, &pi);
    GV_CHECK(pi.text_w <= pi.box.w);
    GV_CHECK(pi.box.x + pi.box.w <= w);
    gv_card_destroy(c);
    gv_card_params_t bad = {.card_w = 0, .card_h = 200, .frame_w = 1280, .frame_h = 720};
    GV_CHECK(gv_card_create(&bad) == NULL);
}

static void test_image_errors(void)
{
    uint8_t *img = (uint8_t *)1;
    int w, h, s;
    GV_CHECK_INT(gv_image_load("relative.png", 1 << 20, 1000, &img, &w, &h, &s), GV_EINVAL);
    GV_CHECK(img == NULL);
    GV_CHECK_INT(gv_image_load("ftp://example.com/a.png", 1 << 20, 1000, &img, &w, &h, &s),
                 GV_EINVAL);
    GV_CHECK_INT(gv_image_load("/nonexistent/gavel.png", 1 << 20, 1000, &img, &w, &h, &s),
                 GV_ENOENT);
    FILE *f = fopen("/tmp/gavel_test_notimage.png", "wb");
    fputs("this is not an image", f);
    fclose(f);
    GV_CHECK_INT(gv_image_load("/tmp/gavel_test_notimage.png", 1 << 20, 1000, &img, &w, &h, &s),
                 GV_EUNSUPP);
    GV_CHECK_INT(write_item_png("/tmp/gavel_test_item2.png"), 0);
    GV_CHECK_INT(gv_image_load("/tmp/gavel_test_item2.png", 100, 1000, &img, &w, &h, &s),
                 GV_ETOOBIG);
    /* Truncated PNG: a decode error, not a crash. */
    FILE *in = fopen("/tmp/gavel_test_item2.png", "rb");
    uint8_t buf[600];
    size_t n = fread(buf, 1, sizeof(buf), in);
    fclose(in);
    f = fopen("/tmp/gavel_test_trunc.png", "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    int rc = gv_image_load("/tmp/gavel_test_trunc.png", 1 << 20, 1000, &img, &w, &h, &s);
    GV_CHECK(rc == GV_ECODEC || rc == 0); /* png may yield a partial image */
    if (rc == 0)
        free(img);
    /* Big images are scaled down to GV_IMAGE_MAX_SIDE, aspect kept. */
    cairo_surface_t *big = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 2000, 1000);
    GV_CHECK_INT(cairo_surface_write_to_png(big, "/tmp/gavel_test_big.png"), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(big);
    GV_CHECK_INT(gv_image_load("/tmp/gavel_test_big.png", 1 << 22, 2000, &img, &w, &h, &s), 0);
    GV_CHECK_INT(w, GV_IMAGE_MAX_SIDE);
    GV_CHECK_INT(h, GV_IMAGE_MAX_SIDE / 2);
    GV_CHECK(s >= w * 4);
    free(img);
    /* JPEG and WebP, made by the ffmpeg CLI when it is there (Debian's has libwebp). */
    static const char *const fmts[] = {"jpg", "webp"};
    for (int i = 0; i < 2; i++) {
        char cmd[256], path[64];
        snprintf(path, sizeof(path), "/tmp/gavel_test_item.%s", fmts[i]);
        snprintf(cmd, sizeof(cmd),
                 "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=320x240 "
                 "-frames:v 1 %s >/dev/null 2>&1",
                 path);
        if (system(cmd) != 0) {
            fprintf(stderr, "ffmpeg unavailable: %s not checked\n", fmts[i]);
            continue;
        }
        rc = gv_image_load(path, 1 << 20, 2000, &img, &w, &h, &s);
        GV_CHECK_INT(rc, 0);
        if (rc == 0) {
            GV_CHECK_INT(w, 320);
            GV_CHECK_INT(h, 240);
            GV_CHECK_INT(img[3], 255);
            free(img);
        }
    }
    /* Premultiplication. */
    uint8_t px[8] = {200, 100, 50, 128, 10, 20, 30, 255};
    gv_image_premultiply(px, 2, 1, 8);
    GV_CHECK_INT(px[0], 100);
    GV_CHECK_INT(px[1], 50);
    GV_CHECK_INT(px[2], 25);
    GV_CHECK_INT(px[4], 10);
}

GV_TEST_MAIN(GV_TEST(test_sample_card), GV_TEST(test_long_title_ellipsized),
             GV_TEST(test_scripts_and_emoji), GV_TEST(test_countdown), GV_TEST(test_state_badges),
             GV_TEST(test_render_only_on_change), GV_TEST(test_scaling), GV_TEST(test_image_errors))
