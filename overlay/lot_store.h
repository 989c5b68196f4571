/* Overlay-internal: the per-stream lot state shared by the control API (HTTP thread, writes) and
 * the transcode worker (reads a snapshot before composing each frame). Every accepted update
 * bumps a version counter; the worker reports back which frame first showed a version so the
 * API can answer "shown at". All calls are thread-safe. */
#ifndef GV_LOT_STORE_H
#define GV_LOT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "overlay/lot.h"

typedef struct gv_lot_store gv_lot_store_t;

/* Where an update first appeared in the video. */
typedef struct {
    uint64_t version;        /* 0: nothing shown yet */
    int64_t pts;             /* GV_TIME_BASE ticks of the frame that first showed it */
    int64_t wall_us;         /* wall clock when that frame was composed */
    int64_t frame_arrival_us;/* wall clock when that frame's source unit arrived at ingest */
    int64_t pushed_us;       /* wall clock when its encoded unit reached the packager (0: not yet) */
    uint64_t frame;          /* that frame's number in the worker's count of composed frames */
} gv_lot_shown_t;

/* A consistent copy of the whole state. */
typedef struct {
    gv_lot_t lot;            /* meaningful only when visible */
    bool visible;            /* false: no lot yet, or hidden by DELETE */
    uint64_t version;        /* 0 until the first update */
    int64_t updated_us;      /* wall clock when the current version was accepted */
    uint64_t updated_after_frame; /* the last frame that had begun composing by then (0: none) */
    gv_lot_shown_t shown;    /* the most recent version shown (may be older than version) */
} gv_lot_snapshot_t;

gv_lot_store_t *gv_lot_store_create(void);
void gv_lot_store_destroy(gv_lot_store_t *s);

/* Replaces the lot (NULL hides the card). Returns the new version. */
uint64_t gv_lot_store_set(gv_lot_store_t *s, const gv_lot_t *lot);

/* Read-modify-write under the store's lock: fn gets the current lot and whether it is visible
 * and returns 0 to commit (the version is bumped, *version set) or a negative code to leave
 * the state untouched (returned as is). fn must be quick and must not call back into s. */
typedef int (*gv_lot_update_fn)(gv_lot_t *lot, bool *visible, void *ud);
int gv_lot_store_update(gv_lot_store_t *s, gv_lot_update_fn fn, void *ud, uint64_t *version);

/* Current version: a lock-free read for the per-frame "did anything change" check. */
uint64_t gv_lot_store_version(gv_lot_store_t *s);

void gv_lot_store_snapshot(gv_lot_store_t *s, gv_lot_snapshot_t *out);

/* The worker is about to read the state for its composed frame number `frame` (1, 2, ...).
 * An update accepted afterwards records this number, so "shown on frame updated_after_frame
 * + 1" means the update reached the very next frame (0 or 1 frames after: never a frame late). */
void gv_lot_store_frame_begin(gv_lot_store_t *s, uint64_t frame);

/* Records that version first appeared on the frame with this pts and number. Ignored unless
 * version is newer than the last recorded one. */
void gv_lot_store_mark_shown(gv_lot_store_t *s, uint64_t version, int64_t pts, uint64_t frame,
                             int64_t wall_us, int64_t frame_arrival_us);
/* Records when the encoded frame that first showed version was handed to the packager. */
void gv_lot_store_mark_pushed(gv_lot_store_t *s, uint64_t version, int64_t pushed_us);

#endif
