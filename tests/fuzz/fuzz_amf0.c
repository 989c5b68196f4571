/* libFuzzer target: the AMF0 decoder on arbitrary bytes (single value and whole sequence), and
 * re-encoding whatever decodes, which must decode again to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/amf0.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gv_amf0_t *v = NULL;
    size_t used = 0;
    if (gv_amf0_decode(data, size, &used, &v) == 0) {
        if (used > size)
            abort();
        gv_amf0_free(v);
    }
    if (gv_amf0_decode_seq(data, size, 64, &v) == 0) {
        gv_bytes_t b;
        gv_bytes_init(&b, 0);
        for (size_t i = 0; i < v->count; i++)
            gv_amf0_encode(&b, v->items[i]);
        gv_amf0_t *again = NULL;
        if (b.err == 0 && gv_amf0_decode_seq(b.data, b.len, 64, &again) == 0) {
            gv_bytes_t b2;
            gv_bytes_init(&b2, 0);
            for (size_t i = 0; i < again->count; i++)
                gv_amf0_encode(&b2, again->items[i]);
            if (b2.len != b.len || (b.len && memcmp(b2.data, b.data, b.len) != 0))
                abort();
            gv_bytes_free(&b2);
            gv_amf0_free(again);
        }
        gv_bytes_free(&b);
        gv_amf0_free(v);
    }
    return 0;
}
