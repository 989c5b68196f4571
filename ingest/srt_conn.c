/* An SRT publisher connection: publisher registration, the byte queue between the SRT thread
 * and the demux thread, and the demux thread itself. The queue is a fixed ring; a payload that
 * does not fit is dropped whole (payloads are whole TS packets, so the demuxer sees a
 * continuity gap, not a torn packet) and counted. */
#include "ingest/srt_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"

static void conn_kick(gv_publisher_t *p, const char *reason)
{
    gv_srt_conn_t *c = (gv_srt_conn_t *)p;
    /* Called on whichever thread attaches the newcomer, with the stream locked: only flag. */
    __atomic_store_n(&c->kicked, 1, __ATOMIC_RELEASE);
    (void)reason;
}

gv_srt_conn_t *gv_srt_conn_create(SRTSOCKET sock, gv_stream_t *stream, const char *peer,
                                  size_t queue_bytes)
{
    gv_srt_conn_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->ring = malloc(queue_bytes);
    if (!c->ring) {
        free(c);
        return NULL;
    }
    c->cap = queue_bytes;
    c->sock = sock;
    c->stream = stream;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->pub.kick = conn_kick;
    c->pub.proto = "srt";
    c->pub.peer = c->peer;
    c->accepted_mono_us = gv_mono_us();
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    return c;
}

/* ---- demux thread side ---- */

static int queue_read(void *opaque, uint8_t *buf, int size, int64_t *arrival_us)
{
    gv_srt_conn_t *c = opaque;
    pthread_mutex_lock(&c->lock);
    while (c->len == 0 && !c->closed) {
        c->reader_waiting = true;
        pthread_cond_wait(&c->cond, &c->lock);
        c->reader_waiting = false;
    }
    size_t n = c->len < (size_t)size ? c->len : (size_t)size;
    /* Stop at the end of the oldest payload so its arrival time is the one reported. */
    while (c->n_marks && c->marks[c->mark_head].end <= c->consumed) {
        c->mark_head = (c->mark_head + 1) % 256;
        c->n_marks--;
    }
    if (c->n_marks) {
        uint64_t to_mark = c->marks[c->mark_head].end - c->consumed;
        if (to_mark < n)
            n = (size_t)to_mark;
        *arrival_us = c->marks[c->mark_head].at_us;
    }
    size_t first = c->cap - c->head < n ? c->cap - c->head : n;
    memcpy(buf, c->ring + c->head, first);
    memcpy(buf + first, c->ring, n - first);
    c->head = (c->head + n) % c->cap;
    c->len -= n;
    c->consumed += n;
    pthread_mutex_unlock(&c->lock);
    return (int)n; /* 0 only when closed and drained */
}

static int push_unit(void *opaque, gv_unit_t *u)
{
    gv_srt_conn_t *c = opaque;
    int rc = gv_stream_push(c->stream, &c->pub, u);
    if (rc == GV_ECLOSED) {
        __atomic_store_n(&c->kicked, 1, __ATOMIC_RELEASE);
        return rc;
    }
    if (rc < 0) {
        gv_log(c->push_error_logged ? GV_LOG_DEBUG : GV_LOG_WARN, gv_stream_name(c->stream),
               "media unit rejected: %s", gv_strerror(rc));
        c->push_error_logged = true;
        return 0;
    }
    __atomic_add_fetch(&c->units, 1, __ATOMIC_RELAXED);
    return 0;
}

static void *demux_main(void *arg)
{
    gv_srt_conn_t *c = arg;
    int rc = gv_mpegts_run(c->demux);
    __atomic_store_n(&c->demux_rc, rc, __ATOMIC_RELAXED);
    __atomic_store_n(&c->demux_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* ---- SRT thread side ---- */

int gv_srt_conn_start(gv_srt_conn_t *c)
{
    c->demux = gv_mpegts_create(c->peer, queue_read, push_unit, c);
    if (!c->demux)
        return GV_ENOMEM;
    /* The PES in flight when the publisher vanishes is cut short: never push it. */
    gv_mpegts_set_drop_tail(c->demux, 1);
    int err = gv_stream_attach(c->stream, &c->pub);
    if (err < 0)
        return err;
    c->attached = true;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    err = pthread_create(&c->thread, &attr, demux_main, c);
    pthread_attr_destroy(&attr);
    if (err != 0)
        return GV_ENOMEM;
    c->thread_started = true;
    return 0;
}

int gv_srt_conn_feed(gv_srt_conn_t *c, const uint8_t *p, size_t n, int64_t arrival_us)
{
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    if (n > c->cap - c->len) {
        c->dropped_bytes += n;
        rc = GV_ELIMIT;
    } else {
        size_t tail = (c->head + c->len) % c->cap;
        size_t first = c->cap - tail < n ? c->cap - tail : n;
        memcpy(c->ring + tail, p, first);
        memcpy(c->ring, p + first, n - first);
        c->len += n;
        c->produced += n;
        if (c->n_marks < 256) {
            size_t i = (c->mark_head + c->n_marks++) % 256;
            c->marks[i].end = c->produced;
            c->marks[i].at_us = arrival_us;
        } else { /* many payloads queued: the newest mark absorbs this one */
            size_t i = (c->mark_head + 255) % 256;
            c->marks[i].end = c->produced;
            c->marks[i].at_us = arrival_us;
        }
        if (c->reader_waiting)
            pthread_cond_signal(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void gv_srt_conn_destroy(gv_srt_conn_t *c)
{
    if (!c)
        return;
    /* Detach first: pushes in flight then fail with GV_ECLOSED and the demux loop ends. */
    if (c->attached)
        gv_stream_detach(c->stream, &c->pub);
    pthread_mutex_lock(&c->lock);
    c->closed = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    if (c->sock != SRT_INVALID_SOCK)
        srt_close(c->sock);
    gv_mpegts_destroy(c->demux);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c->ring);
    free(c);
}
