/* The packager (see packager.h): cuts media units into CMAF parts and segments, keeps the
 * sliding window in memory, answers blocking-reload and resource lookups, and describes the
 * timeline to the playlist renderer (playlist.c).
 *
 * Timeline rules:
 *  - Parts close when one more frame would not fit in PART-TARGET, so they are published on the
 *    arrival of their last frame. The last sample's duration is an estimate (the previous frame
 *    interval); the next part's tfdt is the true dts of its first frame.
 *  - A segment ends at a video keyframe once it has reached the segment target (minus half a
 *    frame). When a part fills up at that point and the encoder has shown a fixed GOP (the last
 *    two GOPs had the same length and the next frame completes another), the keyframe is
 *    predicted and the segment ends with that part at once. Otherwise the part is held until
 *    the next frame shows whether a keyframe follows. If a predicted keyframe does not come,
 *    the next segment starts without one (as with long GOPs below).
 *  - Encoders whose keyframe interval is longer than the segment target: EXT-X-TARGETDURATION
 *    never changes and every segment must round to at most it, so the segment is cut at a part
 *    boundary before its duration would round above TARGETDURATION. That segment does not start
 *    with an independent part (players decode it after the previous one, as with any segment
 *    but the first they join on), a warning is logged once per publish, and the multivariant
 *    playlist stops claiming EXT-X-INDEPENDENT-SEGMENTS.
 *  - Retention runs on media time (the sum of published durations), so nothing expires while a
 *    stream is idle and tests are deterministic: parts leave the playlist 3 target durations
 *    after their segment ends and stay downloadable 3 more; a segment that leaves the playlist
 *    stays downloadable for (playlist duration + its duration), then its blobs are freed.
 *  - Every resource is served as "video/mp4", which every player accepts for parts too.
 *  - URIs carry a random per-instance id, so a restarted server never reuses a name a cache
 *    may hold with other bytes. */
#include "packager/packager.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "packager/codec_info.h"
#include "packager/fmp4.h"
#include "packager/playlist.h"

#define URI_LEN 48
#define MAX_PART_SAMPLES 512 /* per track and part; a part closes early when reached */
#define LAT_RING 256
#define AAC_FRAME 1024
#define DEFAULT_INTERVAL 3000       /* 30 fps, until the stream tells us */
#define JITTER_TOL 180              /* 2 ms: millisecond timestamps jitter by this much */
#define FIRST_TIMELINE_START 900000 /* 10 s: room for audio that starts before video */
#define MAX_GAP_S 10                /* a larger dts jump restarts the timeline */
#define PDT_REANCHOR_US 1000000     /* arrival this far from the media clock: re-anchor PDT */
#define PDT_SLEW_MAX_US 5000        /* at most this much PDT correction per segment */
#define NO_DTS INT64_MIN

typedef struct {
    gv_blob_t *blob;
    int64_t dur;
    bool independent;
    char uri[URI_LEN];
} part_t;

typedef struct {
    int64_t msn;
    part_t *parts;
    size_t n_parts, cap_parts;
    int64_t dur;        /* sum of part durations (ticks) */
    int64_t start_edge; /* media clock at its start */
    int64_t end_edge;   /* media clock at its end (complete segments) */
    int64_t pdt_us;
    bool discontinuity;
    bool complete;
    bool committed; /* the next part is known to belong to this segment */
    bool removed;   /* left the playlist, still downloadable until free_at */
    int64_t free_at;
    gv_blob_t *init;
    uint32_t pub;
    char uri[URI_LEN];
    char init_uri[URI_LEN];
    size_t bytes;
    int64_t vframes, vticks;
    int64_t first_opts; /* output-timeline pts of its first video frame (PDT anchor) */
} seg_t;

/* A timed-metadata range: pending until the frame it names reaches the packager, then
 * anchored to the segment that holds that frame. */
typedef struct {
    gv_daterange_t dr;
    bool resolved;
    int64_t msn;
    int64_t start_ms;
} drange_t;

#define MAX_DATERANGES 64

typedef struct {
    gv_unit_t *u;
    int64_t dts; /* output timeline ticks */
    int64_t dur;
} vsamp_t;

typedef struct {
    gv_unit_t *u;
    int64_t ts; /* audio sample-rate units */
    int64_t dur;
} asamp_t;

struct gv_pkg {
    pthread_mutex_t mu;
    char name[64];
    char inst[9];
    gv_pkg_opts_t o;
    int td_s;
    int64_t part_t, seg_t, td_t, max_seg_t;
    size_t max_parts;
    int advance_limit;
    gv_pkg_notify_fn notify;
    void *notify_ud;

    seg_t **segs; /* oldest first: removed-but-retained, listed, then the open one */
    size_t n_segs, cap_segs;
    seg_t *open;
    int64_t next_msn;
    int64_t disc_seq;
    int64_t edge; /* media clock: ticks published so far */
    uint32_t frag_seq;
    bool changed;

    /* publish state */
    bool active, ended, waiting_key, rebase, disc_pending, reinit_at_key, warned_gop;
    uint32_t pub;
    gv_blob_t *init;
    bool init_written, init_audio;
    gv_codec_config_t *vcfg, *acfg, *acfg_seen;
    bool acfg_ok;
    int a_sr, a_ch;
    int width, height;
    int64_t offset;
    bool pdt_anchored;            /* the PDT clock: wall time of output pts pdt_anchor_opts */
    int64_t pdt_anchor_us, pdt_anchor_opts;
    int64_t tl_end;
    int64_t last_vdts;
    int64_t interval;
    bool a_started;
    int64_t a_next;

    /* the open part */
    vsamp_t vs[MAX_PART_SAMPLES];
    size_t n_vs;
    asamp_t as[MAX_PART_SAMPLES];
    size_t n_as;
    bool part_full;
    /* GOP cadence, to know at a segment's last frame whether a keyframe comes next. */
    int64_t frames_since_key; /* video frames since the last keyframe, the keyframe included */
    int64_t gop_last, gop_prev; /* lengths in frames of the last two complete GOPs */
    bool predicted_cut;         /* the open segment was started on a predicted keyframe */
    int64_t part_last_arrival;
    gv_fmp4_sample_t scratch_v[MAX_PART_SAMPLES], scratch_a[MAX_PART_SAMPLES];

    drange_t dranges[MAX_DATERANGES]; /* oldest first */
    size_t n_dranges;

    int64_t lat[LAT_RING];
    size_t lat_n, lat_pos;
    bool forced_cut_ever;

    /* The last media playlist rendered for each skip mode, valid while rev is unchanged:
     * readers woken together by one part, and CDN edges, get a copy instead of a render. */
    uint64_t rev; /* bumped whenever a change (p->changed) is published */
    struct {
        uint64_t rev;
        char *text;
        size_t len;
    } plc[3];
};

/* ---------- helpers ---------- */

static void make_instance_id(char out[9])
{
    uint8_t b[4] = {0};
    ssize_t n = getrandom(b, sizeof(b), GRND_NONBLOCK);
    if (n != (ssize_t)sizeof(b)) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        bool ok = false;
        if (fd >= 0) {
            ok = read(fd, b, sizeof(b)) == (ssize_t)sizeof(b);
            close(fd);
        }
        if (!ok) {
            uint32_t x = (uint32_t)gv_now_us() ^ ((uint32_t)getpid() << 16);
            memcpy(b, &x, sizeof(b));
        }
    }
    snprintf(out, 9, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t vpart_dur(const gv_pkg_t *p)
{
    int64_t d = 0;
    for (size_t i = 0; i < p->n_vs; i++)
        d += p->vs[i].dur;
    return d;
}

static int64_t est_interval(const gv_pkg_t *p)
{
    return p->interval > 0 ? p->interval : DEFAULT_INTERVAL;
}

static int64_t tolerance(int64_t interval)
{
    return min64(interval / 4, JITTER_TOL);
}

static void release_part_samples(gv_pkg_t *p)
{
    for (size_t i = 0; i < p->n_vs; i++)
        gv_unit_unref(p->vs[i].u);
    for (size_t i = 0; i < p->n_as; i++)
        gv_unit_unref(p->as[i].u);
    p->n_vs = p->n_as = 0;
    p->part_full = false;
}

static void seg_free(seg_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_parts; i++)
        gv_blob_unref(s->parts[i].blob);
    free(s->parts);
    gv_blob_unref(s->init);
    free(s);
}

static seg_t *find_seg(gv_pkg_t *p, int64_t msn)
{
    if (p->n_segs == 0)
        return NULL;
    int64_t first = p->segs[0]->msn;
    if (msn < first || msn - first >= (int64_t)p->n_segs)
        return NULL;
    seg_t *s = p->segs[msn - first];
    return s->msn == msn ? s : NULL;
}

static int64_t last_complete_msn(const gv_pkg_t *p)
{
    return p->open ? p->open->msn - 1 : p->next_msn - 1;
}

static bool has_listed_segment(const gv_pkg_t *p)
{
    for (size_t i = 0; i < p->n_segs; i++)
        if (p->segs[i]->complete && !p->segs[i]->removed)
            return true;
    return false;
}

/* Frees retained segments whose grace period has passed (oldest first). */
static void expire(gv_pkg_t *p)
{
    size_t k = 0;
    while (k < p->n_segs && p->segs[k]->removed && p->edge >= p->segs[k]->free_at)
        seg_free(p->segs[k++]);
    if (k) {
        memmove(p->segs, p->segs + k, (p->n_segs - k) * sizeof(*p->segs));
        p->n_segs -= k;
    }
}

/* Slides the playlist window after a segment completed. */
static void update_window(gv_pkg_t *p)
{
    int64_t listed_dur = p->open ? p->open->dur : 0;
    size_t count = 0;
    int64_t sum = 0;
    size_t i = p->n_segs;
    while (i > 0) {
        seg_t *s = p->segs[i - 1];
        if (!s->complete) {
            i--;
            continue;
        }
        if (s->removed)
            break;
        if (count >= (size_t)p->o.window_segments && sum >= 3 * p->td_t)
            break;
        count++;
        sum += s->dur;
        i--;
    }
    listed_dur += sum;
    /* segs[0..i) leave the playlist now (those not already gone). */
    for (size_t k = 0; k < i; k++) {
        seg_t *s = p->segs[k];
        if (!s->complete || s->removed)
            continue;
        s->removed = true;
        /* The longest playlist that held it (listed_dur + its own) plus its duration. */
        s->free_at = p->edge + listed_dur + s->dur + s->dur;
        if (s->discontinuity)
            p->disc_seq++;
    }
}

static void record_latency(gv_pkg_t *p, int64_t v)
{
    p->lat[p->lat_pos] = v;
    p->lat_pos = (p->lat_pos + 1) % LAT_RING;
    if (p->lat_n < LAT_RING)
        p->lat_n++;
}

/* ---------- init, parts, segments ---------- */

static int write_init(gv_pkg_t *p)
{
    gv_fmp4_track_t t[2];
    size_t n = 0;
    memset(t, 0, sizeof(t));
    t[n].track_id = 1;
    t[n].timescale = GV_TIME_BASE;
    t[n].config = p->vcfg;
    t[n].width = p->width;
    t[n].height = p->height;
    n++;
    if (p->acfg && p->acfg_ok) {
        t[n].track_id = 2;
        t[n].timescale = (uint32_t)p->a_sr;
        t[n].config = p->acfg;
        t[n].sample_rate = p->a_sr;
        t[n].channels = p->a_ch;
        n++;
    }
    gv_blob_t *b = NULL;
    int rc = gv_fmp4_write_init(t, n, &b);
    if (rc < 0) {
        gv_log(GV_LOG_ERROR, p->name, "init segment: %s", gv_strerror(rc));
        return rc;
    }
    gv_blob_unref(p->init);
    p->init = b;
    p->init_written = true;
    p->init_audio = n == 2;
    return 0;
}

/* Publishes the open part into the open segment. */
static int close_part(gv_pkg_t *p)
{
    int rc = 0;
    seg_t *s = p->open;
    if (!s || (p->n_vs == 0 && p->n_as == 0)) {
        release_part_samples(p);
        return 0;
    }
    if (!p->init_written && (rc = write_init(p)) < 0)
        goto fail;
    if (!p->init_audio)
        for (size_t i = 0; i < p->n_as; i++)
            gv_unit_unref(p->as[i].u);
    if (!p->init_audio)
        p->n_as = 0;
    if (p->n_vs == 0 && p->n_as == 0)
        goto fail;
    if (!s->init) {
        s->init = gv_blob_ref(p->init);
        s->pub = p->pub;
        snprintf(s->init_uri, sizeof(s->init_uri), "init-%s-%" PRIu32 ".mp4", p->inst, p->pub);
    }

    /* Millisecond timestamps make the estimated last sample overshoot by a little: trim it so
     * the part stays within PART-TARGET (the next tfdt is exact anyway). */
    int64_t vdur = vpart_dur(p);
    if (p->n_vs > 0 && vdur > p->part_t) {
        int64_t over = vdur - p->part_t;
        vsamp_t *last = &p->vs[p->n_vs - 1];
        if (over <= tolerance(last->dur) && last->dur > over) {
            last->dur -= over;
            vdur -= over;
        }
    }

    for (size_t i = 0; i < p->n_vs; i++) {
        gv_unit_t *u = p->vs[i].u;
        int64_t cts = u->pts - u->dts;
        if (cts > INT32_MAX || cts < INT32_MIN)
            cts = 0;
        p->scratch_v[i] = (gv_fmp4_sample_t){.data = u->data,
                                             .size = (uint32_t)u->size,
                                             .duration = (uint32_t)p->vs[i].dur,
                                             .cts = (int32_t)cts,
                                             .keyframe = u->keyframe};
    }
    int64_t adur = 0;
    for (size_t i = 0; i < p->n_as; i++) {
        gv_unit_t *u = p->as[i].u;
        p->scratch_a[i] = (gv_fmp4_sample_t){.data = u->data,
                                             .size = (uint32_t)u->size,
                                             .duration = (uint32_t)p->as[i].dur,
                                             .cts = 0,
                                             .keyframe = true};
        adur += p->as[i].dur;
    }
    gv_fmp4_run_t runs[2];
    size_t nr = 0;
    if (p->n_vs) {
        runs[nr++] = (gv_fmp4_run_t){.track_id = 1,
                                     .base_dts = (uint64_t)p->vs[0].dts,
                                     .samples = p->scratch_v,
                                     .n = p->n_vs};
    }
    if (p->n_as) {
        runs[nr++] = (gv_fmp4_run_t){.track_id = 2,
                                     .base_dts = (uint64_t)p->as[0].ts,
                                     .samples = p->scratch_a,
                                     .n = p->n_as};
    }
    gv_blob_t *blob = NULL;
    if ((rc = gv_fmp4_write_fragment(++p->frag_seq, runs, nr, &blob)) < 0) {
        gv_log(GV_LOG_ERROR, p->name, "fragment: %s", gv_strerror(rc));
        goto fail;
    }
    if (s->n_parts == s->cap_parts) {
        size_t nc = s->cap_parts ? s->cap_parts * 2 : 16;
        part_t *np = realloc(s->parts, nc * sizeof(*np));
        if (!np) {
            gv_blob_unref(blob);
            rc = GV_ENOMEM;
            goto fail;
        }
        s->parts = np;
        s->cap_parts = nc;
    }
    part_t *pt = &s->parts[s->n_parts];
    pt->blob = blob;
    pt->dur = p->n_vs ? vdur : adur * GV_TIME_BASE / (p->a_sr > 0 ? p->a_sr : 1);
    pt->independent = p->n_vs > 0 && p->vs[0].u->keyframe;
    snprintf(pt->uri, sizeof(pt->uri), "p-%s-%" PRId64 "-%zu.m4s", p->inst, s->msn, s->n_parts);
    s->n_parts++;
    s->dur += pt->dur;
    s->bytes += blob->size;
    s->vframes += (int64_t)p->n_vs;
    s->vticks += p->n_vs ? vdur : 0;
    p->edge += pt->dur;
    if (p->n_vs)
        p->tl_end = p->vs[p->n_vs - 1].dts + p->vs[p->n_vs - 1].dur;
    record_latency(p, gv_now_us() - p->part_last_arrival);
    p->changed = true;
    release_part_samples(p);
    expire(p);
    return 0;
fail:
    release_part_samples(p);
    return rc;
}

/* The PDT of a segment: the wall-clock time its first frame arrived, read off a clock that
 * the publish's first frame anchors and media time advances, so consecutive PDTs differ by
 * exactly the EXTINF before them. Network jitter in arrival times is slewed out (at most
 * PDT_SLEW_MAX_US per segment, enough for any encoder clock drift); a discontinuity, or
 * arrivals later than the clock by more than PDT_REANCHOR_US (a stall), re-anchor. It
 * never re-anchors backwards, so PDTs never overlap the segments before them. */
static int64_t segment_pdt(gv_pkg_t *p, int64_t arrival_us, int64_t opts, bool discontinuity)
{
    if (!p->pdt_anchored || discontinuity) {
        p->pdt_anchored = true;
        p->pdt_anchor_us = arrival_us;
        p->pdt_anchor_opts = opts;
        return arrival_us;
    }
    int64_t predicted = p->pdt_anchor_us + (opts - p->pdt_anchor_opts) * 100 / 9;
    int64_t err = arrival_us - predicted;
    if (err > PDT_REANCHOR_US) {
        gv_log(GV_LOG_DEBUG, p->name, "arrival is %" PRId64 " ms off the media clock: "
               "PDT re-anchored", err / 1000);
        p->pdt_anchor_us = arrival_us;
        p->pdt_anchor_opts = opts;
        return arrival_us;
    }
    int64_t slew = err / 8;
    if (slew > PDT_SLEW_MAX_US)
        slew = PDT_SLEW_MAX_US;
    if (slew < -PDT_SLEW_MAX_US)
        slew = -PDT_SLEW_MAX_US;
    p->pdt_anchor_us += slew;
    return predicted + slew;
}

static int new_segment(gv_pkg_t *p, const gv_unit_t *first)
{
    if (p->n_segs == p->cap_segs) {
        size_t nc = p->cap_segs ? p->cap_segs * 2 : 32;
        seg_t **ns = realloc(p->segs, nc * sizeof(*ns));
        if (!ns)
            return GV_ENOMEM;
        p->segs = ns;
        p->cap_segs = nc;
    }
    seg_t *s = calloc(1, sizeof(*s));
    if (!s)
        return GV_ENOMEM;
    s->msn = p->next_msn++;
    s->discontinuity = p->disc_pending;
    p->disc_pending = false;
    s->first_opts = first->pts + p->offset;
    s->pdt_us = segment_pdt(p, first->arrival_us, s->first_opts, s->discontinuity);
    s->start_edge = p->edge;
    snprintf(s->uri, sizeof(s->uri), "s-%s-%" PRId64 ".m4s", p->inst, s->msn);
    if (p->init_written) {
        s->init = gv_blob_ref(p->init);
        s->pub = p->pub;
        snprintf(s->init_uri, sizeof(s->init_uri), "init-%s-%" PRIu32 ".mp4", p->inst, p->pub);
    }
    p->segs[p->n_segs++] = s;
    p->open = s;
    bool predicted = p->predicted_cut;
    p->predicted_cut = false;
    if (!first->keyframe && predicted) {
        p->forced_cut_ever = true;
        gv_log(GV_LOG_DEBUG, p->name, "expected keyframe did not come: segment %" PRId64
               " starts without one", s->msn);
    } else if (!first->keyframe) {
        p->forced_cut_ever = true;
        if (!p->warned_gop) {
            p->warned_gop = true;
            gv_log(GV_LOG_WARN, p->name,
                   "the encoder's keyframe interval is longer than the %d ms segment target: "
                   "segments are cut without a keyframe (set the encoder's keyframe interval "
                   "to the segment target)",
                   p->o.segment_target_ms);
        }
    }
    return 0;
}

static void close_segment(gv_pkg_t *p)
{
    seg_t *s = p->open;
    if (!s)
        return;
    p->open = NULL;
    if (s->n_parts == 0) {
        /* Never listed: forget it and reuse its number. */
        p->n_segs--;
        p->next_msn--;
        if (s->discontinuity)
            p->disc_pending = true;
        seg_free(s);
        return;
    }
    s->complete = true;
    s->end_edge = p->edge;
    p->changed = true;
    update_window(p);
    expire(p);
}

/* Closes what is open: the part (even if short) and the segment. */
static void close_all(gv_pkg_t *p)
{
    close_part(p);
    close_segment(p);
}

/* Starts a new init segment epoch at a video keyframe: a new publish (rebase the timeline so it
 * continues where the last one stopped) or a codec change mid-publish (timestamps continue). */
static void start_epoch(gv_pkg_t *p, const gv_unit_t *key)
{
    p->pub++;
    gv_blob_unref(p->init);
    p->init = NULL;
    p->init_written = false;
    p->init_audio = false;
    gv_codec_config_unref(p->vcfg);
    p->vcfg = gv_codec_config_ref(key->config);
    gv_codec_config_unref(p->acfg);
    p->acfg = NULL;
    p->acfg_ok = false;
    if (p->acfg_seen) {
        int aot = 0;
        p->acfg = gv_codec_config_ref(p->acfg_seen);
        p->acfg_ok =
            gv_aac_asc_parse(p->acfg->data, p->acfg->size, &aot, &p->a_sr, &p->a_ch) == 0 &&
            p->a_sr > 0;
    }
    int w = 0, h = 0;
    if (gv_video_probe_size(key->config, key->data, key->size, &w, &h) < 0 || w <= 0 || h <= 0) {
        w = key->config->width;
        h = key->config->height;
    }
    p->width = w > 0 && w <= 65535 ? w : 0;
    p->height = h > 0 && h <= 65535 ? h : 0;
    if (p->rebase) {
        p->offset = p->tl_end - key->dts;
        p->rebase = false;
        p->last_vdts = NO_DTS;
    }
    p->a_started = false;
    p->frames_since_key = p->gop_last = p->gop_prev = 0;
    p->predicted_cut = false;
    p->disc_pending = p->next_msn > 0;
    p->waiting_key = false;
    p->reinit_at_key = false;
}

/* ---------- media side ---------- */

/* Anchors pending date ranges whose frame is u (or one u has passed): START-DATE is the
 * segment's PROGRAM-DATE-TIME plus the frame's offset into the segment, so players that map
 * PDT to media time put the range exactly on that frame. */
static void resolve_dateranges(gv_pkg_t *p, const gv_unit_t *u)
{
    seg_t *s = p->open;
    if (!s)
        return;
    for (size_t i = 0; i < p->n_dranges; i++) {
        drange_t *d = &p->dranges[i];
        if (d->resolved || d->dr.start_pts > u->pts)
            continue;
        d->resolved = true;
        d->msn = s->msn;
        d->start_ms = s->pdt_us / 1000 + (u->pts + p->offset - s->first_opts) / 90;
        p->changed = true;
    }
}

/* Drops date ranges whose segment has been freed (oldest first). */
static void expire_dateranges(gv_pkg_t *p)
{
    int64_t first = p->n_segs ? p->segs[0]->msn : p->next_msn;
    size_t k = 0;
    while (k < p->n_dranges && p->dranges[k].resolved && p->dranges[k].msn < first)
        k++;
    if (k) {
        memmove(p->dranges, p->dranges + k, (p->n_dranges - k) * sizeof(*p->dranges));
        p->n_dranges -= k;
    }
}

int gv_pkg_add_daterange(gv_pkg_t *p, const gv_daterange_t *dr)
{
    if (!dr || !dr->id[0])
        return GV_EINVAL;
    pthread_mutex_lock(&p->mu);
    expire_dateranges(p);
    if (p->n_dranges == MAX_DATERANGES) {
        /* Bounded: the oldest range goes first (it is the least likely to still be listed). */
        memmove(p->dranges, p->dranges + 1, (MAX_DATERANGES - 1) * sizeof(*p->dranges));
        p->n_dranges--;
    }
    drange_t *d = &p->dranges[p->n_dranges++];
    memset(d, 0, sizeof(*d));
    d->dr = *dr;
    d->dr.id[sizeof(d->dr.id) - 1] = '\0';
    d->dr.klass[sizeof(d->dr.klass) - 1] = '\0';
    d->dr.attrs[sizeof(d->dr.attrs) - 1] = '\0';
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* True when the last two GOPs had the same length and the next frame completes another. */
static bool keyframe_predicted(const gv_pkg_t *p)
{
    return p->gop_last > 1 && p->gop_last == p->gop_prev && p->frames_since_key == p->gop_last;
}

static bool video_codec(gv_codec_t c)
{
    return c == GV_CODEC_H264 || c == GV_CODEC_HEVC;
}

static int push_video(gv_pkg_t *p, gv_unit_t *u)
{
    if (p->waiting_key) {
        if (!u->keyframe)
            return 0;
        start_epoch(p, u);
    } else if (!gv_codec_config_equal(u->config, p->vcfg)) {
        close_all(p);
        if (!u->keyframe) {
            p->waiting_key = true; /* the new parameters need a keyframe */
            return 0;
        }
        start_epoch(p, u);
    } else if (p->reinit_at_key && u->keyframe) {
        close_all(p);
        start_epoch(p, u);
    }

    int64_t odts = u->dts + p->offset;
    int64_t interval = 0;
    if (p->last_vdts != NO_DTS) {
        interval = odts - p->last_vdts;
        if (interval <= 0)
            return GV_EINVAL; /* non-increasing dts */
        if (interval > (int64_t)MAX_GAP_S * GV_TIME_BASE) {
            /* A jump in the clock: restart the timeline at this or the next keyframe. */
            gv_log(GV_LOG_WARN, p->name, "video dts jumped by %" PRId64 " ms: discontinuity",
                   interval / 90);
            close_all(p);
            p->waiting_key = true;
            p->rebase = true;
            return u->keyframe ? push_video(p, u) : 0;
        }
        if (p->n_vs > 0)
            p->vs[p->n_vs - 1].dur = interval;
        p->interval = interval;
    }
    int64_t est = est_interval(p);
    int64_t tol = tolerance(est);
    seg_t *s = p->open;
    int64_t pdur = vpart_dur(p);
    bool starting = p->n_vs == 0;
    bool key_cut =
        u->keyframe && s && s->dur + pdur >= p->seg_t - est / 2 && !(starting && s->committed);

    if (!starting &&
        (p->part_full || pdur + est > p->part_t + tol || p->n_vs >= MAX_PART_SAMPLES || key_cut)) {
        close_part(p);
        starting = true;
    }
    int rc;
    if (starting) {
        s = p->open;
        if (s && (key_cut || s->dur + p->part_t > p->max_seg_t || s->n_parts >= p->max_parts))
            close_segment(p);
        if (!p->open && (rc = new_segment(p, u)) < 0)
            return rc;
        p->open->committed = false;
    }
    if (p->n_vs >= MAX_PART_SAMPLES)
        return GV_ELIMIT;
    p->vs[p->n_vs++] = (vsamp_t){.u = gv_unit_ref(u), .dts = odts, .dur = est};
    p->last_vdts = odts;
    if (u->keyframe) {
        if (p->frames_since_key > 0) {
            p->gop_prev = p->gop_last;
            p->gop_last = p->frames_since_key;
        }
        p->frames_since_key = 0;
    }
    p->frames_since_key++;
    resolve_dateranges(p, u);
    p->part_last_arrival = u->arrival_us;

    /* Would one more frame overflow the part? Then it is complete now. */
    pdur = vpart_dur(p);
    if (pdur + est > p->part_t + tol || p->n_vs >= MAX_PART_SAMPLES) {
        s = p->open;
        int64_t seg_after = s->dur + pdur;
        if (seg_after + p->part_t > p->max_seg_t || s->n_parts + 1 >= p->max_parts) {
            close_part(p);
            close_segment(p); /* the next part cannot fit in this segment */
        } else if (seg_after >= p->seg_t - est / 2 && keyframe_predicted(p)) {
            /* A fixed-GOP encoder's next frame is a keyframe: end the segment now instead of
             * holding its last part for one frame interval. */
            close_part(p);
            close_segment(p);
            p->predicted_cut = true;
        } else if (seg_after >= p->seg_t - est / 2) {
            p->part_full = true; /* a keyframe may come next: decide on its arrival */
        } else {
            close_part(p);
            if (p->open)
                p->open->committed = true;
        }
    }
    return 0;
}

static bool set_audio_config(gv_pkg_t *p, gv_codec_config_t *c)
{
    int aot = 0;
    gv_codec_config_unref(p->acfg);
    p->acfg = gv_codec_config_ref(c);
    p->acfg_ok = gv_aac_asc_parse(c->data, c->size, &aot, &p->a_sr, &p->a_ch) == 0 && p->a_sr > 0;
    return p->acfg_ok;
}

static int push_audio(gv_pkg_t *p, gv_unit_t *u)
{
    if (!p->acfg_seen || !gv_codec_config_equal(p->acfg_seen, u->config)) {
        gv_codec_config_unref(p->acfg_seen);
        p->acfg_seen = gv_codec_config_ref(u->config);
    }
    if (p->waiting_key)
        return 0;
    if (!p->init_written) {
        if (!p->acfg || (!gv_codec_config_equal(p->acfg, u->config) && p->n_as == 0)) {
            if (!set_audio_config(p, u->config))
                return GV_ECODEC;
        } else if (!gv_codec_config_equal(p->acfg, u->config)) {
            return 0;
        }
    } else if (!p->init_audio || !gv_codec_config_equal(p->acfg, u->config)) {
        /* Audio appeared or changed after the init segment was written. */
        p->reinit_at_key = true;
        return 0;
    }
    if (!p->acfg_ok)
        return GV_ECODEC;
    if (p->n_as >= MAX_PART_SAMPLES)
        return GV_ELIMIT;

    int64_t t = u->dts + p->offset;
    if (t < 0)
        return GV_EINVAL;
    int64_t in_ts = t * p->a_sr / GV_TIME_BASE;
    if (!p->a_started) {
        p->a_next = in_ts;
        p->a_started = true;
    } else if (in_ts - p->a_next > 2 * AAC_FRAME) {
        /* A gap: stretch the previous frame over it inside the part, else start the run at
         * the true time. */
        if (p->n_as > 0)
            p->as[p->n_as - 1].dur += in_ts - p->a_next;
        p->a_next = in_ts;
    } else if (p->a_next - in_ts > 2 * AAC_FRAME) {
        if (p->n_as > 0)
            return GV_EINVAL; /* overlaps what this part already holds */
        p->a_next = in_ts;
    }
    p->as[p->n_as++] = (asamp_t){.u = gv_unit_ref(u), .ts = p->a_next, .dur = AAC_FRAME};
    p->a_next += AAC_FRAME;
    p->part_last_arrival = u->arrival_us;
    return 0;
}

/* ---------- public API ---------- */

gv_pkg_t *gv_pkg_create(const char *name, const gv_pkg_opts_t *opts)
{
    if (!opts || opts->part_target_ms <= 0 || opts->segment_target_ms < opts->part_target_ms ||
        opts->window_segments <= 0 || opts->segment_target_ms > 60000)
        return NULL;
    gv_pkg_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return NULL;
    }
    snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
    make_instance_id(p->inst);
    p->o = *opts;
    p->td_s = (opts->segment_target_ms + 999) / 1000;
    p->part_t = (int64_t)opts->part_target_ms * 90;
    p->seg_t = (int64_t)opts->segment_target_ms * 90;
    p->td_t = (int64_t)p->td_s * GV_TIME_BASE;
    p->max_seg_t = p->td_t + GV_TIME_BASE / 2 - 1; /* rounds to TARGETDURATION at most */
    p->max_parts =
        (size_t)(2 * ((int64_t)p->td_s * 1000 + opts->part_target_ms - 1) / opts->part_target_ms) +
        2;
    p->advance_limit = opts->part_target_ms < 1000 ? 3000 / opts->part_target_ms : 3;
    p->tl_end = FIRST_TIMELINE_START;
    p->last_vdts = NO_DTS;
    p->waiting_key = true;
    p->rebase = true;
    return p;
}

void gv_pkg_destroy(gv_pkg_t *p)
{
    if (!p)
        return;
    release_part_samples(p);
    for (size_t i = 0; i < p->n_segs; i++)
        seg_free(p->segs[i]);
    free(p->segs);
    gv_blob_unref(p->init);
    gv_codec_config_unref(p->vcfg);
    gv_codec_config_unref(p->acfg);
    gv_codec_config_unref(p->acfg_seen);
    for (size_t i = 0; i < sizeof(p->plc) / sizeof(p->plc[0]); i++)
        free(p->plc[i].text);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void gv_pkg_set_notify(gv_pkg_t *p, gv_pkg_notify_fn fn, void *ud)
{
    pthread_mutex_lock(&p->mu);
    p->notify = fn;
    p->notify_ud = ud;
    pthread_mutex_unlock(&p->mu);
}

/* Unlocks and, if the timeline changed, tells the origin. */
static void unlock_notify(gv_pkg_t *p)
{
    bool changed = p->changed;
    p->changed = false;
    if (changed)
        p->rev++;
    gv_pkg_notify_fn fn = p->notify;
    void *ud = p->notify_ud;
    pthread_mutex_unlock(&p->mu);
    if (changed && fn)
        fn(ud);
}

static void begin_locked(gv_pkg_t *p)
{
    if (p->active)
        close_all(p);
    release_part_samples(p);
    p->active = true;
    p->waiting_key = true;
    p->rebase = true;
    p->reinit_at_key = false;
    p->warned_gop = false;
    gv_codec_config_unref(p->acfg_seen);
    p->acfg_seen = NULL;
    /* Ranges still waiting for their frame named the old publish's timeline: drop them. */
    size_t k = 0;
    for (size_t i = 0; i < p->n_dranges; i++)
        if (p->dranges[i].resolved)
            p->dranges[k++] = p->dranges[i];
    p->n_dranges = k;
}

void gv_pkg_publish_begin(gv_pkg_t *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->ended)
        begin_locked(p);
    unlock_notify(p);
}

int gv_pkg_push(gv_pkg_t *p, gv_unit_t *u)
{
    if (!u || !u->config || (u->size > 0 && !u->data) || u->size > UINT32_MAX)
        return GV_EINVAL;
    int rc;
    pthread_mutex_lock(&p->mu);
    if (p->ended) {
        rc = GV_ECLOSED;
    } else {
        if (!p->active)
            begin_locked(p);
        if (u->track == GV_TRACK_VIDEO && video_codec(u->codec) && u->config->codec == u->codec)
            rc = push_video(p, u);
        else if (u->track == GV_TRACK_AUDIO && u->codec == GV_CODEC_AAC &&
                 u->config->codec == GV_CODEC_AAC)
            rc = push_audio(p, u);
        else
            rc = GV_EUNSUPP;
    }
    unlock_notify(p);
    return rc;
}

static void end_locked(gv_pkg_t *p)
{
    if (!p->active)
        return;
    close_all(p);
    p->active = false;
    p->waiting_key = true;
    p->rebase = true;
    gv_codec_config_unref(p->acfg_seen);
    p->acfg_seen = NULL;
    p->changed = true;
}

void gv_pkg_publish_end(gv_pkg_t *p)
{
    pthread_mutex_lock(&p->mu);
    end_locked(p);
    unlock_notify(p);
}

void gv_pkg_finish(gv_pkg_t *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->ended) {
        end_locked(p);
        close_all(p);
        p->ended = true;
        p->changed = true;
    }
    unlock_notify(p);
}

void gv_pkg_state(gv_pkg_t *p, gv_pkg_state_t *out)
{
    pthread_mutex_lock(&p->mu);
    out->has_segment = has_listed_segment(p);
    out->ended = p->ended;
    out->last_msn = out->has_segment ? last_complete_msn(p) : -1;
    out->target_duration_s = p->td_s;
    out->part_target_ms = p->o.part_target_ms;
    pthread_mutex_unlock(&p->mu);
}

static int block_ready_locked(gv_pkg_t *p, int64_t msn, int64_t part)
{
    if (p->ended)
        return 1;
    int64_t last = last_complete_msn(p);
    if (msn < 0 || msn > last + 2)
        return GV_EINVAL;
    if (part < 0)
        return msn <= last ? 1 : 0;
    if (part >= (int64_t)p->max_parts)
        return GV_EINVAL;
    if (msn <= last) {
        seg_t *s = find_seg(p, msn);
        if (!s || part < (int64_t)s->n_parts)
            return 1;
        /* Past the last part of a complete segment: part 0 of the next one. */
        if (msn + 1 <= last)
            return 1;
        return p->open && p->open->msn == msn + 1 && p->open->n_parts > 0 ? 1 : 0;
    }
    int64_t published = p->open && p->open->msn == msn ? (int64_t)p->open->n_parts : 0;
    if (part < published)
        return 1;
    /* Fewest parts that must still be published before this one exists. */
    int64_t ahead = part - published + 1;
    if (ahead > p->advance_limit)
        return GV_EINVAL;
    return 0;
}

int gv_pkg_block_ready(gv_pkg_t *p, int64_t msn, int64_t part)
{
    pthread_mutex_lock(&p->mu);
    int rc = block_ready_locked(p, msn, part);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* The part the next publication will produce (the preload hint). */
static void hint_of(const gv_pkg_t *p, int64_t *msn, int64_t *idx)
{
    if (p->open) {
        *msn = p->open->msn;
        *idx = (int64_t)p->open->n_parts;
    } else {
        *msn = p->next_msn;
        *idx = 0;
    }
}

static int dup_text(const char *text, size_t n, char **out, size_t *len)
{
    char *c = malloc(n + 1);
    if (!c)
        return GV_ENOMEM;
    memcpy(c, text, n);
    c[n] = '\0';
    *out = c;
    *len = n;
    return 0;
}

int gv_pkg_render_media(gv_pkg_t *p, gv_skip_t skip, char **out, size_t *len)
{
    int rc;
    gv_pl_segment_t *ps = NULL;
    gv_pl_part_t *pp = NULL;
    gv_pl_daterange_t *pd = NULL;
    const char **removed_ids = NULL;
    size_t n_removed = 0;
    char hint[URI_LEN];

    pthread_mutex_lock(&p->mu);
    if (!has_listed_segment(p)) {
        rc = GV_EAGAIN;
        goto done;
    }
    bool cacheable = skip >= 0 && (size_t)skip < sizeof(p->plc) / sizeof(p->plc[0]);
    if (cacheable && p->plc[skip].text && p->plc[skip].rev == p->rev) {
        rc = dup_text(p->plc[skip].text, p->plc[skip].len, out, len);
        goto done;
    }
    size_t ns = 0, np = 0;
    for (size_t i = 0; i < p->n_segs; i++) {
        if (!p->segs[i]->removed) {
            ns++;
            np += p->segs[i]->n_parts;
        }
    }
    expire_dateranges(p);
    ps = calloc(ns, sizeof(*ps));
    pp = calloc(np ? np : 1, sizeof(*pp));
    pd = calloc(p->n_dranges ? p->n_dranges : 1, sizeof(*pd));
    removed_ids = calloc(p->n_dranges ? p->n_dranges : 1, sizeof(*removed_ids));
    if (!ps || !pp || !pd || !removed_ids) {
        rc = GV_ENOMEM;
        goto done;
    }
    size_t k = 0, kp = 0, kd = 0;
    for (size_t i = 0; i < p->n_segs; i++) {
        seg_t *s = p->segs[i];
        if (s->removed) {
            /* Ranges that left with it are reported to v2 delta clients as recently removed. */
            for (size_t j = 0; j < p->n_dranges; j++)
                if (p->dranges[j].resolved && p->dranges[j].msn == s->msn)
                    removed_ids[n_removed++] = p->dranges[j].dr.id;
            continue;
        }
        int64_t end = s->complete ? s->end_edge : p->edge;
        gv_pl_segment_t *d = &ps[k++];
        d->msn = s->msn;
        d->uri = s->uri;
        d->map_uri = s->init_uri[0] ? s->init_uri : NULL;
        d->duration = s->dur;
        d->pdt_ms = s->pdt_us / 1000;
        d->discontinuity = s->discontinuity;
        d->complete = s->complete;
        d->list_parts = !s->complete || p->edge - end < 3 * p->td_t;
        d->parts = &pp[kp];
        d->n_parts = s->n_parts;
        d->dateranges = &pd[kd];
        for (size_t j = 0; j < p->n_dranges; j++) {
            const drange_t *r = &p->dranges[j];
            if (!r->resolved || r->msn != s->msn)
                continue;
            pd[kd++] = (gv_pl_daterange_t){.id = r->dr.id,
                                           .klass = r->dr.klass,
                                           .attrs = r->dr.attrs,
                                           .start_ms = r->start_ms,
                                           .duration_s = r->dr.duration_s};
            d->n_dateranges++;
        }
        for (size_t j = 0; j < s->n_parts; j++) {
            pp[kp].uri = s->parts[j].uri;
            pp[kp].duration = s->parts[j].dur;
            pp[kp].independent = s->parts[j].independent;
            kp++;
        }
    }
    int64_t hm, hi;
    hint_of(p, &hm, &hi);
    snprintf(hint, sizeof(hint), "p-%s-%" PRId64 "-%" PRId64 ".m4s", p->inst, hm, hi);
    gv_pl_media_t m = {
        .target_duration_s = p->td_s,
        .part_target_ms = p->o.part_target_ms,
        .discontinuity_seq = p->disc_seq,
        .segs = ps,
        .n_segs = k,
        .preload_uri = hint,
        .ended = p->ended,
        .removed_daterange_ids = removed_ids,
        .n_removed_dateranges = n_removed,
    };
    rc = gv_playlist_render_media(&m, skip, out, len);
    if (rc == 0 && cacheable) {
        char *copy = NULL;
        size_t clen = 0;
        free(p->plc[skip].text);
        p->plc[skip].text = NULL;
        if (dup_text(*out, *len, &copy, &clen) == 0) {
            p->plc[skip].text = copy;
            p->plc[skip].len = clen;
            p->plc[skip].rev = p->rev;
        }
    }
done:
    pthread_mutex_unlock(&p->mu);
    free(ps);
    free(pp);
    free(pd);
    free(removed_ids);
    return rc;
}

int gv_pkg_render_multivariant(gv_pkg_t *p, const char *media_uri, char **out, size_t *len)
{
    int rc;
    char codecs[128] = "", vc[56], ac[56];
    pthread_mutex_lock(&p->mu);
    if (!has_listed_segment(p)) {
        rc = GV_EAGAIN;
        goto done;
    }
    double peak = 0, bytes = 0, ticks = 0, fps = 0;
    for (size_t i = 0; i < p->n_segs; i++) {
        seg_t *s = p->segs[i];
        if (!s->complete || s->removed || s->dur <= 0)
            continue;
        double bps = (double)s->bytes * 8.0 * GV_TIME_BASE / (double)s->dur;
        if (bps > peak)
            peak = bps;
        bytes += (double)s->bytes;
        ticks += (double)s->dur;
        if (s->vticks > 0)
            fps = (double)s->vframes * GV_TIME_BASE / (double)s->vticks;
    }
    if (p->vcfg && gv_codec_string(p->vcfg, vc, sizeof(vc)) == 0) {
        if (p->init_audio && p->acfg && gv_codec_string(p->acfg, ac, sizeof(ac)) == 0)
            snprintf(codecs, sizeof(codecs), "%s,%s", vc, ac);
        else
            snprintf(codecs, sizeof(codecs), "%s", vc);
    }
    gv_pl_variant_t v = {
        .bandwidth = peak > 1 ? (int64_t)(peak + 0.999) : 1,
        .average_bandwidth = ticks > 0 ? (int64_t)(bytes * 8.0 * GV_TIME_BASE / ticks + 0.5) : 0,
        .codecs = codecs,
        .width = p->width,
        .height = p->height,
        .frame_rate = fps,
        .independent_segments = !p->forced_cut_ever,
        .uri = media_uri,
    };
    rc = gv_playlist_render_multivariant(&v, out, len);
done:
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* ---------- resources by name ---------- */

enum { NAME_INIT, NAME_PART, NAME_SEG };

/* Reads decimal digits (1..15, no sign) up to the terminator char. */
static bool read_num(const char **s, char term, int64_t *out)
{
    const char *p = *s;
    int64_t v = 0;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
        if (++n > 15)
            return false;
        v = v * 10 + (*p - '0');
        p++;
    }
    if (n == 0 || *p != term)
        return false;
    *out = v;
    *s = p + 1;
    return true;
}

static bool parse_name(const char *inst, const char *f, int *kind, int64_t *a, int64_t *b)
{
    const char *suffix;
    if (strncmp(f, "init-", 5) == 0) {
        *kind = NAME_INIT;
        f += 5;
        suffix = ".mp4";
    } else if (strncmp(f, "p-", 2) == 0) {
        *kind = NAME_PART;
        f += 2;
        suffix = ".m4s";
    } else if (strncmp(f, "s-", 2) == 0) {
        *kind = NAME_SEG;
        f += 2;
        suffix = ".m4s";
    } else {
        return false;
    }
    if (strncmp(f, inst, 8) != 0 || f[8] != '-')
        return false;
    f += 9;
    if (*kind == NAME_PART) {
        if (!read_num(&f, '-', a) || !read_num(&f, '.', b))
            return false;
    } else if (!read_num(&f, '.', a)) {
        return false;
    }
    return strcmp(f - 1, suffix) == 0;
}

static int res_fill(gv_pkg_resource_t *res, gv_blob_t **blobs, size_t n)
{
    res->blobs = calloc(n ? n : 1, sizeof(*res->blobs));
    if (!res->blobs)
        return GV_ENOMEM;
    res->n = n;
    res->total = 0;
    for (size_t i = 0; i < n; i++) {
        res->blobs[i] = gv_blob_ref(blobs[i]);
        res->total += blobs[i]->size;
    }
    res->content_type = "video/mp4";
    return 0;
}

static int get_locked(gv_pkg_t *p, const char *file, gv_pkg_resource_t *res)
{
    int kind;
    int64_t a = 0, b = 0;
    if (!parse_name(p->inst, file, &kind, &a, &b))
        return GV_ENOENT;
    if (kind == NAME_INIT) {
        if (p->init && p->pub == (uint32_t)a && a <= UINT32_MAX)
            return res_fill(res, &p->init, 1);
        for (size_t i = 0; i < p->n_segs; i++)
            if (p->segs[i]->init && p->segs[i]->pub == (uint32_t)a && a <= UINT32_MAX)
                return res_fill(res, &p->segs[i]->init, 1);
        return GV_ENOENT;
    }
    seg_t *s = find_seg(p, a);
    int64_t hm, hi;
    hint_of(p, &hm, &hi);
    bool hinted = !p->ended && hm == a && hi == b;
    if (kind == NAME_PART) {
        if (hinted)
            return GV_EAGAIN;
        if (!s || b >= (int64_t)s->n_parts)
            return GV_ENOENT;
        if (s->complete && p->edge - s->end_edge >= 6 * p->td_t)
            return GV_ENOENT; /* out of the playlist for 3 target durations */
        return res_fill(res, &s->parts[b].blob, 1);
    }
    if (!s)
        return GV_ENOENT;
    if (!s->complete)
        return GV_EAGAIN;
    gv_blob_t *tmp[64];
    gv_blob_t **blobs = s->n_parts <= 64 ? tmp : calloc(s->n_parts, sizeof(*blobs));
    if (!blobs)
        return GV_ENOMEM;
    for (size_t i = 0; i < s->n_parts; i++)
        blobs[i] = s->parts[i].blob;
    int rc = res_fill(res, blobs, s->n_parts);
    if (blobs != tmp)
        free(blobs);
    return rc;
}

int gv_pkg_get(gv_pkg_t *p, const char *file, gv_pkg_resource_t *res)
{
    if (!file || !res)
        return GV_EINVAL;
    memset(res, 0, sizeof(*res));
    pthread_mutex_lock(&p->mu);
    int rc = get_locked(p, file, res);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void gv_pkg_resource_release(gv_pkg_resource_t *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n; i++)
        gv_blob_unref(res->blobs[i]);
    free(res->blobs);
    memset(res, 0, sizeof(*res));
}

size_t gv_pkg_list_latency_samples(gv_pkg_t *p, int64_t *out, size_t max)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->lat_n < max ? p->lat_n : max;
    /* The most recent n, oldest first. */
    for (size_t i = 0; i < n; i++) {
        size_t idx = (p->lat_pos + LAT_RING - n + i) % LAT_RING;
        out[i] = p->lat[idx];
    }
    pthread_mutex_unlock(&p->mu);
    return n;
}
