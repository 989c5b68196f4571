/* gavel's entry point: command line, config loading, wiring of the event loop, the stream
 * registry, the RTMP listener and the HTTP origin, and orderly shutdown on SIGINT/SIGTERM
 * (open segments are closed and every playlist gets EXT-X-ENDLIST before exit). */
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stream.h"
#include "ingest/ingest.h"
#include "ingest/srt_metrics.h"
#include "packager/packager.h"

typedef struct {
    struct event_base *base;
    gv_registry_t *reg;
    gv_rtmp_server_t *rtmp;
    gv_srt_server_t *srt;
    gv_origin_t *origin;
    bool stopping;
} app_t;

/* /metrics source for the SRT listener: one snapshot of every publisher's srt_bstats. */
static size_t srt_metrics_text(void *arg, char *buf, size_t cap)
{
    app_t *app = arg;
    size_t max = gv_registry_count(app->reg) + 1; /* + a taken-over caller not yet closed */
    gv_srt_stats_t *st = calloc(max, sizeof(*st));
    size_t n = st ? gv_srt_server_stats(app->srt, st, max) : 0;
    size_t len = gv_srt_metrics_render(st, n, buf, cap);
    free(st);
    return len;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gavel -c FILE            run with the configuration in FILE\n"
            "       gavel --check-config FILE validate FILE and exit (0 when valid)\n"
            "       gavel --help | --version\n"
            "\n"
            "options:\n"
            "  -c, --config FILE     YAML configuration (see configs/production.yaml)\n"
            "  --check-config FILE   report the first problem as file:line:col: key: message\n"
            "  --log-level LEVEL     error|warn|info|debug|trace (overrides log.level)\n"
            "  -h, --help            this text\n"
            "  -V, --version         print the version\n");
}

/* The event loop with epoll's change list: libevent then applies the event changes made while
 * handling one batch of readiness with one epoll_ctl per descriptor just before it waits again,
 * instead of one per change. An HTTP response flips a connection from reading to writing and
 * back (evhttp disables one direction and enables the other), which otherwise costs four
 * epoll_ctl calls per request. gavel never dup()s a descriptor it hands to the loop, the one
 * case the change list mishandles. */
static struct event_base *new_event_base(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *base = NULL;
    if (ec && event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
        base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base ? base : event_base_new();
}

static void exit_loop_cb(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopexit(arg, NULL);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    app_t *app = arg;
    if (app->stopping) {
        gv_log(GV_LOG_WARN, NULL, "second signal: exiting now");
        event_base_loopbreak(app->base);
        return;
    }
    app->stopping = true;
    gv_log(GV_LOG_INFO, NULL, "signal %d: closing segments and ending playlists", (int)sig);
    /* Publishers are detached first (their open segments close), then every playlist ends and
     * parked blocking requests are answered with the final playlist. */
    if (app->rtmp) {
        gv_rtmp_server_destroy(app->rtmp);
        app->rtmp = NULL;
    }
    if (app->srt) {
        gv_srt_server_destroy(app->srt);
        app->srt = NULL;
    }
    gv_registry_finish_all(app->reg);
    gv_origin_wake_all(app->origin);
    /* Give in-flight responses a moment to flush, well inside the 2 s budget. */
    struct timeval tv = {0, 300 * 1000};
    event_base_once(app->base, -1, EV_TIMEOUT, exit_loop_cb, app->base, &tv);
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    const char *check_path = NULL;
    const char *log_level = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("gavel %s\n", GV_VERSION);
            return 0;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && i + 1 < argc) {
            config_path = argv[++i];
        } else if (!strcmp(a, "--check-config") && i + 1 < argc) {
            check_path = argv[++i];
        } else if (!strcmp(a, "--log-level") && i + 1 < argc) {
            log_level = argv[++i];
        } else {
            fprintf(stderr, "gavel: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }

    char err[1024];
    gv_config_t *cfg = NULL;
    if (check_path) {
        if (gv_config_load(check_path, &cfg, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("%s: ok (%zu stream%s)\n", check_path, cfg->n_streams,
               cfg->n_streams == 1 ? "" : "s");
        gv_config_free(cfg);
        return 0;
    }
    if (!config_path) {
        usage(stderr);
        return 2;
    }
    if (gv_config_load(config_path, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }

    gv_log_level_t level = GV_LOG_INFO;
    gv_log_level_parse(log_level ? log_level : cfg->log.level, &level);
    gv_log_set_level(level);
    gv_log_route_ffmpeg();
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    app_t app = {0};
    struct event *sigint = NULL, *sigterm = NULL;
    if (evthread_use_pthreads() != 0) {
        gv_log(GV_LOG_ERROR, NULL, "libevent without thread support");
        goto out;
    }
    app.base = new_event_base();
    if (!app.base)
        goto out;
    app.reg = gv_registry_create(cfg);
    if (!app.reg) {
        gv_log(GV_LOG_ERROR, NULL, "cannot create streams");
        goto out;
    }
    app.origin = gv_origin_create(app.base, cfg, app.reg);
    if (!app.origin)
        goto out;
    if (cfg->rtmp.enabled) {
        app.rtmp = gv_rtmp_server_create(app.base, cfg, app.reg);
        if (!app.rtmp)
            goto out;
    }
    if (cfg->srt.enabled) {
        app.srt = gv_srt_server_create(cfg, app.reg);
        if (!app.srt)
            goto out;
        gv_origin_add_metrics(app.origin, srt_metrics_text, &app);
    }
    sigint = evsignal_new(app.base, SIGINT, signal_cb, &app);
    sigterm = evsignal_new(app.base, SIGTERM, signal_cb, &app);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);

    gv_log(GV_LOG_INFO, NULL, "gavel %s running with %s (%zu stream%s)", GV_VERSION, config_path,
           cfg->n_streams, cfg->n_streams == 1 ? "" : "s");
    event_base_dispatch(app.base);
    rc = 0;
    gv_log(GV_LOG_INFO, NULL, "stopped");

out:
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    if (app.rtmp)
        gv_rtmp_server_destroy(app.rtmp);
    if (app.srt)
        gv_srt_server_destroy(app.srt);
    if (app.origin)
        gv_origin_destroy(app.origin);
    if (app.reg)
        gv_registry_destroy(app.reg);
    if (app.base)
        event_base_free(app.base);
    gv_config_free(cfg);
    return rc;
}
