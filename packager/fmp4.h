/* Packager-internal: a small CMAF/fMP4 box writer. Writes the init segment (ftyp+moov with one
 * trak per track and mvex/trex) and media fragments (moof+mdat, one traf per track with
 * tfhd/tfdt/trun). Pure functions: inputs in, one blob out; no I/O, no global state. */
#ifndef GV_FMP4_H
#define GV_FMP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/blob.h"
#include "core/media.h"

typedef struct {
    uint32_t track_id;          /* 1-based, unique */
    uint32_t timescale;         /* video: 90000; audio: the sample rate */
    const gv_codec_config_t *config; /* avcC / hvcC / AudioSpecificConfig */
    int width, height;          /* video: coded display size (tkhd and sample entry) */
    int sample_rate, channels;  /* audio */
} gv_fmp4_track_t;

typedef struct {
    const uint8_t *data;        /* sample bytes (video: 4-byte length-prefixed NALUs) */
    uint32_t size;
    uint32_t duration;          /* in the track's timescale */
    int32_t cts;                /* pts - dts in the track's timescale (signed, trun version 1) */
    bool keyframe;              /* sync sample */
} gv_fmp4_sample_t;

typedef struct {
    uint32_t track_id;
    uint64_t base_dts;          /* tfdt baseMediaDecodeTime, track timescale */
    const gv_fmp4_sample_t *samples;
    size_t n;
} gv_fmp4_run_t;

/* ftyp (major 'iso6', compatible cmfc/iso6/mp41/...) + moov. Returns 0 or GV_E*. */
int gv_fmp4_write_init(const gv_fmp4_track_t *tracks, size_t n_tracks, gv_blob_t **out);

/* moof (mfhd sequence, one traf per non-empty run) + one mdat with every run's samples in
 * order. Each trun carries per-sample duration, size, flags and composition offset. */
int gv_fmp4_write_fragment(uint32_t sequence, const gv_fmp4_run_t *runs, size_t n_runs,
                           gv_blob_t **out);

#endif
