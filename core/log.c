/* Implementation of the one logger (see log.h), plus the bridge that routes av_log into it. */
#include "core/log.h"

#include <libavutil/log.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

gv_log_level_t gv_log_level_current = GV_LOG_INFO;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

void gv_log_set_level(gv_log_level_t level)
{
    gv_log_level_current = level;
}

int gv_log_level_parse(const char *s, gv_log_level_t *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (gv_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void gv_log_vwrite(gv_log_level_t level, const char *ctx, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

    pthread_mutex_lock(&log_lock);
    if (ctx)
        fprintf(stderr, "%s.%03dZ %-5s [%s] %s\n", ts, (int)(tv.tv_usec / 1000),
                level_names[level], ctx, msg);
    else
        fprintf(stderr, "%s.%03dZ %-5s %s\n", ts, (int)(tv.tv_usec / 1000), level_names[level],
                msg);
    pthread_mutex_unlock(&log_lock);
}

void gv_log_write(gv_log_level_t level, const char *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gv_log_vwrite(level, ctx, fmt, ap);
    va_end(ap);
}

static void ffmpeg_log_cb(void *avcl, int av_level, const char *fmt, va_list ap)
{
    gv_log_level_t level;
    if (av_level <= AV_LOG_ERROR)
        level = GV_LOG_ERROR;
    else if (av_level <= AV_LOG_WARNING)
        level = GV_LOG_WARN;
    else if (av_level <= AV_LOG_INFO)
        level = GV_LOG_DEBUG; /* FFmpeg's info is chatty; keep it below our info */
    else
        level = GV_LOG_TRACE;
    if (level > gv_log_level_current)
        return;
    const char *ctx = "ffmpeg";
    if (avcl) {
        AVClass *cls = *(AVClass **)avcl;
        if (cls && cls->item_name)
            ctx = cls->item_name(avcl);
    }
    gv_log_vwrite(level, ctx, fmt, ap);
}

void gv_log_route_ffmpeg(void)
{
    av_log_set_callback(ffmpeg_log_cb);
}
