/* Per-stream lot state holder (see lot_store.h): one mutex around a small struct; the version
 * is also mirrored in an atomic so the worker's per-frame check takes no lock. */
#include "overlay/lot_store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/media.h"

struct gv_lot_store {
    pthread_mutex_t mu;
    gv_lot_t lot;
    bool visible;
    uint64_t version;
    uint64_t version_atomic;
    int64_t updated_us;
    uint64_t updated_after_frame;
    uint64_t frame_atomic; /* written by the worker per frame, read under mu by updates */
    gv_lot_shown_t shown;
};

gv_lot_store_t *gv_lot_store_create(void)
{
    gv_lot_store_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void gv_lot_store_destroy(gv_lot_store_t *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static uint64_t bump_locked(gv_lot_store_t *s)
{
    s->version++;
    s->updated_us = gv_now_us();
    /* Publish the version, then read the frame number; the worker does the reverse (frame
     * number, then version). Sequentially consistent, so whichever frame this reads, the
     * worker sees the new version no later than on the frame after it. */
    __atomic_store_n(&s->version_atomic, s->version, __ATOMIC_SEQ_CST);
    s->updated_after_frame = __atomic_load_n(&s->frame_atomic, __ATOMIC_SEQ_CST);
    return s->version;
}

uint64_t gv_lot_store_set(gv_lot_store_t *s, const gv_lot_t *lot)
{
    pthread_mutex_lock(&s->mu);
    if (lot) {
        s->lot = *lot;
        s->visible = true;
    } else {
        s->visible = false;
    }
    uint64_t v = bump_locked(s);
    pthread_mutex_unlock(&s->mu);
    return v;
}

int gv_lot_store_update(gv_lot_store_t *s, gv_lot_update_fn fn, void *ud, uint64_t *version)
{
    pthread_mutex_lock(&s->mu);
    gv_lot_t tmp = s->lot;
    bool visible = s->visible;
    int rc = fn(&tmp, &visible, ud);
    if (rc == 0) {
        s->lot = tmp;
        s->visible = visible;
        uint64_t v = bump_locked(s);
        if (version)
            *version = v;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

uint64_t gv_lot_store_version(gv_lot_store_t *s)
{
    return __atomic_load_n(&s->version_atomic, __ATOMIC_SEQ_CST);
}

void gv_lot_store_frame_begin(gv_lot_store_t *s, uint64_t frame)
{
    __atomic_store_n(&s->frame_atomic, frame, __ATOMIC_SEQ_CST);
}

void gv_lot_store_snapshot(gv_lot_store_t *s, gv_lot_snapshot_t *out)
{
    pthread_mutex_lock(&s->mu);
    out->lot = s->lot;
    out->visible = s->visible;
    out->version = s->version;
    out->updated_us = s->updated_us;
    out->updated_after_frame = s->updated_after_frame;
    out->shown = s->shown;
    pthread_mutex_unlock(&s->mu);
}

void gv_lot_store_mark_shown(gv_lot_store_t *s, uint64_t version, int64_t pts, uint64_t frame,
                             int64_t wall_us, int64_t frame_arrival_us)
{
    pthread_mutex_lock(&s->mu);
    if (version > s->shown.version) {
        s->shown.version = version;
        s->shown.pts = pts;
        s->shown.frame = frame;
        s->shown.wall_us = wall_us;
        s->shown.frame_arrival_us = frame_arrival_us;
        s->shown.pushed_us = 0;
    }
    pthread_mutex_unlock(&s->mu);
}

void gv_lot_store_mark_pushed(gv_lot_store_t *s, uint64_t version, int64_t pushed_us)
{
    pthread_mutex_lock(&s->mu);
    if (version == s->shown.version && s->shown.pushed_us == 0)
        s->shown.pushed_us = pushed_us;
    pthread_mutex_unlock(&s->mu);
}
