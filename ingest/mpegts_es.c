/* ADTS header parsing (see mpegts_es.h). */
#include "ingest/mpegts_es.h"

#include <stdbool.h>
#include <string.h>

#include "core/error.h"

static const int adts_rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                   22050, 16000, 12000, 11025, 8000,  7350};

int gv_adts_parse(const uint8_t *p, size_t n, gv_adts_t *h)
{
    if (!p || !h)
        return GV_EINVAL;
    memset(h, 0, sizeof(*h));
    if (n < 7)
        return GV_ETRUNC;
    if (p[0] != 0xff || (p[1] & 0xf6) != 0xf0) /* sync, layer 0 (MPEG-2/4 flag is free) */
        return GV_EPROTO;
    bool crc = !(p[1] & 1);
    h->header_len = crc ? 9 : 7;
    h->aot = (p[2] >> 6) + 1;
    h->sr_index = (p[2] >> 2) & 0x0f;
    h->chan_config = ((p[2] & 1) << 2) | (p[3] >> 6);
    h->frame_len = ((size_t)(p[3] & 3) << 11) | ((size_t)p[4] << 3) | (p[5] >> 5);
    h->raw_blocks = (p[6] & 3) + 1;
    if (h->sr_index >= 13 || h->frame_len < h->header_len)
        return GV_EPROTO;
    h->sample_rate = adts_rates[h->sr_index];
    h->channels = h->chan_config == 7 ? 8 : h->chan_config;
    if (n < h->header_len)
        return GV_ETRUNC;
    if (h->chan_config == 0 || h->raw_blocks != 1)
        return GV_EUNSUPP;
    return 0;
}

void gv_adts_asc(const gv_adts_t *h, uint8_t asc[2])
{
    asc[0] = (uint8_t)((h->aot << 3) | (h->sr_index >> 1));
    asc[1] = (uint8_t)(((h->sr_index & 1) << 7) | (h->chan_config << 3));
}
