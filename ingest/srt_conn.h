/* One SRT publisher connection (internal to the SRT server): the publisher it registers with
 * the stream, the bounded byte queue the SRT thread fills with received payloads, and the
 * demux thread that turns those bytes into media units (see mpegts.c for why demuxing has its
 * own thread). Everything except kick() and the demux thread's own work runs on the SRT thread. */
#ifndef GV_SRT_CONN_H
#define GV_SRT_CONN_H

#include <pthread.h>
#include <srt/srt.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/stream.h"
#include "ingest/mpegts.h"

typedef struct gv_srt_conn {
    gv_publisher_t pub;        /* first member: kick() gets it back as the connection */
    SRTSOCKET sock;
    gv_stream_t *stream;
    char peer[64];
    char user[65];
    bool attached;

    /* SRT-thread bookkeeping */
    int64_t accepted_mono_us;
    int64_t last_byte_mono_us; /* 0 until the first payload */
    int64_t next_stats_mono_us;
    int64_t next_log_mono_us;
    uint64_t payloads;
    struct gv_srt_conn *next;

    /* shared with other threads (atomics) */
    int kicked;                /* set by kick(): close on the SRT thread */
    int demux_done;            /* set when the demux thread has returned */
    int demux_rc;
    uint64_t units;            /* units accepted by the stream */

    /* byte queue: SRT thread produces, demux thread consumes */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint8_t *ring;
    size_t cap, head, len;
    bool closed;
    bool reader_waiting;
    /* Arrival time per queued payload, so each read reports when its bytes arrived. */
    struct {
        uint64_t end;   /* produced-byte count at the end of the payload */
        int64_t at_us;
    } marks[256];
    size_t mark_head, n_marks;
    uint64_t produced, consumed;
    uint64_t dropped_bytes;

    gv_mpegts_t *demux;
    pthread_t thread;
    bool thread_started;
    bool push_error_logged;
} gv_srt_conn_t;

/* Allocates a connection for an accepted socket (not attached yet). NULL on failure. */
gv_srt_conn_t *gv_srt_conn_create(SRTSOCKET sock, gv_stream_t *stream, const char *peer,
                                  size_t queue_bytes);
/* Attaches to the stream (duplicate policy applies: GV_EBUSY) and starts the demux thread. */
int gv_srt_conn_start(gv_srt_conn_t *c);
/* Queues one received payload. GV_ELIMIT when the queue is full (the payload is dropped). */
int gv_srt_conn_feed(gv_srt_conn_t *c, const uint8_t *p, size_t n, int64_t arrival_us);
/* Detaches (closing the open segment), stops and joins the demux thread, closes the socket and
 * frees the connection. */
void gv_srt_conn_destroy(gv_srt_conn_t *c);

#endif
