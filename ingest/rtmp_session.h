/* One RTMP publisher connection as a socket-free state machine: bytes in, reply bytes out.
 * Handshake, chunk stream, protocol control, the publish command sequence (as OBS, ffmpeg and
 * GStreamer send it), and media handed to the stream registry. The server (rtmp_server.c) owns
 * the socket, the timers and the closing. */
#ifndef GV_RTMP_SESSION_H
#define GV_RTMP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/stream.h"
#include "ingest/bytes.h"

typedef enum {
    GV_RTMP_STATE_HANDSHAKE = 0, /* waiting for C0+C1 or C2 */
    GV_RTMP_STATE_CONNECTING,    /* handshake done, waiting for connect */
    GV_RTMP_STATE_CONNECTED,     /* connect answered, waiting for publish */
    GV_RTMP_STATE_PUBLISHING,    /* attached to a stream, media flows */
    GV_RTMP_STATE_CLOSED,        /* refused, kicked, finished or failed: only closing is left */
} gv_rtmp_state_t;

typedef struct gv_rtmp_session gv_rtmp_session_t;

typedef struct {
    const gv_config_t *cfg;
    gv_registry_t *reg;
    const char *peer; /* "addr:port" for logs (copied) */
    /* Called when a newer publisher took the stream over. Runs on the attaching thread while
     * the registry holds a lock: it must only schedule the close. */
    void (*on_kick)(void *opaque, const char *reason);
    void *opaque;
} gv_rtmp_session_opts_t;

gv_rtmp_session_t *gv_rtmp_session_create(const gv_rtmp_session_opts_t *o);
/* Detaches from the stream (if attached) and frees everything. */
void gv_rtmp_session_destroy(gv_rtmp_session_t *s);

/* Processes received bytes, appending whatever must be sent to out. Returns 0 to keep going,
 * GV_ECLOSED when the connection should be closed after out is flushed in the normal course
 * (kicked by a newer publisher, client tried to play), GV_EAUTH / GV_EBUSY when a publish was
 * refused (the error status is in out), or another negative GV_E* code for bad input or a
 * failure (see gv_rtmp_session_reason). In every non-zero case out should still be flushed
 * before closing. Once non-zero was returned, every later call returns GV_ECLOSED. */
int gv_rtmp_session_feed(gv_rtmp_session_t *s, const uint8_t *in, size_t len, gv_bytes_t *out);

gv_rtmp_state_t gv_rtmp_session_state(const gv_rtmp_session_t *s);
/* Why the session ended (one short phrase, no secrets), or "" while it runs. */
const char *gv_rtmp_session_reason(const gv_rtmp_session_t *s);
/* The name of the stream this session attached to (kept after detach), else NULL. */
const char *gv_rtmp_session_stream_name(const gv_rtmp_session_t *s);
/* Counters for logs: media units delivered and bytes received. */
uint64_t gv_rtmp_session_units(const gv_rtmp_session_t *s);
uint64_t gv_rtmp_session_bytes_in(const gv_rtmp_session_t *s);

#endif
