/* End-to-end tests of the overlay control API through a real HTTP origin (libevent evhttp) on
 * loopback: the event loop runs on a thread, the test speaks HTTP/1.1 over plain sockets.
 * Covers authorization (missing, wrong, other scheme), routing (unknown path, unknown stream,
 * stream without overlay), methods (405 + Allow), content type (415), body limits (413),
 * validation errors (400 naming the field), bids for another lot (400) or with no lot (409),
 * the version/shown state of GET .../overlay, no-store caching, and that the token is never
 * echoed. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/stream.h"
#include "overlay/overlay.h"
#include "packager/packager.h"
#include "testlib.h"

#define TOKEN "unit-test-token-7f3a"

static const char CONFIG[] =
    "http: { listen: \"127.0.0.1:0\", max_body_bytes: 4096 }\n"
    "api: { token: \"" TOKEN "\" }\n"
    "streams:\n"
    "  - { name: ov, key: \"key-ov-1\", overlay: { enabled: true } }\n"
    "  - { name: plain, key: \"key-plain-1\" }\n";

static struct event_base *base;
static int port;

typedef struct {
    int status;
    char headers[4096];
    char body[16384];
} resp_t;

static void *loop_main(void *arg)
{
    event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* Sends raw bytes, reads until the server closes. Returns 0 or -1. */
static int raw_request(const char *req, size_t req_len, resp_t *r)
{
    memset(r, 0, sizeof(*r));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    size_t off = 0;
    while (off < req_len) {
        ssize_t n = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer and close before reading everything */
        off += (size_t)n;
    }
    static char buf[65536];
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= sizeof(buf) - 1)
            break;
    }
    close(fd);
    buf[got] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    char *end = strstr(buf, "\r\n\r\n");
    if (!end)
        return -1;
    size_t hl = (size_t)(end - buf);
    if (hl >= sizeof(r->headers))
        hl = sizeof(r->headers) - 1;
    memcpy(r->headers, buf, hl);
    snprintf(r->body, sizeof(r->body), "%s", end + 4);
    return 0;
}

static int request(const char *method, const char *path, const char *auth, const char *ctype,
                   const char *body, resp_t *r)
{
    size_t blen = body ? strlen(body) : 0;
    size_t cap = blen + 1024;
    char *req = malloc(cap);
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n",
                     method, path);
    if (auth)
        n += snprintf(req + n, cap - (size_t)n, "Authorization: %s\r\n", auth);
    if (ctype)
        n += snprintf(req + n, cap - (size_t)n, "Content-Type: %s\r\n", ctype);
    if (body)
        n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n", blen);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    if (body) {
        memcpy(req + n, body, blen);
        n += (int)blen;
    }
    int rc = raw_request(req, (size_t)n, r);
    free(req);
    return rc;
}

#define AUTH "Bearer " TOKEN
#define JSON "application/json"
#define LOT_PATH "/api/v1/streams/ov/lot"
#define BIDS_PATH "/api/v1/streams/ov/bids"
#define STATE_PATH "/api/v1/streams/ov/overlay"

static const char LOT42[] = "{\"id\":\"42\",\"title\":\"1986 Fleer RC Clyde Drexler\","
                            "\"currency\":\"USD\",\"starting_bid\":10,\"state\":\"live\"}";

static bool has_header(const resp_t *r, const char *line)
{
    return strcasestr(r->headers, line) != NULL;
}

static void check_json_reply(const resp_t *r)
{
    GV_CHECK(has_header(r, "Content-Type: application/json"));
    GV_CHECK(has_header(r, "Cache-Control: no-store"));
    GV_CHECK(strstr(r->body, TOKEN) == NULL);
}

static void test_auth(void)
{
    resp_t r;
    GV_CHECK_INT(request("GET", STATE_PATH, NULL, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 401);
    GV_CHECK(has_header(&r, "WWW-Authenticate: Bearer"));
    GV_CHECK(strstr(r.body, "\"error\"") != NULL);
    check_json_reply(&r);

    GV_CHECK_INT(request("GET", STATE_PATH, "Bearer wrong-token-000000", NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 401);
    GV_CHECK(has_header(&r, "invalid_token"));
    /* a prefix of the token, the token plus a byte, another scheme */
    GV_CHECK_INT(request("GET", STATE_PATH, "Bearer unit-test-token", NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 401);
    GV_CHECK_INT(request("GET", STATE_PATH, AUTH "x", NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 401);
    GV_CHECK_INT(request("GET", STATE_PATH, "Basic " TOKEN, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 401);
    GV_CHECK_INT(request("GET", STATE_PATH, "Bearer", NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 401);
    /* unauthenticated requests learn nothing about streams */
    GV_CHECK_INT(request("GET", "/api/v1/streams/nope/overlay", NULL, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 401);
    /* scheme is case-insensitive */
    GV_CHECK_INT(request("GET", STATE_PATH, "bearer " TOKEN, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 200);
}

static void test_routes(void)
{
    resp_t r;
    GV_CHECK_INT(request("GET", "/api/v1/streams/nope/overlay", AUTH, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 404);
    GV_CHECK(strstr(r.body, "unknown stream") != NULL);
    check_json_reply(&r);
    GV_CHECK_INT(request("GET", "/api/v1/streams/plain/overlay", AUTH, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 404);
    GV_CHECK(strstr(r.body, "no overlay") != NULL);
    GV_CHECK_INT(request("GET", "/api/v1/streams/ov/nothing", AUTH, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 404);
    GV_CHECK_INT(request("GET", "/api/v2/x", AUTH, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 404);
    GV_CHECK_INT(request("GET", "/api/v1/streams/..%2f/overlay", AUTH, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 404);
    /* the origin's own routes still work next to the API */
    GV_CHECK_INT(request("GET", "/healthz", NULL, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 200);
    /* methods */
    GV_CHECK_INT(request("GET", LOT_PATH, AUTH, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 405);
    GV_CHECK(has_header(&r, "Allow: PUT, DELETE"));
    GV_CHECK_INT(request("PUT", BIDS_PATH, AUTH, JSON, "{}", &r), 0);
    GV_CHECK_INT(r.status, 405);
    GV_CHECK(has_header(&r, "Allow: POST"));
    GV_CHECK_INT(request("POST", STATE_PATH, AUTH, JSON, "{}", &r), 0);
    GV_CHECK_INT(r.status, 405);
    GV_CHECK(has_header(&r, "Allow: GET, HEAD"));
}

static void test_state_initial(void)
{
    resp_t r;
    GV_CHECK_INT(request("GET", STATE_PATH, AUTH, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 200);
    check_json_reply(&r);
    GV_CHECK(strstr(r.body, "\"stream\":\"ov\"") != NULL);
    GV_CHECK(strstr(r.body, "\"version\":0") != NULL);
    GV_CHECK(strstr(r.body, "\"lot\":null") != NULL);
    GV_CHECK(strstr(r.body, "\"shown_at\":null") != NULL);
    GV_CHECK(strstr(r.body, "\"worker\":{") != NULL);
}

static void test_bodies(void)
{
    resp_t r;
    /* content type */
    GV_CHECK_INT(request("PUT", LOT_PATH, AUTH, "text/plain", LOT42, &r), 0);
    GV_CHECK_INT(r.status, 415);
    GV_CHECK_INT(request("PUT", LOT_PATH, AUTH, NULL, LOT42, &r), 0);
    GV_CHECK_INT(r.status, 415);
    /* empty, malformed, wrong types */
    GV_CHECK_INT(request("PUT", LOT_PATH, AUTH, JSON, "", &r), 0);
    GV_CHECK_INT(r.status, 400);
    GV_CHECK_INT(request("PUT", LOT_PATH, AUTH, JSON, "{\"id\":", &r), 0);
    GV_CHECK_INT(r.status, 400);
    GV_CHECK(strstr(r.body, "\"error\"") != NULL);
    check_json_reply(&r);
    GV_CHECK_INT(request("PUT", LOT_PATH, AUTH, JSON,
                         "{\"id\":\"1\",\"title\":\"t\",\"currency\":\"USD\","
                         "\"current_bid\":\"lots\"}",
                         &r),
                 0);
    GV_CHECK_INT(r.status, 400);
    GV_CHECK(strstr(r.body, "current_bid") != NULL);
    GV_CHECK_INT(request("PUT", LOT_PATH, AUTH, JSON, "[1,2]", &r), 0);
    GV_CHECK_INT(r.status, 400);
    /* larger than http.max_body_bytes (4096 here): refused before the handler runs */
    char *big = malloc(20000);
    memset(big, ' ', 19999);
    big[0] = '{';
    big[19998] = '}';
    big[19999] = '\0';
    GV_CHECK_INT(request("PUT", LOT_PATH, AUTH, JSON, big, &r), 0);
    GV_CHECK_INT(r.status, 413);
    free(big);
    /* still no lot after all of that */
    GV_CHECK_INT(request("GET", STATE_PATH, AUTH, NULL, NULL, &r), 0);
    GV_CHECK(strstr(r.body, "\"version\":0") != NULL);
}

static void test_lot_flow(void)
{
    resp_t r;
    /* a bid with no lot shown */
    GV_CHECK_INT(request("POST", BIDS_PATH, AUTH, JSON,
                         "{\"lot_id\":\"42\",\"amount\":12,\"bidder\":\"ann\"}", &r),
                 0);
    GV_CHECK_INT(r.status, 409);

    GV_CHECK_INT(request("PUT", LOT_PATH, AUTH, "application/json; charset=utf-8", LOT42, &r), 0);
    GV_CHECK_INT(r.status, 200);
    check_json_reply(&r);
    GV_CHECK(strstr(r.body, "\"version\":1") != NULL);
    GV_CHECK(strstr(r.body, "\"id\":\"42\"") != NULL);
    GV_CHECK(strstr(r.body, "\"current_bid\":10") != NULL);
    GV_CHECK(strstr(r.body, "\"visible\":true") != NULL);
    /* nothing decodes on this stream, so nothing has been shown yet */
    GV_CHECK(strstr(r.body, "\"shown_at\":null") != NULL);

    GV_CHECK_INT(request("POST", BIDS_PATH, AUTH, JSON,
                         "{\"lot_id\":\"42\",\"amount\":12.5,\"bidder\":\"ann\"}", &r),
                 0);
    GV_CHECK_INT(r.status, 200);
    GV_CHECK(strstr(r.body, "\"version\":2") != NULL);
    GV_CHECK(strstr(r.body, "\"current_bid\":12.5") != NULL);
    GV_CHECK(strstr(r.body, "\"leader\":\"ann\"") != NULL);
    GV_CHECK(strstr(r.body, "\"bid_count\":1") != NULL);

    /* a bid for another lot, a malformed bid: 400 and no new version */
    GV_CHECK_INT(request("POST", BIDS_PATH, AUTH, JSON,
                         "{\"lot_id\":\"41\",\"amount\":20,\"bidder\":\"bob\"}", &r),
                 0);
    GV_CHECK_INT(r.status, 400);
    GV_CHECK(strstr(r.body, "lot_id") != NULL);
    GV_CHECK_INT(request("POST", BIDS_PATH, AUTH, JSON, "{\"lot_id\":\"42\",\"amount\":-1}", &r),
                 0);
    GV_CHECK_INT(r.status, 400);
    GV_CHECK_INT(request("GET", STATE_PATH, AUTH, NULL, NULL, &r), 0);
    GV_CHECK(strstr(r.body, "\"version\":2") != NULL);
    GV_CHECK(strstr(r.body, "\"current_bid\":12.5") != NULL);

    GV_CHECK_INT(request("DELETE", LOT_PATH, AUTH, NULL, NULL, &r), 0);
    GV_CHECK_INT(r.status, 200);
    GV_CHECK(strstr(r.body, "\"version\":3") != NULL);
    GV_CHECK(strstr(r.body, "\"visible\":false") != NULL);
    GV_CHECK(strstr(r.body, "\"lot\":null") != NULL);
    GV_CHECK_INT(request("POST", BIDS_PATH, AUTH, JSON,
                         "{\"lot_id\":\"42\",\"amount\":30,\"bidder\":\"ann\"}", &r),
                 0);
    GV_CHECK_INT(r.status, 409);
}

static void test_disabled_without_token(void)
{
    gv_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    GV_CHECK(gv_overlay_api_create(&cfg, NULL) == NULL);
    gv_overlay_api_destroy(NULL);
}

int main(void)
{
    gv_log_set_level(GV_LOG_ERROR);
    evthread_use_pthreads();
    char err[512];
    gv_config_t *cfg = NULL;
    if (gv_config_parse("test.yaml", CONFIG, strlen(CONFIG), &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    gv_registry_t *reg = gv_registry_create(cfg);
    base = event_base_new();
    gv_origin_t *origin = reg && base ? gv_origin_create(base, cfg, reg) : NULL;
    if (!origin) {
        fprintf(stderr, "cannot start the origin\n");
        return 1;
    }
    port = gv_origin_port(origin);
    pthread_t th;
    pthread_create(&th, NULL, loop_main, NULL);

    static const gv_test_case_t cases[] = {
        GV_TEST(test_auth),        GV_TEST(test_routes),   GV_TEST(test_state_initial),
        GV_TEST(test_bodies),      GV_TEST(test_lot_flow), GV_TEST(test_disabled_without_token),
    };
    int rc = gv_test_run(cases, sizeof(cases) / sizeof(cases[0]));

    event_base_loopbreak(base);
    pthread_join(th, NULL);
    gv_origin_destroy(origin);
    gv_registry_destroy(reg);
    event_base_free(base);
    gv_config_free(cfg);
    return rc;
}
