/* The overlay stage's public interface: per-stream transcode workers that burn the auction
 * lot card into the picture (decode -> compose -> encode), and the control API that updates
 * the lot from the marketplace backend. Streams without an overlay never reach this code.
 *
 * Threads: gv_overlay_push is called on the ingest thread and only enqueues (bounded queue;
 * when full, the incoming unit and everything up to the next keyframe are dropped and counted,
 * so the decoder never sees a broken reference). Per stream, a decode thread decodes and
 * composes each picture, and an encode thread (fed through a queue of at most two pictures)
 * encodes it and calls gv_pkg_push with the re-encoded video and the untouched audio. Lot
 * updates arrive on the HTTP thread and apply to the first frame composed after. */
#ifndef GV_OVERLAY_H
#define GV_OVERLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/media.h"

struct gv_pkg;
struct gv_config;
struct gv_registry;
struct event_base;
struct evhttp_request;

typedef struct gv_overlay gv_overlay_t;

/* gv_overlay_config_t (per-stream settings) is declared in core/config.h. */

/* Starts the worker thread for one stream. Output goes to pkg. NULL on failure. */
gv_overlay_t *gv_overlay_create(const char *stream_name, const gv_overlay_config_t *cfg,
                                int segment_target_ms, struct gv_pkg *pkg);
/* Stops the threads (after draining what they have) and frees everything. */
void gv_overlay_destroy(gv_overlay_t *ov);

/* Ingest side (any thread): a new publish starts / the unit to compose / the publish ended. */
void gv_overlay_publish_begin(gv_overlay_t *ov);
int gv_overlay_push(gv_overlay_t *ov, gv_unit_t *u);
void gv_overlay_publish_end(gv_overlay_t *ov);

/* Control API: handles /api/v1/... requests on the origin's HTTP server. Returns true when
 * the request was an API request (and has been answered), false to let the origin route it. */
typedef struct gv_overlay_api gv_overlay_api_t;
gv_overlay_api_t *gv_overlay_api_create(const struct gv_config *cfg, struct gv_registry *reg);
bool gv_overlay_api_handle(gv_overlay_api_t *api, struct evhttp_request *req);
void gv_overlay_api_destroy(gv_overlay_api_t *api);

/* Worker counters for /metrics (and the control API's GET .../overlay). Cumulative since
 * gv_overlay_create; safe to call from any thread. */
typedef struct {
    uint64_t frames_in;       /* video units accepted into the queue */
    uint64_t frames_dropped;  /* video units dropped (queue full, or waiting for a keyframe) */
    uint64_t frames_decoded;
    uint64_t frames_out;      /* encoded video units handed to the packager */
    uint64_t audio_in, audio_dropped, audio_out;
    uint64_t decode_errors, encode_errors;
    uint64_t decode_us, compose_us, encode_us; /* total time spent in each stage */
    uint64_t encoder_opens;   /* times the encoder was (re)opened */
    int queue_depth;          /* units waiting now */
    int64_t first_in_mono_us; /* monotonic time of the first video unit (0: none yet) */
    int64_t last_out_mono_us; /* monotonic time of the last encoded unit (0: none yet) */
} gv_overlay_stats_t;
void gv_overlay_stats(gv_overlay_t *ov, gv_overlay_stats_t *out);

#endif
