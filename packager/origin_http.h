/* Packager-internal helpers shared by the origin's files: response building (headers, caching,
 * gzip) and the pieces of the origin that are not request routing. */
#ifndef GV_ORIGIN_HTTP_H
#define GV_ORIGIN_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct evhttp_request;
struct evbuffer;

/* True when the request's Accept-Encoding lists gzip with a non-zero q. Pure over the header. */
bool gv_http_accepts_gzip(const char *accept_encoding);
/* Gzips in into a new malloc'd buffer. 0 or GV_E*. */
int gv_http_gzip(const char *in, size_t len, char **out, size_t *out_len);
/* Writes the player page for stream name (validated [A-Za-z0-9_-]) into buf; its hls.js settings
 * follow the stream's part and segment targets (ms). */
void gv_origin_player_page(struct evbuffer *buf, const char *name, int part_target_ms,
                           int segment_target_ms);

#endif
