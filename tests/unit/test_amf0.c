/* Unit tests for the AMF0 codec: round trips of every supported type (encode with the streaming
 * writer, decode, re-encode the tree, compare bytes), lookups, and malformed input: truncation
 * at every offset, bad markers, stray object ends, depth and count limits. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ingest/amf0.h"
#include "testlib.h"

/* A connect-like command using every type the decoder accepts. */
static void build_sample(gv_bytes_t *b)
{
    gv_amf0_put_string(b, "connect");
    gv_amf0_put_number(b, 1);
    gv_amf0_put_object_begin(b);
    gv_amf0_put_key(b, "app");
    gv_amf0_put_string(b, "live");
    gv_amf0_put_key(b, "fpad");
    gv_amf0_put_bool(b, false);
    gv_amf0_put_key(b, "audioCodecs");
    gv_amf0_put_number(b, 3575.5);
    gv_amf0_put_key(b, "nothing");
    gv_amf0_put_null(b);
    gv_amf0_put_key(b, "undef");
    gv_amf0_put_undefined(b);
    gv_amf0_put_key(b, "when");
    gv_amf0_put_date(b, 1700000000000.0, -60);
    gv_amf0_put_key(b, "nested");
    gv_amf0_put_ecma_begin(b, 2);
    gv_amf0_put_key(b, "width");
    gv_amf0_put_number(b, 1280);
    gv_amf0_put_key(b, "list");
    gv_amf0_put_strict_array_begin(b, 3);
    gv_amf0_put_number(b, -1);
    gv_amf0_put_string(b, "");
    gv_amf0_put_bool(b, true);
    gv_amf0_put_object_end(b);
    gv_amf0_put_object_end(b);
    gv_amf0_put_null(b);
}

static void test_round_trip(void)
{
    gv_bytes_t b, again;
    gv_bytes_init(&b, 0);
    gv_bytes_init(&again, 0);
    build_sample(&b);
    GV_CHECK_INT(b.err, 0);
    gv_amf0_t *seq = NULL;
    GV_CHECK_INT(gv_amf0_decode_seq(b.data, b.len, 16, &seq), 0);
    if (!seq)
        goto out;
    GV_CHECK_INT(seq->count, 4);
    GV_CHECK_STR(gv_amf0_str(gv_amf0_at(seq, 0)), "connect");
    double d = 0;
    GV_CHECK(gv_amf0_num(gv_amf0_at(seq, 1), &d) && d == 1);
    const gv_amf0_t *obj = gv_amf0_at(seq, 2);
    GV_CHECK_STR(gv_amf0_str(gv_amf0_get(obj, "app")), "live");
    GV_CHECK(gv_amf0_get(obj, "fpad")->type == GV_AMF0_BOOLEAN);
    GV_CHECK(gv_amf0_num(gv_amf0_get(obj, "audioCodecs"), &d) && d == 3575.5);
    GV_CHECK(gv_amf0_get(obj, "nothing")->type == GV_AMF0_NULL);
    GV_CHECK(gv_amf0_get(obj, "undef")->type == GV_AMF0_UNDEFINED);
    const gv_amf0_t *when = gv_amf0_get(obj, "when");
    GV_CHECK(when->type == GV_AMF0_DATE && when->num == 1700000000000.0 && when->tz == -60);
    const gv_amf0_t *nested = gv_amf0_get(obj, "nested");
    GV_CHECK(nested->type == GV_AMF0_ECMA_ARRAY);
    GV_CHECK(gv_amf0_num(gv_amf0_get(nested, "width"), &d) && d == 1280);
    const gv_amf0_t *list = gv_amf0_get(nested, "list");
    GV_CHECK(list->type == GV_AMF0_STRICT_ARRAY && list->count == 3);
    GV_CHECK_STR(gv_amf0_str(gv_amf0_at(list, 1)), "");
    GV_CHECK(gv_amf0_get(obj, "missing") == NULL);
    GV_CHECK(gv_amf0_get(list, "x") == NULL);
    GV_CHECK(gv_amf0_at(seq, 4) == NULL);
    GV_CHECK(gv_amf0_at(seq, 3)->type == GV_AMF0_NULL);

    for (size_t i = 0; i < seq->count; i++)
        gv_amf0_encode(&again, seq->items[i]);
    GV_CHECK_INT(again.len, b.len);
    GV_CHECK(again.len == b.len && memcmp(again.data, b.data, b.len) == 0);
    gv_amf0_free(seq);

    /* Single-value decode reports how much it used. */
    gv_amf0_t *v = NULL;
    size_t used = 0;
    GV_CHECK_INT(gv_amf0_decode(b.data, b.len, &used, &v), 0);
    GV_CHECK_INT(used, 1 + 2 + 7);
    gv_amf0_free(v);
out:
    gv_bytes_free(&b);
    gv_bytes_free(&again);
}

static void test_long_string(void)
{
    size_t n = 70000;
    char *s = malloc(n + 1);
    memset(s, 'x', n);
    s[n] = '\0';
    s[5] = '\0'; /* embedded NUL survives: lengths are explicit */
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    gv_amf0_put_string_n(&b, s, n);
    GV_CHECK_INT(b.data[0], GV_AMF0_LONG_STRING);
    gv_amf0_t *v = NULL;
    size_t used = 0;
    GV_CHECK_INT(gv_amf0_decode(b.data, b.len, &used, &v), 0);
    GV_CHECK(v && v->type == GV_AMF0_LONG_STRING && v->len == n && memcmp(v->str, s, n) == 0);
    GV_CHECK_INT(used, b.len);
    gv_amf0_free(v);
    gv_bytes_free(&b);
    free(s);
}

static void test_truncation_every_offset(void)
{
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    build_sample(&b);
    /* Value boundaries: "connect" ends at 10, the number at 19, the object at whole. A
     * sequence cut anywhere else must report truncation. */
    size_t whole = b.len - 1;
    for (size_t cut = 0; cut < whole; cut++) {
        gv_amf0_t *v = NULL;
        size_t used = 0;
        int rc = gv_amf0_decode(b.data, cut, &used, &v);
        int rc2 = 0;
        if (rc == 0) { /* a prefix may hold complete leading values; the sequence cannot */
            gv_amf0_free(v);
            gv_amf0_t *seq = NULL;
            rc2 = gv_amf0_decode_seq(b.data, cut, 16, &seq);
            gv_amf0_free(seq);
            if (cut == 10 || cut == 19)
                GV_CHECK_INT(rc2, 0);
            else
                GV_CHECK_INT(rc2, GV_ETRUNC);
        } else {
            GV_CHECK_INT(rc, GV_ETRUNC);
        }
        GV_CHECK(rc == 0 || v == NULL);
    }
    gv_bytes_free(&b);
}

static void test_malformed(void)
{
    gv_amf0_t *v = NULL;
    size_t used;
    const uint8_t stray_end[] = {0x09};
    GV_CHECK_INT(gv_amf0_decode(stray_end, 1, &used, &v), GV_EPROTO);
    const uint8_t unknown[] = {0x42};
    GV_CHECK_INT(gv_amf0_decode(unknown, 1, &used, &v), GV_EPROTO);
    const uint8_t reference[] = {0x07, 0x00, 0x01};
    GV_CHECK_INT(gv_amf0_decode(reference, 3, &used, &v), GV_EUNSUPP);
    const uint8_t amf3[] = {0x11, 0x01};
    GV_CHECK_INT(gv_amf0_decode(amf3, 2, &used, &v), GV_EUNSUPP);
    /* Empty key not followed by the end marker. */
    const uint8_t bad_end[] = {0x03, 0x00, 0x00, 0x05};
    GV_CHECK_INT(gv_amf0_decode(bad_end, sizeof(bad_end), &used, &v), GV_EPROTO);
    /* String longer than the buffer. */
    const uint8_t long_str[] = {0x02, 0xff, 0xff, 'a'};
    GV_CHECK_INT(gv_amf0_decode(long_str, sizeof(long_str), &used, &v), GV_ETRUNC);
    /* Strict array announcing 2^32-1 entries must not allocate for them. */
    const uint8_t huge_arr[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x05};
    GV_CHECK_INT(gv_amf0_decode(huge_arr, sizeof(huge_arr), &used, &v), GV_ETRUNC);
    /* Depth bomb: nested strict arrays of one element. */
    uint8_t deep[5 * 100 + 1];
    for (int i = 0; i < 100; i++) {
        deep[i * 5] = 0x0a;
        deep[i * 5 + 1] = deep[i * 5 + 2] = deep[i * 5 + 3] = 0;
        deep[i * 5 + 4] = 1;
    }
    deep[500] = 0x05;
    GV_CHECK_INT(gv_amf0_decode(deep, sizeof(deep), &used, &v), GV_EPROTO);
    /* Node budget: many nulls in one sequence. */
    size_t n = GV_AMF0_MAX_NODES + 10;
    uint8_t *nulls = malloc(n);
    memset(nulls, 0x05, n);
    GV_CHECK_INT(gv_amf0_decode_seq(nulls, n, n, &v), GV_EPROTO);
    GV_CHECK_INT(gv_amf0_decode_seq(nulls, 10, 5, &v), GV_ETOOBIG);
    GV_CHECK_INT(gv_amf0_decode_seq(nulls, 10, 10, &v), 0);
    GV_CHECK(v && v->count == 10);
    gv_amf0_free(v);
    free(nulls);
}

static void test_ecma_without_terminator(void)
{
    /* Some encoders end an ECMA array at the end of the message without 00 00 09. */
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    gv_amf0_put_ecma_begin(&b, 1);
    gv_amf0_put_key(&b, "duration");
    gv_amf0_put_number(&b, 0);
    gv_amf0_t *v = NULL;
    size_t used = 0;
    GV_CHECK_INT(gv_amf0_decode(b.data, b.len, &used, &v), 0);
    GV_CHECK(v && v->count == 1);
    gv_amf0_free(v);
    /* ... but an object still needs it. */
    gv_bytes_reset(&b);
    gv_amf0_put_object_begin(&b);
    gv_amf0_put_key(&b, "duration");
    gv_amf0_put_number(&b, 0);
    GV_CHECK_INT(gv_amf0_decode(b.data, b.len, &used, &v), GV_ETRUNC);
    gv_bytes_free(&b);
}

static void test_encoder_errors(void)
{
    gv_bytes_t b;
    gv_bytes_init(&b, 8);
    gv_amf0_put_string(&b, "this is longer than eight bytes");
    GV_CHECK_INT(b.err, GV_ETOOBIG);
    gv_bytes_reset(&b);
    gv_amf0_put_key(&b, "");
    GV_CHECK_INT(b.err, GV_EINVAL);
    gv_bytes_free(&b);
}

GV_TEST_MAIN(GV_TEST(test_round_trip), GV_TEST(test_long_string),
             GV_TEST(test_truncation_every_offset), GV_TEST(test_malformed),
             GV_TEST(test_ecma_without_terminator), GV_TEST(test_encoder_errors))
