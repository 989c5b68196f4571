/* The packager's public interface: turns media units into CMAF (fMP4) init segments, parts and
 * segments, keeps a sliding window of them in memory, renders LL-HLS playlists, and lets the
 * HTTP origin look resources up and wait for future ones. One gv_pkg_t per stream.
 *
 * Thread safety: media-side calls come from one thread at a time (whichever delivers media);
 * origin-side calls may come from another thread. All take the packager's internal lock. The
 * notify callback runs after a part/segment is published or the state changes, without the
 * lock held, on the media thread. The origin also exports gv_origin_* from origin.h. */
#ifndef GV_PACKAGER_H
#define GV_PACKAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/blob.h"
#include "core/media.h"

typedef struct gv_pkg gv_pkg_t;

typedef struct {
    int part_target_ms;    /* e.g. 200 */
    int segment_target_ms; /* e.g. 2000 */
    int window_segments;   /* complete segments listed in the playlist, e.g. 7 */
} gv_pkg_opts_t;

typedef void (*gv_pkg_notify_fn)(void *ud);

gv_pkg_t *gv_pkg_create(const char *name, const gv_pkg_opts_t *opts);
void gv_pkg_destroy(gv_pkg_t *pkg);
void gv_pkg_set_notify(gv_pkg_t *pkg, gv_pkg_notify_fn fn, void *ud);

/* ---- media side ---- */
/* A new publisher starts: the next segment begins with EXT-X-DISCONTINUITY (unless it is the
 * very first) and a new init segment (EXT-X-MAP). Media before the first video keyframe of the
 * publish is dropped. */
void gv_pkg_publish_begin(gv_pkg_t *pkg);
/* Adds one unit. The packager takes its own reference if it keeps the unit. Returns 0 or a
 * GV_E* code (unit dropped, packager still usable). */
int gv_pkg_push(gv_pkg_t *pkg, gv_unit_t *u);
/* The publisher went away: the open part and segment are closed and published as they are. */
void gv_pkg_publish_end(gv_pkg_t *pkg);
/* Shutdown: closes what is open and marks the playlist ended (EXT-X-ENDLIST). */
void gv_pkg_finish(gv_pkg_t *pkg);

/* ---- origin side ---- */
typedef enum {
    GV_SKIP_NONE = 0,
    GV_SKIP_YES, /* _HLS_skip=YES */
    GV_SKIP_V2,  /* _HLS_skip=v2 */
} gv_skip_t;

typedef struct {
    bool has_segment;     /* at least one complete segment exists (playlists may be served) */
    bool ended;           /* EXT-X-ENDLIST written */
    int64_t last_msn;     /* MSN of the last complete segment (-1 if none) */
    int target_duration_s;/* EXT-X-TARGETDURATION */
    int part_target_ms;
} gv_pkg_state_t;

void gv_pkg_state(gv_pkg_t *pkg, gv_pkg_state_t *out);

/* Blocking-reload check for _HLS_msn=msn[&_HLS_part=part] (part < 0: not given).
 * Returns 1 when the playlist already contains it, 0 when the request should wait,
 * GV_EINVAL when the request must get 400 (msn beyond last MSN + 2, or part beyond the advance
 * limit). */
int gv_pkg_block_ready(gv_pkg_t *pkg, int64_t msn, int64_t part);

/* Renders the media playlist (skip per delta-update request). *out is malloc'd text. */
int gv_pkg_render_media(gv_pkg_t *pkg, gv_skip_t skip, char **out, size_t *len);
/* Renders the multivariant playlist naming media_uri (e.g. "media.m3u8"). */
int gv_pkg_render_multivariant(gv_pkg_t *pkg, const char *media_uri, char **out, size_t *len);

/* A resource found by file name: its bytes are blobs[0..n) concatenated. */
typedef struct {
    gv_blob_t **blobs; /* malloc'd array of owned references */
    size_t n;
    size_t total;
    const char *content_type; /* "video/mp4" or "video/iso.segment" */
} gv_pkg_resource_t;

/* Looks up an init segment, part or segment by its file name (the last path component as it
 * appears in the playlist). Returns 0 and fills res; GV_EAGAIN when the name is a part or
 * segment that is hinted / not complete yet but will be (wait for notify and retry);
 * GV_ENOENT when unknown or expired. */
int gv_pkg_get(gv_pkg_t *pkg, const char *file, gv_pkg_resource_t *res);
void gv_pkg_resource_release(gv_pkg_resource_t *res);

/* Latency samples for observability: time from arrival of a part's last unit to the part being
 * listed, in microseconds (ring of recent values). Returns how many were copied. */
size_t gv_pkg_list_latency_samples(gv_pkg_t *pkg, int64_t *out, size_t max);

/* ---- timed metadata ----
 * An EXT-X-DATERANGE aligned with a frame of the packager's output: start_pts is that frame's
 * pts (GV_TIME_BASE ticks, the same timeline as the units pushed); the packager derives
 * START-DATE from the PROGRAM-DATE-TIME of the segment holding that frame, so players line the
 * range up with the picture. attrs holds extra pre-rendered attributes, e.g.
 * `X-LOT-ID="42",X-STATE="sold"` (quoted strings escaped by the caller). Returns 0 or GV_E*. */
typedef struct {
    char id[96];
    char klass[64];      /* CLASS attribute, e.g. "com.gavel.lot" */
    int64_t start_pts;
    double duration_s;   /* < 0: not set */
    char attrs[512];
} gv_daterange_t;
int gv_pkg_add_daterange(gv_pkg_t *pkg, const gv_daterange_t *dr);

/* ---- HTTP origin (packager/origin*.c) ----
 * Serves every stream's playlists and media from memory on the shared libevent loop:
 * /live/<name>/index.m3u8 (multivariant), /live/<name>/media.m3u8 (media, blocking reload and
 * delta updates), /live/<name>/<file> (init, parts, segments; hinted parts block),
 * /watch/<name> (player page), /assets/hls.min.js, /healthz, /metrics. */
struct event_base;
struct gv_config;
struct gv_registry;
typedef struct gv_origin gv_origin_t;

/* cfg: const gv_config_t *, registry: gv_registry_t * (core/config.h, core/stream.h). */
gv_origin_t *gv_origin_create(struct event_base *base, const struct gv_config *cfg,
                              struct gv_registry *registry);
int gv_origin_port(const gv_origin_t *o);
/* Wakes every parked request (used after gv_registry_finish_all at shutdown). */
void gv_origin_wake_all(gv_origin_t *o);
/* Another part of the program (the SRT listener, say) appends its own Prometheus families to
 * /metrics: fn renders into buf like snprintf (returns the length it needs; the origin retries
 * with a larger buffer once when that exceeds cap). Called on the HTTP thread, so fn must be
 * thread-safe with respect to its own data. At most GV_ORIGIN_MAX_METRICS_FNS sources. */
#define GV_ORIGIN_MAX_METRICS_FNS 4
typedef size_t (*gv_origin_metrics_fn)(void *arg, char *buf, size_t cap);
int gv_origin_add_metrics(gv_origin_t *o, gv_origin_metrics_fn fn, void *arg);
void gv_origin_destroy(gv_origin_t *o);

#endif /* GV_PACKAGER_H */
