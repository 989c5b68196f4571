/* The ingest side's public interface: protocol listeners that accept seller encoders and feed
 * media units into the stream registry. RTMP runs on the shared libevent loop. */
#ifndef GV_INGEST_H
#define GV_INGEST_H

#include "core/config.h"
#include "core/stream.h"

struct event_base;
typedef struct gv_rtmp_server gv_rtmp_server_t;

/* Binds cfg->rtmp.listen on base. Returns NULL (and logs why) on failure. */
gv_rtmp_server_t *gv_rtmp_server_create(struct event_base *base, const gv_config_t *cfg,
                                        gv_registry_t *reg);
/* The port actually bound (useful when the config asked for port 0). */
int gv_rtmp_server_port(const gv_rtmp_server_t *srv);
/* Closes the listener and every session (publishers are detached cleanly). */
void gv_rtmp_server_destroy(gv_rtmp_server_t *srv);

#endif

/* ---- SRT ingest (ingest/srt_server.c): MPEG-TS over SRT in live mode on its own thread ---- */
#ifndef GV_INGEST_SRT_DECLS
#define GV_INGEST_SRT_DECLS
#include <stddef.h>
#include <stdint.h>

typedef struct gv_srt_server gv_srt_server_t;

/* Binds cfg->srt.listen (UDP) and starts the SRT thread. Returns NULL (and logs why) on failure. */
gv_srt_server_t *gv_srt_server_create(const gv_config_t *cfg, gv_registry_t *reg);
/* The port actually bound (useful when the config asked for port 0). */
int gv_srt_server_port(const gv_srt_server_t *s);
/* Stops the SRT thread, closes every connection and detaches its publisher (segments close). */
void gv_srt_server_destroy(gv_srt_server_t *s);

/* One publisher's transport statistics (refreshed about once a second). */
typedef struct {
    char stream[65];
    char peer[64];
    double rtt_ms, recv_mbps;
    int64_t pkt_recv, pkt_loss, pkt_drop, pkt_retrans;
    int64_t bytes_recv;
} gv_srt_stats_t;

/* Copies up to max entries (one per publishing connection) into out; returns how many. Callable
 * from any thread. */
size_t gv_srt_server_stats(gv_srt_server_t *s, gv_srt_stats_t *out, size_t max);
#endif
