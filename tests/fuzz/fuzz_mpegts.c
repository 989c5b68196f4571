/* libFuzzer target for the MPEG-TS input path: any bytes through libavformat's demuxer and
 * gavel's PES handling (Annex B split, avcC/hvcC building, ADTS). Every emitted unit must follow
 * core/media.h: a config of the unit's codec, length-prefixed NAL units that fill the payload,
 * dts strictly increasing per track, pts >= dts. */
#include <libavutil/log.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/log.h"
#include "ingest/mpegts.h"

typedef struct {
    int64_t last[GV_TRACK_COUNT];
    int have[GV_TRACK_COUNT];
} state_t;

static int check_unit(void *opaque, gv_unit_t *u)
{
    state_t *s = opaque;
    if (u->track < 0 || u->track >= GV_TRACK_COUNT || !u->config || u->config->codec != u->codec)
        abort();
    if (s->have[u->track] && u->dts <= s->last[u->track])
        abort();
    if (u->pts < u->dts)
        abort();
    s->have[u->track] = 1;
    s->last[u->track] = u->dts;
    if (u->track == GV_TRACK_VIDEO) {
        size_t pos = 0;
        while (pos < u->size) {
            if (u->size - pos < 4)
                abort();
            uint32_t l = (uint32_t)u->data[pos] << 24 | (uint32_t)u->data[pos + 1] << 16 |
                         (uint32_t)u->data[pos + 2] << 8 | u->data[pos + 3];
            if (l == 0 || l > u->size - pos - 4)
                abort();
            pos += 4 + l;
        }
    } else if (u->size == 0 || u->config->size != 2) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        once = 1;
        av_log_set_level(AV_LOG_QUIET);
        gv_log_set_level(GV_LOG_ERROR);
    }
    state_t s = {{0}, {0}};
    gv_mpegts_demux_buffer(data, size, check_unit, &s, NULL);
    return 0;
}
