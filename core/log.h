/* The one logger. gv_log(level, ctx, fmt, ...) checks the level before formatting; ctx names
 * the object the line is about (a stream name, a peer address) and may be NULL. Lines go to
 * stderr as "TIME LEVEL [ctx] message". Secrets (publish keys) are never logged above debug. */
#ifndef GV_LOG_H
#define GV_LOG_H

#include <stdarg.h>

typedef enum {
    GV_LOG_ERROR = 0,
    GV_LOG_WARN = 1,
    GV_LOG_INFO = 2,
    GV_LOG_DEBUG = 3,
    GV_LOG_TRACE = 4,
} gv_log_level_t;

extern gv_log_level_t gv_log_level_current;

#define gv_log(level, ctx, ...)                                                \
    do {                                                                       \
        if ((level) <= gv_log_level_current)                                   \
            gv_log_write((level), (ctx), __VA_ARGS__);                         \
    } while (0)

void gv_log_set_level(gv_log_level_t level);
/* Parses "error|warn|info|debug|trace"; returns 0 or GV_EINVAL. */
int gv_log_level_parse(const char *s, gv_log_level_t *out);
void gv_log_write(gv_log_level_t level, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gv_log_vwrite(gv_log_level_t level, const char *ctx, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Routes FFmpeg's av_log into gv_log. */
void gv_log_route_ffmpeg(void);

#endif
