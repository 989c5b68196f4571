/* LL-HLS playlist rendering (see playlist.h): media playlists with parts, preload hints and
 * delta updates, and the multivariant playlist. Output only; all decisions about what is listed
 * are made by the caller. */
#include "packager/playlist.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/media.h"

typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} sbuf_t;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf_t *sb, const char *fmt, ...)
{
    if (sb->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = sb->cap - sb->len;
        int n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, sb->buf ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            sb->oom = true;
            return;
        }
        if (sb->buf && (size_t)n < room) {
            sb->len += (size_t)n;
            return;
        }
        size_t ncap = sb->cap ? sb->cap * 2 : 4096;
        while (ncap < sb->len + (size_t)n + 1)
            ncap *= 2;
        char *nb = realloc(sb->buf, ncap);
        if (!nb) {
            sb->oom = true;
            return;
        }
        sb->buf = nb;
        sb->cap = ncap;
    }
}

/* Direct appenders for the lines written once per part or segment: a playlist is rendered for
 * every part published (and more often with many readers), and formatting those lines through
 * vsnprintf was most of the origin's user-space time. */
static bool sb_reserve(sbuf_t *sb, size_t n)
{
    if (sb->oom)
        return false;
    if (sb->buf && sb->cap - sb->len > n)
        return true;
    size_t ncap = sb->cap ? sb->cap * 2 : 4096;
    while (ncap < sb->len + n + 1)
        ncap *= 2;
    char *nb = realloc(sb->buf, ncap);
    if (!nb) {
        sb->oom = true;
        return false;
    }
    sb->buf = nb;
    sb->cap = ncap;
    return true;
}

static void sb_put(sbuf_t *sb, const char *s, size_t n)
{
    if (!sb_reserve(sb, n))
        return;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

static void sb_str(sbuf_t *sb, const char *s)
{
    sb_put(sb, s, strlen(s));
}

#define SB_LIT(sb, lit) sb_put((sb), (lit), sizeof(lit) - 1)

/* Writes the decimal digits of v (>= 0) ending just before end; returns the first digit. */
static char *digits_before(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* Seconds with `decimals` decimals from GV_TIME_BASE ticks, rounded; returns the length
 * (at most 30 bytes, not NUL-terminated). */
static size_t ticks_text(char out[32], int64_t ticks, int decimals)
{
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    int64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    if (ticks < 0)
        ticks = 0;
    /* Rounded to the nearest unit of the last decimal, in integers to avoid float noise. */
    int64_t units = (ticks * scale + GV_TIME_BASE / 2) / GV_TIME_BASE;
    char tmp[32];
    char *end = tmp + sizeof(tmp);
    char *p = end;
    if (decimals) {
        int64_t f = units % scale;
        for (int i = 0; i < decimals; i++) {
            *--p = (char)('0' + f % 10);
            f /= 10;
        }
        *--p = '.';
    }
    p = digits_before(p, (uint64_t)(units / scale));
    size_t n = (size_t)(end - p);
    memcpy(out, p, n);
    return n;
}

static void sb_ticks(sbuf_t *sb, int64_t ticks, int decimals)
{
    char t[32];
    sb_put(sb, t, ticks_text(t, ticks, decimals));
}

static void sb_i64(sbuf_t *sb, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *p = digits_before(end, m);
    if (v < 0)
        *--p = '-';
    sb_put(sb, p, (size_t)(end - p));
}

static int sb_finish(sbuf_t *sb, char **out, size_t *len)
{
    if (sb->oom || !sb->buf) {
        free(sb->buf);
        return GV_ENOMEM;
    }
    *out = sb->buf;
    if (len)
        *len = sb->len;
    return 0;
}

void gv_playlist_fmt_ticks(char *buf, size_t len, int64_t ticks, int decimals)
{
    char t[32];
    size_t n = ticks_text(t, ticks, decimals);
    snprintf(buf, len, "%.*s", (int)n, t);
}

static void fmt_ms(char *buf, size_t len, int64_t ms)
{
    snprintf(buf, len, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
}

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/* ISO 8601 UTC with milliseconds ("2023-11-14T22:13:20.000Z"). Years 1970-9999 are converted
 * with integer civil-calendar arithmetic (no gmtime_r per segment); others go through gmtime_r. */
static void fmt_pdt(char *buf, size_t len, int64_t ms)
{
    int64_t secs = ms / 1000;
    int64_t rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        secs -= 1;
    }
    if (secs >= 0 && secs < 253402300800LL && len >= 25) { /* before 10000-01-01 */
        int64_t days = secs / 86400, sod = secs % 86400;
        /* Days since 1970-01-01 to year/month/day (proleptic Gregorian, eras of 400 years). */
        int64_t z = days + 719468;
        int64_t era = z / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int d = (int)(doy - (153 * mp + 2) / 5 + 1);
        int m = (int)(mp < 10 ? mp + 3 : mp - 9);
        int y = (int)(yoe + era * 400 + (m <= 2));
        put2(buf, y / 100);
        put2(buf + 2, y % 100);
        buf[4] = '-';
        put2(buf + 5, m);
        buf[7] = '-';
        put2(buf + 8, d);
        buf[10] = 'T';
        put2(buf + 11, (int)(sod / 3600));
        buf[13] = ':';
        put2(buf + 14, (int)(sod / 60 % 60));
        buf[16] = ':';
        put2(buf + 17, (int)(sod % 60));
        buf[19] = '.';
        buf[20] = (char)('0' + rem / 100);
        put2(buf + 21, (int)(rem % 100));
        buf[23] = 'Z';
        buf[24] = '\0';
        return;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, len, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
}

static void put_dateranges(sbuf_t *sb, const gv_pl_segment_t *s)
{
    char date[64], dur[48];
    for (size_t i = 0; i < s->n_dateranges; i++) {
        const gv_pl_daterange_t *d = &s->dateranges[i];
        fmt_pdt(date, sizeof(date), d->start_ms);
        sb_printf(sb, "#EXT-X-DATERANGE:ID=\"%s\"", d->id);
        if (d->klass && d->klass[0])
            sb_printf(sb, ",CLASS=\"%s\"", d->klass);
        sb_printf(sb, ",START-DATE=\"%s\"", date);
        if (d->duration_s >= 0) {
            snprintf(dur, sizeof(dur), "%.3f", d->duration_s);
            sb_printf(sb, ",DURATION=%s", dur);
        }
        if (d->attrs && d->attrs[0])
            sb_printf(sb, ",%s", d->attrs);
        sb_printf(sb, "\n");
    }
}

static int64_t seg_ticks(const gv_pl_segment_t *s)
{
    if (s->complete)
        return s->duration;
    int64_t d = 0;
    for (size_t i = 0; i < s->n_parts; i++)
        d += s->parts[i].duration;
    return d;
}

size_t gv_playlist_skippable(const gv_pl_media_t *m)
{
    int64_t total = 0;
    for (size_t i = 0; i < m->n_segs; i++)
        total += seg_ticks(&m->segs[i]);
    int64_t boundary = total - (int64_t)m->target_duration_s * 6 * GV_TIME_BASE;
    size_t n = 0;
    int64_t end = 0;
    for (size_t i = 0; i < m->n_segs; i++) {
        const gv_pl_segment_t *s = &m->segs[i];
        end += seg_ticks(s);
        if (!s->complete || end > boundary)
            break;
        n++;
    }
    /* Keep at least one segment after the skip so the delta playlist is never empty. */
    if (n > 0 && n == m->n_segs)
        n--;
    return n;
}

int gv_playlist_render_media(const gv_pl_media_t *m, gv_skip_t skip, char **out, size_t *len)
{
    if (!m || m->n_segs == 0 || m->target_duration_s <= 0 || m->part_target_ms <= 0)
        return GV_EINVAL;
    sbuf_t sb = {0};
    /* One allocation of about the final size: parts and segments take under 100 and 200 bytes
     * each with the URIs the packager makes. */
    size_t guess = 1024;
    for (size_t i = 0; i < m->n_segs; i++)
        guess += 200 + 100 * m->segs[i].n_parts + 256 * m->segs[i].n_dateranges;
    sb_reserve(&sb, guess);
    char a[64], b[64], c[64], d[64];
    int td = m->target_duration_s;

    sb_printf(&sb, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:%d\n", td);
    fmt_ms(a, sizeof(a), (int64_t)td * 6000);
    fmt_ms(b, sizeof(b), (int64_t)td * 3000);
    fmt_ms(c, sizeof(c), (int64_t)m->part_target_ms * 3);
    sb_printf(&sb,
              "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=%s,CAN-SKIP-UNTIL=%s,"
              "HOLD-BACK=%s\n",
              c, a, b);
    fmt_ms(d, sizeof(d), m->part_target_ms);
    sb_printf(&sb, "#EXT-X-PART-INF:PART-TARGET=%s\n", d);
    SB_LIT(&sb, "#EXT-X-MEDIA-SEQUENCE:");
    sb_i64(&sb, m->segs[0].msn);
    /* Stays in the header, ahead of EXT-X-SKIP: some clients mis-handle it after the skip. */
    SB_LIT(&sb, "\n#EXT-X-DISCONTINUITY-SEQUENCE:");
    sb_i64(&sb, m->discontinuity_seq);
    SB_LIT(&sb, "\n");

    size_t first = 0;
    if (skip != GV_SKIP_NONE) {
        first = gv_playlist_skippable(m);
        if (first > 0) {
            sb_printf(&sb, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%zu", first);
            if (skip == GV_SKIP_V2) {
                /* v2 lets skipped date ranges go too; the client must learn which ones left. */
                sb_printf(&sb, ",RECENTLY-REMOVED-DATERANGES=\"");
                for (size_t i = 0; i < m->n_removed_dateranges; i++)
                    sb_printf(&sb, "%s%s", i ? "\t" : "", m->removed_daterange_ids[i]);
                sb_printf(&sb, "\"");
            }
            sb_printf(&sb, "\n");
            /* YES keeps every date range: those of skipped segments follow the skip. */
            if (skip == GV_SKIP_YES)
                for (size_t i = 0; i < first; i++)
                    put_dateranges(&sb, &m->segs[i]);
        }
    }

    const char *prev_map = NULL;
    for (size_t i = first; i < m->n_segs; i++) {
        const gv_pl_segment_t *s = &m->segs[i];
        if (!s->complete && s->n_parts == 0)
            continue;
        if (s->discontinuity)
            sb_printf(&sb, "#EXT-X-DISCONTINUITY\n");
        if (s->map_uri && (!prev_map || s->discontinuity || strcmp(prev_map, s->map_uri) != 0))
            sb_printf(&sb, "#EXT-X-MAP:URI=\"%s\"\n", s->map_uri);
        prev_map = s->map_uri;
        fmt_pdt(a, sizeof(a), s->pdt_ms);
        SB_LIT(&sb, "#EXT-X-PROGRAM-DATE-TIME:");
        sb_str(&sb, a);
        SB_LIT(&sb, "\n");
        put_dateranges(&sb, s);
        if (s->list_parts || !s->complete) {
            for (size_t k = 0; k < s->n_parts; k++) {
                const gv_pl_part_t *p = &s->parts[k];
                SB_LIT(&sb, "#EXT-X-PART:DURATION=");
                sb_ticks(&sb, p->duration, 5);
                SB_LIT(&sb, ",URI=\"");
                sb_str(&sb, p->uri);
                if (p->independent)
                    SB_LIT(&sb, "\",INDEPENDENT=YES\n");
                else
                    SB_LIT(&sb, "\"\n");
            }
        }
        if (s->complete) {
            SB_LIT(&sb, "#EXTINF:");
            sb_ticks(&sb, s->duration, 5);
            SB_LIT(&sb, ",\n");
            sb_str(&sb, s->uri);
            SB_LIT(&sb, "\n");
        }
    }
    if (m->ended)
        sb_printf(&sb, "#EXT-X-ENDLIST\n");
    else if (m->preload_uri)
        sb_printf(&sb, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"%s\"\n", m->preload_uri);
    return sb_finish(&sb, out, len);
}

int gv_playlist_render_multivariant(const gv_pl_variant_t *v, char **out, size_t *len)
{
    if (!v || !v->uri || v->bandwidth <= 0)
        return GV_EINVAL;
    sbuf_t sb = {0};
    sb_printf(&sb, "#EXTM3U\n#EXT-X-VERSION:9\n");
    if (v->independent_segments)
        sb_printf(&sb, "#EXT-X-INDEPENDENT-SEGMENTS\n");
    sb_printf(&sb, "#EXT-X-STREAM-INF:BANDWIDTH=%" PRId64, v->bandwidth);
    if (v->average_bandwidth > 0)
        sb_printf(&sb, ",AVERAGE-BANDWIDTH=%" PRId64, v->average_bandwidth);
    if (v->codecs && v->codecs[0])
        sb_printf(&sb, ",CODECS=\"%s\"", v->codecs);
    if (v->width > 0 && v->height > 0)
        sb_printf(&sb, ",RESOLUTION=%dx%d", v->width, v->height);
    if (v->frame_rate > 0)
        sb_printf(&sb, ",FRAME-RATE=%.3f", v->frame_rate);
    sb_printf(&sb, "\n%s\n", v->uri);
    return sb_finish(&sb, out, len);
}
