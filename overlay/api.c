/* The control API: the marketplace backend drives the lot card of overlaid streams over HTTP on
 * the origin's server (libevent evhttp, JSON via cJSON):
 *   PUT    /api/v1/streams/{name}/lot      whole lot (replaces), shows the card
 *   POST   /api/v1/streams/{name}/bids     a new bid on the current lot
 *   DELETE /api/v1/streams/{name}/lot      hides the card
 *   GET    /api/v1/streams/{name}/overlay  state, version, and where it first appeared
 * Every request needs "Authorization: Bearer <api.token>" (compared in constant time). Errors
 * are JSON {"error": "..."}; nothing is cached (Cache-Control: no-store). Updates land in the
 * stream's lot store and apply to the first frame the worker composes after they arrive. */
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/secure.h"
#include "core/stream.h"
#include "overlay/lot.h"
#include "overlay/overlay.h"
#include "overlay/worker.h"

#define API_PREFIX "/api/v1/streams/"
#define MAX_NAME 64

struct gv_overlay_api {
    gv_registry_t *reg;
    char *token;
    size_t token_len;
    size_t max_body;
};

typedef enum { RES_LOT, RES_BIDS, RES_OVERLAY } resource_t;

/* ---------- replies ---------- */

static void reply_json(struct evhttp_request *req, int code, const char *reason, cJSON *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *buf = evbuffer_new();
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (buf && text)
        evbuffer_add_printf(buf, "%s\n", text);
    else if (buf)
        evbuffer_add_printf(buf, "{\"error\":\"out of memory\"}\n");
    evhttp_send_reply(req, code, reason, buf);
    free(text);
    if (buf)
        evbuffer_free(buf);
}

static void reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (o)
        cJSON_AddStringToObject(o, "error", msg);
    reply_json(req, code, reason, o);
    cJSON_Delete(o);
}

/* ---------- request checks ---------- */

/* 1: authorized, 0: no credentials, -1: wrong credentials. */
static int check_auth(const gv_overlay_api_t *api, struct evhttp_request *req)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!v)
        return 0;
    while (*v == ' ' || *v == '\t')
        v++;
    if (strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
        return -1;
    v += 6;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return gv_secure_equal(v, n, api->token, api->token_len) ? 1 : -1;
}

static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || n > MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* Splits "/api/v1/streams/{name}/{resource}" (the prefix already matched). */
static int parse_route(const char *rest, char name[MAX_NAME + 1], resource_t *res)
{
    const char *slash = strchr(rest, '/');
    if (!slash || !valid_name(rest, (size_t)(slash - rest)))
        return GV_ENOENT;
    memcpy(name, rest, (size_t)(slash - rest));
    name[slash - rest] = '\0';
    const char *r = slash + 1;
    if (!strcmp(r, "lot"))
        *res = RES_LOT;
    else if (!strcmp(r, "bids"))
        *res = RES_BIDS;
    else if (!strcmp(r, "overlay"))
        *res = RES_OVERLAY;
    else
        return GV_ENOENT;
    return 0;
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; \t");
    if (n == 16 && !strncasecmp(ct, "application/json", 16))
        return true;
    /* structured syntax suffix, e.g. application/vnd.gavel+json */
    return n > 17 && !strncasecmp(ct, "application/", 12) && !strncasecmp(ct + n - 5, "+json", 5);
}

/* The body as a contiguous buffer (not NUL-terminated), or NULL for an empty body. */
static const char *body_of(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *len = evbuffer_get_length(in);
    if (*len == 0)
        return NULL;
    return (const char *)evbuffer_pullup(in, -1);
}

/* ---------- JSON output ---------- */

static double major_units(int64_t minor, const char *currency)
{
    double d = (double)minor;
    for (int e = gv_currency_exponent(currency); e > 0; e--)
        d /= 10.0;
    return d;
}

static cJSON *lot_json(const gv_lot_t *l)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char shown[64];
    cJSON_AddStringToObject(o, "id", l->id);
    cJSON_AddStringToObject(o, "title", l->title);
    cJSON_AddStringToObject(o, "image", l->image);
    cJSON_AddStringToObject(o, "currency", l->currency);
    cJSON_AddNumberToObject(o, "starting_bid", major_units(l->starting_bid, l->currency));
    cJSON_AddNumberToObject(o, "current_bid", major_units(l->current_bid, l->currency));
    gv_lot_format_amount(l->current_bid, l->currency, shown, sizeof(shown));
    cJSON_AddStringToObject(o, "current_bid_display", shown);
    cJSON_AddNumberToObject(o, "bid_count", (double)l->bid_count);
    cJSON_AddStringToObject(o, "leader", l->leader);
    if (l->ends_at_ms > 0)
        cJSON_AddNumberToObject(o, "ends_at_ms", (double)l->ends_at_ms);
    else
        cJSON_AddNullToObject(o, "ends_at_ms");
    cJSON_AddStringToObject(o, "state", gv_lot_state_name(l->state));
    cJSON *labels = cJSON_AddArrayToObject(o, "labels");
    for (int i = 0; labels && i < l->n_labels && i < 4; i++)
        cJSON_AddItemToArray(labels, cJSON_CreateString(l->labels[i]));
    return o;
}

/* {"stream", "version", "visible", "lot", "updated_at_ms", "shown_at", "last_shown", "worker"} */
static cJSON *state_json(const char *name, gv_overlay_t *ov)
{
    gv_lot_snapshot_t snap;
    gv_lot_store_snapshot(gv_overlay_lot_store(ov), &snap);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "stream", name);
    cJSON_AddNumberToObject(o, "version", (double)snap.version);
    cJSON_AddBoolToObject(o, "visible", snap.visible);
    if (snap.visible)
        cJSON_AddItemToObject(o, "lot", lot_json(&snap.lot));
    else
        cJSON_AddNullToObject(o, "lot");
    if (snap.version) {
        cJSON_AddNumberToObject(o, "updated_at_ms", (double)snap.updated_us / 1000.0);
        cJSON_AddNumberToObject(o, "updated_after_frame", (double)snap.updated_after_frame);
    } else {
        cJSON_AddNullToObject(o, "updated_at_ms");
        cJSON_AddNullToObject(o, "updated_after_frame");
    }
    cJSON *shown = NULL;
    if (snap.shown.version) {
        shown = cJSON_CreateObject();
        cJSON_AddNumberToObject(shown, "version", (double)snap.shown.version);
        cJSON_AddNumberToObject(shown, "pts", (double)snap.shown.pts);
        cJSON_AddNumberToObject(shown, "pts_s", (double)snap.shown.pts / GV_TIME_BASE);
        cJSON_AddNumberToObject(shown, "frame", (double)snap.shown.frame);
        cJSON_AddNumberToObject(shown, "wall_ms", (double)snap.shown.wall_us / 1000.0);
        cJSON_AddNumberToObject(shown, "frame_arrival_ms",
                                (double)snap.shown.frame_arrival_us / 1000.0);
        if (snap.shown.pushed_us)
            cJSON_AddNumberToObject(shown, "pushed_ms", (double)snap.shown.pushed_us / 1000.0);
        else
            cJSON_AddNullToObject(shown, "pushed_ms");
    }
    /* shown_at answers for the current version only; last_shown is the latest one shown. */
    if (shown && snap.shown.version == snap.version) {
        cJSON_AddItemToObject(o, "shown_at", cJSON_Duplicate(shown, true));
        cJSON_AddNumberToObject(o, "shown_latency_ms",
                                (double)(snap.shown.wall_us - snap.updated_us) / 1000.0);
        /* 1: the next frame composed after the update showed it (0: the one starting then). */
        cJSON_AddNumberToObject(o, "shown_frames_after_update",
                                (double)snap.shown.frame - (double)snap.updated_after_frame);
    } else {
        cJSON_AddNullToObject(o, "shown_at");
    }
    if (shown)
        cJSON_AddItemToObject(o, "last_shown", shown);
    else
        cJSON_AddNullToObject(o, "last_shown");

    gv_overlay_stats_t st;
    gv_overlay_stats(ov, &st);
    cJSON *w = cJSON_AddObjectToObject(o, "worker");
    if (w) {
        cJSON_AddNumberToObject(w, "frames_in", (double)st.frames_in);
        cJSON_AddNumberToObject(w, "frames_dropped", (double)st.frames_dropped);
        cJSON_AddNumberToObject(w, "frames_decoded", (double)st.frames_decoded);
        cJSON_AddNumberToObject(w, "frames_out", (double)st.frames_out);
        cJSON_AddNumberToObject(w, "audio_in", (double)st.audio_in);
        cJSON_AddNumberToObject(w, "audio_dropped", (double)st.audio_dropped);
        cJSON_AddNumberToObject(w, "audio_out", (double)st.audio_out);
        cJSON_AddNumberToObject(w, "decode_errors", (double)st.decode_errors);
        cJSON_AddNumberToObject(w, "encode_errors", (double)st.encode_errors);
        cJSON_AddNumberToObject(w, "decode_ms", (double)st.decode_us / 1000.0);
        cJSON_AddNumberToObject(w, "compose_ms", (double)st.compose_us / 1000.0);
        cJSON_AddNumberToObject(w, "encode_ms", (double)st.encode_us / 1000.0);
        cJSON_AddNumberToObject(w, "encoder_opens", (double)st.encoder_opens);
        cJSON_AddNumberToObject(w, "queue_depth", st.queue_depth);
        cJSON_AddNumberToObject(w, "first_in_mono_ms", (double)st.first_in_mono_us / 1000.0);
        cJSON_AddNumberToObject(w, "last_out_mono_ms", (double)st.last_out_mono_us / 1000.0);
    }
    return o;
}

static void reply_state(struct evhttp_request *req, const char *name, gv_overlay_t *ov)
{
    cJSON *o = state_json(name, ov);
    if (!o) {
        reply_error(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    reply_json(req, 200, "OK", o);
    cJSON_Delete(o);
}

/* ---------- handlers ---------- */

typedef struct {
    const char *body;
    size_t len;
    char err[256];
    int status;
    char lot_id[65];
} bid_ctx_t;

static int apply_bid_cb(gv_lot_t *lot, bool *visible, void *ud)
{
    bid_ctx_t *c = ud;
    if (!*visible) {
        snprintf(c->err, sizeof(c->err), "no lot is shown on this stream (PUT the lot first)");
        c->status = 409;
        return GV_ENOENT;
    }
    gv_bid_t bid;
    int rc = gv_bid_parse(c->body, c->len, lot->currency, &bid, c->err, sizeof(c->err));
    if (rc == 0)
        rc = gv_lot_apply_bid(lot, &bid, c->err, sizeof(c->err));
    if (rc != 0) {
        if (!c->err[0])
            snprintf(c->err, sizeof(c->err), "%s", gv_strerror(rc));
        c->status = 400;
        return rc;
    }
    snprintf(c->lot_id, sizeof(c->lot_id), "%s", lot->id);
    return 0;
}

static void handle_put_lot(struct evhttp_request *req, const char *name, gv_overlay_t *ov,
                           const char *body, size_t len)
{
    gv_lot_t *lot = malloc(sizeof(*lot));
    char err[256] = "";
    if (!lot) {
        reply_error(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    int rc = gv_lot_parse(body, len, lot, err, sizeof(err));
    if (rc != 0) {
        reply_error(req, 400, "Bad Request", err[0] ? err : gv_strerror(rc));
        free(lot);
        return;
    }
    uint64_t v = gv_lot_store_set(gv_overlay_lot_store(ov), lot);
    gv_log(GV_LOG_INFO, name, "lot %s set (version %llu, state %s)", lot->id,
           (unsigned long long)v, gv_lot_state_name(lot->state));
    free(lot);
    reply_state(req, name, ov);
}

static void handle_bid(struct evhttp_request *req, const char *name, gv_overlay_t *ov,
                       const char *body, size_t len)
{
    bid_ctx_t c = {.body = body, .len = len};
    uint64_t v = 0;
    int rc = gv_lot_store_update(gv_overlay_lot_store(ov), apply_bid_cb, &c, &v);
    if (rc != 0) {
        reply_error(req, c.status == 409 ? 409 : 400, c.status == 409 ? "Conflict" : "Bad Request",
                    c.err);
        return;
    }
    gv_log(GV_LOG_DEBUG, name, "bid on lot %s (version %llu)", c.lot_id, (unsigned long long)v);
    reply_state(req, name, ov);
}

static void handle_delete_lot(struct evhttp_request *req, const char *name, gv_overlay_t *ov)
{
    uint64_t v = gv_lot_store_set(gv_overlay_lot_store(ov), NULL);
    gv_log(GV_LOG_INFO, name, "lot hidden (version %llu)", (unsigned long long)v);
    reply_state(req, name, ov);
}

static void method_not_allowed(struct evhttp_request *req, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    reply_error(req, 405, "Method Not Allowed", "method not allowed on this resource");
}

bool gv_overlay_api_handle(gv_overlay_api_t *api, struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!api || !path || strncmp(path, "/api/", 5) != 0)
        return false;

    int auth = check_auth(api, req);
    if (auth != 1) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          auth == 0 ? "Bearer realm=\"gavel\""
                                    : "Bearer realm=\"gavel\", error=\"invalid_token\"");
        reply_error(req, 401, "Unauthorized",
                    auth == 0 ? "missing bearer token" : "invalid bearer token");
        return true;
    }

    char name[MAX_NAME + 1];
    resource_t res;
    if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0 ||
        parse_route(path + strlen(API_PREFIX), name, &res) != 0) {
        reply_error(req, 404, "Not Found", "unknown API path");
        return true;
    }
    gv_stream_t *s = gv_registry_find_by_name(api->reg, name);
    if (!s) {
        char msg[128];
        snprintf(msg, sizeof(msg), "unknown stream \"%s\"", name);
        reply_error(req, 404, "Not Found", msg);
        return true;
    }
    gv_overlay_t *ov = gv_stream_overlay(s);
    if (!ov) {
        char msg[128];
        snprintf(msg, sizeof(msg), "stream \"%s\" has no overlay enabled", name);
        reply_error(req, 404, "Not Found", msg);
        return true;
    }

    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    bool has_body = cmd == EVHTTP_REQ_PUT || cmd == EVHTTP_REQ_POST;
    switch (res) {
    case RES_LOT:
        if (cmd != EVHTTP_REQ_PUT && cmd != EVHTTP_REQ_DELETE) {
            method_not_allowed(req, "PUT, DELETE");
            return true;
        }
        break;
    case RES_BIDS:
        if (cmd != EVHTTP_REQ_POST) {
            method_not_allowed(req, "POST");
            return true;
        }
        break;
    case RES_OVERLAY:
        if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
            method_not_allowed(req, "GET, HEAD");
            return true;
        }
        break;
    }

    size_t len = 0;
    const char *body = NULL;
    if (has_body) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        if (evbuffer_get_length(in) > api->max_body) {
            reply_error(req, 413, "Payload Too Large", "request body too large");
            return true;
        }
        const char *ct =
            evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
        if (!is_json_type(ct)) {
            reply_error(req, 415, "Unsupported Media Type",
                        "Content-Type must be application/json");
            return true;
        }
        body = body_of(req, &len);
        if (!body) {
            reply_error(req, 400, "Bad Request", "empty body: expected a JSON object");
            return true;
        }
    }

    if (res == RES_OVERLAY)
        reply_state(req, name, ov);
    else if (res == RES_LOT && cmd == EVHTTP_REQ_PUT)
        handle_put_lot(req, name, ov, body, len);
    else if (res == RES_LOT)
        handle_delete_lot(req, name, ov);
    else
        handle_bid(req, name, ov, body, len);
    return true;
}

/* ---------- lifecycle ---------- */

gv_overlay_api_t *gv_overlay_api_create(const struct gv_config *cfg, struct gv_registry *reg)
{
    if (!cfg || !reg || !cfg->api.token || !cfg->api.token[0])
        return NULL;
    gv_overlay_api_t *api = calloc(1, sizeof(*api));
    if (!api)
        return NULL;
    api->reg = reg;
    api->token = strdup(cfg->api.token);
    if (!api->token) {
        free(api);
        return NULL;
    }
    api->token_len = strlen(api->token);
    api->max_body = cfg->http.max_body_bytes > 0 ? (size_t)cfg->http.max_body_bytes : 65536;
    return api;
}

void gv_overlay_api_destroy(gv_overlay_api_t *api)
{
    if (!api)
        return;
    /* The token is a secret: clear it before the memory goes back to the allocator. */
    volatile char *t = api->token;
    for (size_t i = 0; i < api->token_len; i++)
        t[i] = 0;
    free(api->token);
    free(api);
}
