/* MPEG-TS to media units: libavformat's mpegts demuxer reads a TS byte stream through a custom
 * AVIOContext, and gavel turns its PES payloads into gv_unit_t exactly as core/media.h asks
 * (90 kHz monotonic timestamps, length-prefixed NAL units with avcC/hvcC configs, raw AAC with
 * an AudioSpecificConfig). H.264, HEVC and AAC (ADTS) are taken; other streams are ignored. */
#ifndef GV_MPEGTS_H
#define GV_MPEGTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/media.h"

/* Supplies input bytes: returns how many were written to buf (1..size), 0 at the end of the
 * input, or a negative GV_E* code. May block. *arrival_us (preset to the previous value) may be
 * updated with the wall-clock time the returned bytes arrived. */
typedef int (*gv_mpegts_read_fn)(void *opaque, uint8_t *buf, int size, int64_t *arrival_us);
/* Receives one unit (borrowed: take a reference to keep it). A negative return stops the run. */
typedef int (*gv_mpegts_emit_fn)(void *opaque, gv_unit_t *u);

typedef struct {
    uint64_t bytes_in;
    uint64_t units[GV_TRACK_COUNT];     /* units emitted */
    uint64_t dropped_before_key;        /* units dropped while waiting for the first keyframe */
    uint64_t dropped_bad;               /* malformed PES payloads / frames dropped */
    uint64_t dropped_nonmonotonic;      /* units whose dts went backwards a little */
    uint64_t discontinuities;           /* timestamp jumps closed up */
    uint64_t config_changes;            /* new codec config records installed */
} gv_mpegts_stats_t;

typedef struct gv_mpegts gv_mpegts_t;

/* ctx names the source in logs (a peer address, never a key). Returns NULL on allocation
 * failure. Nothing is read until gv_mpegts_run. */
gv_mpegts_t *gv_mpegts_create(const char *ctx, gv_mpegts_read_fn rd, gv_mpegts_emit_fn emit,
                              void *opaque);
/* Demuxes until the input ends (returns 0), emit asks to stop (returns its code) or the input
 * is not MPEG-TS at all (GV_EPROTO). Call once. */
int gv_mpegts_run(gv_mpegts_t *m);
/* When set, units completed only by the end of the input (a PES cut short when the publisher
 * vanished) are dropped instead of emitted. Default off. */
void gv_mpegts_set_drop_tail(gv_mpegts_t *m, int drop);
void gv_mpegts_get_stats(const gv_mpegts_t *m, gv_mpegts_stats_t *out);
void gv_mpegts_destroy(gv_mpegts_t *m);

/* Pure entry point (tests, fuzzing): demuxes a whole TS buffer, calling emit per unit. Returns
 * what gv_mpegts_run returns; stats may be NULL. */
int gv_mpegts_demux_buffer(const uint8_t *p, size_t n, gv_mpegts_emit_fn emit, void *opaque,
                           gv_mpegts_stats_t *stats);

/* 33-bit 90 kHz clock unwrapper: each raw value is placed nearest to the previous one. */
typedef struct {
    int started;
    uint64_t prev;
    int64_t value;
} gv_ts33_unwrap_t;

int64_t gv_ts33_unwrap(gv_ts33_unwrap_t *u, uint64_t raw);

#endif
