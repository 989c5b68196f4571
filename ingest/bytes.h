/* A growable output byte buffer with a sticky error flag (so a run of writes is checked once),
 * plus big-endian load helpers. Used by the AMF0 encoder, the chunk writer and the session's
 * reply path. */
#ifndef GV_INGEST_BYTES_H
#define GV_INGEST_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len; 0 = unlimited */
    int err;    /* first error (GV_ENOMEM / GV_ETOOBIG), sticky */
} gv_bytes_t;

void gv_bytes_init(gv_bytes_t *b, size_t max);
void gv_bytes_free(gv_bytes_t *b);
/* Forgets the contents (keeps the allocation) and clears the error. */
void gv_bytes_reset(gv_bytes_t *b);
/* Makes room for n more bytes; returns 0 or the (sticky) error. */
int gv_bytes_reserve(gv_bytes_t *b, size_t n);
void gv_bytes_put(gv_bytes_t *b, const void *p, size_t n);
void gv_bytes_u8(gv_bytes_t *b, uint8_t v);
void gv_bytes_u16be(gv_bytes_t *b, uint16_t v);
void gv_bytes_u24be(gv_bytes_t *b, uint32_t v);
void gv_bytes_u32be(gv_bytes_t *b, uint32_t v);
void gv_bytes_u32le(gv_bytes_t *b, uint32_t v);
/* Drops the first n bytes (n <= len). */
void gv_bytes_consume(gv_bytes_t *b, size_t n);

static inline uint32_t gv_rd_u16be(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t gv_rd_u24be(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t gv_rd_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t gv_rd_u32le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline void gv_wr_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
