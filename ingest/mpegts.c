/* MPEG-TS demuxing with libavformat (see mpegts.h).
 *
 * Threading choice. libavformat's mpegts demuxer pulls bytes through AVIOContext and cannot be
 * paused half-way: when its read callback reports "no data yet" it flushes whatever PES it has
 * started as a finished packet (a truncated frame) and skips the rest of it, and its stream
 * probing may read ahead an unbounded amount. Feeding it from a non-blocking callback therefore
 * corrupts frames whenever the network is slower than the demuxer, which is always. So the
 * demuxer runs where blocking is harmless: gv_mpegts_run() is driven by a read callback that may
 * block, and the SRT server gives each publisher a small demux thread fed from a bounded queue
 * of 1316-byte payloads; the SRT epoll thread itself never waits on the demuxer. The same code
 * runs over a memory buffer for unit tests and fuzzing (gv_mpegts_demux_buffer).
 *
 * Demuxer settings: the input format is forced to mpegts (no format probing), parsers are off
 * (AVFMT_FLAG_NOPARSE: a PES is one access unit for every encoder we take, and a parser would
 * hold each frame back until the next one starts), avformat_find_stream_info is never called,
 * streams gavel does not take are discarded at the demuxer (so OBS's stream_type 6 data PID
 * never triggers codec probing), and libavformat's own 33-bit wrap correction is off because
 * it only handles the first wrap: gavel unwraps the raw clock itself, shares one clock between
 * the tracks, and closes up jumps (encoder restarts, long losses) so units stay monotonic. */
#include "ingest/mpegts.h"

#include <libavformat/avformat.h>
#include <libavutil/mem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/annexb.h"
#include "core/error.h"
#include "core/log.h"
#include "ingest/mpegts_es.h"

#define IO_BUF_SIZE (64 * 188)
#define PROBE_BYTES (256 * 1024)    /* header scan bound (PAT/PMT search) and seek-back buffer */
#define MAX_ERRORS_IN_ROW 1000
#define JUMP_FWD (5 * GV_TIME_BASE) /* a dts step larger than this is a discontinuity */
#define JUMP_BACK (GV_TIME_BASE / 2)
#define TS33 ((uint64_t)1 << 33)

typedef struct {
    uint8_t *data[GV_ANNEXB_MAX_PS];
    size_t size[GV_ANNEXB_MAX_PS];
    size_t n;
} ps_list_t;

typedef struct {
    int index;           /* AVStream index, -1 when none */
    gv_codec_t codec;
    gv_codec_config_t *cfg;
    bool have_last;
    int64_t last_dts;    /* output clock */
    int64_t nominal;     /* typical dts step, for closing up jumps */
} track_t;

struct gv_mpegts {
    char ctx[64];
    gv_mpegts_read_fn rd;
    gv_mpegts_emit_fn emit;
    void *opaque;
    bool drop_tail;
    bool input_ended;
    int64_t arrival_us;
    uint8_t first[IO_BUF_SIZE]; /* the first read, taken before the demuxer is opened */
    size_t first_len, first_pos;

    track_t tr[GV_TRACK_COUNT];
    bool video_started;
    gv_ts33_unwrap_t clock;
    int64_t offset;      /* added to the unwrapped clock to produce output timestamps */
    ps_list_t ps[GV_ANNEXB_PS_KINDS];
    gv_annexb_au_t au;
    bool logged_ignored[64];
    gv_mpegts_stats_t st;
};

int64_t gv_ts33_unwrap(gv_ts33_unwrap_t *u, uint64_t raw)
{
    raw &= TS33 - 1;
    if (!u->started) {
        u->started = 1;
        u->prev = raw;
        u->value = (int64_t)raw;
        return u->value;
    }
    int64_t d = (int64_t)((raw - u->prev) & (TS33 - 1));
    if (d >= (int64_t)(TS33 / 2))
        d -= (int64_t)TS33;
    u->prev = raw;
    u->value += d;
    return u->value;
}

gv_mpegts_t *gv_mpegts_create(const char *ctx, gv_mpegts_read_fn rd, gv_mpegts_emit_fn emit,
                              void *opaque)
{
    gv_mpegts_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    snprintf(m->ctx, sizeof(m->ctx), "%s", ctx ? ctx : "mpegts");
    m->rd = rd;
    m->emit = emit;
    m->opaque = opaque;
    for (int t = 0; t < GV_TRACK_COUNT; t++) {
        m->tr[t].index = -1;
        m->tr[t].nominal = t == GV_TRACK_VIDEO ? GV_TIME_BASE / 30 : 1920;
    }
    gv_annexb_au_init(&m->au);
    return m;
}

void gv_mpegts_set_drop_tail(gv_mpegts_t *m, int drop)
{
    m->drop_tail = drop != 0;
}

void gv_mpegts_get_stats(const gv_mpegts_t *m, gv_mpegts_stats_t *out)
{
    *out = m->st;
}

static void ps_clear(ps_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->data[i]);
    l->n = 0;
}

void gv_mpegts_destroy(gv_mpegts_t *m)
{
    if (!m)
        return;
    for (int t = 0; t < GV_TRACK_COUNT; t++)
        gv_codec_config_unref(m->tr[t].cfg);
    for (int k = 0; k < GV_ANNEXB_PS_KINDS; k++)
        ps_clear(&m->ps[k]);
    gv_annexb_au_free(&m->au);
    free(m);
}

/* ---- timestamps ---- */

/* Maps a raw 33-bit dts (and pts) to the output clock for track t. Returns false when the unit
 * must be dropped (dts not after the previous one of the track). */
static bool map_time(gv_mpegts_t *m, gv_track_t t, int64_t raw_dts, int64_t raw_pts,
                     int64_t *dts, int64_t *pts)
{
    track_t *tr = &m->tr[t];
    int64_t d = gv_ts33_unwrap(&m->clock, (uint64_t)raw_dts) + m->offset;
    int64_t cto = (int64_t)(((uint64_t)raw_pts - (uint64_t)raw_dts) & (TS33 - 1));
    if (cto >= (int64_t)(TS33 / 2))
        cto -= (int64_t)TS33;
    if (cto < 0 || cto > 10 * GV_TIME_BASE)
        cto = 0; /* pts before dts or absurd reordering: present at decode time */
    if (tr->have_last) {
        int64_t step = d - tr->last_dts;
        if (step > JUMP_FWD || step < -JUMP_BACK) {
            int64_t want = tr->last_dts + tr->nominal;
            m->offset += want - d;
            d = want;
            m->st.discontinuities++;
            gv_log(GV_LOG_INFO, m->ctx, "timestamp jump of %lld ms on %s closed up",
                   (long long)(step / 90), t == GV_TRACK_VIDEO ? "video" : "audio");
        } else if (step <= 0) {
            m->st.dropped_nonmonotonic++;
            return false;
        } else if (step < 10 * GV_TIME_BASE) {
            tr->nominal = step;
        }
    }
    tr->have_last = true;
    tr->last_dts = d;
    *dts = d;
    *pts = d + cto;
    return true;
}

static int emit_unit(gv_mpegts_t *m, gv_track_t t, const uint8_t *p, size_t n, int64_t dts,
                     int64_t pts, bool key)
{
    gv_unit_t *u = gv_unit_create(t, m->tr[t].cfg, p, n);
    if (!u)
        return GV_ENOMEM;
    u->dts = dts;
    u->pts = pts;
    u->keyframe = key;
    if (m->arrival_us)
        u->arrival_us = m->arrival_us;
    m->st.units[t]++;
    int rc = m->emit(m->opaque, u);
    gv_unit_unref(u);
    return rc < 0 ? rc : 0;
}

/* Installs a new config for track t when rec differs from the current one. */
static int install_config(gv_mpegts_t *m, gv_track_t t, gv_codec_t codec, const uint8_t *rec,
                          size_t n, int rate, int channels)
{
    track_t *tr = &m->tr[t];
    if (tr->cfg && tr->cfg->codec == codec && tr->cfg->size == n && !memcmp(tr->cfg->data, rec, n))
        return 0;
    gv_codec_config_t *c = gv_codec_config_create(codec, rec, n);
    if (!c)
        return GV_ENOMEM;
    c->sample_rate = rate;
    c->channels = channels;
    gv_codec_config_unref(tr->cfg);
    tr->cfg = c;
    m->st.config_changes++;
    gv_log(GV_LOG_INFO, m->ctx, "%s config: %s, %zu bytes", t == GV_TRACK_VIDEO ? "video" : "audio",
           gv_codec_name(codec), n);
    return 0;
}

/* ---- video ---- */

static int store_ps(gv_mpegts_t *m)
{
    for (int k = 0; k < GV_ANNEXB_PS_KINDS; k++) {
        if (!m->au.n_ps[k])
            continue;
        ps_list_t tmp = {0};
        for (size_t i = 0; i < m->au.n_ps[k]; i++) {
            tmp.data[i] = malloc(m->au.ps[k][i].n);
            if (!tmp.data[i]) {
                ps_clear(&tmp);
                return GV_ENOMEM;
            }
            memcpy(tmp.data[i], m->au.ps[k][i].p, m->au.ps[k][i].n);
            tmp.size[i] = m->au.ps[k][i].n;
            tmp.n = i + 1;
        }
        ps_clear(&m->ps[k]);
        m->ps[k] = tmp;
    }
    return 0;
}

static int rebuild_video_config(gv_mpegts_t *m, gv_codec_t codec)
{
    gv_annexb_nal_t l[GV_ANNEXB_PS_KINDS][GV_ANNEXB_MAX_PS];
    size_t n[GV_ANNEXB_PS_KINDS];
    for (int k = 0; k < GV_ANNEXB_PS_KINDS; k++) {
        n[k] = m->ps[k].n;
        for (size_t i = 0; i < n[k]; i++)
            l[k][i] = (gv_annexb_nal_t){m->ps[k].data[i], m->ps[k].size[i]};
    }
    const size_t vps = GV_ANNEXB_VPS, sps = GV_ANNEXB_SPS, pps = GV_ANNEXB_PPS;
    uint8_t *rec = NULL;
    size_t rec_size = 0;
    int err;
    if (codec == GV_CODEC_H264) {
        if (!n[sps] || !n[pps])
            return 0;
        err = gv_annexb_avcc_from_ps(l[sps], n[sps], l[pps], n[pps], &rec, &rec_size);
    } else {
        if (!n[vps] || !n[sps] || !n[pps])
            return 0;
        err = gv_annexb_hvcc_from_ps(l[vps], n[vps], l[sps], n[sps], l[pps], n[pps], &rec,
                                     &rec_size);
    }
    if (err == GV_ENOMEM)
        return err;
    if (err < 0) {
        gv_log(GV_LOG_DEBUG, m->ctx, "unusable parameter sets: %s", gv_strerror(err));
        return 0;
    }
    err = install_config(m, GV_TRACK_VIDEO, codec, rec, rec_size, 0, 0);
    free(rec);
    return err;
}

static int on_video(gv_mpegts_t *m, const AVPacket *pkt, int64_t raw_dts, int64_t raw_pts)
{
    track_t *tr = &m->tr[GV_TRACK_VIDEO];
    int err = gv_annexb_split(tr->codec, pkt->data, (size_t)pkt->size, &m->au);
    if (err == GV_ENOMEM)
        return err;
    if (err < 0) {
        m->st.dropped_bad++;
        gv_log(GV_LOG_DEBUG, m->ctx, "bad video PES (%d bytes): %s", pkt->size, gv_strerror(err));
        return 0;
    }
    if (m->au.n_ps[GV_ANNEXB_VPS] || m->au.n_ps[GV_ANNEXB_SPS] || m->au.n_ps[GV_ANNEXB_PPS]) {
        if ((err = store_ps(m)) < 0 || (err = rebuild_video_config(m, tr->codec)) < 0)
            return err;
    }
    if (!m->au.has_vcl)
        return 0;
    if (!tr->cfg || (!m->video_started && !m->au.keyframe)) {
        m->st.dropped_before_key++;
        return 0;
    }
    int64_t dts, pts;
    if (!map_time(m, GV_TRACK_VIDEO, raw_dts, raw_pts, &dts, &pts))
        return 0;
    m->video_started = true;
    return emit_unit(m, GV_TRACK_VIDEO, m->au.payload, m->au.len, dts, pts,
                     m->au.keyframe);
}

/* ---- audio ---- */

static int on_audio(gv_mpegts_t *m, const AVPacket *pkt, int64_t raw_pts)
{
    const uint8_t *p = pkt->data;
    size_t n = (size_t)pkt->size, pos = 0;
    int64_t next = 0;
    int idx = 0;
    bool have_base = false;
    while (pos < n) {
        gv_adts_t h;
        int err = gv_adts_parse(p + pos, n - pos, &h);
        if (err == GV_ETRUNC || (err == 0 && h.frame_len > n - pos)) {
            m->st.dropped_bad++; /* a frame cut at the end of the PES */
            break;
        }
        if (err == GV_EPROTO) {
            m->st.dropped_bad++;
            size_t q = pos + 1;
            while (q + 1 < n && !(p[q] == 0xff && (p[q + 1] & 0xf6) == 0xf0))
                q++;
            pos = q + 1 < n ? q : n;
            continue;
        }
        if (err == GV_EUNSUPP) {
            m->st.dropped_bad++;
            pos += h.frame_len;
            idx++;
            continue;
        }
        if (err < 0)
            return err;
        uint8_t asc[2];
        gv_adts_asc(&h, asc);
        if ((err = install_config(m, GV_TRACK_AUDIO, GV_CODEC_AAC, asc, 2, h.sample_rate,
                                  h.channels)) < 0)
            return err;
        size_t raw_len = h.frame_len - h.header_len;
        const uint8_t *raw = p + pos + h.header_len;
        pos += h.frame_len;
        int i = idx++;
        if (raw_len == 0)
            continue;
        if (m->tr[GV_TRACK_VIDEO].index >= 0 && !m->video_started) {
            m->st.dropped_before_key++;
            continue;
        }
        /* Frames of one PES share its pts: the first one emitted goes through the clock, the
         * rest follow it back to back. */
        int64_t dur = 1024 * GV_TIME_BASE / h.sample_rate;
        int64_t dts, pts;
        if (!have_base) {
            int64_t r = raw_pts + (int64_t)i * dur;
            if (!map_time(m, GV_TRACK_AUDIO, r, r, &dts, &pts))
                return 0;
            have_base = true;
        } else {
            dts = pts = next;
            m->tr[GV_TRACK_AUDIO].last_dts = dts;
        }
        next = dts + dur;
        m->tr[GV_TRACK_AUDIO].nominal = dur;
        if ((err = emit_unit(m, GV_TRACK_AUDIO, raw, raw_len, dts, pts, true)) < 0)
            return err;
    }
    return 0;
}

/* ---- libavformat glue ---- */

static int read_cb(void *opaque, uint8_t *buf, int size)
{
    gv_mpegts_t *m = opaque;
    if (m->first_pos < m->first_len) {
        size_t k = m->first_len - m->first_pos;
        if (k > (size_t)size)
            k = (size_t)size;
        memcpy(buf, m->first + m->first_pos, k);
        m->first_pos += k;
        return (int)k;
    }
    if (m->input_ended)
        return AVERROR_EOF;
    int n = m->rd(m->opaque, buf, size, &m->arrival_us);
    if (n <= 0) {
        m->input_ended = true;
        return AVERROR_EOF;
    }
    if (n > size)
        n = size;
    m->st.bytes_in += (uint64_t)n;
    return n;
}

static gv_codec_t codec_of(enum AVCodecID id)
{
    switch (id) {
    case AV_CODEC_ID_H264:
        return GV_CODEC_H264;
    case AV_CODEC_ID_HEVC:
        return GV_CODEC_HEVC;
    case AV_CODEC_ID_AAC:
        return GV_CODEC_AAC;
    default:
        return GV_CODEC_NONE;
    }
}

/* Picks the first H.264/HEVC and the first AAC stream; every other stream is discarded at the
 * demuxer. Called after opening and whenever the demuxer reports new streams. */
static void select_streams(gv_mpegts_t *m, AVFormatContext *fmt, unsigned *seen)
{
    for (unsigned i = *seen; i < fmt->nb_streams; i++) {
        AVStream *s = fmt->streams[i];
        gv_codec_t c = codec_of(s->codecpar->codec_id);
        gv_track_t t = c == GV_CODEC_AAC ? GV_TRACK_AUDIO : GV_TRACK_VIDEO;
        if (c != GV_CODEC_NONE && m->tr[t].index < 0) {
            m->tr[t].index = (int)i;
            m->tr[t].codec = c;
            gv_log(GV_LOG_DEBUG, m->ctx, "PID 0x%x: %s", s->id, gv_codec_name(c));
            continue;
        }
        s->discard = AVDISCARD_ALL;
        if (i < sizeof(m->logged_ignored) && !m->logged_ignored[i]) {
            m->logged_ignored[i] = true;
            gv_log(GV_LOG_DEBUG, m->ctx, "PID 0x%x (%s) ignored", s->id,
                   avcodec_get_name(s->codecpar->codec_id));
        }
    }
    *seen = fmt->nb_streams;
}

int gv_mpegts_run(gv_mpegts_t *m)
{
    AVFormatContext *fmt = NULL;
    AVIOContext *pb = NULL;
    AVPacket *pkt = NULL;
    AVDictionary *opts = NULL;
    int ret = 0;

    /* Wait for the first bytes before opening the demuxer, so a source that goes away
     * without sending anything ends quietly. */
    int first = m->rd(m->opaque, m->first, (int)sizeof(m->first), &m->arrival_us);
    if (first <= 0) {
        m->input_ended = true;
        return first < 0 ? first : 0;
    }
    m->first_len = (size_t)first < sizeof(m->first) ? (size_t)first : sizeof(m->first);
    m->st.bytes_in += m->first_len;

    uint8_t *iobuf = av_malloc(IO_BUF_SIZE);
    if (!iobuf)
        return GV_ENOMEM;
    pb = avio_alloc_context(iobuf, IO_BUF_SIZE, 0, m, read_cb, NULL, NULL);
    fmt = avformat_alloc_context();
    pkt = av_packet_alloc();
    if (!pb || !fmt || !pkt) {
        if (!pb)
            av_free(iobuf);
        ret = GV_ENOMEM;
        goto fail;
    }
    pb->seekable = 0;
    fmt->pb = pb;
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_NOPARSE | AVFMT_FLAG_NOFILLIN;
    fmt->probesize = PROBE_BYTES;
    fmt->correct_ts_overflow = 0;
    const AVInputFormat *ifmt = av_find_input_format("mpegts");
    if (!ifmt) {
        ret = GV_EUNSUPP;
        goto fail;
    }
    int rc = avformat_open_input(&fmt, NULL, ifmt, &opts);
    if (rc < 0) {
        /* avformat_open_input frees the context on failure (but not our custom pb). */
        fmt = NULL;
        ret = GV_EPROTO;
        gv_log(GV_LOG_WARN, m->ctx, "input is not MPEG-TS (%s)", av_err2str(rc));
        goto fail;
    }
    unsigned seen = 0;
    select_streams(m, fmt, &seen);

    int errors = 0;
    for (;;) {
        rc = av_read_frame(fmt, pkt);
        if (rc == AVERROR_EOF)
            break;
        if (rc < 0) {
            if (m->input_ended || ++errors > MAX_ERRORS_IN_ROW)
                break;
            continue;
        }
        errors = 0;
        if (fmt->nb_streams != seen)
            select_streams(m, fmt, &seen);
        gv_track_t t = pkt->stream_index == m->tr[GV_TRACK_VIDEO].index ? GV_TRACK_VIDEO
                       : pkt->stream_index == m->tr[GV_TRACK_AUDIO].index ? GV_TRACK_AUDIO
                                                                           : GV_TRACK_COUNT;
        bool tail = m->input_ended && m->drop_tail;
        int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
        int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : dts;
        if (t == GV_TRACK_COUNT || tail || pkt->size <= 0 || dts == AV_NOPTS_VALUE) {
            if (t != GV_TRACK_COUNT)
                m->st.dropped_bad++;
            av_packet_unref(pkt);
            continue;
        }
        ret = t == GV_TRACK_VIDEO ? on_video(m, pkt, dts, pts) : on_audio(m, pkt, pts);
        av_packet_unref(pkt);
        if (ret < 0)
            goto fail;
    }
    ret = 0;
fail:
    av_packet_free(&pkt);
    if (fmt)
        avformat_close_input(&fmt);
    if (pb) {
        av_freep(&pb->buffer);
        avio_context_free(&pb);
    }
    av_dict_free(&opts);
    return ret;
}

/* ---- whole-buffer entry ---- */

typedef struct {
    const uint8_t *p;
    size_t n, pos;
    gv_mpegts_emit_fn emit;
    void *opaque;
} membuf_t;

static int mem_read(void *opaque, uint8_t *buf, int size, int64_t *arrival_us)
{
    membuf_t *b = opaque;
    size_t left = b->n - b->pos;
    size_t k = left < (size_t)size ? left : (size_t)size;
    if (k == 0)
        return 0;
    memcpy(buf, b->p + b->pos, k);
    b->pos += k;
    return (int)k;
}

static int mem_emit(void *opaque, gv_unit_t *u)
{
    membuf_t *b = opaque;
    return b->emit(b->opaque, u);
}

int gv_mpegts_demux_buffer(const uint8_t *p, size_t n, gv_mpegts_emit_fn emit, void *opaque,
                           gv_mpegts_stats_t *stats)
{
    if ((!p && n) || !emit)
        return GV_EINVAL;
    membuf_t b = {p, n, 0, emit, opaque};
    gv_mpegts_t *m = gv_mpegts_create("mpegts", mem_read, mem_emit, &b);
    if (!m)
        return GV_ENOMEM;
    int rc = gv_mpegts_run(m);
    if (stats)
        gv_mpegts_get_stats(m, stats);
    gv_mpegts_destroy(m);
    return rc;
}
