/* libFuzzer target: the chunk-stream reader. The first input byte picks how the rest is split
 * into feed calls; bulk and split feeding must agree on every message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/rtmp_chunk.h"

typedef struct {
    uint32_t csid, ts, sid;
    uint8_t type;
    size_t size;
    uint64_t sum;
} rec_t;

#define MAX_RECS 512

static size_t run(const uint8_t *data, size_t size, size_t step, rec_t *recs, int *err)
{
    gv_rtmp_chunk_limits_t lim = {.max_message_bytes = 1 << 16, .max_chunk_size = 1 << 16};
    gv_rtmp_chunk_reader_t *r = gv_rtmp_chunk_reader_create(&lim);
    size_t n = 0, pos = 0;
    *err = 0;
    while (pos < size && !*err) {
        size_t piece = size - pos < step ? size - pos : step;
        const uint8_t *p = data + pos;
        size_t left = piece;
        for (;;) {
            gv_rtmp_msg_t m;
            size_t used = 0;
            int rc = gv_rtmp_chunk_reader_feed(r, p, left, &used, &m);
            if (rc < 0) {
                *err = rc;
                break;
            }
            if (used > left)
                abort();
            p += used;
            left -= used;
            if (rc == 0)
                break;
            if (n < MAX_RECS) {
                uint64_t sum = 0;
                for (size_t i = 0; i < m.size; i++)
                    sum = sum * 31 + m.payload[i];
                recs[n++] = (rec_t){m.csid, m.timestamp, m.stream_id, m.type, m.size, sum};
            }
        }
        pos += piece;
    }
    gv_rtmp_chunk_reader_destroy(r);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rec_t a[MAX_RECS], b[MAX_RECS];
    if (size < 1)
        return 0;
    size_t step = 1 + data[0] % 64;
    int ea, eb;
    size_t na = run(data + 1, size - 1, size, a, &ea);
    size_t nb = run(data + 1, size - 1, step, b, &eb);
    if (ea != eb)
        abort();
    if (na != nb || memcmp(a, b, na * sizeof(rec_t)) != 0)
        abort();
    return 0;
}
