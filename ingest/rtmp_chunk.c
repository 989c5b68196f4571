/* Incremental RTMP chunk-stream reader (see rtmp_chunk.h).
 *
 * Parsing works on a contiguous view: either the caller's buffer, or, when a chunk header was
 * split across feed calls, a small pending buffer topped up from the caller's bytes. A header
 * is only applied once all of it (including a possible extended timestamp) is visible, so a
 * partial header is simply retried later. Payload bytes are copied straight into the
 * per-chunk-stream message buffer, which grows with what actually arrived (not with the
 * declared length) so a lying header cannot make us allocate. A returned message points into
 * that buffer, which is then kept for the stream's next message (steady media needs no
 * allocation per message) unless it is larger than RETAIN_MAX. */
#include "ingest/rtmp_chunk.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* A message buffer above this is freed after use rather than kept for the next message, which
 * bounds what idle chunk streams hold (max_chunk_streams * RETAIN_MAX). */
#define RETAIN_MAX (256u * 1024)

typedef struct {
    uint32_t csid;
    bool has_header;
    bool ext;      /* the last fmt 0-2 header carried an extended timestamp */
    bool inflight; /* a message is partly received */
    uint8_t type;
    uint32_t timestamp; /* of the current (or last) message */
    uint32_t ts_field;  /* last timestamp field: absolute after fmt 0, else a delta */
    uint32_t length;
    uint32_t stream_id;
    uint8_t *buf;
    size_t cap;
    size_t got;
} cstream_t;

struct gv_rtmp_chunk_reader {
    gv_rtmp_chunk_limits_t lim;
    uint32_t chunk_size;
    cstream_t *streams;
    size_t n_streams;
    size_t inflight;
    cstream_t *cur;      /* non-NULL while reading a chunk's payload */
    uint32_t chunk_left; /* payload bytes left in the current chunk */
    uint8_t pend[32];    /* a header split across feed calls (at most 18 + peek bytes) */
    size_t pend_len;
    cstream_t *last; /* holds the payload of the last returned message */
    int err;
};

gv_rtmp_chunk_reader_t *gv_rtmp_chunk_reader_create(const gv_rtmp_chunk_limits_t *lim)
{
    gv_rtmp_chunk_reader_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (lim)
        r->lim = *lim;
    if (!r->lim.max_message_bytes)
        r->lim.max_message_bytes = 4u << 20;
    if (!r->lim.max_chunk_size)
        r->lim.max_chunk_size = 65536;
    if (!r->lim.max_chunk_streams)
        r->lim.max_chunk_streams = 64;
    if (!r->lim.max_inflight)
        r->lim.max_inflight = 8;
    r->chunk_size = GV_RTMP_DEFAULT_CHUNK_SIZE;
    r->streams = calloc(r->lim.max_chunk_streams, sizeof(*r->streams));
    if (!r->streams) {
        free(r);
        return NULL;
    }
    return r;
}

void gv_rtmp_chunk_reader_destroy(gv_rtmp_chunk_reader_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_streams; i++)
        free(r->streams[i].buf);
    free(r->streams);
    free(r);
}

int gv_rtmp_chunk_reader_set_chunk_size(gv_rtmp_chunk_reader_t *r, uint32_t size)
{
    if (size == 0 || size > 0x7fffffffu)
        return GV_EPROTO;
    if (size > r->lim.max_chunk_size)
        return GV_ETOOBIG;
    r->chunk_size = size;
    return 0;
}

uint32_t gv_rtmp_chunk_reader_chunk_size(const gv_rtmp_chunk_reader_t *r)
{
    return r->chunk_size;
}

static cstream_t *find_stream(gv_rtmp_chunk_reader_t *r, uint32_t csid)
{
    for (size_t i = 0; i < r->n_streams; i++) {
        if (r->streams[i].csid == csid)
            return &r->streams[i];
    }
    return NULL;
}

static void drop_message(gv_rtmp_chunk_reader_t *r, cstream_t *cs)
{
    if (cs->inflight) {
        cs->inflight = false;
        r->inflight--;
    }
    cs->got = 0;
}

/* Applies the protocol-control messages that change how chunks are read. */
static int apply_control(gv_rtmp_chunk_reader_t *r, const gv_rtmp_msg_t *m)
{
    if (m->type != GV_RTMP_SET_CHUNK_SIZE && m->type != GV_RTMP_ABORT)
        return 0;
    if (m->size < 4)
        return GV_EPROTO;
    uint32_t v = gv_rd_u32be(m->payload);
    if (m->type == GV_RTMP_SET_CHUNK_SIZE)
        return gv_rtmp_chunk_reader_set_chunk_size(r, v);
    cstream_t *cs = find_stream(r, v);
    if (cs)
        drop_message(r, cs);
    return 0;
}

static int emit(gv_rtmp_chunk_reader_t *r, cstream_t *cs, gv_rtmp_msg_t *msg)
{
    static const uint8_t empty[1];
    drop_message(r, cs);
    r->last = cs;
    msg->csid = cs->csid;
    msg->type = cs->type;
    msg->stream_id = cs->stream_id;
    msg->timestamp = cs->timestamp;
    msg->payload = cs->buf && cs->length ? cs->buf : empty;
    msg->size = cs->length;
    int err = apply_control(r, msg);
    return err ? err : 1;
}

/* Whether the 4 bytes after a fmt 3 header are a repeated extended timestamp. Senders
 * disagree on whether they repeat it and on whether it holds the delta or the absolute value,
 * so the bytes count as a timestamp only when they match one of those. */
static bool fmt3_has_ext(const cstream_t *cs, uint32_t v)
{
    if (v == cs->ts_field || v == cs->timestamp)
        return true;
    return !cs->inflight && v == cs->timestamp + cs->ts_field;
}

/* Parses one chunk header from p[0..n). Sets *used = 0 when more bytes are needed. */
static int step_header(gv_rtmp_chunk_reader_t *r, const uint8_t *p, size_t n, size_t *used,
                       gv_rtmp_msg_t *msg)
{
    static const size_t mh_sizes[4] = {11, 7, 3, 0};
    *used = 0;
    if (n < 1)
        return 0;
    unsigned fmt = p[0] >> 6, low = p[0] & 0x3f;
    size_t bl = low == 0 ? 2 : low == 1 ? 3 : 1;
    size_t hl = bl + mh_sizes[fmt];
    if (n < hl)
        return 0;
    uint32_t csid = bl == 1 ? low : bl == 2 ? p[1] + 64u : p[1] + ((uint32_t)p[2] << 8) + 64u;
    const uint8_t *h = p + bl;

    cstream_t *cs = find_stream(r, csid);
    if (!cs) {
        if (fmt != 0)
            return GV_EPROTO; /* compact header with nothing to inherit from */
        if (r->n_streams >= r->lim.max_chunk_streams)
            return GV_ELIMIT;
        cs = &r->streams[r->n_streams++];
        cs->csid = csid;
    }
    if (fmt != 0 && !cs->has_header)
        return GV_EPROTO;

    uint32_t field = 0;
    bool ext = false;
    if (fmt < 3) {
        field = gv_rd_u24be(h);
        if (field == GV_RTMP_EXT_TS) {
            if (n < hl + 4)
                return 0;
            field = gv_rd_u32be(p + hl);
            hl += 4;
            ext = true;
        }
        if (cs->inflight)
            return GV_EPROTO; /* a new header while a message is half received */
    } else if (cs->ext) {
        if (n < hl + 4)
            return 0;
        if (fmt3_has_ext(cs, gv_rd_u32be(p + hl)))
            hl += 4;
    }

    /* The whole header is visible: apply it. */
    switch (fmt) {
    case 0:
        cs->timestamp = field;
        /* fallthrough */
    case 1:
        if (fmt == 1)
            cs->timestamp += field;
        cs->length = gv_rd_u24be(h + 3);
        cs->type = h[6];
        if (fmt == 0)
            cs->stream_id = gv_rd_u32le(h + 7);
        break;
    case 2:
        cs->timestamp += field;
        break;
    default:
        if (!cs->inflight)
            cs->timestamp += cs->ts_field;
        break;
    }
    if (fmt < 3) {
        cs->ts_field = field;
        cs->ext = ext;
    }
    cs->has_header = true;
    if (!cs->inflight) {
        if (cs->length > r->lim.max_message_bytes)
            return GV_ETOOBIG;
        if (r->inflight >= r->lim.max_inflight)
            return GV_ELIMIT;
        cs->inflight = true;
        cs->got = 0;
        r->inflight++;
    }
    *used = hl;
    size_t left = cs->length - cs->got;
    r->chunk_left = left < r->chunk_size ? (uint32_t)left : r->chunk_size;
    if (r->chunk_left == 0)
        return emit(r, cs, msg);
    r->cur = cs;
    return 0;
}

static int step_payload(gv_rtmp_chunk_reader_t *r, const uint8_t *p, size_t n, size_t *used,
                        gv_rtmp_msg_t *msg)
{
    cstream_t *cs = r->cur;
    size_t take = n < r->chunk_left ? n : r->chunk_left;
    if (cs->got + take > cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 4096;
        if (cap < cs->got + take)
            cap = cs->got + take;
        if (cap > cs->length)
            cap = cs->length;
        uint8_t *b = realloc(cs->buf, cap);
        if (!b)
            return GV_ENOMEM;
        cs->buf = b;
        cs->cap = cap;
    }
    memcpy(cs->buf + cs->got, p, take);
    cs->got += take;
    r->chunk_left -= (uint32_t)take;
    *used = take;
    if (r->chunk_left > 0)
        return 0;
    r->cur = NULL;
    if (cs->got == cs->length)
        return emit(r, cs, msg);
    return 0;
}

static int step(gv_rtmp_chunk_reader_t *r, const uint8_t *p, size_t n, size_t *used,
                gv_rtmp_msg_t *msg)
{
    if (r->cur)
        return step_payload(r, p, n, used, msg);
    return step_header(r, p, n, used, msg);
}

int gv_rtmp_chunk_reader_feed(gv_rtmp_chunk_reader_t *r, const uint8_t *in, size_t len,
                              size_t *consumed, gv_rtmp_msg_t *msg)
{
    size_t pos = 0, used = 0;
    int rc;
    *consumed = 0;
    if (r->err)
        return r->err;
    if (r->last) {
        /* The previous message's payload is no longer needed. */
        cstream_t *cs = r->last;
        r->last = NULL;
        if (cs->cap > RETAIN_MAX) {
            free(cs->buf);
            cs->buf = NULL;
            cs->cap = 0;
        }
    }
    for (;;) {
        if (r->pend_len > 0) {
            size_t l = r->pend_len, c = len - pos;
            if (c > sizeof(r->pend) - l)
                c = sizeof(r->pend) - l;
            memcpy(r->pend + l, in + pos, c);
            rc = step(r, r->pend, l + c, &used, msg);
            if (rc < 0)
                goto fail;
            if (used == 0) {
                /* Still incomplete: everything offered now sits in pend. A header never
                 * needs the whole pend buffer, so a full one cannot happen. */
                if (l + c == sizeof(r->pend)) {
                    rc = GV_EPROTO;
                    goto fail;
                }
                r->pend_len = l + c;
                *consumed = len;
                return 0;
            }
            if (used >= l) {
                pos += used - l;
                r->pend_len = 0;
            } else {
                memmove(r->pend, r->pend + used, l - used);
                r->pend_len = l - used;
            }
        } else {
            if (pos == len) {
                *consumed = len;
                return 0;
            }
            rc = step(r, in + pos, len - pos, &used, msg);
            if (rc < 0)
                goto fail;
            if (used == 0) {
                if (len - pos > sizeof(r->pend)) {
                    rc = GV_EPROTO;
                    goto fail;
                }
                memcpy(r->pend, in + pos, len - pos);
                r->pend_len = len - pos;
                *consumed = len;
                return 0;
            }
            pos += used;
        }
        if (rc == 1) {
            *consumed = pos;
            return 1;
        }
    }
fail:
    r->err = rc;
    return rc;
}
