/* The SRT stream id an encoder sends in its handshake, parsed into what gavel needs to decide
 * before accepting: the mode (publish or request), the publish key and the optional user. */
#ifndef GV_SRT_STREAMID_H
#define GV_SRT_STREAMID_H

#include <stddef.h>

#define GV_SRT_STREAMID_MAX 512 /* SRT's own limit on SRTO_STREAMID */
#define GV_SRT_KEY_MAX 256
#define GV_SRT_USER_MAX 64

typedef enum {
    GV_SRT_MODE_PUBLISH = 0, /* m=publish, or no m at all (gavel only ingests) */
    GV_SRT_MODE_REQUEST,     /* m=request: a player; the caller must refuse it */
    GV_SRT_MODE_BIDIR,       /* m=bidirectional: refused too */
} gv_srt_mode_t;

typedef struct {
    gv_srt_mode_t mode;
    char key[GV_SRT_KEY_MAX + 1];
    char user[GV_SRT_USER_MAX + 1]; /* "" when absent */
} gv_srt_streamid_t;

/* Parses sid (len bytes, need not be NUL-terminated). Accepted forms:
 *   "#!::r=live/KEY,m=publish,u=USER"  (access-control form; keys in any order, r may also be
 *                                       a bare KEY; h= and s= are accepted and ignored)
 *   "live/KEY"  and  "KEY"            (plain forms some encoders send)
 * Other keys of the access-control form are ignored. Returns 0, or GV_EPROTO when malformed
 * (empty, control characters, an item without '=', a duplicate key, no r, an unknown mode,
 * t= other than stream, a resource with another path or a character a key cannot hold),
 * GV_ETOOBIG when over the limits above. */
int gv_srt_streamid_parse(const char *sid, size_t len, gv_srt_streamid_t *out);

const char *gv_srt_mode_name(gv_srt_mode_t m);

#endif
