/* FLV tag bodies (as carried in RTMP audio/video messages) to media units: legacy AVC video,
 * Enhanced RTMP video (hvc1, avc1), and AAC audio. Also the 32-bit millisecond clock unwrapper
 * that turns RTMP timestamps into monotonic 90 kHz ticks. Pure functions over buffers. */
#ifndef GV_FLV_H
#define GV_FLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/media.h"

/* Unwraps a 32-bit millisecond clock: each value is taken as the nearest (signed 32-bit
 * distance) to the previous one, so wraps and small backward steps both come out right. */
typedef struct {
    bool started;
    uint32_t prev;
    int64_t value;
} gv_ts_unwrap_t;

int64_t gv_ts_unwrap(gv_ts_unwrap_t *u, uint32_t ms);

/* Per-publish FLV parsing state. Zero-initialise with gv_flv_init, free with gv_flv_reset. */
typedef struct {
    gv_codec_config_t *video_cfg; /* current avcC / hvcC (lengths rewritten to 4 bytes) */
    int nal_len_size;             /* NAL length size the sender uses (1, 2 or 4) */
    gv_codec_config_t *audio_cfg; /* current AudioSpecificConfig */
    gv_ts_unwrap_t clock;         /* one clock for both tracks keeps them aligned across wraps */
    int64_t last_dts[GV_TRACK_COUNT];
    bool have_dts[GV_TRACK_COUNT];
    uint64_t dropped;       /* frames dropped because no sequence header came first */
    bool video_cfg_changed; /* set when a tag installed a new config (caller clears) */
    bool audio_cfg_changed;
} gv_flv_t;

void gv_flv_init(gv_flv_t *f);
void gv_flv_reset(gv_flv_t *f);

/* Parses a video tag body with RTMP timestamp ts_ms. On success returns 0 and sets *out to a
 * new unit (the caller owns it) or NULL when the tag carried none (sequence header, end of
 * sequence, metadata, command frame, frame before any sequence header). Errors: GV_ETRUNC
 * (body ends early), GV_EPROTO (malformed), GV_EUNSUPP (codec or packet type gavel does not
 * take, e.g. av01, vp09, multitrack), GV_ENOMEM. */
int gv_flv_video(gv_flv_t *f, uint32_t ts_ms, const uint8_t *p, size_t n, gv_unit_t **out);
/* Same for an audio tag body (AAC only). */
int gv_flv_audio(gv_flv_t *f, uint32_t ts_ms, const uint8_t *p, size_t n, gv_unit_t **out);

#endif
