/* Unit tests for the overlay's decode -> encode frame queue: order across pictures and other
 * items, the picture and item capacities (a full queue blocks the producer until the consumer
 * takes one), close semantics, destroy freeing what is left, and a producer/consumer run. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/error.h"
#include "overlay/frame_queue.h"
#include "testlib.h"

static gv_fq_item_t item(int kind, bool picture, int64_t pts)
{
    gv_fq_item_t it = {.kind = kind, .picture = picture, .pts = pts};
    return it;
}

static void test_bad_args(void)
{
    GV_CHECK(gv_frame_queue_create(0, 4) == NULL);
    GV_CHECK(gv_frame_queue_create(3, 2) == NULL);
    gv_frame_queue_destroy(NULL, NULL);
}

static void test_order(void)
{
    gv_frame_queue_t *q = gv_frame_queue_create(2, 8);
    GV_CHECK(q != NULL);
    gv_fq_item_t a = item(1, false, 10), p = item(0, true, 20), b = item(2, false, 30);
    GV_CHECK_INT(gv_frame_queue_push(q, &a), 0);
    GV_CHECK_INT(gv_frame_queue_push(q, &p), 0);
    GV_CHECK_INT(gv_frame_queue_push(q, &b), 0);
    GV_CHECK_INT(gv_frame_queue_items(q), 3);
    GV_CHECK_INT(gv_frame_queue_pictures(q), 1);
    gv_fq_item_t out;
    GV_CHECK_INT(gv_frame_queue_pop(q, &out), 0);
    GV_CHECK_INT(out.pts, 10);
    GV_CHECK_INT(gv_frame_queue_pop(q, &out), 0);
    GV_CHECK_INT(out.pts, 20);
    GV_CHECK(out.picture);
    GV_CHECK_INT(gv_frame_queue_pictures(q), 0);
    GV_CHECK_INT(gv_frame_queue_pop(q, &out), 0);
    GV_CHECK_INT(out.pts, 30);
    GV_CHECK_INT(gv_frame_queue_items(q), 0);
    gv_frame_queue_destroy(q, NULL);
}

typedef struct {
    gv_frame_queue_t *q;
    gv_fq_item_t it;
    volatile int done;
    int rc;
} pusher_t;

static void *pusher(void *arg)
{
    pusher_t *p = arg;
    p->rc = gv_frame_queue_push(p->q, &p->it);
    p->done = 1;
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Two pictures fill a queue of 2; non-picture items still fit; a third picture waits. */
static void test_picture_capacity(void)
{
    gv_frame_queue_t *q = gv_frame_queue_create(2, 8);
    gv_fq_item_t p1 = item(0, true, 1), p2 = item(0, true, 2), a = item(1, false, 3);
    GV_CHECK_INT(gv_frame_queue_push(q, &p1), 0);
    GV_CHECK_INT(gv_frame_queue_push(q, &p2), 0);
    GV_CHECK_INT(gv_frame_queue_push(q, &a), 0);
    pusher_t ps = {.q = q, .it = item(0, true, 4)};
    pthread_t th;
    GV_CHECK(pthread_create(&th, NULL, pusher, &ps) == 0);
    sleep_ms(50);
    GV_CHECK_INT(ps.done, 0); /* blocked: two pictures queued */
    gv_fq_item_t out;
    GV_CHECK_INT(gv_frame_queue_pop(q, &out), 0);
    GV_CHECK_INT(out.pts, 1);
    pthread_join(th, NULL);
    GV_CHECK_INT(ps.rc, 0);
    int64_t want[] = {2, 3, 4};
    for (int i = 0; i < 3; i++) {
        GV_CHECK_INT(gv_frame_queue_pop(q, &out), 0);
        GV_CHECK_INT(out.pts, want[i]);
    }
    gv_frame_queue_destroy(q, NULL);
}

/* The item cap bounds non-picture items too. */
static void test_item_capacity(void)
{
    gv_frame_queue_t *q = gv_frame_queue_create(1, 2);
    gv_fq_item_t a = item(1, false, 1), b = item(1, false, 2);
    GV_CHECK_INT(gv_frame_queue_push(q, &a), 0);
    GV_CHECK_INT(gv_frame_queue_push(q, &b), 0);
    pusher_t ps = {.q = q, .it = item(1, false, 3)};
    pthread_t th;
    GV_CHECK(pthread_create(&th, NULL, pusher, &ps) == 0);
    sleep_ms(50);
    GV_CHECK_INT(ps.done, 0);
    /* Closing releases the blocked producer without taking its item. */
    gv_frame_queue_close(q);
    pthread_join(th, NULL);
    GV_CHECK_INT(ps.rc, GV_ECLOSED);
    gv_fq_item_t out;
    GV_CHECK_INT(gv_frame_queue_pop(q, &out), 0);
    GV_CHECK_INT(out.pts, 1);
    GV_CHECK_INT(gv_frame_queue_pop(q, &out), 0);
    GV_CHECK_INT(out.pts, 2);
    GV_CHECK_INT(gv_frame_queue_pop(q, &out), GV_ECLOSED);
    GV_CHECK_INT(gv_frame_queue_push(q, &a), GV_ECLOSED);
    gv_frame_queue_destroy(q, NULL);
}

typedef struct {
    gv_frame_queue_t *q;
    int rc;
} popper_t;

static void *popper(void *arg)
{
    popper_t *p = arg;
    gv_fq_item_t out;
    p->rc = gv_frame_queue_pop(p->q, &out);
    return NULL;
}

static void test_close_wakes_consumer(void)
{
    gv_frame_queue_t *q = gv_frame_queue_create(2, 4);
    popper_t pp = {.q = q, .rc = 1};
    pthread_t th;
    GV_CHECK(pthread_create(&th, NULL, popper, &pp) == 0);
    sleep_ms(20);
    gv_frame_queue_close(q);
    pthread_join(th, NULL);
    GV_CHECK_INT(pp.rc, GV_ECLOSED);
    gv_frame_queue_destroy(q, NULL);
}

static int freed;
static void count_free(gv_fq_item_t *it)
{
    free(it->data);
    freed++;
}

static void test_destroy_frees(void)
{
    gv_frame_queue_t *q = gv_frame_queue_create(2, 4);
    for (int i = 0; i < 3; i++) {
        gv_fq_item_t it = item(0, i == 1, i);
        it.data = malloc(16);
        GV_CHECK_INT(gv_frame_queue_push(q, &it), 0);
    }
    freed = 0;
    gv_frame_queue_destroy(q, count_free);
    GV_CHECK_INT(freed, 3);
}

#define N_STRESS 20000

static void *producer(void *arg)
{
    gv_frame_queue_t *q = arg;
    for (int i = 0; i < N_STRESS; i++) {
        gv_fq_item_t it = item(0, i % 3 != 0, i);
        if (gv_frame_queue_push(q, &it) != 0)
            break;
    }
    gv_frame_queue_close(q);
    return NULL;
}

/* Wrapping the ring many times with both sides running: nothing lost, nothing reordered,
 * never more than the picture capacity queued. */
static void test_producer_consumer(void)
{
    gv_frame_queue_t *q = gv_frame_queue_create(2, 5);
    pthread_t th;
    GV_CHECK(pthread_create(&th, NULL, producer, q) == 0);
    int64_t next = 0;
    int bad = 0, over = 0;
    gv_fq_item_t out;
    while (gv_frame_queue_pop(q, &out) == 0) {
        if (out.pts != next)
            bad++;
        next = out.pts + 1;
        if (gv_frame_queue_pictures(q) > 2 || gv_frame_queue_items(q) > 5)
            over++;
    }
    pthread_join(th, NULL);
    GV_CHECK_INT(next, N_STRESS);
    GV_CHECK_INT(bad, 0);
    GV_CHECK_INT(over, 0);
    gv_frame_queue_destroy(q, NULL);
}

GV_TEST_MAIN(GV_TEST(test_bad_args), GV_TEST(test_order), GV_TEST(test_picture_capacity),
             GV_TEST(test_item_capacity), GV_TEST(test_close_wakes_consumer),
             GV_TEST(test_destroy_frees), GV_TEST(test_producer_consumer))
