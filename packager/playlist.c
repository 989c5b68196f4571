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
    char frac[16];
    int64_t f = units % scale;
    frac[0] = decimals ? '.' : '\0';
    for (int i = decimals; i >= 1; i--) {
        frac[i] = (char)('0' + f % 10);
        f /= 10;
    }
    frac[decimals ? decimals + 1 : 0] = '\0';
    snprintf(buf, len, "%" PRId64 "%s", units / scale, frac);
}

static void fmt_ms(char *buf, size_t len, int64_t ms)
{
    snprintf(buf, len, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
}

static void fmt_pdt(char *buf, size_t len, int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    int64_t rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        secs -= 1;
    }
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
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
    sb_printf(&sb, "#EXT-X-MEDIA-SEQUENCE:%" PRId64 "\n", m->segs[0].msn);
    /* Stays in the header, ahead of EXT-X-SKIP: some clients mis-handle it after the skip. */
    sb_printf(&sb, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRId64 "\n", m->discontinuity_seq);

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
        sb_printf(&sb, "#EXT-X-PROGRAM-DATE-TIME:%s\n", a);
        put_dateranges(&sb, s);
        if (s->list_parts || !s->complete) {
            for (size_t k = 0; k < s->n_parts; k++) {
                const gv_pl_part_t *p = &s->parts[k];
                gv_playlist_fmt_ticks(a, sizeof(a), p->duration, 5);
                sb_printf(&sb, "#EXT-X-PART:DURATION=%s,URI=\"%s\"%s\n", a, p->uri,
                          p->independent ? ",INDEPENDENT=YES" : "");
            }
        }
        if (s->complete) {
            gv_playlist_fmt_ticks(a, sizeof(a), s->duration, 5);
            sb_printf(&sb, "#EXTINF:%s,\n%s\n", a, s->uri);
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
