/* Packager-internal: LL-HLS playlist text from a plain description of the timeline. Pure
 * functions (no clock, no locks, no media), so every rule the playlists must meet can be unit
 * tested with hand-made descriptions. The packager builds the description under its lock. */
#ifndef GV_PLAYLIST_H
#define GV_PLAYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packager/packager.h"

typedef struct {
    const char *uri;
    int64_t duration; /* GV_TIME_BASE ticks */
    bool independent; /* starts with a sync frame */
} gv_pl_part_t;

typedef struct {
    const char *id;    /* ID (unique), written quoted */
    const char *klass; /* CLASS, "" to omit */
    const char *attrs; /* extra pre-rendered attributes (X-...), "" for none */
    int64_t start_ms;  /* START-DATE, Unix ms (UTC) */
    double duration_s; /* DURATION; < 0 to omit */
} gv_pl_daterange_t;

typedef struct {
    int64_t msn;
    const char *uri;     /* segment URI (unused while in progress) */
    const char *map_uri; /* init segment of this segment (EXT-X-MAP) */
    int64_t duration;    /* GV_TIME_BASE ticks, complete segments */
    int64_t pdt_ms;      /* EXT-X-PROGRAM-DATE-TIME, Unix ms (UTC) */
    bool discontinuity;  /* EXT-X-DISCONTINUITY before it */
    bool complete;       /* false: the in-progress segment (only parts are listed) */
    bool list_parts;     /* emit its EXT-X-PART lines (always done when in progress) */
    const gv_pl_part_t *parts;
    size_t n_parts;
    const gv_pl_daterange_t *dateranges; /* EXT-X-DATERANGE anchored in this segment */
    size_t n_dateranges;
} gv_pl_segment_t;

typedef struct {
    int target_duration_s;       /* EXT-X-TARGETDURATION */
    int part_target_ms;          /* EXT-X-PART-INF:PART-TARGET */
    int64_t discontinuity_seq;   /* EXT-X-DISCONTINUITY-SEQUENCE of the first listed segment */
    const gv_pl_segment_t *segs; /* in MSN order; only the last may be in progress */
    size_t n_segs;
    const char *preload_uri; /* EXT-X-PRELOAD-HINT part URI, NULL for none */
    bool ended;              /* EXT-X-ENDLIST (no preload hint is written then) */
    /* IDs of date ranges that left the playlist recently (v2 delta updates report them). */
    const char *const *removed_daterange_ids;
    size_t n_removed_dateranges;
} gv_pl_media_t;

/* Number of leading segments a delta update replaces with EXT-X-SKIP: complete segments that
 * end at least CAN-SKIP-UNTIL (6 target durations) before the end of the playlist. */
size_t gv_playlist_skippable(const gv_pl_media_t *m);

/* Renders the media playlist; skip selects a delta update. *out is malloc'd, NUL-terminated
 * text of *len bytes. 0, GV_EINVAL (no segments) or GV_ENOMEM. */
int gv_playlist_render_media(const gv_pl_media_t *m, gv_skip_t skip, char **out, size_t *len);

typedef struct {
    int64_t bandwidth;         /* BANDWIDTH, bits/s (peak) */
    int64_t average_bandwidth; /* AVERAGE-BANDWIDTH, bits/s; 0 to omit */
    const char *codecs;        /* "avc1.64001f,mp4a.40.2"; NULL to omit */
    int width, height;         /* RESOLUTION; 0 to omit */
    double frame_rate;         /* FRAME-RATE; <= 0 to omit */
    bool independent_segments; /* EXT-X-INDEPENDENT-SEGMENTS */
    const char *uri;           /* media playlist URI */
} gv_pl_variant_t;

int gv_playlist_render_multivariant(const gv_pl_variant_t *v, char **out, size_t *len);

/* Seconds with a fixed number of decimals from GV_TIME_BASE ticks (rounded), e.g. "0.20000". */
void gv_playlist_fmt_ticks(char *buf, size_t len, int64_t ticks, int decimals);

#endif
