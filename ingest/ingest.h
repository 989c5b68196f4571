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
