/* Unit tests for the per-stream lot state holder: versions, hide, read-modify-write with
 * rejection, the "shown" record, and consistency under a concurrent writer and reader. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "overlay/lot_store.h"
#include "testlib.h"

static gv_lot_t make_lot(const char *id, int64_t bid)
{
    gv_lot_t l;
    memset(&l, 0, sizeof(l));
    snprintf(l.id, sizeof(l.id), "%s", id);
    snprintf(l.title, sizeof(l.title), "Lot %s", id);
    memcpy(l.currency, "USD", 4);
    l.current_bid = bid;
    l.state = GV_LOT_LIVE;
    return l;
}

static void test_initial(void)
{
    gv_lot_store_t *s = gv_lot_store_create();
    GV_CHECK(s != NULL);
    gv_lot_snapshot_t snap;
    gv_lot_store_snapshot(s, &snap);
    GV_CHECK(!snap.visible);
    GV_CHECK_INT(snap.version, 0);
    GV_CHECK_INT(snap.shown.version, 0);
    GV_CHECK_INT(gv_lot_store_version(s), 0);
    gv_lot_store_destroy(s);
    gv_lot_store_destroy(NULL);
}

static void test_set_hide(void)
{
    gv_lot_store_t *s = gv_lot_store_create();
    gv_lot_t l = make_lot("42", 1250);
    GV_CHECK_INT(gv_lot_store_set(s, &l), 1);
    gv_lot_snapshot_t snap;
    gv_lot_store_snapshot(s, &snap);
    GV_CHECK(snap.visible);
    GV_CHECK_STR(snap.lot.id, "42");
    GV_CHECK_INT(snap.lot.current_bid, 1250);
    GV_CHECK(snap.updated_us > 0);
    GV_CHECK_INT(gv_lot_store_set(s, NULL), 2);
    gv_lot_store_snapshot(s, &snap);
    GV_CHECK(!snap.visible);
    GV_CHECK_INT(snap.version, 2);
    GV_CHECK_INT(gv_lot_store_version(s), 2);
    gv_lot_store_destroy(s);
}

static int add_bid(gv_lot_t *lot, bool *visible, void *ud)
{
    if (!*visible)
        return GV_ENOENT;
    const char *want = ud;
    if (strcmp(lot->id, want) != 0)
        return GV_EINVAL;
    lot->current_bid += 100;
    lot->bid_count++;
    return 0;
}

static int scribble(gv_lot_t *lot, bool *visible, void *ud)
{
    lot->current_bid = 0;
    *visible = false;
    return GV_EINVAL;
}

static void test_update(void)
{
    gv_lot_store_t *s = gv_lot_store_create();
    uint64_t v = 99;
    GV_CHECK_INT(gv_lot_store_update(s, add_bid, "42", &v), GV_ENOENT);
    GV_CHECK_INT(v, 99);
    GV_CHECK_INT(gv_lot_store_version(s), 0);
    gv_lot_t l = make_lot("42", 1000);
    gv_lot_store_set(s, &l);
    GV_CHECK_INT(gv_lot_store_update(s, add_bid, "7", &v), GV_EINVAL);
    GV_CHECK_INT(gv_lot_store_version(s), 1);
    GV_CHECK_INT(gv_lot_store_update(s, add_bid, "42", &v), 0);
    GV_CHECK_INT(v, 2);
    gv_lot_snapshot_t snap;
    gv_lot_store_snapshot(s, &snap);
    GV_CHECK_INT(snap.lot.current_bid, 1100);
    GV_CHECK_INT(snap.lot.bid_count, 1);
    /* A rejected update leaves the lot as it was even if fn scribbled on its copy. */
    GV_CHECK_INT(gv_lot_store_update(s, scribble, NULL, &v), GV_EINVAL);
    gv_lot_store_snapshot(s, &snap);
    GV_CHECK_INT(snap.lot.current_bid, 1100);
    GV_CHECK(snap.visible);
    GV_CHECK_INT(snap.version, 2);
    gv_lot_store_destroy(s);
}

static void test_shown(void)
{
    gv_lot_store_t *s = gv_lot_store_create();
    gv_lot_t l = make_lot("1", 0);
    gv_lot_store_set(s, &l);
    gv_lot_store_set(s, &l);
    gv_lot_store_mark_shown(s, 2, 9000, 7, 1000, 900);
    gv_lot_snapshot_t snap;
    gv_lot_store_snapshot(s, &snap);
    GV_CHECK_INT(snap.shown.version, 2);
    GV_CHECK_INT(snap.shown.pts, 9000);
    GV_CHECK_INT(snap.shown.wall_us, 1000);
    GV_CHECK_INT(snap.shown.frame_arrival_us, 900);
    GV_CHECK_INT(snap.shown.frame, 7);
    /* Older or repeated versions never overwrite the first appearance. */
    gv_lot_store_mark_shown(s, 2, 12000, 8, 2000, 1900);
    gv_lot_store_mark_shown(s, 1, 3000, 5, 500, 400);
    gv_lot_store_snapshot(s, &snap);
    GV_CHECK_INT(snap.shown.pts, 9000);
    GV_CHECK_INT(snap.shown.pushed_us, 0);
    gv_lot_store_mark_pushed(s, 1, 1100); /* not the shown version: ignored */
    gv_lot_store_mark_pushed(s, 2, 1200);
    gv_lot_store_mark_pushed(s, 2, 1300); /* the first push counts */
    gv_lot_store_snapshot(s, &snap);
    GV_CHECK_INT(snap.shown.pushed_us, 1200);
    gv_lot_store_destroy(s);
}

static void test_updated_after_frame(void)
{
    gv_lot_store_t *s = gv_lot_store_create();
    gv_lot_t l = make_lot("1", 0);
    gv_lot_store_set(s, &l);
    gv_lot_snapshot_t snap;
    gv_lot_store_snapshot(s, &snap);
    GV_CHECK_INT(snap.updated_after_frame, 0); /* before any frame */
    gv_lot_store_frame_begin(s, 41);
    gv_lot_store_frame_begin(s, 42);
    gv_lot_store_set(s, &l);
    gv_lot_store_snapshot(s, &snap);
    GV_CHECK_INT(snap.updated_after_frame, 42);
    gv_lot_store_destroy(s);
}

/* A worker composing frames as fast as it can and an API thread updating at random moments:
 * every update must be first shown on the frame that was starting when it was accepted or on
 * the one after, never later. */
typedef struct {
    gv_lot_store_t *s;
    volatile int stop;
} frame_loop_t;

static void *frame_loop(void *arg)
{
    frame_loop_t *f = arg;
    uint64_t frame = 0, applied = 0;
    while (!f->stop) {
        gv_lot_store_frame_begin(f->s, ++frame);
        uint64_t v = gv_lot_store_version(f->s);
        if (v != applied) {
            applied = v;
            gv_lot_store_mark_shown(f->s, v, (int64_t)frame, frame, 0, 0);
        }
    }
    return NULL;
}

static void test_next_frame_race(void)
{
    frame_loop_t f = {.s = gv_lot_store_create()};
    pthread_t th;
    GV_CHECK(pthread_create(&th, NULL, frame_loop, &f) == 0);
    gv_lot_t l = make_lot("1", 0);
    int bad = 0, checked = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t v = gv_lot_store_set(f.s, &l);
        gv_lot_snapshot_t snap;
        for (;;) {
            gv_lot_store_snapshot(f.s, &snap);
            if (snap.shown.version >= v)
                break;
            sched_yield();
        }
        if (snap.shown.version != v || snap.version != v)
            continue;
        checked++;
        uint64_t after = snap.shown.frame - snap.updated_after_frame;
        if (snap.shown.frame < snap.updated_after_frame || after > 1)
            bad++;
    }
    f.stop = 1;
    pthread_join(th, NULL);
    GV_CHECK(checked > 1000);
    GV_CHECK_INT(bad, 0);
    gv_lot_store_destroy(f.s);
}

typedef struct {
    gv_lot_store_t *s;
    int n;
} writer_arg_t;

static void *writer(void *arg)
{
    writer_arg_t *w = arg;
    for (int i = 0; i < w->n; i++) {
        gv_lot_t l = make_lot("9", i);
        /* title and bid change together: a reader must never see them mixed */
        snprintf(l.title, sizeof(l.title), "%d", i);
        gv_lot_store_set(w->s, &l);
    }
    return NULL;
}

static void test_concurrent(void)
{
    gv_lot_store_t *s = gv_lot_store_create();
    writer_arg_t w = {s, 20000};
    pthread_t th;
    GV_CHECK(pthread_create(&th, NULL, writer, &w) == 0);
    uint64_t last = 0;
    int torn = 0, backwards = 0;
    for (int i = 0; i < 20000; i++) {
        gv_lot_snapshot_t snap;
        gv_lot_store_snapshot(s, &snap);
        if (snap.version < last)
            backwards++;
        last = snap.version;
        if (snap.visible) {
            char want[32];
            snprintf(want, sizeof(want), "%lld", (long long)snap.lot.current_bid);
            if (strcmp(want, snap.lot.title) != 0)
                torn++;
        }
    }
    pthread_join(th, NULL);
    GV_CHECK_INT(torn, 0);
    GV_CHECK_INT(backwards, 0);
    GV_CHECK_INT(gv_lot_store_version(s), 20000);
    gv_lot_store_destroy(s);
}

GV_TEST_MAIN(GV_TEST(test_initial), GV_TEST(test_set_hide), GV_TEST(test_update),
             GV_TEST(test_shown), GV_TEST(test_updated_after_frame),
             GV_TEST(test_next_frame_race), GV_TEST(test_concurrent))
