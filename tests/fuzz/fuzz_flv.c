/* libFuzzer target: FLV tag parsing with state. The input is a series of records
 * [kind:1][length:2][body], kind bit 0 choosing audio or video, so sequence headers and the
 * frames after them are both reached. */
#include <stdint.h>
#include <stdlib.h>

#include "ingest/flv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gv_flv_t f;
    gv_flv_init(&f);
    size_t pos = 0;
    uint32_t ts = 0;
    while (size - pos >= 3) {
        uint8_t kind = data[pos];
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        ts += (uint32_t)kind * 0x01010101u;
        gv_unit_t *u = NULL;
        int rc = (kind & 1) ? gv_flv_audio(&f, ts, data + pos, len, &u)
                            : gv_flv_video(&f, ts, data + pos, len, &u);
        if (u) {
            if (rc != 0 || !u->config || u->size == 0)
                abort();
            /* Video must come out as 4-byte length-prefixed NAL units filling the payload. */
            if (u->track == GV_TRACK_VIDEO) {
                size_t p = 0;
                while (p < u->size) {
                    if (u->size - p < 4)
                        abort();
                    size_t n = (size_t)u->data[p] << 24 | (size_t)u->data[p + 1] << 16 |
                               (size_t)u->data[p + 2] << 8 | u->data[p + 3];
                    if (n == 0 || n > u->size - p - 4)
                        abort();
                    p += 4 + n;
                }
            }
            gv_unit_unref(u);
        }
        pos += len;
    }
    gv_flv_reset(&f);
    return 0;
}
