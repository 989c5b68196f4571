/* Overlay-internal: the bounded hand-over between a stream's decode thread and its
 * compose+encode thread. Items keep their order (decoded pictures, audio units and publish
 * begin/end markers travel together, so audio and control stay in step with the video).
 * Capacity is counted in pictures (1-2 keeps the pipeline full without adding latency) with
 * a separate cap on all items; a full queue blocks the producer, which pushes back on the
 * ingest queue, where drops happen by policy. Thread-safe; one producer and one consumer. */
#ifndef GV_FRAME_QUEUE_H
#define GV_FRAME_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct gv_frame_queue gv_frame_queue_t;

typedef struct {
    int kind;       /* the caller's tag */
    bool picture;   /* counts against the picture capacity */
    void *data;     /* owned by the queue while queued */
    int64_t pts;
    int64_t arrival_us;
    int64_t aux, aux2; /* caller-defined */
} gv_fq_item_t;

/* max_pictures >= 1; max_items >= max_pictures. NULL on bad arguments or no memory. */
gv_frame_queue_t *gv_frame_queue_create(int max_pictures, int max_items);
/* free_data (may be NULL) is called for every item still queued. */
void gv_frame_queue_destroy(gv_frame_queue_t *q, void (*free_data)(gv_fq_item_t *it));

/* Appends a copy of *it, waiting while the queue is full. GV_ECLOSED (item not taken) once
 * the queue is closed. */
int gv_frame_queue_push(gv_frame_queue_t *q, const gv_fq_item_t *it);
/* Takes the oldest item, waiting while the queue is empty. GV_ECLOSED when the queue is
 * closed and empty. */
int gv_frame_queue_pop(gv_frame_queue_t *q, gv_fq_item_t *out);
/* No more pushes; pop returns what is left, then GV_ECLOSED. Wakes every waiter. */
void gv_frame_queue_close(gv_frame_queue_t *q);
/* Pictures / items queued now. */
int gv_frame_queue_pictures(gv_frame_queue_t *q);
int gv_frame_queue_items(gv_frame_queue_t *q);

#endif
