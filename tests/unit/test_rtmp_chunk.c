/* Unit tests for the RTMP chunk reader and writer: every header format, 1-3 byte basic headers,
 * chunk size changes mid-stream, extended timestamps (with and without the fmt 3 repeat),
 * Abort, interleaved chunk streams, limits, that any split of the input (byte at a time,
 * random) yields exactly what bulk feeding does, and that reused message buffers never leak
 * bytes of an earlier message into a later one. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ingest/rtmp_chunk.h"
#include "testlib.h"

typedef struct {
    uint32_t csid, stream_id, timestamp;
    uint8_t type;
    uint8_t *payload;
    size_t size;
} got_t;

typedef struct {
    got_t m[256];
    size_t n;
    int err;
} got_list_t;

static void got_free(got_list_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->m[i].payload);
    g->n = 0;
}

/* Feeds data in pieces of `step` bytes (0 = all at once, -1 = random pieces). */
static void run(gv_rtmp_chunk_reader_t *r, const uint8_t *data, size_t len, int step, got_list_t *g)
{
    size_t pos = 0;
    unsigned seed = 12345;
    g->err = 0;
    while (pos < len) {
        size_t piece = len - pos;
        if (step > 0 && piece > (size_t)step)
            piece = (size_t)step;
        if (step < 0) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % 300;
            if (piece > want)
                piece = want;
        }
        const uint8_t *p = data + pos;
        size_t left = piece;
        for (;;) {
            gv_rtmp_msg_t m;
            size_t used = 0;
            int rc = gv_rtmp_chunk_reader_feed(r, p, left, &used, &m);
            if (rc < 0) {
                g->err = rc;
                return;
            }
            GV_CHECK(used <= left);
            p += used;
            left -= used;
            if (rc == 1 && g->n < 256) {
                got_t *o = &g->m[g->n++];
                o->csid = m.csid;
                o->stream_id = m.stream_id;
                o->timestamp = m.timestamp;
                o->type = m.type;
                o->size = m.size;
                o->payload = malloc(m.size + 1);
                memcpy(o->payload, m.payload, m.size);
            }
            if (rc == 0) {
                GV_CHECK_INT(left, 0);
                break;
            }
        }
        pos += piece;
    }
}

static got_list_t g_list;

static gv_rtmp_chunk_reader_t *reader(void)
{
    gv_rtmp_chunk_limits_t lim = {.max_message_bytes = 1 << 20, .max_chunk_size = 65536};
    return gv_rtmp_chunk_reader_create(&lim);
}

static void test_header_formats(void)
{
    /* csid 3: fmt 0 (ts 1000, len 4, type 20, stream 1), fmt 1 (delta 10, len 2, type 8),
     * fmt 2 (delta 33), fmt 3 (new message, delta 33 again), then fmt 3 again. */
    const uint8_t data[] = {
        0x03, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x04, 20,   0x01, 0x00, 0x00, 0x00, 'a',
        'b',  'c',  'd',  0x43, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02, 8,    'e',  'f',
        0x83, 0x00, 0x00, 0x21, 'g',  'h',  0xc3, 'i',  'j',  0xc3, 'k',  'l',
    };
    gv_rtmp_chunk_reader_t *r = reader();
    run(r, data, sizeof(data), 0, &g_list);
    GV_CHECK_INT(g_list.err, 0);
    GV_CHECK_INT(g_list.n, 5);
    if (g_list.n == 5) {
        GV_CHECK_INT(g_list.m[0].timestamp, 1000);
        GV_CHECK_INT(g_list.m[0].type, 20);
        GV_CHECK_INT(g_list.m[0].stream_id, 1);
        GV_CHECK(memcmp(g_list.m[0].payload, "abcd", 4) == 0);
        GV_CHECK_INT(g_list.m[1].timestamp, 1010);
        GV_CHECK_INT(g_list.m[1].type, 8);
        GV_CHECK_INT(g_list.m[1].stream_id, 1);
        GV_CHECK_INT(g_list.m[1].size, 2);
        GV_CHECK_INT(g_list.m[2].timestamp, 1043);
        GV_CHECK_INT(g_list.m[3].timestamp, 1076);
        GV_CHECK_INT(g_list.m[4].timestamp, 1109);
        GV_CHECK(memcmp(g_list.m[4].payload, "kl", 2) == 0);
    }
    got_free(&g_list);
    gv_rtmp_chunk_reader_destroy(r);
}

static void test_basic_header_sizes(void)
{
    /* csid 64 in the 2-byte form, csid 400 in the 3-byte form. */
    const uint8_t data[] = {
        0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 9, 0x00, 0x00, 0x00, 0x00, 'x', 0x01,
        0x50, 0x01, 0x00, 0x00, 0x07, 0x00, 0x00, 0x01, 9, 0x00, 0x00, 0x00, 0x00, 'y',
    };
    gv_rtmp_chunk_reader_t *r = reader();
    run(r, data, sizeof(data), 1, &g_list);
    GV_CHECK_INT(g_list.err, 0);
    GV_CHECK_INT(g_list.n, 2);
    if (g_list.n == 2) {
        GV_CHECK_INT(g_list.m[0].csid, 64);
        GV_CHECK_INT(g_list.m[0].timestamp, 5);
        GV_CHECK_INT(g_list.m[1].csid, 400);
        GV_CHECK_INT(g_list.m[1].timestamp, 7);
    }
    got_free(&g_list);
    gv_rtmp_chunk_reader_destroy(r);

    /* The writer produces all three forms and the reader agrees. */
    gv_rtmp_chunk_writer_t w;
    gv_rtmp_chunk_writer_init(&w, 128);
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    uint32_t ids[] = {2, 63, 64, 319, 320, 65599};
    for (size_t i = 0; i < 6; i++)
        GV_CHECK_INT(gv_rtmp_chunk_write(&w, &b, ids[i], 9, 1, 0, (const uint8_t *)"zz", 2), 0);
    GV_CHECK_INT(gv_rtmp_chunk_write(&w, &b, 1, 9, 1, 0, NULL, 0), GV_EINVAL);
    GV_CHECK_INT(gv_rtmp_chunk_write(&w, &b, 65600, 9, 1, 0, NULL, 0), GV_EINVAL);
    r = reader();
    run(r, b.data, b.len, 0, &g_list);
    GV_CHECK_INT(g_list.n, 6);
    for (size_t i = 0; i < g_list.n; i++)
        GV_CHECK_INT(g_list.m[i].csid, ids[i]);
    got_free(&g_list);
    gv_rtmp_chunk_reader_destroy(r);
    gv_bytes_free(&b);
}

static void test_chunk_size_change(void)
{
    gv_rtmp_chunk_writer_t w;
    gv_rtmp_chunk_writer_init(&w, 128);
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    uint8_t big[1000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    gv_rtmp_chunk_write(&w, &b, 6, 9, 1, 0, big, 300); /* 128-byte chunks */
    uint8_t cs[4] = {0, 0, 0x01, 0x00};                /* 256 */
    gv_rtmp_chunk_write(&w, &b, 2, GV_RTMP_SET_CHUNK_SIZE, 0, 0, cs, 4);
    w.chunk_size = 256;
    gv_rtmp_chunk_write(&w, &b, 6, 9, 1, 40, big, 1000);
    cs[2] = 0;
    cs[3] = 1; /* 1: the smallest legal size */
    gv_rtmp_chunk_write(&w, &b, 2, GV_RTMP_SET_CHUNK_SIZE, 0, 0, cs, 4);
    w.chunk_size = 1;
    gv_rtmp_chunk_write(&w, &b, 6, 9, 1, 80, big, 20);
    /* Size check: 1000 bytes in 256-byte chunks is 4 chunks: header + 3 one-byte fmt 3. */
    gv_rtmp_chunk_reader_t *r = reader();
    run(r, b.data, b.len, 0, &g_list);
    GV_CHECK_INT(g_list.err, 0);
    GV_CHECK_INT(g_list.n, 5);
    if (g_list.n == 5) {
        GV_CHECK_INT(g_list.m[0].size, 300);
        GV_CHECK(memcmp(g_list.m[0].payload, big, 300) == 0);
        GV_CHECK_INT(g_list.m[1].type, GV_RTMP_SET_CHUNK_SIZE);
        GV_CHECK_INT(g_list.m[2].size, 1000);
        GV_CHECK(memcmp(g_list.m[2].payload, big, 1000) == 0);
        GV_CHECK_INT(g_list.m[2].timestamp, 40);
        GV_CHECK_INT(g_list.m[4].size, 20);
        GV_CHECK(memcmp(g_list.m[4].payload, big, 20) == 0);
        GV_CHECK_INT(g_list.m[4].timestamp, 80);
    }
    GV_CHECK_INT(gv_rtmp_chunk_reader_chunk_size(r), 1);
    got_free(&g_list);
    gv_rtmp_chunk_reader_destroy(r);
    gv_bytes_free(&b);
}

static void check_ext(bool repeat)
{
    gv_rtmp_chunk_writer_t w;
    gv_rtmp_chunk_writer_init(&w, 128);
    w.ext_in_fmt3 = repeat;
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    uint8_t big[400];
    /* Payload bytes that can never be mistaken for the timestamps used below. */
    memset(big, 0x5a, sizeof(big));
    uint32_t t0 = 0x01000000u, t1 = 0x01000021u, t2 = 0xfffffff0u, t3 = 0x00000010u;
    gv_rtmp_chunk_write(&w, &b, 6, 9, 1, t0, big, 400);
    gv_rtmp_chunk_write(&w, &b, 6, 9, 1, t1, big, 400); /* small delta: no extended field */
    gv_rtmp_chunk_write(&w, &b, 6, 9, 1, t2, big, 300); /* huge delta: extended, fmt 1 */
    gv_rtmp_chunk_write(&w, &b, 7, 8, 1, t3, big, 200); /* wrapped, small: plain fmt 0 */
    gv_rtmp_chunk_write(&w, &b, 6, 9, 1, t3, big, 300); /* backwards: fmt 0 */
    for (int step = 0; step < 3; step++) {
        gv_rtmp_chunk_reader_t *r = reader();
        run(r, b.data, b.len, step == 0 ? 0 : step == 1 ? 1 : -1, &g_list);
        GV_CHECK_INT(g_list.err, 0);
        GV_CHECK_INT(g_list.n, 5);
        if (g_list.n == 5) {
            GV_CHECK_INT(g_list.m[0].timestamp, t0);
            GV_CHECK_INT(g_list.m[0].size, 400);
            GV_CHECK_INT(g_list.m[1].timestamp, t1);
            GV_CHECK_INT(g_list.m[2].timestamp, t2);
            GV_CHECK_INT(g_list.m[3].timestamp, t3);
            GV_CHECK_INT(g_list.m[4].timestamp, t3);
            for (size_t i = 0; i < 5; i++)
                GV_CHECK(g_list.m[i].payload[g_list.m[i].size - 1] == 0x5a);
        }
        got_free(&g_list);
        gv_rtmp_chunk_reader_destroy(r);
    }
    gv_bytes_free(&b);
}

static void test_extended_timestamps(void)
{
    check_ext(true);
    check_ext(false);

    /* A sender repeating the absolute timestamp (rather than the field) in fmt 3 chunks after a
     * fmt 1 header with an extended delta. */
    uint8_t data[64];
    size_t n = 0;
    const uint8_t first[] = {0x06, 0, 0, 0, 0, 0, 4, 9, 1, 0, 0, 0, 'a', 'b', 'c', 'd'};
    memcpy(data, first, sizeof(first));
    n = sizeof(first);
    /* chunk size 128: a 130-byte message would need 2 chunks; use 4-byte chunk size instead. */
    gv_rtmp_chunk_reader_t *r = reader();
    GV_CHECK_INT(gv_rtmp_chunk_reader_set_chunk_size(r, 4), 0);
    const uint8_t second[] = {0x46, 0xff, 0xff, 0xff, 0,    0,    6, 9, 0x02, 0,   0,  0,
                              'e',  'f',  'g',  'h',  0xc6, 0x02, 0, 0, 0,    'i', 'j'};
    memcpy(data + n, second, sizeof(second));
    n += sizeof(second);
    run(r, data, n, 1, &g_list);
    GV_CHECK_INT(g_list.err, 0);
    GV_CHECK_INT(g_list.n, 2);
    if (g_list.n == 2) {
        GV_CHECK_INT(g_list.m[1].timestamp, 0x02000000);
        GV_CHECK_INT(g_list.m[1].size, 6);
        GV_CHECK(memcmp(g_list.m[1].payload, "efghij", 6) == 0);
    }
    got_free(&g_list);
    gv_rtmp_chunk_reader_destroy(r);
}

static void test_abort(void)
{
    gv_rtmp_chunk_writer_t w;
    gv_rtmp_chunk_writer_init(&w, 128);
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    uint8_t big[300];
    memset(big, 1, sizeof(big));
    gv_rtmp_chunk_write(&w, &b, 6, 9, 1, 0, big, 300);
    b.len = 12 + 128; /* keep the first chunk only */
    uint8_t abort_csid6[4] = {0, 0, 0, 6};
    gv_rtmp_chunk_write(&w, &b, 2, GV_RTMP_ABORT, 0, 0, abort_csid6, 4);
    w.n_streams = 0; /* forget history: next header is a full one */
    gv_rtmp_chunk_write(&w, &b, 6, 9, 1, 100, big, 10);
    gv_rtmp_chunk_reader_t *r = reader();
    run(r, b.data, b.len, 0, &g_list);
    GV_CHECK_INT(g_list.err, 0);
    GV_CHECK_INT(g_list.n, 2);
    if (g_list.n == 2) {
        GV_CHECK_INT(g_list.m[0].type, GV_RTMP_ABORT);
        GV_CHECK_INT(g_list.m[1].size, 10);
        GV_CHECK_INT(g_list.m[1].timestamp, 100);
    }
    got_free(&g_list);
    gv_rtmp_chunk_reader_destroy(r);
    gv_bytes_free(&b);
}

static void test_interleaved(void)
{
    /* Video (csid 6, 300 bytes) interleaved with audio (csid 4) between its chunks. */
    uint8_t data[600];
    size_t n = 0;
    const uint8_t vh[] = {0x06, 0, 0, 40, 0, 0x01, 0x2c, 9, 1, 0, 0, 0};
    const uint8_t ah[] = {0x04, 0, 0, 41, 0, 0, 3, 8, 1, 0, 0, 0, 'A', 'B', 'C'};
    const uint8_t ah2[] = {0x84, 0, 0, 23, 'D', 'E', 'F'};
    memcpy(data + n, vh, sizeof(vh)), n += sizeof(vh);
    memset(data + n, 'v', 128), n += 128;
    memcpy(data + n, ah, sizeof(ah)), n += sizeof(ah);
    data[n++] = 0xc6;
    memset(data + n, 'w', 128), n += 128;
    memcpy(data + n, ah2, sizeof(ah2)), n += sizeof(ah2);
    data[n++] = 0xc6;
    memset(data + n, 'x', 44), n += 44;
    for (int step = 0; step < 2; step++) {
        gv_rtmp_chunk_reader_t *r = reader();
        run(r, data, n, step ? 1 : 0, &g_list);
        GV_CHECK_INT(g_list.err, 0);
        GV_CHECK_INT(g_list.n, 3);
        if (g_list.n == 3) {
            GV_CHECK_INT(g_list.m[0].csid, 4);
            GV_CHECK_INT(g_list.m[0].timestamp, 41);
            GV_CHECK_INT(g_list.m[1].csid, 4);
            GV_CHECK_INT(g_list.m[1].timestamp, 64);
            GV_CHECK(memcmp(g_list.m[1].payload, "DEF", 3) == 0);
            GV_CHECK_INT(g_list.m[2].csid, 6);
            GV_CHECK_INT(g_list.m[2].size, 300);
            GV_CHECK(g_list.m[2].payload[0] == 'v' && g_list.m[2].payload[128] == 'w' &&
                     g_list.m[2].payload[299] == 'x');
        }
        got_free(&g_list);
        gv_rtmp_chunk_reader_destroy(r);
    }
}

static int feed_all(gv_rtmp_chunk_reader_t *r, const uint8_t *d, size_t n)
{
    run(r, d, n, 0, &g_list);
    got_free(&g_list);
    return g_list.err;
}

static void test_limits(void)
{
    gv_rtmp_chunk_limits_t lim = {.max_message_bytes = 1000,
                                  .max_chunk_size = 4096,
                                  .max_chunk_streams = 4,
                                  .max_inflight = 2};
    gv_rtmp_chunk_reader_t *r;
    /* Declared length over the cap: refused at the header, before any payload. */
    const uint8_t too_big[] = {0x06, 0, 0, 0, 0, 0x03, 0xe9, 9, 1, 0, 0, 0};
    r = gv_rtmp_chunk_reader_create(&lim);
    GV_CHECK_INT(feed_all(r, too_big, sizeof(too_big)), GV_ETOOBIG);
    /* Sticky: the reader stays failed. */
    GV_CHECK_INT(feed_all(r, too_big, 1), GV_ETOOBIG);
    gv_rtmp_chunk_reader_destroy(r);

    /* Set Chunk Size: 0, top bit set, over the configured maximum. */
    const uint32_t bad_sizes[3] = {0, 0x80000000u, 4097};
    const int want[3] = {GV_EPROTO, GV_EPROTO, GV_ETOOBIG};
    for (int i = 0; i < 3; i++) {
        uint8_t m[16] = {0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0};
        m[12] = (uint8_t)(bad_sizes[i] >> 24);
        m[13] = (uint8_t)(bad_sizes[i] >> 16);
        m[14] = (uint8_t)(bad_sizes[i] >> 8);
        m[15] = (uint8_t)bad_sizes[i];
        r = gv_rtmp_chunk_reader_create(&lim);
        GV_CHECK_INT(feed_all(r, m, 16), want[i]);
        gv_rtmp_chunk_reader_destroy(r);
    }
    /* Short Set Chunk Size payload. */
    const uint8_t short_scs[] = {0x02, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 1};
    r = gv_rtmp_chunk_reader_create(&lim);
    GV_CHECK_INT(feed_all(r, short_scs, sizeof(short_scs)), GV_EPROTO);
    gv_rtmp_chunk_reader_destroy(r);

    /* Compact header on a chunk stream never seen. */
    const uint8_t orphan[] = {0x46, 0, 0, 0, 0, 0, 1, 9, 'x'};
    r = gv_rtmp_chunk_reader_create(&lim);
    GV_CHECK_INT(feed_all(r, orphan, sizeof(orphan)), GV_EPROTO);
    gv_rtmp_chunk_reader_destroy(r);

    /* Too many chunk streams. */
    r = gv_rtmp_chunk_reader_create(&lim);
    uint8_t msg[13] = {0x00, 0, 0, 0, 0, 0, 1, 9, 1, 0, 0, 0, 'x'};
    int rc = 0;
    for (uint8_t id = 3; id < 10 && rc == 0; id++) {
        msg[0] = id;
        rc = feed_all(r, msg, sizeof(msg));
    }
    GV_CHECK_INT(rc, GV_ELIMIT);
    gv_rtmp_chunk_reader_destroy(r);

    /* Too many partly received messages at once (1-byte chunks end after the header). */
    r = gv_rtmp_chunk_reader_create(&lim);
    gv_rtmp_chunk_reader_set_chunk_size(r, 1);
    uint8_t half[13] = {0x00, 0, 0, 0, 0, 0x01, 0x00, 9, 1, 0, 0, 0, 'x'}; /* 256 bytes */
    rc = 0;
    for (uint8_t id = 3; id < 6 && rc == 0; id++) {
        half[0] = id;
        rc = feed_all(r, half, sizeof(half));
    }
    GV_CHECK_INT(rc, GV_ELIMIT);
    gv_rtmp_chunk_reader_destroy(r);

    /* A full header while a message on that chunk stream is half received. */
    r = gv_rtmp_chunk_reader_create(&lim);
    gv_rtmp_chunk_reader_set_chunk_size(r, 1);
    uint8_t twice[26];
    memcpy(twice, half, 13);
    memcpy(twice + 13, half, 13);
    twice[0] = twice[13] = 3;
    GV_CHECK_INT(feed_all(r, twice, sizeof(twice)), GV_EPROTO);
    gv_rtmp_chunk_reader_destroy(r);
}

/* A pseudo-random session worth of messages through the writer; every split of its bytes
 * must give the messages back unchanged. */
static void test_split_invariance(void)
{
    gv_rtmp_chunk_writer_t w;
    gv_rtmp_chunk_writer_init(&w, 128);
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    got_t sent[200];
    size_t n_sent = 0;
    unsigned seed = 99;
    uint32_t ts[3] = {0xfffff000u, 0xffffff00u, 0x7ffffff0u};
    static uint8_t pool[5000];
    for (size_t i = 0; i < sizeof(pool); i++)
        pool[i] = (uint8_t)(i * 31 + 7);
    for (int i = 0; i < 150; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned pick = (seed >> 16) % 3;
        uint32_t csid = pick == 0 ? 4 : pick == 1 ? 6 : 330;
        seed = seed * 1103515245u + 12345u;
        size_t size = (seed >> 16) % (pick == 1 ? 5000 : 300);
        seed = seed * 1103515245u + 12345u;
        ts[pick] += (seed >> 16) % 50;
        if (i == 40) { /* a big jump forces extended fields */
            ts[pick] += 0x02000000u;
        }
        if (i == 75) {
            uint8_t cs[4] = {0, 0, 0x10, 0x00};
            gv_rtmp_chunk_write(&w, &b, 2, GV_RTMP_SET_CHUNK_SIZE, 0, 0, cs, 4);
            w.chunk_size = 4096;
            sent[n_sent++] = (got_t){2, 0, 0, GV_RTMP_SET_CHUNK_SIZE, NULL, 4};
        }
        w.ext_in_fmt3 = i < 100;
        uint8_t type = pick == 1 ? 9 : 8;
        gv_rtmp_chunk_write(&w, &b, csid, type, 1, ts[pick], pool, size);
        sent[n_sent++] = (got_t){csid, 1, ts[pick], type, NULL, size};
    }
    GV_CHECK_INT(b.err, 0);
    int steps[4] = {0, 1, 7, -1};
    for (int k = 0; k < 4; k++) {
        gv_rtmp_chunk_reader_t *r = reader();
        run(r, b.data, b.len, steps[k], &g_list);
        GV_CHECK_INT(g_list.err, 0);
        GV_CHECK_INT(g_list.n, n_sent);
        for (size_t i = 0; i < g_list.n && i < n_sent; i++) {
            got_t *g = &g_list.m[i];
            if (g->csid != sent[i].csid || g->timestamp != sent[i].timestamp ||
                g->size != sent[i].size || g->type != sent[i].type) {
                fprintf(stderr, "step %d message %zu: csid %u ts %u size %zu type %u\n", steps[k],
                        i, g->csid, g->timestamp, g->size, g->type);
                gv_test_failures++;
                break;
            }
            if (g->type != GV_RTMP_SET_CHUNK_SIZE)
                GV_CHECK(memcmp(g->payload, pool, g->size) == 0);
        }
        got_free(&g_list);
        gv_rtmp_chunk_reader_destroy(r);
    }
    gv_bytes_free(&b);
}

/* Message buffers are kept per chunk stream between messages (and dropped above a size):
 * messages that grow, shrink, exceed that size and interleave must each come back with only
 * their own bytes. */
static void test_buffer_reuse(void)
{
    static const size_t sizes[] = {5000, 300, 0, 12000, 300000, 17, 4096, 290000, 1, 8000};
    gv_rtmp_chunk_writer_t w;
    gv_rtmp_chunk_writer_init(&w, 4096);
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    uint8_t *body = malloc(300000);
    GV_CHECK(body != NULL);
    if (!body)
        return;
    uint8_t cs[4] = {0, 0, 0x10, 0x00};
    gv_rtmp_chunk_write(&w, &b, 2, GV_RTMP_SET_CHUNK_SIZE, 0, 0, cs, 4);
    size_t n = sizeof(sizes) / sizeof(sizes[0]);
    for (size_t i = 0; i < n; i++) {
        memset(body, (int)(0x41 + i), sizes[i]);
        /* Alternate two chunk streams for the second half. */
        uint32_t csid = i >= n / 2 && (i & 1) ? 7 : 6;
        gv_rtmp_chunk_write(&w, &b, csid, 9, 1, (uint32_t)(i * 33), body, sizes[i]);
    }
    GV_CHECK_INT(b.err, 0);
    int steps[3] = {0, 1000, -1};
    for (int k = 0; k < 3; k++) {
        gv_rtmp_chunk_reader_t *r = reader();
        run(r, b.data, b.len, steps[k], &g_list);
        GV_CHECK_INT(g_list.err, 0);
        GV_CHECK_INT(g_list.n, n + 1);
        for (size_t i = 0; i < n && i + 1 < g_list.n; i++) {
            got_t *g = &g_list.m[i + 1];
            GV_CHECK_INT(g->size, sizes[i]);
            bool same = g->size == sizes[i];
            for (size_t j = 0; same && j < g->size; j++)
                same = g->payload[j] == (uint8_t)(0x41 + i);
            GV_CHECK(same);
        }
        got_free(&g_list);
        gv_rtmp_chunk_reader_destroy(r);
    }
    free(body);
    gv_bytes_free(&b);
}

GV_TEST_MAIN(GV_TEST(test_header_formats), GV_TEST(test_basic_header_sizes),
             GV_TEST(test_chunk_size_change), GV_TEST(test_extended_timestamps),
             GV_TEST(test_abort), GV_TEST(test_interleaved), GV_TEST(test_limits),
             GV_TEST(test_split_invariance), GV_TEST(test_buffer_reuse))
