/* Unit tests for the composer: a hidden lot leaves frames bit-exact, a shown lot changes only
 * the card's rectangle, a new version shows the new card on the very next frame and apply
 * reports the version shown, positions and odd frame sizes stay inside the frame, and the
 * per-frame cost in steady state is small. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "overlay/compose.h"
#include "testlib.h"

#define T_END 1714588200000LL

typedef struct {
    int w, h, ls[3];
    uint8_t *buf[3], *planes[3];
    size_t size[3];
} frame_t;

static void frame_init(frame_t *f, int w, int h)
{
    f->w = w;
    f->h = h;
    for (int p = 0; p < 3; p++) {
        int pw = p ? (w + 1) / 2 : w, ph = p ? (h + 1) / 2 : h;
        f->ls[p] = pw + 32;
        f->size[p] = (size_t)f->ls[p] * (ph + 2);
        f->buf[p] = malloc(f->size[p]);
        for (size_t i = 0; i < f->size[p]; i++)
            f->buf[p][i] = (uint8_t)(p ? 100 + i % 50 : 30 + i % 190);
        f->planes[p] = f->buf[p] + f->ls[p] + 16;
    }
}

static void frame_save(const frame_t *f, uint8_t *copy[3])
{
    for (int p = 0; p < 3; p++) {
        copy[p] = malloc(f->size[p]);
        memcpy(copy[p], f->buf[p], f->size[p]);
    }
}

static bool frame_same(const frame_t *f, uint8_t *copy[3])
{
    for (int p = 0; p < 3; p++)
        if (memcmp(f->buf[p], copy[p], f->size[p]) != 0)
            return false;
    return true;
}

static void frame_restore(frame_t *f, uint8_t *copy[3])
{
    for (int p = 0; p < 3; p++)
        memcpy(f->buf[p], copy[p], f->size[p]);
}

static void frame_free(frame_t *f, uint8_t *copy[3])
{
    for (int p = 0; p < 3; p++) {
        free(f->buf[p]);
        if (copy)
            free(copy[p]);
    }
}

static gv_overlay_config_t config(const char *position)
{
    gv_overlay_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.enabled = true;
    cfg.position = (char *)position;
    cfg.card_width = 640;
    cfg.card_height = 200;
    cfg.margin = 24;
    cfg.accent_color = "#FFC400";
    return cfg;
}

static gv_lot_t make_lot(const char *title)
{
    gv_lot_t l;
    memset(&l, 0, sizeof(l));
    snprintf(l.id, sizeof(l.id), "lot-1");
    snprintf(l.title, sizeof(l.title), "%s", title);
    snprintf(l.currency, sizeof(l.currency), "USD");
    snprintf(l.leader, sizeof(l.leader), "ana");
    l.current_bid = 4200;
    l.bid_count = 3;
    l.ends_at_ms = T_END;
    l.state = GV_LOT_LIVE;
    return l;
}

/* Luma pixels that differ from the saved copy, and whether any lies outside the rectangle. */
static int changed_luma(const frame_t *f, uint8_t *copy[3], int rx, int ry, int rw, int rh,
                        int *outside)
{
    int n = 0;
    *outside = 0;
    const uint8_t *old = copy[0] + f->ls[0] + 16;
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < f->w; x++)
            if (f->planes[0][y * f->ls[0] + x] != old[y * f->ls[0] + x]) {
                n++;
                if (x < rx || x >= rx + rw || y < ry || y >= ry + rh)
                    (*outside)++;
            }
    return n;
}

static void test_hidden_and_versions(void)
{
    gv_overlay_config_t cfg = config("bottom-left");
    gv_composer_t *c = gv_composer_create(&cfg, 1280, 720, GV_CS_BT709);
    GV_CHECK(c != NULL);
    frame_t f;
    uint8_t *orig[3];
    frame_init(&f, 1280, 720);
    frame_save(&f, orig);

    /* No lot yet: untouched. */
    GV_CHECK_INT(gv_composer_apply(c, T_END - 30000, f.planes, f.ls), 0);
    GV_CHECK(frame_same(&f, orig));

    /* Version 1 shows on the first frame composed after it, inside the card's rectangle. */
    gv_lot_t lot = make_lot("First title");
    gv_composer_set_lot(c, &lot, 1, NULL, 0, 0, 0);
    GV_CHECK_INT(gv_composer_apply(c, T_END - 30000, f.planes, f.ls), 1);
    int outside, n = changed_luma(&f, orig, 24, 720 - 24 - 200, 640, 200, &outside);
    GV_CHECK(n > 640 * 200 / 2);
    GV_CHECK_INT(outside, 0);
    uint8_t *v1[3];
    frame_save(&f, v1);

    /* Same version again on a fresh frame: identical output. */
    frame_restore(&f, orig);
    gv_composer_set_lot(c, &lot, 1, NULL, 0, 0, 0);
    GV_CHECK_INT(gv_composer_apply(c, T_END - 29500, f.planes, f.ls), 1);
    GV_CHECK(frame_same(&f, v1));

    /* Version 2 with a new title: the next frame shows it. */
    lot = make_lot("Second, different title");
    gv_composer_set_lot(c, &lot, 2, NULL, 0, 0, 0);
    frame_restore(&f, orig);
    GV_CHECK_INT(gv_composer_apply(c, T_END - 29400, f.planes, f.ls), 2);
    GV_CHECK(!frame_same(&f, v1));
    GV_CHECK(!frame_same(&f, orig));

    /* Hidden: untouched again, bit-exact. */
    gv_composer_set_lot(c, NULL, 3, NULL, 0, 0, 0);
    frame_restore(&f, orig);
    GV_CHECK_INT(gv_composer_apply(c, T_END - 29000, f.planes, f.ls), 0);
    GV_CHECK(frame_same(&f, orig));

    /* Shown again. */
    gv_composer_set_lot(c, &lot, 4, NULL, 0, 0, 0);
    GV_CHECK_INT(gv_composer_apply(c, T_END - 29000, f.planes, f.ls), 4);
    GV_CHECK(!frame_same(&f, orig));

    frame_free(&f, orig);
    for (int p = 0; p < 3; p++)
        free(v1[p]);
    gv_composer_destroy(c);
}

static void test_positions_and_odd_sizes(void)
{
    static const struct {
        const char *pos;
        int fw, fh;
    } cases[] = {{"top-right", 1280, 720},  {"top-left", 1920, 1080}, {"bottom-right", 641, 361},
                 {"bottom-left", 321, 181}, {"top-right", 720, 1280}, {"bottom-left", 1281, 719}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gv_overlay_config_t cfg = config(cases[i].pos);
        gv_composer_t *c = gv_composer_create(&cfg, cases[i].fw, cases[i].fh, GV_CS_BT601);
        GV_CHECK(c != NULL);
        if (!c)
            continue;
        frame_t f;
        uint8_t *orig[3];
        frame_init(&f, cases[i].fw, cases[i].fh);
        frame_save(&f, orig);
        gv_lot_t lot = make_lot("Position test");
        gv_composer_set_lot(c, &lot, 7, NULL, 0, 0, 0);
        GV_CHECK_INT(gv_composer_apply(c, T_END - 5000, f.planes, f.ls), 7);
        /* Guard bytes around every row are intact; the card landed in the expected corner. */
        int bad_guard = 0;
        for (int p = 0; p < 3; p++) {
            int pw = p ? (f.w + 1) / 2 : f.w, ph = p ? (f.h + 1) / 2 : f.h;
            for (int y = -1; y <= ph; y++)
                for (int x = -16; x < f.ls[p] - 16; x++) {
                    if (y >= 0 && y < ph && x >= 0 && x < pw)
                        continue;
                    size_t k = (size_t)(y + 1) * f.ls[p] + x + 16;
                    bad_guard += f.buf[p][k] != orig[p][k];
                }
        }
        GV_CHECK_INT(bad_guard, 0);
        /* Where the card must be: scaled by height, or to fit the width with margins. */
        double sc = f.h / 720.0;
        if (688 * sc > f.w)
            sc = f.w / 688.0;
        int cw = ((int)lround(640 * sc) + 1) & ~1, ch = ((int)lround(200 * sc) + 1) & ~1;
        int m = (int)lround(24 * sc);
        bool right = strstr(cases[i].pos, "right") != NULL;
        bool top = strncmp(cases[i].pos, "top", 3) == 0;
        int x = (right ? f.w - m - cw : m) & ~1, y = (top ? m : f.h - m - ch) & ~1;
        int outside;
        int n = changed_luma(&f, orig, x, y, cw, ch, &outside);
        GV_CHECK(n > 0);
        GV_CHECK_INT(outside, 0);
        frame_free(&f, orig);
        gv_composer_destroy(c);
    }
    GV_CHECK(gv_composer_create(NULL, 0, 720, GV_CS_BT709) == NULL);
}

/* Thread CPU time: other work on the machine does not count against the check. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Steady state (no change) is a blend only: well under a millisecond even in debug builds
 * (the hot loops are always optimised); the bound leaves room for sanitizer builds. */
static void test_steady_state_cost(void)
{
    gv_overlay_config_t cfg = config("bottom-left");
    gv_composer_t *c = gv_composer_create(&cfg, 1280, 720, GV_CS_BT709);
    frame_t f;
    frame_init(&f, 1280, 720);
    gv_lot_t lot = make_lot("Timing");
    gv_composer_set_lot(c, &lot, 1, NULL, 0, 0, 0);
    gv_composer_apply(c, T_END - 30000, f.planes, f.ls);
    double t0 = now_s();
    int frames = 300;
    for (int i = 0; i < frames; i++)
        GV_CHECK_INT(gv_composer_apply(c, T_END - 30000 + i % 500, f.planes, f.ls), 1);
    double ms = (now_s() - t0) * 1000 / frames;
    fprintf(stderr, "steady-state compose: %.3f ms/frame\n", ms);
    GV_CHECK(ms < 2.0);
    frame_free(&f, NULL);
    gv_composer_destroy(c);
}

GV_TEST_MAIN(GV_TEST(test_hidden_and_versions), GV_TEST(test_positions_and_odd_sizes),
             GV_TEST(test_steady_state_cost))
