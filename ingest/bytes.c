/* Growable byte buffer with a sticky error (see bytes.h). */
#include "ingest/bytes.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void gv_bytes_init(gv_bytes_t *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void gv_bytes_free(gv_bytes_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}

void gv_bytes_reset(gv_bytes_t *b)
{
    b->len = 0;
    b->err = 0;
}

int gv_bytes_reserve(gv_bytes_t *b, size_t n)
{
    if (b->err)
        return b->err;
    if (n > SIZE_MAX / 2 - b->len || (b->max && b->len + n > b->max)) {
        b->err = GV_ETOOBIG;
        return b->err;
    }
    size_t need = b->len + n;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (b->max && cap > b->max)
        cap = b->max;
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->err = GV_ENOMEM;
        return b->err;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void gv_bytes_put(gv_bytes_t *b, const void *p, size_t n)
{
    if (n == 0 || gv_bytes_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void gv_bytes_u8(gv_bytes_t *b, uint8_t v)
{
    gv_bytes_put(b, &v, 1);
}

void gv_bytes_u16be(gv_bytes_t *b, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    gv_bytes_put(b, t, 2);
}

void gv_bytes_u24be(gv_bytes_t *b, uint32_t v)
{
    uint8_t t[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    gv_bytes_put(b, t, 3);
}

void gv_bytes_u32be(gv_bytes_t *b, uint32_t v)
{
    uint8_t t[4];
    gv_wr_u32be(t, v);
    gv_bytes_put(b, t, 4);
}

void gv_bytes_u32le(gv_bytes_t *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    gv_bytes_put(b, t, 4);
}

void gv_bytes_consume(gv_bytes_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
