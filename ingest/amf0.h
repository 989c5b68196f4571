/* AMF0 (Action Message Format 0) values: a bounded decoder from untrusted buffers into a small
 * value tree, lookup helpers, and an encoder (streaming writes onto a gv_bytes_t) for the
 * replies gavel sends. RTMP command and data messages are sequences of AMF0 values. */
#ifndef GV_AMF0_H
#define GV_AMF0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/bytes.h"

typedef enum {
    GV_AMF0_NUMBER = 0x00,
    GV_AMF0_BOOLEAN = 0x01,
    GV_AMF0_STRING = 0x02,
    GV_AMF0_OBJECT = 0x03,
    GV_AMF0_NULL = 0x05,
    GV_AMF0_UNDEFINED = 0x06,
    GV_AMF0_ECMA_ARRAY = 0x08,
    GV_AMF0_OBJECT_END = 0x09,
    GV_AMF0_STRICT_ARRAY = 0x0a,
    GV_AMF0_DATE = 0x0b,
    GV_AMF0_LONG_STRING = 0x0c,
} gv_amf0_type_t;

/* Limits that bound the work and memory of one decode call (a value or a whole sequence). */
#define GV_AMF0_MAX_DEPTH 32
#define GV_AMF0_MAX_NODES 8192

typedef struct gv_amf0 gv_amf0_t;
struct gv_amf0 {
    gv_amf0_type_t type;
    double num;        /* NUMBER; DATE: milliseconds since the epoch */
    int16_t tz;        /* DATE: time-zone field (unused by senders, kept for round trips) */
    bool boolean;      /* BOOLEAN */
    char *str;         /* STRING / LONG_STRING: copy with a terminating NUL */
    size_t len;        /* string length in bytes (the string may hold NULs) */
    size_t count;      /* OBJECT / ECMA_ARRAY / STRICT_ARRAY: number of entries */
    char **keys;       /* OBJECT / ECMA_ARRAY: property names (NUL-terminated copies) */
    size_t *key_lens;  /* their lengths */
    gv_amf0_t **items; /* entry values */
};

/* Decodes one value from buf. On success *out is a new tree and *used the bytes consumed.
 * Returns GV_ETRUNC when buf ends inside the value, GV_EPROTO for malformed input (bad marker,
 * stray object end, depth or node limit), GV_EUNSUPP for AMF0 types gavel does not accept
 * (reference, typed object, AMF3 switch), GV_ENOMEM. */
int gv_amf0_decode(const uint8_t *buf, size_t len, size_t *used, gv_amf0_t **out);
/* Decodes every value in buf (a command/data message body) into a STRICT_ARRAY holding them,
 * at most max_values of them. The node limit applies to the whole sequence. */
int gv_amf0_decode_seq(const uint8_t *buf, size_t len, size_t max_values, gv_amf0_t **out);
void gv_amf0_free(gv_amf0_t *v);

/* Property of an OBJECT or ECMA_ARRAY by name; NULL when absent or v is not such a value. */
const gv_amf0_t *gv_amf0_get(const gv_amf0_t *v, const char *key);
/* Entry i of a container (STRICT_ARRAY, OBJECT, ECMA_ARRAY); NULL when out of range. */
const gv_amf0_t *gv_amf0_at(const gv_amf0_t *v, size_t i);
/* The string of a STRING/LONG_STRING value, else NULL. */
const char *gv_amf0_str(const gv_amf0_t *v);
/* The number of a NUMBER value into *out; false when v is not a number. */
bool gv_amf0_num(const gv_amf0_t *v, double *out);

/* Encoder: each call appends one item; errors are sticky in b->err. */
void gv_amf0_put_number(gv_bytes_t *b, double v);
void gv_amf0_put_bool(gv_bytes_t *b, bool v);
/* A STRING, or a LONG_STRING when len > 65535. */
void gv_amf0_put_string_n(gv_bytes_t *b, const char *s, size_t len);
void gv_amf0_put_string(gv_bytes_t *b, const char *s);
void gv_amf0_put_null(gv_bytes_t *b);
void gv_amf0_put_undefined(gv_bytes_t *b);
void gv_amf0_put_date(gv_bytes_t *b, double ms, int16_t tz);
void gv_amf0_put_object_begin(gv_bytes_t *b);
void gv_amf0_put_ecma_begin(gv_bytes_t *b, uint32_t count);
/* A property name inside an object / ECMA array (keys are at most 65535 bytes). */
void gv_amf0_put_key(gv_bytes_t *b, const char *key);
void gv_amf0_put_key_n(gv_bytes_t *b, const char *key, size_t len);
/* Ends an object or ECMA array (empty key + object-end marker). */
void gv_amf0_put_object_end(gv_bytes_t *b);
/* A strict array header; the count values follow. */
void gv_amf0_put_strict_array_begin(gv_bytes_t *b, uint32_t count);
/* Encodes a decoded tree back to bytes. */
void gv_amf0_encode(gv_bytes_t *b, const gv_amf0_t *v);

#endif
