/* The media unit: one encoded access unit as it flows from ingest (RTMP, SRT) through the
 * optional overlay to the packager. Protocol-neutral by design: every stage sees the same shape.
 *
 * Conventions every producer must follow:
 *  - Timestamps are in GV_TIME_BASE (90 kHz) ticks, monotonic per track within one publish
 *    (producers unwrap 32-bit RTMP ms and 33-bit TS clocks).
 *  - Video payload (H.264/HEVC) is a sequence of NAL units each prefixed by a 4-byte big-endian
 *    length (the "AVCC/HVCC" layout, not Annex B). Parameter sets live in the config record.
 *  - Audio payload (AAC) is one raw AAC frame (no ADTS header).
 *  - The codec config (avcC / hvcC / AudioSpecificConfig) is a refcounted object shared by all
 *    units that use it; a new config object means the encoder changed parameters. */
#ifndef GV_MEDIA_H
#define GV_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GV_TIME_BASE 90000

typedef enum {
    GV_CODEC_NONE = 0,
    GV_CODEC_H264,
    GV_CODEC_HEVC,
    GV_CODEC_AAC,
} gv_codec_t;

typedef enum {
    GV_TRACK_VIDEO = 0,
    GV_TRACK_AUDIO = 1,
    GV_TRACK_COUNT = 2,
} gv_track_t;

/* Immutable, refcounted codec configuration record. */
typedef struct gv_codec_config {
    int refs;            /* atomic; use gv_codec_config_ref/unref */
    gv_codec_t codec;
    uint8_t *data;       /* avcC, hvcC or AudioSpecificConfig bytes */
    size_t size;
    /* Filled by the producer when known, else 0; the packager probes what is missing. */
    int width, height;
    int sample_rate, channels;
} gv_codec_config_t;

/* One encoded access unit, refcounted. */
typedef struct gv_unit {
    int refs;            /* atomic; use gv_unit_ref/unref */
    gv_track_t track;
    gv_codec_t codec;
    int64_t dts;         /* GV_TIME_BASE ticks */
    int64_t pts;         /* GV_TIME_BASE ticks, pts >= dts for sane streams */
    bool keyframe;       /* video: IDR/IRAP; audio: always true */
    int64_t arrival_us;  /* wall clock (CLOCK_REALTIME, us) when the unit's last byte arrived */
    uint8_t *data;
    size_t size;
    gv_codec_config_t *config; /* owned reference, never NULL for H264/HEVC/AAC */
} gv_unit_t;

/* Creates a config by copying data. Returns NULL on allocation failure. */
gv_codec_config_t *gv_codec_config_create(gv_codec_t codec, const uint8_t *data, size_t size);
gv_codec_config_t *gv_codec_config_ref(gv_codec_config_t *c);
void gv_codec_config_unref(gv_codec_config_t *c);
/* True when both describe the same codec with byte-identical records. */
bool gv_codec_config_equal(const gv_codec_config_t *a, const gv_codec_config_t *b);

/* Creates a unit with a copy of payload (size bytes) and a new reference to config. */
gv_unit_t *gv_unit_create(gv_track_t track, gv_codec_config_t *config, const uint8_t *payload,
                          size_t size);
gv_unit_t *gv_unit_ref(gv_unit_t *u);
void gv_unit_unref(gv_unit_t *u);

/* Wall clock now in microseconds (CLOCK_REALTIME) and a monotonic clock in microseconds. */
int64_t gv_now_us(void);
int64_t gv_mono_us(void);

const char *gv_codec_name(gv_codec_t c);

#endif
