/* ADTS header parsing for the MPEG-TS ingest, a pure function over buffers: AAC frames arrive
 * with ADTS headers in TS, while units carry raw frames and an AudioSpecificConfig. (Annex B
 * video is handled by core/annexb.h.) */
#ifndef GV_MPEGTS_ES_H
#define GV_MPEGTS_ES_H

#include <stddef.h>
#include <stdint.h>

/* One ADTS header. */
typedef struct {
    int aot;            /* audio object type (profile + 1), 1..4 */
    int sr_index;       /* sampling_frequency_index */
    int sample_rate;
    int channels;       /* channel_configuration 1..7 (7 means 8 channels) */
    int chan_config;
    size_t header_len;  /* 7, or 9 with CRC */
    size_t frame_len;   /* header + raw data */
    int raw_blocks;     /* number_of_raw_data_blocks_in_frame + 1 */
} gv_adts_t;

/* Parses the ADTS header at p. GV_ETRUNC when n is shorter than the header, GV_EPROTO for a bad
 * sync word, layer, sample-rate index or frame length, GV_EUNSUPP for a channel configuration
 * of 0 (layout in a PCE) or several raw blocks per frame. Does not require the whole frame. */
int gv_adts_parse(const uint8_t *p, size_t n, gv_adts_t *h);
/* The 2-byte AudioSpecificConfig matching h. */
void gv_adts_asc(const gv_adts_t *h, uint8_t asc[2]);

#endif
