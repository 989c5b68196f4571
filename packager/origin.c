/* The LL-HLS origin: an HTTP/1.1 server (libevent evhttp) on the shared event loop that serves
 * every stream's playlists and media from the packager's memory. Blocking playlist reloads and
 * requests for the preload-hinted part are parked (deferred replies) and woken by the
 * packager's notify callback, which may fire on another thread (event_active is thread-safe).
 * Caching follows the HLS spec's Appendix B.1 so CDN edges can collapse requests. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stream.h"
#include "overlay/overlay.h"
#include "packager/hls_query.h"
#include "packager/origin_http.h"
#include "packager/packager.h"

#define PLAYLIST_TYPE "application/vnd.apple.mpegurl"
#define MAX_FILE_NAME 128

typedef struct origin_stream origin_stream_t;

typedef struct parked {
    struct parked *prev, *next;
    origin_stream_t *os;
    struct evhttp_request *req;
    struct event *timer;
    bool is_playlist; /* else: a resource (hinted part / in-progress segment) */
    gv_hls_query_t q;
    bool gzip;
    char file[MAX_FILE_NAME];
} parked_t;

/* A gzipped media playlist, reused while the packager renders the same text (the packager
 * caches the text per skip mode, so readers woken by one part compress it once). */
typedef struct {
    char *plain;
    size_t plain_len;
    gv_blob_t *gz;
} gz_entry_t;

#define GZ_ENTRIES 3 /* one per skip mode */

struct origin_stream {
    gv_origin_t *origin;
    gv_stream_t *stream;
    gv_pkg_t *pkg;
    const char *name;
    struct event *wake;
    parked_t *parked; /* doubly linked list head */
    size_t n_parked;
    gz_entry_t gz[GZ_ENTRIES];
    size_t gz_next;
};

struct gv_origin {
    struct event_base *base;
    const gv_config_t *cfg;
    gv_registry_t *reg;
    struct evhttp *http;
    gv_overlay_api_t *api; /* control API, NULL when api.token is not set */
    int port;
    origin_stream_t *streams;
    size_t n_streams;
    char *hlsjs;
    size_t hlsjs_len;
    unsigned long long requests;
    unsigned long long responses_by_class[6];
    struct {
        gv_origin_metrics_fn fn;
        void *arg;
    } metrics_fns[GV_ORIGIN_MAX_METRICS_FNS];
    int n_metrics_fns;
};

/* ---------- responses ---------- */

static void set_common_headers(gv_origin_t *o, struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Access-Control-Allow-Origin", o->cfg->http.cors_origin);
    evhttp_add_header(h, "Access-Control-Expose-Headers", "Content-Length, Age, Date");
    evhttp_add_header(h, "Server", "gavel/" GV_VERSION);
}

static void set_cache(struct evhttp_request *req, double seconds, bool immutable)
{
    char v[80];
    long s = (long)(seconds + 0.5);
    if (s < 1 && seconds > 0)
        s = 1; /* max-age is whole seconds: 0.5 x a 1 s target rounds up rather than to 0 */
    if (immutable)
        snprintf(v, sizeof(v), "public, max-age=%ld, immutable", s);
    else
        snprintf(v, sizeof(v), "public, max-age=%ld", s);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", v);
}

static void count_response(gv_origin_t *o, int code)
{
    int cls = code / 100;
    if (cls >= 1 && cls <= 5)
        o->responses_by_class[cls]++;
}

/* Sends buf with the headers every response carries, its content type and a Cache-Control
 * (public max-age when cache_s > 0, else no-cache), counts the response and frees buf. */
static void send_body(gv_origin_t *o, struct evhttp_request *req, int code, const char *reason,
                      const char *type, double cache_s, bool immutable, struct evbuffer *buf)
{
    set_common_headers(o, req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    if (cache_s > 0)
        set_cache(req, cache_s, immutable);
    else
        evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-cache");
    /* libevent 2.1 writes a HEAD reply's body (and no Content-Length), which desynchronises a
     * keep-alive connection: send the length a GET would get, and no bytes. */
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        char len[24];
        snprintf(len, sizeof(len), "%zu", evbuffer_get_length(buf));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
        evbuffer_drain(buf, evbuffer_get_length(buf));
    }
    evhttp_send_reply(req, code, reason, buf);
    count_response(o, code);
    evbuffer_free(buf);
}

static void reply_text(gv_origin_t *o, struct evhttp_request *req, int code, const char *reason,
                       const char *text, double cache_s)
{
    struct evbuffer *buf = evbuffer_new();
    if (text)
        evbuffer_add_printf(buf, "%s\n", text);
    send_body(o, req, code, reason, "text/plain; charset=utf-8", cache_s, false, buf);
}

static void unref_blob_cb(const void *data, size_t len, void *arg)
{
    gv_blob_unref(arg);
}

static void free_text_cb(const void *data, size_t len, void *arg)
{
    free(arg);
}

static void gz_entry_clear(gz_entry_t *e)
{
    free(e->plain);
    gv_blob_unref(e->gz);
    memset(e, 0, sizeof(*e));
}

/* The gzipped form of text: from the stream's cache when it compressed the same text before,
 * else compressed and remembered. A new reference, or NULL when compression failed. */
static gv_blob_t *gzip_cached(origin_stream_t *os, const char *text, size_t len)
{
    if (os) {
        for (size_t i = 0; i < GZ_ENTRIES; i++) {
            gz_entry_t *e = &os->gz[i];
            if (e->gz && e->plain_len == len && !memcmp(e->plain, text, len))
                return gv_blob_ref(e->gz);
        }
    }
    char *z = NULL;
    size_t zlen = 0;
    if (gv_http_gzip(text, len, &z, &zlen) != 0)
        return NULL;
    gv_blob_t *b = gv_blob_from(z, zlen);
    free(z);
    if (!b || !os)
        return b;
    gz_entry_t *e = &os->gz[os->gz_next];
    os->gz_next = (os->gz_next + 1) % GZ_ENTRIES;
    gz_entry_clear(e);
    e->plain = malloc(len ? len : 1);
    if (e->plain) {
        memcpy(e->plain, text, len);
        e->plain_len = len;
        e->gz = gv_blob_ref(b);
    }
    return b;
}

/* Takes ownership of text (malloc'd); the body is referenced, not copied. os (NULL: none)
 * holds the gzip cache. */
static void reply_playlist(gv_origin_t *o, origin_stream_t *os, struct evhttp_request *req,
                           char *text, size_t len, bool gzip, double cache_s)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *buf = evbuffer_new();
    evhttp_add_header(h, "Vary", "Accept-Encoding");
    gv_blob_t *z = gzip ? gzip_cached(os, text, len) : NULL;
    if (z) {
        evhttp_add_header(h, "Content-Encoding", "gzip");
        evbuffer_add_reference(buf, z->data, z->size, unref_blob_cb, z);
        free(text);
    } else {
        evbuffer_add_reference(buf, text, len, free_text_cb, text);
    }
    send_body(o, req, 200, "OK", PLAYLIST_TYPE, cache_s, false, buf);
}

static void reply_resource(gv_origin_t *o, struct evhttp_request *req, gv_pkg_resource_t *res)
{
    struct evbuffer *buf = evbuffer_new();
    for (size_t i = 0; i < res->n; i++) {
        gv_blob_t *b = gv_blob_ref(res->blobs[i]);
        evbuffer_add_reference(buf, b->data, b->size, unref_blob_cb, b);
    }
    /* URIs carry an instance id and a sequence number: the bytes behind one never change. */
    send_body(o, req, 200, "OK", res->content_type, 31536000, true, buf);
}

/* ---------- parking ---------- */

static void parked_close_cb(struct evhttp_connection *conn, void *arg);

static void parked_remove(parked_t *p)
{
    origin_stream_t *os = p->os;
    if (p->prev)
        p->prev->next = p->next;
    else
        os->parked = p->next;
    if (p->next)
        p->next->prev = p->prev;
    os->n_parked--;
    if (p->timer)
        event_free(p->timer);
    free(p);
}

/* Detaches from the connection (so its close callback no longer points at p) and removes p. */
static void parked_finish(parked_t *p)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(p->req);
    if (conn)
        evhttp_connection_set_closecb(conn, NULL, NULL);
    parked_remove(p);
}

static void parked_close_cb(struct evhttp_connection *conn, void *arg)
{
    /* The client went away while parked: libevent frees the request after this returns. */
    parked_remove(arg);
}

static void parked_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    parked_t *p = arg;
    origin_stream_t *os = p->os;
    gv_pkg_state_t st;
    gv_pkg_state(os->pkg, &st);
    struct evhttp_request *req = p->req;
    bool is_playlist = p->is_playlist;
    parked_finish(p);
    /* B.1: errors on blocking playlist requests are cacheable for 4 target durations. */
    reply_text(os->origin, req, 503, "Service Unavailable",
               is_playlist ? "the requested segment or part did not appear in time"
                           : "the requested part did not appear in time",
               is_playlist ? 4.0 * st.target_duration_s : 0);
}

static int park(origin_stream_t *os, struct evhttp_request *req, bool is_playlist,
                const gv_hls_query_t *q, bool gzip, const char *file)
{
    parked_t *p = calloc(1, sizeof(*p));
    if (!p)
        return GV_ENOMEM;
    p->os = os;
    p->req = req;
    p->is_playlist = is_playlist;
    if (q)
        p->q = *q;
    p->gzip = gzip;
    if (file)
        snprintf(p->file, sizeof(p->file), "%s", file);
    p->timer = evtimer_new(os->origin->base, parked_timeout_cb, p);
    if (!p->timer) {
        free(p);
        return GV_ENOMEM;
    }
    gv_pkg_state_t st;
    gv_pkg_state(os->pkg, &st);
    /* The spec allows 503 once a request has been held for 3 target durations. */
    long hold_ms = 3L * st.target_duration_s * 1000;
    struct timeval tv = {hold_ms / 1000, (hold_ms % 1000) * 1000};
    evtimer_add(p->timer, &tv);
    p->next = os->parked;
    if (os->parked)
        os->parked->prev = p;
    os->parked = p;
    os->n_parked++;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), parked_close_cb, p);
    return 0;
}

static void serve_media_playlist(origin_stream_t *os, struct evhttp_request *req,
                                 const gv_hls_query_t *q, bool gzip, bool blocking);

static void serve_resource_now(origin_stream_t *os, struct evhttp_request *req, const char *file,
                               bool allow_park);

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    origin_stream_t *os = arg;
    parked_t *p = os->parked;
    while (p) {
        parked_t *next = p->next;
        if (p->is_playlist) {
            int r = gv_pkg_block_ready(os->pkg, p->q.msn, p->q.part);
            if (r != 0) {
                struct evhttp_request *req = p->req;
                gv_hls_query_t q = p->q;
                bool gzip = p->gzip;
                parked_finish(p);
                serve_media_playlist(os, req, &q, gzip, true);
            }
        } else {
            gv_pkg_resource_t res;
            int r = gv_pkg_get(os->pkg, p->file, &res);
            if (r != GV_EAGAIN) {
                struct evhttp_request *req = p->req;
                parked_finish(p);
                if (r == 0) {
                    reply_resource(os->origin, req, &res);
                    gv_pkg_resource_release(&res);
                } else {
                    reply_text(os->origin, req, 404, "Not Found", "no such part or segment", 0);
                }
            }
        }
        p = next;
    }
}

static void pkg_notify_cb(void *ud)
{
    origin_stream_t *os = ud;
    event_active(os->wake, EV_READ, 0);
}

/* ---------- routes ---------- */

/* Replies with a playlist that gv_pkg_render_* returned (rc, text; text is taken over), or with
 * its error. gz_os: the stream whose gzip cache applies (NULL: none). */
static void reply_rendered(gv_origin_t *o, origin_stream_t *gz_os, struct evhttp_request *req,
                           int rc, char *text, size_t len, bool gzip, double cache_s)
{
    if (rc == GV_EAGAIN) {
        reply_text(o, req, 404, "Not Found", "stream has no complete segment yet", 1);
    } else if (rc) {
        reply_text(o, req, 500, "Internal Server Error", gv_strerror(rc), 0);
    } else {
        reply_playlist(o, gz_os, req, text, len, gzip, cache_s);
    }
}

static void serve_media_playlist(origin_stream_t *os, struct evhttp_request *req,
                                 const gv_hls_query_t *q, bool gzip, bool blocking)
{
    gv_pkg_state_t st;
    gv_pkg_state(os->pkg, &st);
    char *text = NULL;
    size_t len = 0;
    int rc = gv_pkg_render_media(os->pkg, q->skip, &text, &len);
    /* B.1: blocking responses may be cached for 6 target durations, others for half of one. */
    double cache = blocking ? 6.0 * st.target_duration_s : 0.5 * st.target_duration_s;
    reply_rendered(os->origin, os, req, rc, text, len, gzip, cache);
}

static void route_media_playlist(origin_stream_t *os, struct evhttp_request *req, const char *query,
                                 bool gzip)
{
    gv_origin_t *o = os->origin;
    gv_hls_query_t q;
    char err[128];
    gv_pkg_state_t st;
    gv_pkg_state(os->pkg, &st);
    if (gv_hls_query_parse(query, &q, err, sizeof(err)) != 0) {
        reply_text(o, req, 400, "Bad Request", err, 4.0 * st.target_duration_s);
        return;
    }
    if (q.msn < 0 || st.ended) {
        serve_media_playlist(os, req, &q, gzip, false);
        return;
    }
    int r = gv_pkg_block_ready(os->pkg, q.msn, q.part);
    if (r == GV_EINVAL) {
        reply_text(o, req, 400, "Bad Request",
                   "_HLS_msn/_HLS_part is too far beyond the end of the playlist",
                   4.0 * st.target_duration_s);
        return;
    }
    if (r == 1) {
        serve_media_playlist(os, req, &q, gzip, true);
        return;
    }
    if (park(os, req, true, &q, gzip, NULL) != 0)
        reply_text(o, req, 503, "Service Unavailable", "out of memory", 0);
}

static void route_multivariant(origin_stream_t *os, struct evhttp_request *req, bool gzip)
{
    char *text = NULL;
    size_t len = 0;
    int rc = gv_pkg_render_multivariant(os->pkg, "media.m3u8", &text, &len);
    gv_pkg_state_t st;
    gv_pkg_state(os->pkg, &st);
    reply_rendered(os->origin, NULL, req, rc, text, len, gzip, 0.5 * st.target_duration_s);
}

static void serve_resource_now(origin_stream_t *os, struct evhttp_request *req, const char *file,
                               bool allow_park)
{
    gv_pkg_resource_t res;
    int rc = gv_pkg_get(os->pkg, file, &res);
    if (rc == 0) {
        reply_resource(os->origin, req, &res);
        gv_pkg_resource_release(&res);
    } else if (rc == GV_EAGAIN && allow_park) {
        if (park(os, req, false, NULL, false, file) != 0)
            reply_text(os->origin, req, 503, "Service Unavailable", "out of memory", 0);
    } else {
        reply_text(os->origin, req, 404, "Not Found", "no such part or segment", 0);
    }
}

static bool valid_file_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MAX_FILE_NAME || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static origin_stream_t *find_stream(gv_origin_t *o, const char *name, size_t len)
{
    for (size_t i = 0; i < o->n_streams; i++)
        if (strlen(o->streams[i].name) == len && !memcmp(o->streams[i].name, name, len))
            return &o->streams[i];
    return NULL;
}

static void serve_metrics(gv_origin_t *o, struct evhttp_request *req);

static void request_cb(struct evhttp_request *req, void *arg)
{
    gv_origin_t *o = arg;
    o->requests++;
    if (o->api) {
        const struct evhttp_uri *auri = evhttp_request_get_evhttp_uri(req);
        const char *apath = auri ? evhttp_uri_get_path(auri) : NULL;
        if (apath && !strncmp(apath, "/api/", 5) && gv_overlay_api_handle(o->api, req))
            return;
    }
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd == EVHTTP_REQ_OPTIONS) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        set_common_headers(o, req);
        evhttp_add_header(h, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
        evhttp_add_header(h, "Access-Control-Allow-Headers", "Range, Origin, Accept");
        evhttp_add_header(h, "Access-Control-Max-Age", "86400");
        evhttp_send_reply(req, 204, "No Content", NULL);
        count_response(o, 204);
        return;
    }
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD, OPTIONS");
        reply_text(o, req, 405, "Method Not Allowed", "method not allowed", 0);
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!path) {
        reply_text(o, req, 400, "Bad Request", "bad request target", 0);
        return;
    }
    const char *ae =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Accept-Encoding");
    bool gzip = gv_http_accepts_gzip(ae);

    if (!strcmp(path, "/healthz")) {
        reply_text(o, req, 200, "OK", "ok", 0);
        return;
    }
    if (!strcmp(path, "/metrics")) {
        serve_metrics(o, req);
        return;
    }
    if (!strcmp(path, "/assets/hls.min.js")) {
        if (!o->hlsjs) {
            reply_text(o, req, 404, "Not Found", "hls.js is not installed (run scripts/setup.sh)",
                       0);
            return;
        }
        struct evbuffer *buf = evbuffer_new();
        evbuffer_add_reference(buf, o->hlsjs, o->hlsjs_len, NULL, NULL);
        send_body(o, req, 200, "OK", "text/javascript; charset=utf-8", 3600, false, buf);
        return;
    }
    if (!strncmp(path, "/watch/", 7)) {
        origin_stream_t *os = find_stream(o, path + 7, strlen(path + 7));
        if (!os) {
            reply_text(o, req, 404, "Not Found", "unknown stream", 0);
            return;
        }
        struct evbuffer *buf = evbuffer_new();
        gv_origin_player_page(buf, os->name, o->cfg->hls.part_target_ms,
                              o->cfg->hls.segment_target_ms);
        send_body(o, req, 200, "OK", "text/html; charset=utf-8", 60, false, buf);
        return;
    }
    if (!strncmp(path, "/live/", 6)) {
        const char *name = path + 6;
        const char *slash = strchr(name, '/');
        origin_stream_t *os = slash ? find_stream(o, name, (size_t)(slash - name)) : NULL;
        if (!os) {
            reply_text(o, req, 404, "Not Found", "unknown stream", 0);
            return;
        }
        const char *file = slash + 1;
        if (!strcmp(file, "index.m3u8")) {
            route_multivariant(os, req, gzip);
        } else if (!strcmp(file, "media.m3u8")) {
            route_media_playlist(os, req, query, gzip);
        } else if (valid_file_name(file)) {
            serve_resource_now(os, req, file, true);
        } else {
            reply_text(o, req, 404, "Not Found", "no such resource", 0);
        }
        return;
    }
    reply_text(o, req, 404, "Not Found", "not found", 0);
}

/* ---------- metrics ---------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Transcode-worker counters of streams with an overlay. */
static void serve_overlay_metrics(gv_origin_t *o, struct evbuffer *buf)
{
    static const struct {
        const char *name, *type;
        size_t off;
    } rows[] = {
        {"gavel_overlay_frames_in_total", "counter", offsetof(gv_overlay_stats_t, frames_in)},
        {"gavel_overlay_frames_dropped_total", "counter",
         offsetof(gv_overlay_stats_t, frames_dropped)},
        {"gavel_overlay_frames_out_total", "counter", offsetof(gv_overlay_stats_t, frames_out)},
        {"gavel_overlay_audio_out_total", "counter", offsetof(gv_overlay_stats_t, audio_out)},
        {"gavel_overlay_decode_errors_total", "counter",
         offsetof(gv_overlay_stats_t, decode_errors)},
        {"gavel_overlay_encode_errors_total", "counter",
         offsetof(gv_overlay_stats_t, encode_errors)},
        {"gavel_overlay_decode_us_total", "counter", offsetof(gv_overlay_stats_t, decode_us)},
        {"gavel_overlay_compose_us_total", "counter", offsetof(gv_overlay_stats_t, compose_us)},
        {"gavel_overlay_encode_us_total", "counter", offsetof(gv_overlay_stats_t, encode_us)},
    };
    gv_overlay_stats_t *st = calloc(o->n_streams ? o->n_streams : 1, sizeof(*st));
    bool *has = calloc(o->n_streams ? o->n_streams : 1, sizeof(*has));
    if (!st || !has)
        goto done;
    bool any = false;
    for (size_t i = 0; i < o->n_streams; i++) {
        gv_overlay_t *ov = gv_stream_overlay(o->streams[i].stream);
        if (ov) {
            gv_overlay_stats(ov, &st[i]);
            has[i] = any = true;
        }
    }
    if (!any)
        goto done;
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        evbuffer_add_printf(buf, "# TYPE %s %s\n", rows[r].name, rows[r].type);
        for (size_t i = 0; i < o->n_streams; i++)
            if (has[i])
                evbuffer_add_printf(buf, "%s{stream=\"%s\"} %llu\n", rows[r].name,
                                    o->streams[i].name,
                                    (unsigned long long)*(const uint64_t *)((const char *)&st[i] +
                                                                           rows[r].off));
    }
    evbuffer_add_printf(buf, "# TYPE gavel_overlay_queue_depth gauge\n");
    for (size_t i = 0; i < o->n_streams; i++)
        if (has[i])
            evbuffer_add_printf(buf, "gavel_overlay_queue_depth{stream=\"%s\"} %d\n",
                                o->streams[i].name, st[i].queue_depth);
done:
    free(st);
    free(has);
}

/* Families rendered by other parts of the program (gv_origin_add_metrics). */
static void serve_extra_metrics(gv_origin_t *o, struct evbuffer *buf)
{
    for (int i = 0; i < o->n_metrics_fns; i++) {
        size_t cap = 8192;
        char *text = malloc(cap);
        size_t n = text ? o->metrics_fns[i].fn(o->metrics_fns[i].arg, text, cap) : 0;
        if (text && n >= cap) {
            free(text);
            cap = n + 1024; /* publishers may have joined between the two calls */
            text = malloc(cap);
            n = text ? o->metrics_fns[i].fn(o->metrics_fns[i].arg, text, cap) : 0;
        }
        if (text && n < cap)
            evbuffer_add(buf, text, n);
        free(text);
    }
}

int gv_origin_add_metrics(gv_origin_t *o, gv_origin_metrics_fn fn, void *arg)
{
    if (!o || !fn || o->n_metrics_fns >= GV_ORIGIN_MAX_METRICS_FNS)
        return GV_EINVAL;
    o->metrics_fns[o->n_metrics_fns].fn = fn;
    o->metrics_fns[o->n_metrics_fns].arg = arg;
    o->n_metrics_fns++;
    return 0;
}

static void serve_metrics(gv_origin_t *o, struct evhttp_request *req)
{
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add_printf(buf, "# HELP gavel_build_info gavel version\n"
                             "# TYPE gavel_build_info gauge\n"
                             "gavel_build_info{version=\"" GV_VERSION "\"} 1\n");
    evbuffer_add_printf(buf, "# TYPE gavel_http_requests_total counter\n"
                             "gavel_http_requests_total %llu\n",
                        o->requests);
    evbuffer_add_printf(buf, "# TYPE gavel_http_responses_total counter\n");
    for (int c = 1; c <= 5; c++)
        evbuffer_add_printf(buf, "gavel_http_responses_total{class=\"%dxx\"} %llu\n", c,
                            o->responses_by_class[c]);
    evbuffer_add_printf(buf, "# HELP gavel_stream_live 1 while a publisher is attached\n"
                             "# TYPE gavel_stream_live gauge\n");
    for (size_t i = 0; i < o->n_streams; i++)
        evbuffer_add_printf(buf, "gavel_stream_live{stream=\"%s\"} %d\n", o->streams[i].name,
                            gv_stream_is_live(o->streams[i].stream) ? 1 : 0);
    evbuffer_add_printf(buf, "# TYPE gavel_http_parked_requests gauge\n");
    for (size_t i = 0; i < o->n_streams; i++)
        evbuffer_add_printf(buf, "gavel_http_parked_requests{stream=\"%s\"} %zu\n",
                            o->streams[i].name, o->streams[i].n_parked);
    evbuffer_add_printf(buf, "# HELP gavel_stream_last_msn media sequence number of the last "
                             "complete segment (-1: none)\n"
                             "# TYPE gavel_stream_last_msn gauge\n");
    for (size_t i = 0; i < o->n_streams; i++) {
        gv_pkg_state_t st;
        gv_pkg_state(o->streams[i].pkg, &st);
        evbuffer_add_printf(buf, "gavel_stream_last_msn{stream=\"%s\"} %lld\n", o->streams[i].name,
                            (long long)st.last_msn);
    }
    evbuffer_add_printf(buf, "# HELP gavel_part_list_latency_seconds time from the arrival of a "
                             "part's last frame to the part being listed (recent parts)\n"
                             "# TYPE gavel_part_list_latency_seconds summary\n");
    static const double qs[] = {0.5, 0.95, 0.99};
    int64_t *samples = malloc(4096 * sizeof(*samples));
    for (size_t i = 0; samples && i < o->n_streams; i++) {
        size_t n = gv_pkg_list_latency_samples(o->streams[i].pkg, samples, 4096);
        if (n == 0)
            continue;
        qsort(samples, n, sizeof(*samples), cmp_i64);
        for (size_t k = 0; k < 3; k++) {
            size_t idx = (size_t)(qs[k] * (double)(n - 1) + 0.5);
            evbuffer_add_printf(buf,
                                "gavel_part_list_latency_seconds{stream=\"%s\",quantile=\"%g\"} "
                                "%.6f\n",
                                o->streams[i].name, qs[k], (double)samples[idx] / 1e6);
        }
        evbuffer_add_printf(buf, "gavel_part_list_latency_seconds_count{stream=\"%s\"} %zu\n",
                            o->streams[i].name, n);
    }
    free(samples);
    serve_overlay_metrics(o, buf);
    serve_extra_metrics(o, buf);
    send_body(o, req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", 0, false, buf);
}

/* ---------- lifecycle ---------- */

/* libevent writes at most 16 KiB per write event by default, so a 75 KiB part took five loop
 * iterations (epoll_wait + writev each). Let one write hand the kernel a whole part or
 * segment; the socket buffer still decides how much is taken at once. */
#define HTTP_MAX_SINGLE_WRITE (1u << 20)

static struct bufferevent *http_bev_cb(struct event_base *base, void *arg)
{
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev)
        bufferevent_set_max_single_write(bev, HTTP_MAX_SINGLE_WRITE);
    return bev;
}

static char *read_small_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    bool whole = buf && feof(f) && !ferror(f);
    fclose(f);
    if (!whole) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* hls.js is loaded once at start from player_dir (relative paths: to the working directory,
 * else to the directory above the binary's, i.e. the source tree for build/gavel). */
static void load_hlsjs(gv_origin_t *o)
{
    const char *dir = o->cfg->http.player_dir;
    char path[2 * PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/hls.min.js", dir);
    o->hlsjs = read_small_file(path, 4u << 20, &o->hlsjs_len);
    if (!o->hlsjs && dir[0] != '/') {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
            exe[n] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash) {
                *slash = '\0';
                snprintf(path, sizeof(path), "%s/../%s/hls.min.js", exe, dir);
                o->hlsjs = read_small_file(path, 4u << 20, &o->hlsjs_len);
            }
        }
    }
    if (!o->hlsjs)
        gv_log(GV_LOG_WARN, "http",
               "hls.js not found under %s: the player page will not work (run scripts/setup.sh)",
               dir);
}

gv_origin_t *gv_origin_create(struct event_base *base, const struct gv_config *cfg,
                              struct gv_registry *reg)
{
    gv_origin_t *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->base = base;
    o->cfg = cfg;
    o->reg = reg;
    o->n_streams = gv_registry_count(reg);
    o->streams = calloc(o->n_streams ? o->n_streams : 1, sizeof(*o->streams));
    if (!o->streams)
        goto fail;
    for (size_t i = 0; i < o->n_streams; i++) {
        origin_stream_t *os = &o->streams[i];
        os->origin = o;
        os->stream = gv_registry_at(reg, i);
        os->pkg = gv_stream_packager(os->stream);
        os->name = gv_stream_name(os->stream);
        os->wake = event_new(base, -1, 0, wake_cb, os);
        if (!os->wake)
            goto fail;
        gv_pkg_set_notify(os->pkg, pkg_notify_cb, os);
    }
    if (cfg->api.token) {
        o->api = gv_overlay_api_create(cfg, reg);
        if (!o->api)
            goto fail;
    }
    o->http = evhttp_new(base);
    if (!o->http)
        goto fail;
    evhttp_set_allowed_methods(o->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS |
                                            EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE);
    evhttp_set_max_headers_size(o->http, (ev_ssize_t)cfg->http.max_header_bytes);
    evhttp_set_max_body_size(o->http, (ev_ssize_t)cfg->http.max_body_bytes);
    evhttp_set_timeout(o->http, (cfg->http.timeout_ms + 999) / 1000);
    evhttp_set_gencb(o->http, request_cb, o);
    evhttp_set_bevcb(o->http, http_bev_cb, NULL);
    struct evhttp_bound_socket *bs =
        evhttp_bind_socket_with_handle(o->http, cfg->http.listen.host,
                                       (ev_uint16_t)cfg->http.listen.port);
    if (!bs) {
        gv_log(GV_LOG_ERROR, "http", "cannot listen on %s:%d", cfg->http.listen.host,
               cfg->http.listen.port);
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0)
        o->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    load_hlsjs(o);
    gv_log(GV_LOG_INFO, "http", "origin listening on %s:%d", cfg->http.listen.host, o->port);
    return o;
fail:
    gv_origin_destroy(o);
    return NULL;
}

int gv_origin_port(const gv_origin_t *o)
{
    return o->port;
}

void gv_origin_wake_all(gv_origin_t *o)
{
    for (size_t i = 0; i < o->n_streams; i++)
        wake_cb(-1, 0, &o->streams[i]);
}

void gv_origin_destroy(gv_origin_t *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_streams; i++) {
        origin_stream_t *os = &o->streams[i];
        while (os->parked) {
            parked_t *p = os->parked;
            struct evhttp_request *req = p->req;
            parked_finish(p);
            reply_text(o, req, 503, "Service Unavailable", "server shutting down", 0);
        }
        if (os->pkg)
            gv_pkg_set_notify(os->pkg, NULL, NULL);
        if (os->wake)
            event_free(os->wake);
        for (size_t k = 0; k < GZ_ENTRIES; k++)
            gz_entry_clear(&os->gz[k]);
    }
    if (o->http)
        evhttp_free(o->http);
    gv_overlay_api_destroy(o->api);
    free(o->streams);
    free(o->hlsjs);
    free(o);
}
