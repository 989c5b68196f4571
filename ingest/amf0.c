/* AMF0 decoder (bounded, recursive with a depth limit) and encoder (see amf0.h). */
#include "ingest/amf0.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    size_t nodes; /* nodes left in the budget */
} reader_t;

static int need(const reader_t *r, size_t n)
{
    return r->len - r->pos >= n ? 0 : GV_ETRUNC;
}

static gv_amf0_t *new_node(reader_t *r, gv_amf0_type_t type, int *err)
{
    if (r->nodes == 0) {
        *err = GV_EPROTO;
        return NULL;
    }
    gv_amf0_t *v = calloc(1, sizeof(*v));
    if (!v) {
        *err = GV_ENOMEM;
        return NULL;
    }
    r->nodes--;
    v->type = type;
    return v;
}

static double load_double(const uint8_t *p)
{
    uint64_t bits = (uint64_t)gv_rd_u32be(p) << 32 | gv_rd_u32be(p + 4);
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

/* Copies n bytes at the cursor into a new NUL-terminated string. */
static int read_chars(reader_t *r, size_t n, char **out)
{
    int err = need(r, n);
    if (err)
        return err;
    char *s = malloc(n + 1);
    if (!s)
        return GV_ENOMEM;
    memcpy(s, r->buf + r->pos, n);
    s[n] = '\0';
    r->pos += n;
    *out = s;
    return 0;
}

/* Appends (key, value) to a container, growing its arrays geometrically. */
static int append(gv_amf0_t *c, char *key, size_t key_len, gv_amf0_t *item)
{
    size_t n = c->count;
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) { /* capacity is 4, 8, 16, ... */
        size_t cap = n ? n * 2 : 4;
        gv_amf0_t **items = realloc(c->items, cap * sizeof(*items));
        if (!items)
            return GV_ENOMEM;
        c->items = items;
        if (c->type != GV_AMF0_STRICT_ARRAY) {
            char **keys = realloc(c->keys, cap * sizeof(*keys));
            if (!keys)
                return GV_ENOMEM;
            c->keys = keys;
            size_t *lens = realloc(c->key_lens, cap * sizeof(*lens));
            if (!lens)
                return GV_ENOMEM;
            c->key_lens = lens;
        }
    }
    c->items[n] = item;
    if (c->type != GV_AMF0_STRICT_ARRAY) {
        c->keys[n] = key;
        c->key_lens[n] = key_len;
    }
    c->count = n + 1;
    return 0;
}

static int read_value(reader_t *r, int depth, gv_amf0_t **out);

/* Reads "key value" pairs until the empty-key + object-end terminator. For ECMA arrays a
 * missing terminator at the very end of the input is tolerated once the announced count has
 * been read (some encoders omit it). */
static int read_props(reader_t *r, int depth, gv_amf0_t *c, uint32_t announced)
{
    for (;;) {
        if (c->type == GV_AMF0_ECMA_ARRAY && r->pos == r->len && c->count >= announced)
            return 0;
        int err = need(r, 2);
        if (err)
            return err;
        size_t klen = gv_rd_u16be(r->buf + r->pos);
        r->pos += 2;
        if (klen == 0) {
            if ((err = need(r, 1)) != 0)
                return err;
            if (r->buf[r->pos] != GV_AMF0_OBJECT_END)
                return GV_EPROTO;
            r->pos++;
            return 0;
        }
        char *key = NULL;
        if ((err = read_chars(r, klen, &key)) != 0)
            return err;
        gv_amf0_t *item = NULL;
        if ((err = read_value(r, depth + 1, &item)) != 0) {
            free(key);
            return err;
        }
        if ((err = append(c, key, klen, item)) != 0) {
            free(key);
            gv_amf0_free(item);
            return err;
        }
    }
}

static int read_value(reader_t *r, int depth, gv_amf0_t **out)
{
    if (depth > GV_AMF0_MAX_DEPTH)
        return GV_EPROTO;
    int err = need(r, 1);
    if (err)
        return err;
    uint8_t marker = r->buf[r->pos++];
    gv_amf0_t *v = NULL;
    switch (marker) {
    case GV_AMF0_NUMBER:
        if ((err = need(r, 8)) != 0)
            return err;
        if (!(v = new_node(r, GV_AMF0_NUMBER, &err)))
            return err;
        v->num = load_double(r->buf + r->pos);
        r->pos += 8;
        break;
    case GV_AMF0_BOOLEAN:
        if ((err = need(r, 1)) != 0)
            return err;
        if (!(v = new_node(r, GV_AMF0_BOOLEAN, &err)))
            return err;
        v->boolean = r->buf[r->pos++] != 0;
        break;
    case GV_AMF0_STRING:
    case GV_AMF0_LONG_STRING: {
        size_t hl = marker == GV_AMF0_STRING ? 2 : 4;
        if ((err = need(r, hl)) != 0)
            return err;
        size_t n = hl == 2 ? gv_rd_u16be(r->buf + r->pos) : gv_rd_u32be(r->buf + r->pos);
        r->pos += hl;
        if ((err = need(r, n)) != 0)
            return err;
        if (!(v = new_node(r, (gv_amf0_type_t)marker, &err)))
            return err;
        if ((err = read_chars(r, n, &v->str)) != 0)
            goto fail;
        v->len = n;
        break;
    }
    case GV_AMF0_NULL:
    case GV_AMF0_UNDEFINED:
        if (!(v = new_node(r, (gv_amf0_type_t)marker, &err)))
            return err;
        break;
    case GV_AMF0_OBJECT:
        if (!(v = new_node(r, GV_AMF0_OBJECT, &err)))
            return err;
        if ((err = read_props(r, depth, v, 0)) != 0)
            goto fail;
        break;
    case GV_AMF0_ECMA_ARRAY: {
        if ((err = need(r, 4)) != 0)
            return err;
        uint32_t announced = gv_rd_u32be(r->buf + r->pos);
        r->pos += 4;
        if (!(v = new_node(r, GV_AMF0_ECMA_ARRAY, &err)))
            return err;
        if ((err = read_props(r, depth, v, announced)) != 0)
            goto fail;
        break;
    }
    case GV_AMF0_STRICT_ARRAY: {
        if ((err = need(r, 4)) != 0)
            return err;
        uint32_t n = gv_rd_u32be(r->buf + r->pos);
        r->pos += 4;
        /* Every entry takes at least one byte: reject counts the input cannot hold before
         * doing any work. */
        if (n > r->len - r->pos)
            return GV_ETRUNC;
        if (!(v = new_node(r, GV_AMF0_STRICT_ARRAY, &err)))
            return err;
        for (uint32_t i = 0; i < n; i++) {
            gv_amf0_t *item = NULL;
            if ((err = read_value(r, depth + 1, &item)) != 0)
                goto fail;
            if ((err = append(v, NULL, 0, item)) != 0) {
                gv_amf0_free(item);
                goto fail;
            }
        }
        break;
    }
    case GV_AMF0_DATE:
        if ((err = need(r, 10)) != 0)
            return err;
        if (!(v = new_node(r, GV_AMF0_DATE, &err)))
            return err;
        v->num = load_double(r->buf + r->pos);
        v->tz = (int16_t)gv_rd_u16be(r->buf + r->pos + 8);
        r->pos += 10;
        break;
    case 0x04: /* movieclip (reserved) */
    case 0x07: /* reference */
    case 0x0d: /* unsupported */
    case 0x0e: /* recordset (reserved) */
    case 0x0f: /* XML document */
    case 0x10: /* typed object */
    case 0x11: /* switch to AMF3 */
        return GV_EUNSUPP;
    default: /* includes a stray object-end marker */
        return GV_EPROTO;
    }
    *out = v;
    return 0;
fail:
    gv_amf0_free(v);
    return err;
}

int gv_amf0_decode(const uint8_t *buf, size_t len, size_t *used, gv_amf0_t **out)
{
    reader_t r = {buf, len, 0, GV_AMF0_MAX_NODES};
    *out = NULL;
    int err = read_value(&r, 0, out);
    if (err)
        return err;
    if (used)
        *used = r.pos;
    return 0;
}

int gv_amf0_decode_seq(const uint8_t *buf, size_t len, size_t max_values, gv_amf0_t **out)
{
    reader_t r = {buf, len, 0, GV_AMF0_MAX_NODES};
    int err = 0;
    *out = NULL;
    gv_amf0_t *seq = new_node(&r, GV_AMF0_STRICT_ARRAY, &err);
    if (!seq)
        return err;
    while (r.pos < r.len) {
        if (seq->count >= max_values) {
            err = GV_ETOOBIG;
            goto fail;
        }
        gv_amf0_t *item = NULL;
        if ((err = read_value(&r, 1, &item)) != 0)
            goto fail;
        if ((err = append(seq, NULL, 0, item)) != 0) {
            gv_amf0_free(item);
            goto fail;
        }
    }
    *out = seq;
    return 0;
fail:
    gv_amf0_free(seq);
    return err;
}

void gv_amf0_free(gv_amf0_t *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++) {
        if (v->keys)
            free(v->keys[i]);
        gv_amf0_free(v->items[i]);
    }
    free(v->keys);
    free(v->key_lens);
    free(v->items);
    free(v->str);
    free(v);
}

const gv_amf0_t *gv_amf0_get(const gv_amf0_t *v, const char *key)
{
    if (!v || (v->type != GV_AMF0_OBJECT && v->type != GV_AMF0_ECMA_ARRAY) || !key)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < v->count; i++) {
        if (v->key_lens[i] == klen && memcmp(v->keys[i], key, klen) == 0)
            return v->items[i];
    }
    return NULL;
}

const gv_amf0_t *gv_amf0_at(const gv_amf0_t *v, size_t i)
{
    if (!v || i >= v->count)
        return NULL;
    return v->items[i];
}

const char *gv_amf0_str(const gv_amf0_t *v)
{
    if (!v || (v->type != GV_AMF0_STRING && v->type != GV_AMF0_LONG_STRING))
        return NULL;
    return v->str;
}

bool gv_amf0_num(const gv_amf0_t *v, double *out)
{
    if (!v || v->type != GV_AMF0_NUMBER)
        return false;
    *out = v->num;
    return true;
}

static void put_double(gv_bytes_t *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    gv_bytes_u32be(b, (uint32_t)(bits >> 32));
    gv_bytes_u32be(b, (uint32_t)bits);
}

void gv_amf0_put_number(gv_bytes_t *b, double v)
{
    gv_bytes_u8(b, GV_AMF0_NUMBER);
    put_double(b, v);
}

void gv_amf0_put_bool(gv_bytes_t *b, bool v)
{
    gv_bytes_u8(b, GV_AMF0_BOOLEAN);
    gv_bytes_u8(b, v ? 1 : 0);
}

void gv_amf0_put_string_n(gv_bytes_t *b, const char *s, size_t len)
{
    if (len > UINT32_MAX) {
        if (!b->err)
            b->err = GV_ETOOBIG;
        return;
    }
    if (len > 0xffff) {
        gv_bytes_u8(b, GV_AMF0_LONG_STRING);
        gv_bytes_u32be(b, (uint32_t)len);
    } else {
        gv_bytes_u8(b, GV_AMF0_STRING);
        gv_bytes_u16be(b, (uint16_t)len);
    }
    gv_bytes_put(b, s, len);
}

void gv_amf0_put_string(gv_bytes_t *b, const char *s)
{
    gv_amf0_put_string_n(b, s, strlen(s));
}

void gv_amf0_put_null(gv_bytes_t *b)
{
    gv_bytes_u8(b, GV_AMF0_NULL);
}

void gv_amf0_put_undefined(gv_bytes_t *b)
{
    gv_bytes_u8(b, GV_AMF0_UNDEFINED);
}

void gv_amf0_put_date(gv_bytes_t *b, double ms, int16_t tz)
{
    gv_bytes_u8(b, GV_AMF0_DATE);
    put_double(b, ms);
    gv_bytes_u16be(b, (uint16_t)tz);
}

void gv_amf0_put_object_begin(gv_bytes_t *b)
{
    gv_bytes_u8(b, GV_AMF0_OBJECT);
}

void gv_amf0_put_ecma_begin(gv_bytes_t *b, uint32_t count)
{
    gv_bytes_u8(b, GV_AMF0_ECMA_ARRAY);
    gv_bytes_u32be(b, count);
}

void gv_amf0_put_key_n(gv_bytes_t *b, const char *key, size_t len)
{
    if (len == 0 || len > 0xffff) { /* an empty key would read as the terminator */
        if (!b->err)
            b->err = GV_EINVAL;
        return;
    }
    gv_bytes_u16be(b, (uint16_t)len);
    gv_bytes_put(b, key, len);
}

void gv_amf0_put_key(gv_bytes_t *b, const char *key)
{
    gv_amf0_put_key_n(b, key, strlen(key));
}

void gv_amf0_put_object_end(gv_bytes_t *b)
{
    gv_bytes_u16be(b, 0);
    gv_bytes_u8(b, GV_AMF0_OBJECT_END);
}

void gv_amf0_put_strict_array_begin(gv_bytes_t *b, uint32_t count)
{
    gv_bytes_u8(b, GV_AMF0_STRICT_ARRAY);
    gv_bytes_u32be(b, count);
}

void gv_amf0_encode(gv_bytes_t *b, const gv_amf0_t *v)
{
    switch (v->type) {
    case GV_AMF0_NUMBER:
        gv_amf0_put_number(b, v->num);
        break;
    case GV_AMF0_BOOLEAN:
        gv_amf0_put_bool(b, v->boolean);
        break;
    case GV_AMF0_STRING:
    case GV_AMF0_LONG_STRING:
        gv_amf0_put_string_n(b, v->str, v->len);
        break;
    case GV_AMF0_NULL:
        gv_amf0_put_null(b);
        break;
    case GV_AMF0_UNDEFINED:
        gv_amf0_put_undefined(b);
        break;
    case GV_AMF0_DATE:
        gv_amf0_put_date(b, v->num, v->tz);
        break;
    case GV_AMF0_OBJECT:
    case GV_AMF0_ECMA_ARRAY:
        if (v->type == GV_AMF0_OBJECT)
            gv_amf0_put_object_begin(b);
        else
            gv_amf0_put_ecma_begin(b, (uint32_t)v->count);
        for (size_t i = 0; i < v->count; i++) {
            gv_amf0_put_key_n(b, v->keys[i], v->key_lens[i]);
            gv_amf0_encode(b, v->items[i]);
        }
        gv_amf0_put_object_end(b);
        break;
    case GV_AMF0_STRICT_ARRAY:
        gv_amf0_put_strict_array_begin(b, (uint32_t)v->count);
        for (size_t i = 0; i < v->count; i++)
            gv_amf0_encode(b, v->items[i]);
        break;
    case GV_AMF0_OBJECT_END:
        gv_amf0_put_object_end(b);
        break;
    }
}
