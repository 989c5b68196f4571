/* The per-stream transcode worker: two threads in a pipeline. The decode thread decodes the
 * publisher's video (libavcodec), copies each picture into a pooled writable frame and composes
 * the lot card onto it at once; the encode thread re-encodes with libx264 and hands the result,
 * together with the untouched audio, to the stream's packager. A bounded frame queue of at most
 * two pictures joins them (overlay/frame_queue.h), so the next picture is decoded and composed
 * while the previous one is being encoded: a lot update never waits behind an encode, and on
 * two cores decode overlaps encode as it does in ffmpeg's frame-threaded decoder, without
 * the decoder's added frame of delay (low-delay decoding is kept).
 *
 * Ingest side: gv_overlay_push only enqueues (bounded: queue_frames video units and twice that
 * many audio units). When the video queue is full the incoming unit is dropped and so is every
 * following video unit up to the next keyframe, so the decoder never sees a picture whose
 * references are missing; drops are counted. The decode thread forwards audio units and
 * publish begin/end markers through the frame queue in order with the pictures.
 *
 * Timing: output units keep the source pts (dts = pts: the encoder never reorders) and the
 * source frame's arrival time, so PROGRAM-DATE-TIME and A/V sync stay honest. The encoder is
 * fed a frame counter as pts and results are mapped back through a small ring. Audio waits in
 * a short queue and is released as the encoded video passes it, because the packager
 * interleaves by push order. Every segment starts with a forced IDR at the segment target.
 *
 * Lot state: before composing each frame the decode thread checks the lot store's version; the
 * first frame that shows a new version is recorded in the store (pts, wall time), and lot
 * start / sale end become EXT-X-DATERANGE tags at that frame (sent down the frame queue ahead
 * of it, added to the playlist when the frame is pushed). Item images are fetched and decoded
 * on a separate loader thread and handed to the composer when ready, never on the frame path. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <inttypes.h>
#include <libavcodec/avcodec.h>
#include <libavutil/buffer.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/annexb.h"
#include "core/error.h"
#include "core/log.h"
#include "overlay/compose.h"
#include "overlay/frame_queue.h"
#include "overlay/image.h"
#include "overlay/lot.h"
#include "overlay/lot_store.h"
#include "overlay/worker.h"
#include "packager/packager.h"

#define TIMING_RING 128     /* frames in flight between decoder input and encoder output */
#define AUDIO_HOLD_MAX 128  /* ~2.7 s of AAC at 48 kHz: beyond this audio is released anyway */
#define MAX_PENDING_DR 8
#define IMAGE_MAX_BYTES (8u << 20)
#define IMAGE_TIMEOUT_MS 3000
#define FQ_PICTURES 2       /* decoded pictures waiting for the encoder */
#define FQ_ITEMS 256        /* pictures + audio + markers between them */

/* What travels on the frame queue. */
enum { IT_PICTURE, IT_AUDIO, IT_BEGIN, IT_END, IT_DATERANGE };

typedef enum { EV_UNIT, EV_BEGIN, EV_END } ev_kind_t;

typedef struct qnode {
    struct qnode *next;
    ev_kind_t kind;
    gv_unit_t *u;
} qnode_t;

typedef struct {
    int64_t key;        /* source pts (decoder ring) or encoder frame number (encoder ring) */
    int64_t pts;
    int64_t arrival_us;
    uint64_t shown_version; /* encoder ring: this frame first showed that version (0: none) */
    bool used;
} timing_t;

/* The item-image loader: one request slot and one result slot. */
typedef struct {
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    char want[sizeof(((gv_lot_t *)0)->image)];
    bool want_new;
    /* result */
    bool ready;
    char url[sizeof(((gv_lot_t *)0)->image)];
    uint8_t *bgra;
    int w, h, stride;
    const char *ctx;
} loader_t;

struct gv_overlay {
    char name[72];
    const gv_overlay_config_t *cfg;
    int segment_target_ms;
    gv_pkg_t *pkg;
    gv_lot_store_t *store;
    uint64_t frames_composed; /* decode thread: frames composed so far (lot_store frame numbers) */

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    qnode_t *head, *tail;
    int n_video, n_audio, n_ctl;
    int vcap, acap;
    bool skip_to_key;
    bool stop;
    gv_overlay_stats_t st; /* under mu */

    /* ---- decode thread: ingest queue -> decode -> compose -> frame queue ---- */
    pthread_t dthread;
    bool dthread_started;
    AVCodecContext *dec;
    gv_codec_config_t *dec_cfg;
    bool dec_need_key;
    AVPacket *dpkt;
    AVFrame *dframe;
    struct SwsContext *sws;
    AVBufferPool *pool; /* writable yuv420p pictures, recycled once encoded */
    int pool_w, pool_h, pool_size;
    gv_composer_t *comp;
    int comp_w, comp_h;
    gv_colorspace_t comp_cs;
    timing_t dring[TIMING_RING];
    /* lot state as applied to the composer and as last shown */
    uint64_t applied_version;
    gv_lot_t *lot;
    bool lot_visible;
    uint64_t shown_version;
    char started_lot[sizeof(((gv_lot_t *)0)->id)];
    char ended_lot[sizeof(((gv_lot_t *)0)->id)];
    gv_daterange_t new_dr[MAX_PENDING_DR]; /* queued by note_shown, sent with the frame */
    int n_new_dr;
    /* item image currently given to the composer */
    char img_url[sizeof(((gv_lot_t *)0)->image)];
    uint8_t *img;
    int img_w, img_h, img_stride;

    gv_frame_queue_t *fq;

    /* ---- encode thread: frame queue -> encode -> packager ---- */
    AVPacket *epkt;
    AVCodecContext *enc;
    int enc_w, enc_h;
    gv_codec_config_t *out_cfg;
    int64_t enc_frame_no;
    bool force_idr;
    int64_t next_idr_pts;
    int64_t seg_ticks;
    timing_t ering[TIMING_RING];
    gv_unit_t *aq[AUDIO_HOLD_MAX];
    int aq_n;
    bool epoch_started;
    int64_t epoch_start_pts;
    bool have_last_out;
    int64_t last_out_pts;
    gv_daterange_t pending_dr[MAX_PENDING_DR];
    int n_pending_dr;
    loader_t loader;
};

/* ---------- small helpers ---------- */

static void stat_add(gv_overlay_t *ov, uint64_t *field, uint64_t v)
{
    pthread_mutex_lock(&ov->mu);
    *field += v;
    pthread_mutex_unlock(&ov->mu);
}

static void ring_put(timing_t *ring, int64_t key, int64_t pts, int64_t arrival, uint64_t ver)
{
    timing_t *t = &ring[(uint64_t)key % TIMING_RING];
    t->key = key;
    t->pts = pts;
    t->arrival_us = arrival;
    t->shown_version = ver;
    t->used = true;
}

static timing_t *ring_find(timing_t *ring, int64_t key)
{
    timing_t *t = &ring[(uint64_t)key % TIMING_RING];
    if (t->used && t->key == key)
        return t;
    /* The decoder ring is keyed by pts, which need not be spread evenly over the slots. */
    for (int i = 0; i < TIMING_RING; i++)
        if (ring[i].used && ring[i].key == key)
            return &ring[i];
    return NULL;
}

/* Copies s into an HLS quoted-string value: no double quotes, CR or LF, ASCII printable. */
static void quote_safe(char *out, size_t outlen, const char *s)
{
    size_t w = 0;
    for (; *s && w + 1 < outlen; s++) {
        unsigned char c = (unsigned char)*s;
        out[w++] = (c < 0x20 || c == '"' || c == 0x7f) ? '_' : (char)c;
    }
    out[w] = '\0';
}

/* "1250" minor units in USD -> "12.50"; JPY -> "1250". */
static void plain_amount(int64_t minor, const char *currency, char *out, size_t outlen)
{
    int e = gv_currency_exponent(currency);
    if (e < 0 || e > 4)
        e = 2;
    int64_t div = 1;
    for (int i = 0; i < e; i++)
        div *= 10;
    int64_t a = minor < 0 ? -minor : minor;
    char frac[8] = "";
    if (e > 0) {
        frac[0] = '.';
        int64_t f = a % div;
        for (int i = e; i >= 1; i--, f /= 10)
            frac[i] = (char)('0' + f % 10);
        frac[e + 1] = '\0';
    }
    snprintf(out, outlen, "%s%" PRId64 "%s", minor < 0 ? "-" : "", a / div, frac);
}

/* ---------- image loader thread ---------- */

static void *loader_main(void *arg)
{
    loader_t *l = arg;
    pthread_setname_np(pthread_self(), "gv-ov-image");
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->want_new && !l->stop)
            pthread_cond_wait(&l->cond, &l->mu);
        if (l->stop)
            break;
        char url[sizeof(l->want)];
        memcpy(url, l->want, sizeof(url));
        l->want_new = false;
        pthread_mutex_unlock(&l->mu);

        uint8_t *bgra = NULL;
        int w = 0, h = 0, stride = 0;
        int rc = gv_image_load(url, IMAGE_MAX_BYTES, IMAGE_TIMEOUT_MS, &bgra, &w, &h, &stride);
        if (rc != 0) {
            gv_log(GV_LOG_WARN, l->ctx, "item image could not be loaded: %s", gv_strerror(rc));
            bgra = NULL;
        }

        pthread_mutex_lock(&l->mu);
        if (l->want_new || strcmp(url, l->want) != 0) {
            free(bgra); /* superseded while loading */
            continue;
        }
        free(l->bgra);
        l->bgra = bgra;
        l->w = w;
        l->h = h;
        l->stride = stride;
        memcpy(l->url, url, sizeof(l->url));
        l->ready = true;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void loader_request(loader_t *l, const char *url)
{
    pthread_mutex_lock(&l->mu);
    snprintf(l->want, sizeof(l->want), "%s", url);
    l->want_new = true;
    l->ready = false;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

/* Takes a finished image for url, if any. */
static bool loader_take(loader_t *l, const char *url, uint8_t **bgra, int *w, int *h, int *stride)
{
    bool got = false;
    pthread_mutex_lock(&l->mu);
    if (l->ready && !strcmp(l->url, url)) {
        *bgra = l->bgra;
        *w = l->w;
        *h = l->h;
        *stride = l->stride;
        l->bgra = NULL;
        l->ready = false;
        got = true;
    }
    pthread_mutex_unlock(&l->mu);
    return got;
}

/* ---------- output to the packager ---------- */

static void push_audio_unit(gv_overlay_t *ov, gv_unit_t *u)
{
    if (ov->epoch_started && u->dts >= ov->epoch_start_pts) {
        gv_pkg_push(ov->pkg, u);
        stat_add(ov, &ov->st.audio_out, 1);
    }
    gv_unit_unref(u);
}

/* Releases held audio up to (and including) pts; all of it when pts is INT64_MAX. */
static void release_audio(gv_overlay_t *ov, int64_t pts)
{
    int i = 0;
    while (i < ov->aq_n && ov->aq[i]->dts <= pts)
        push_audio_unit(ov, ov->aq[i++]);
    if (i > 0) {
        memmove(ov->aq, ov->aq + i, (size_t)(ov->aq_n - i) * sizeof(ov->aq[0]));
        ov->aq_n -= i;
    }
}

static void hold_audio(gv_overlay_t *ov, gv_unit_t *u)
{
    if (ov->aq_n == AUDIO_HOLD_MAX) {
        /* Video is stalled: do not hold audio forever. */
        push_audio_unit(ov, ov->aq[0]);
        memmove(ov->aq, ov->aq + 1, (size_t)(ov->aq_n - 1) * sizeof(ov->aq[0]));
        ov->aq_n--;
    }
    ov->aq[ov->aq_n++] = gv_unit_ref(u);
}

static void drop_held_audio(gv_overlay_t *ov)
{
    for (int i = 0; i < ov->aq_n; i++)
        gv_unit_unref(ov->aq[i]);
    ov->aq_n = 0;
}

static void emit_dateranges(gv_overlay_t *ov, int64_t pts)
{
    int k = 0;
    for (int i = 0; i < ov->n_pending_dr; i++) {
        if (ov->pending_dr[i].start_pts <= pts) {
            int rc = gv_pkg_add_daterange(ov->pkg, &ov->pending_dr[i]);
            if (rc != 0)
                gv_log(GV_LOG_WARN, ov->name, "daterange %s not added: %s", ov->pending_dr[i].id,
                       gv_strerror(rc));
        } else {
            ov->pending_dr[k++] = ov->pending_dr[i];
        }
    }
    ov->n_pending_dr = k;
}

static void output_packet(gv_overlay_t *ov, AVPacket *pkt)
{
    timing_t *t = ring_find(ov->ering, pkt->pts);
    if (!t || !ov->out_cfg) {
        stat_add(ov, &ov->st.encode_errors, 1);
        return;
    }
    bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    int64_t pts = t->pts;
    if (ov->have_last_out && pts <= ov->last_out_pts)
        return; /* non-increasing source timestamps: the packager would refuse it */
    if (!ov->epoch_started) {
        if (!key)
            return;
        ov->epoch_started = true;
        ov->epoch_start_pts = pts;
    }
    uint8_t *lp = NULL;
    size_t lp_size = 0;
    if (gv_annexb_to_lp(pkt->data, (size_t)pkt->size, &lp, &lp_size) != 0) {
        stat_add(ov, &ov->st.encode_errors, 1);
        return;
    }
    gv_unit_t *u = gv_unit_create(GV_TRACK_VIDEO, ov->out_cfg, NULL, 0);
    if (!u) {
        free(lp);
        return;
    }
    free(u->data);
    u->data = lp; /* malloc'd, freed by gv_unit_unref */
    u->size = lp_size;
    u->pts = u->dts = pts;
    u->keyframe = key;
    u->arrival_us = t->arrival_us;

    release_audio(ov, pts);
    int rc = gv_pkg_push(ov->pkg, u);
    if (rc != 0 && rc != GV_ECLOSED)
        gv_log(GV_LOG_DEBUG, ov->name, "packager refused a video unit: %s", gv_strerror(rc));
    gv_unit_unref(u);
    ov->have_last_out = true;
    ov->last_out_pts = pts;
    if (t->shown_version)
        gv_lot_store_mark_pushed(ov->store, t->shown_version, gv_now_us());
    emit_dateranges(ov, pts);
    int64_t mono = gv_mono_us();
    pthread_mutex_lock(&ov->mu);
    ov->st.frames_out++;
    ov->st.last_out_mono_us = mono;
    pthread_mutex_unlock(&ov->mu);
}

/* ---------- encoder ---------- */

static void close_encoder(gv_overlay_t *ov)
{
    avcodec_free_context(&ov->enc);
    ov->enc_w = ov->enc_h = 0;
}

static int open_encoder(gv_overlay_t *ov, const AVFrame *f, AVRational fps)
{
    close_encoder(ov);
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) {
        gv_log(GV_LOG_ERROR, ov->name, "libavcodec has no libx264 encoder");
        return GV_EUNSUPP;
    }
    AVCodecContext *e = avcodec_alloc_context3(codec);
    if (!e)
        return GV_ENOMEM;
    e->width = f->width;
    e->height = f->height;
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->sample_aspect_ratio = f->sample_aspect_ratio;
    e->framerate = fps;
    e->time_base = av_inv_q(fps);
    e->color_range = AVCOL_RANGE_MPEG;
    e->colorspace = f->colorspace;
    e->color_primaries = f->color_primaries;
    e->color_trc = f->color_trc;
    int gop = (int)((int64_t)ov->segment_target_ms * fps.num / ((int64_t)fps.den * 1000));
    e->gop_size = gop > 0 ? gop : 1;
    e->max_b_frames = 0;
    int64_t br = (int64_t)ov->cfg->bitrate_kbps * 1000;
    e->bit_rate = br;
    e->rc_max_rate = br;
    e->rc_buffer_size = (int)(br > INT32_MAX ? INT32_MAX : br);
    e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    e->thread_count = 0;
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "preset", ov->cfg->preset ? ov->cfg->preset : "veryfast", 0);
    av_dict_set(&opts, "tune", "zerolatency", 0);
    av_dict_set(&opts, "forced-idr", "1", 0);
    av_dict_set(&opts, "x264-params", "scenecut=0:open-gop=0", 0);
    int rc = avcodec_open2(e, codec, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        char msg[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(rc, msg, sizeof(msg));
        gv_log(GV_LOG_ERROR, ov->name, "cannot open libx264 (%dx%d, preset %s): %s", f->width,
               f->height, ov->cfg->preset, msg);
        avcodec_free_context(&e);
        return GV_ECODEC;
    }
    uint8_t *avcc = NULL;
    size_t avcc_size = 0;
    rc = gv_annexb_build_avcc(e->extradata, (size_t)e->extradata_size, &avcc, &avcc_size);
    if (rc != 0) {
        gv_log(GV_LOG_ERROR, ov->name, "encoder extradata has no usable SPS/PPS: %s",
               gv_strerror(rc));
        avcodec_free_context(&e);
        return GV_ECODEC;
    }
    gv_codec_config_t *c = gv_codec_config_create(GV_CODEC_H264, avcc, avcc_size);
    free(avcc);
    if (!c) {
        avcodec_free_context(&e);
        return GV_ENOMEM;
    }
    c->width = f->width;
    c->height = f->height;
    /* Same parameters as before: keep the config object so the packager sees no change. */
    if (ov->out_cfg && gv_codec_config_equal(ov->out_cfg, c)) {
        gv_codec_config_unref(c);
    } else {
        gv_codec_config_unref(ov->out_cfg);
        ov->out_cfg = c;
    }
    ov->enc = e;
    ov->enc_w = f->width;
    ov->enc_h = f->height;
    ov->force_idr = true;
    stat_add(ov, &ov->st.encoder_opens, 1);
    gv_log(GV_LOG_INFO, ov->name, "encoding %dx%d at %d/%d fps, %d kbps, GOP %d, preset %s",
           f->width, f->height, fps.num, fps.den, ov->cfg->bitrate_kbps, e->gop_size,
           ov->cfg->preset);
    return 0;
}

static void encode_frame(gv_overlay_t *ov, AVFrame *f, int64_t src_pts, int64_t arrival,
                         uint64_t shown_version)
{
    int64_t t0 = gv_mono_us();
    /* A forced IDR at every segment start, measured on the source clock so segments follow the
     * packager's target even when the frame rate wobbles. */
    int64_t half = ov->seg_ticks / 120; /* tolerance: well under a frame at any sane rate */
    bool idr = ov->force_idr;
    if (!idr && src_pts >= ov->next_idr_pts - half)
        idr = true;
    if (idr) {
        ov->next_idr_pts += ov->seg_ticks;
        if (ov->force_idr || ov->next_idr_pts <= src_pts)
            ov->next_idr_pts = src_pts + ov->seg_ticks; /* (re)anchor after a start or a gap */
        ov->force_idr = false;
    }
    f->pict_type = idr ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    f->pts = ov->enc_frame_no;
    ring_put(ov->ering, ov->enc_frame_no, src_pts, arrival, shown_version);
    ov->enc_frame_no++;
    int rc = avcodec_send_frame(ov->enc, f);
    if (rc < 0) {
        stat_add(ov, &ov->st.encode_errors, 1);
        return;
    }
    while ((rc = avcodec_receive_packet(ov->enc, ov->epkt)) == 0) {
        output_packet(ov, ov->epkt);
        av_packet_unref(ov->epkt);
    }
    stat_add(ov, &ov->st.encode_us, (uint64_t)(gv_mono_us() - t0));
}

/* ---------- lot state -> composer ---------- */

static void queue_daterange(gv_overlay_t *ov, const gv_lot_t *lot, int64_t pts, bool start)
{
    if (ov->n_new_dr >= MAX_PENDING_DR)
        return;
    gv_daterange_t *dr = &ov->new_dr[ov->n_new_dr++];
    memset(dr, 0, sizeof(*dr));
    char id[sizeof(lot->id)], price[32];
    quote_safe(id, sizeof(id), lot->id);
    plain_amount(lot->current_bid, lot->currency, price, sizeof(price));
    snprintf(dr->id, sizeof(dr->id), "lot-%s-%s", id, start ? "start" : "end");
    snprintf(dr->klass, sizeof(dr->klass), "com.gavel.lot");
    dr->start_pts = pts;
    dr->duration_s = -1;
    char cur[8];
    quote_safe(cur, sizeof(cur), lot->currency);
    snprintf(dr->attrs, sizeof(dr->attrs),
             "X-LOT-ID=\"%s\",X-STATE=\"%s\",X-PRICE=\"%s\",X-CURRENCY=\"%s\"", id,
             gv_lot_state_name(lot->state), price, cur);
}

/* Records the first appearance of a version and turns lot start / end into dateranges. */
static uint64_t note_shown(gv_overlay_t *ov, int64_t pts, int64_t wall_us, int64_t arrival)
{
    if (ov->applied_version <= ov->shown_version)
        return 0;
    ov->shown_version = ov->applied_version;
    gv_lot_store_mark_shown(ov->store, ov->shown_version, pts, ov->frames_composed, wall_us,
                            arrival);
    if (ov->lot_visible) {
        const gv_lot_t *l = ov->lot;
        if (strcmp(l->id, ov->started_lot) != 0) {
            queue_daterange(ov, l, pts, true);
            snprintf(ov->started_lot, sizeof(ov->started_lot), "%s", l->id);
        }
        if ((l->state == GV_LOT_SOLD || l->state == GV_LOT_UNSOLD) &&
            strcmp(l->id, ov->ended_lot) != 0) {
            queue_daterange(ov, l, pts, false);
            snprintf(ov->ended_lot, sizeof(ov->ended_lot), "%s", l->id);
        }
    }
    return ov->shown_version;
}

static void give_composer_lot(gv_overlay_t *ov)
{
    if (!ov->comp)
        return;
    if (!ov->lot_visible) {
        gv_composer_set_lot(ov->comp, NULL, ov->applied_version, NULL, 0, 0, 0);
        return;
    }
    bool img = ov->img && !strcmp(ov->img_url, ov->lot->image);
    gv_composer_set_lot(ov->comp, ov->lot, ov->applied_version, img ? ov->img : NULL,
                        img ? ov->img_w : 0, img ? ov->img_h : 0, img ? ov->img_stride : 0);
}

/* Per frame: pick up a new lot version and a freshly loaded item image. */
static void refresh_lot(gv_overlay_t *ov)
{
    uint64_t v = gv_lot_store_version(ov->store);
    bool changed = false;
    if (v != ov->applied_version) {
        gv_lot_snapshot_t *snap = malloc(sizeof(*snap));
        if (!snap)
            return;
        gv_lot_store_snapshot(ov->store, snap);
        *ov->lot = snap->lot;
        ov->lot_visible = snap->visible;
        ov->applied_version = snap->version;
        free(snap);
        if (ov->lot_visible && strcmp(ov->lot->image, ov->img_url) != 0) {
            /* A different image: show the card without it until the loader is done. */
            snprintf(ov->img_url, sizeof(ov->img_url), "%s", ov->lot->image);
            if (ov->img_url[0])
                loader_request(&ov->loader, ov->img_url);
            if (ov->comp)
                gv_composer_set_lot(ov->comp, NULL, 0, NULL, 0, 0, 0);
            free(ov->img);
            ov->img = NULL;
        }
        changed = true;
    }
    uint8_t *bgra;
    int w, h, stride;
    if (ov->img_url[0] && loader_take(&ov->loader, ov->img_url, &bgra, &w, &h, &stride)) {
        uint8_t *old = ov->img;
        ov->img = bgra;
        ov->img_w = w;
        ov->img_h = h;
        ov->img_stride = stride;
        give_composer_lot(ov); /* before the old buffer goes away */
        free(old);
        changed = false;
    }
    if (changed)
        give_composer_lot(ov);
}

static void ensure_composer(gv_overlay_t *ov, int w, int h, gv_colorspace_t cs)
{
    if (ov->comp_w == w && ov->comp_h == h && ov->comp_cs == cs)
        return;
    gv_composer_destroy(ov->comp);
    ov->comp = gv_composer_create(ov->cfg, w, h, cs);
    ov->comp_w = w;
    ov->comp_h = h;
    ov->comp_cs = cs;
    if (!ov->comp)
        gv_log(GV_LOG_ERROR, ov->name, "card composer unavailable for %dx%d: video passes "
                                       "without the card", w, h);
    /* The new composer starts empty: hand it the current lot again. */
    give_composer_lot(ov);
}

/* A writable yuv420p picture from the pool; its buffer returns to the pool when the encode
 * thread frees the frame (libx264 copies the picture while it is being sent). */
static AVFrame *pool_frame(gv_overlay_t *ov, int w, int h)
{
    if (!ov->pool || ov->pool_w != w || ov->pool_h != h) {
        av_buffer_pool_uninit(&ov->pool); /* buffers still queued keep it alive */
        int size = av_image_get_buffer_size(AV_PIX_FMT_YUV420P, w, h, 64);
        if (size < 0)
            return NULL;
        ov->pool = av_buffer_pool_init((size_t)size, NULL);
        if (!ov->pool)
            return NULL;
        ov->pool_w = w;
        ov->pool_h = h;
        ov->pool_size = size;
    }
    AVFrame *f = av_frame_alloc();
    if (!f)
        return NULL;
    f->buf[0] = av_buffer_pool_get(ov->pool);
    if (!f->buf[0] || av_image_fill_arrays(f->data, f->linesize, f->buf[0]->data,
                                           AV_PIX_FMT_YUV420P, w, h, 64) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    f->format = AV_PIX_FMT_YUV420P;
    f->width = w;
    f->height = h;
    return f;
}

static void free_item(gv_fq_item_t *it)
{
    switch (it->kind) {
    case IT_PICTURE: {
        AVFrame *f = it->data;
        av_frame_free(&f);
        break;
    }
    case IT_AUDIO:
        gv_unit_unref(it->data);
        break;
    default:
        free(it->data);
        break;
    }
    it->data = NULL;
}

/* Hands an item to the encode thread; frees it when the queue is closed. */
static void send_item(gv_overlay_t *ov, gv_fq_item_t *it)
{
    if (gv_frame_queue_push(ov->fq, it) != 0)
        free_item(it);
}

static void send_marker(gv_overlay_t *ov, int kind)
{
    gv_fq_item_t it = {.kind = kind};
    send_item(ov, &it);
}

/* ---------- decode thread: decode and compose ---------- */

static void process_frame(gv_overlay_t *ov, AVFrame *f)
{
    int64_t t0 = gv_mono_us();
    int64_t pts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE)
        return;
    timing_t *t = ring_find(ov->dring, pts);
    int64_t arrival = t ? t->arrival_us : gv_now_us();
    gv_colorspace_t cs =
        (f->colorspace == AVCOL_SPC_BT470BG || f->colorspace == AVCOL_SPC_SMPTE170M)
            ? GV_CS_BT601
            : GV_CS_BT709;
    ensure_composer(ov, f->width, f->height, cs);
    AVFrame *work = pool_frame(ov, f->width, f->height);
    if (!work)
        return;
    if (f->format == AV_PIX_FMT_YUV420P || f->format == AV_PIX_FMT_YUVJ420P) {
        av_image_copy(work->data, work->linesize, (const uint8_t **)f->data, f->linesize,
                      AV_PIX_FMT_YUV420P, f->width, f->height);
    } else {
        ov->sws = sws_getCachedContext(ov->sws, f->width, f->height,
                                       (enum AVPixelFormat)f->format, f->width,
                                       f->height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL,
                                       NULL);
        if (!ov->sws) {
            av_frame_free(&work);
            return;
        }
        sws_scale(ov->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height,
                  work->data, work->linesize);
    }
    work->colorspace = f->colorspace;
    work->color_primaries = f->color_primaries;
    work->color_trc = f->color_trc;
    work->sample_aspect_ratio = f->sample_aspect_ratio;

    gv_lot_store_frame_begin(ov->store, ++ov->frames_composed);
    refresh_lot(ov);
    int64_t now = gv_now_us();
    uint64_t visible = 0;
    if (ov->comp)
        visible = gv_composer_apply(ov->comp, now / 1000, work->data, work->linesize);
    uint64_t first_shown = 0;
    bool shows_applied = ov->lot_visible ? visible == ov->applied_version : visible == 0;
    if (ov->comp && shows_applied)
        first_shown = note_shown(ov, pts, now, arrival);
    int64_t t1 = gv_mono_us();
    stat_add(ov, &ov->st.compose_us, (uint64_t)(t1 - t0));

    /* Dateranges anchored at this frame travel just ahead of it. */
    for (int i = 0; i < ov->n_new_dr; i++) {
        gv_daterange_t *dr = malloc(sizeof(*dr));
        if (!dr)
            continue;
        *dr = ov->new_dr[i];
        gv_fq_item_t it = {.kind = IT_DATERANGE, .data = dr, .pts = dr->start_pts};
        send_item(ov, &it);
    }
    ov->n_new_dr = 0;

    AVRational fps = ov->dec ? ov->dec->framerate : (AVRational){0, 1};
    if (fps.num <= 0 || fps.den <= 0 || av_q2d(fps) < 1 || av_q2d(fps) > 240)
        fps = (AVRational){30, 1};
    gv_fq_item_t it = {.kind = IT_PICTURE,
                       .picture = true,
                       .data = work,
                       .pts = pts,
                       .arrival_us = arrival,
                       .aux = (int64_t)first_shown,
                       .aux2 = ((int64_t)fps.num << 32) | (uint32_t)fps.den};
    send_item(ov, &it);
}

static void close_decoder(gv_overlay_t *ov)
{
    avcodec_free_context(&ov->dec);
    gv_codec_config_unref(ov->dec_cfg);
    ov->dec_cfg = NULL;
    memset(ov->dring, 0, sizeof(ov->dring));
}

static void receive_frames(gv_overlay_t *ov)
{
    int rc;
    while ((rc = avcodec_receive_frame(ov->dec, ov->dframe)) == 0) {
        stat_add(ov, &ov->st.frames_decoded, 1);
        process_frame(ov, ov->dframe);
        av_frame_unref(ov->dframe);
    }
}

/* Feeds the end of stream to the decoder and passes on what it still held. */
static void drain_decoder(gv_overlay_t *ov)
{
    if (!ov->dec)
        return;
    if (avcodec_send_packet(ov->dec, NULL) == 0)
        receive_frames(ov);
}

static int open_decoder(gv_overlay_t *ov, gv_codec_config_t *cfg)
{
    close_decoder(ov);
    const AVCodec *codec = avcodec_find_decoder(cfg->codec == GV_CODEC_HEVC ? AV_CODEC_ID_HEVC
                                                                            : AV_CODEC_ID_H264);
    if (!codec)
        return GV_EUNSUPP;
    AVCodecContext *d = avcodec_alloc_context3(codec);
    if (!d)
        return GV_ENOMEM;
    d->extradata = av_mallocz(cfg->size + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!d->extradata) {
        avcodec_free_context(&d);
        return GV_ENOMEM;
    }
    memcpy(d->extradata, cfg->data, cfg->size);
    d->extradata_size = (int)cfg->size;
    d->thread_count = 2;
    d->thread_type = FF_THREAD_SLICE | FF_THREAD_FRAME;
    d->flags |= AV_CODEC_FLAG_LOW_DELAY;
    d->pkt_timebase = (AVRational){1, GV_TIME_BASE};
    if (avcodec_open2(d, codec, NULL) < 0) {
        avcodec_free_context(&d);
        gv_log(GV_LOG_ERROR, ov->name, "cannot open the %s decoder", gv_codec_name(cfg->codec));
        return GV_ECODEC;
    }
    ov->dec = d;
    ov->dec_cfg = gv_codec_config_ref(cfg);
    ov->dec_need_key = true;
    return 0;
}

static void handle_video(gv_overlay_t *ov, gv_unit_t *u)
{
    if ((u->codec != GV_CODEC_H264 && u->codec != GV_CODEC_HEVC) || !u->config)
        return;
    if (!ov->dec || !gv_codec_config_equal(u->config, ov->dec_cfg)) {
        if (ov->dec)
            drain_decoder(ov);
        if (open_decoder(ov, u->config) != 0) {
            stat_add(ov, &ov->st.decode_errors, 1);
            return;
        }
    }
    if (ov->dec_need_key) {
        if (!u->keyframe) {
            stat_add(ov, &ov->st.frames_dropped, 1);
            return;
        }
        ov->dec_need_key = false;
    }
    int64_t t0 = gv_mono_us();
    if (av_new_packet(ov->dpkt, (int)u->size) < 0)
        return;
    memcpy(ov->dpkt->data, u->data, u->size);
    ov->dpkt->pts = u->pts;
    ov->dpkt->dts = u->dts;
    if (u->keyframe)
        ov->dpkt->flags |= AV_PKT_FLAG_KEY;
    ring_put(ov->dring, u->pts, u->pts, u->arrival_us, 0);
    int rc = avcodec_send_packet(ov->dec, ov->dpkt);
    av_packet_unref(ov->dpkt);
    if (rc < 0 && rc != AVERROR(EAGAIN))
        stat_add(ov, &ov->st.decode_errors, 1);
    int64_t t1 = gv_mono_us();
    stat_add(ov, &ov->st.decode_us, (uint64_t)(t1 - t0));
    /* process_frame accounts its own compose time */
    receive_frames(ov);
}

/* ---------- decode thread loop ---------- */

/* The encoder is the pipeline's bottleneck (x264 with two slice threads, ~6 ms a 720p frame
 * against ~3 ms to decode it); when decode competes with the slice threads for the two cores,
 * one slice runs late and the other core idles. A higher nice on this thread (and on the
 * decoder's slice threads, which inherit it) lets the encoder run first and decode fill the
 * gaps. Decode sleeps between frames, so the scheduler still runs it promptly on each
 * arrival. Linux nice is per thread; raising it needs no privilege. The value is added to
 * the nice gavel was started with. */
static void lower_decode_priority(gv_overlay_t *ov)
{
    int add = ov->cfg->decode_nice;
    if (add <= 0)
        return;
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, tid); /* relative to how gavel itself was started */
    if (cur == -1 && errno != 0)
        cur = 0;
    int target = cur + add > 19 ? 19 : cur + add;
    if (setpriority(PRIO_PROCESS, tid, target) != 0)
        gv_log(GV_LOG_WARN, ov->name, "cannot lower the decode thread's priority (nice %d)",
               target);
}

static void *decode_main(void *arg)
{
    gv_overlay_t *ov = arg;
    pthread_setname_np(pthread_self(), "gv-ov-decode"); /* the decoder's threads inherit it */
    lower_decode_priority(ov);
    for (;;) {
        pthread_mutex_lock(&ov->mu);
        while (!ov->head && !ov->stop)
            pthread_cond_wait(&ov->cond, &ov->mu);
        qnode_t *n = ov->head;
        if (!n) {
            pthread_mutex_unlock(&ov->mu);
            break; /* stopping and drained */
        }
        ov->head = n->next;
        if (!ov->head)
            ov->tail = NULL;
        if (n->kind != EV_UNIT)
            ov->n_ctl--;
        else if (n->u->track == GV_TRACK_VIDEO)
            ov->n_video--;
        else
            ov->n_audio--;
        pthread_mutex_unlock(&ov->mu);

        switch (n->kind) {
        case EV_BEGIN:
        case EV_END:
            /* Pictures the decoder still holds go out before the marker. */
            drain_decoder(ov);
            close_decoder(ov);
            send_marker(ov, n->kind == EV_BEGIN ? IT_BEGIN : IT_END);
            break;
        case EV_UNIT:
            if (n->u->track == GV_TRACK_VIDEO) {
                handle_video(ov, n->u);
                gv_unit_unref(n->u);
            } else {
                gv_fq_item_t it = {.kind = IT_AUDIO, .data = n->u, .pts = n->u->dts};
                send_item(ov, &it); /* the queue owns the reference now */
            }
            break;
        }
        free(n);
    }
    gv_frame_queue_close(ov->fq);
    return NULL;
}

/* ---------- encode thread loop ---------- */

static void end_publish(gv_overlay_t *ov)
{
    release_audio(ov, INT64_MAX);
    /* Dateranges whose frame never made it out are dropped with the publish. */
    ov->n_pending_dr = 0;
    ov->epoch_started = false;
    ov->have_last_out = false;
}

static void encode_item(gv_overlay_t *ov, gv_fq_item_t *it)
{
    AVFrame *f = it->data;
    if (!ov->enc || ov->enc_w != f->width || ov->enc_h != f->height) {
        AVRational fps = {(int)(it->aux2 >> 32), (int)(uint32_t)it->aux2};
        if (open_encoder(ov, f, fps) != 0)
            return;
    }
    encode_frame(ov, f, it->pts, it->arrival_us, (uint64_t)it->aux);
}

static void *encode_main(void *arg)
{
    gv_overlay_t *ov = arg;
    pthread_setname_np(pthread_self(), "gv-ov-encode"); /* and x264's slice threads */
    gv_fq_item_t it;
    while (gv_frame_queue_pop(ov->fq, &it) == 0) {
        switch (it.kind) {
        case IT_PICTURE:
            encode_item(ov, &it);
            break;
        case IT_AUDIO:
            hold_audio(ov, it.data);
            break;
        case IT_DATERANGE:
            if (ov->n_pending_dr < MAX_PENDING_DR)
                ov->pending_dr[ov->n_pending_dr++] = *(gv_daterange_t *)it.data;
            break;
        case IT_BEGIN:
            end_publish(ov);
            drop_held_audio(ov);
            gv_pkg_publish_begin(ov->pkg);
            ov->force_idr = true;
            break;
        case IT_END:
            end_publish(ov);
            gv_pkg_publish_end(ov->pkg);
            break;
        }
        free_item(&it);
    }
    drop_held_audio(ov);
    return NULL;
}

/* ---------- public ---------- */

static int enqueue(gv_overlay_t *ov, ev_kind_t kind, gv_unit_t *u)
{
    qnode_t *n = malloc(sizeof(*n));
    if (!n)
        return GV_ENOMEM;
    n->next = NULL;
    n->kind = kind;
    n->u = u;
    if (ov->tail)
        ov->tail->next = n;
    else
        ov->head = n;
    ov->tail = n;
    pthread_cond_signal(&ov->cond);
    return 0;
}

void gv_overlay_publish_begin(gv_overlay_t *ov)
{
    pthread_mutex_lock(&ov->mu);
    ov->skip_to_key = false;
    if (enqueue(ov, EV_BEGIN, NULL) == 0)
        ov->n_ctl++;
    pthread_mutex_unlock(&ov->mu);
}

void gv_overlay_publish_end(gv_overlay_t *ov)
{
    pthread_mutex_lock(&ov->mu);
    if (enqueue(ov, EV_END, NULL) == 0)
        ov->n_ctl++;
    pthread_mutex_unlock(&ov->mu);
}

int gv_overlay_push(gv_overlay_t *ov, gv_unit_t *u)
{
    if (!u)
        return GV_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&ov->mu);
    if (u->track == GV_TRACK_VIDEO) {
        if (ov->st.first_in_mono_us == 0)
            ov->st.first_in_mono_us = gv_mono_us();
        if (ov->skip_to_key && !u->keyframe) {
            ov->st.frames_dropped++;
            rc = GV_ELIMIT;
        } else if (ov->n_video >= ov->vcap) {
            /* Full: drop this one and everything up to the next keyframe. */
            ov->st.frames_dropped++;
            ov->skip_to_key = true;
            rc = GV_ELIMIT;
        } else if ((rc = enqueue(ov, EV_UNIT, gv_unit_ref(u))) == 0) {
            ov->skip_to_key = false;
            ov->n_video++;
            ov->st.frames_in++;
        } else {
            gv_unit_unref(u);
        }
    } else {
        if (ov->n_audio >= ov->acap) {
            ov->st.audio_dropped++;
            rc = GV_ELIMIT;
        } else if ((rc = enqueue(ov, EV_UNIT, gv_unit_ref(u))) == 0) {
            ov->n_audio++;
            ov->st.audio_in++;
        } else {
            gv_unit_unref(u);
        }
    }
    pthread_mutex_unlock(&ov->mu);
    return rc;
}

void gv_overlay_stats(gv_overlay_t *ov, gv_overlay_stats_t *out)
{
    pthread_mutex_lock(&ov->mu);
    *out = ov->st;
    out->queue_depth = ov->n_video + ov->n_audio;
    pthread_mutex_unlock(&ov->mu);
    out->queue_depth += gv_frame_queue_items(ov->fq);
}

gv_lot_store_t *gv_overlay_lot_store(gv_overlay_t *ov)
{
    return ov->store;
}

gv_overlay_t *gv_overlay_create(const char *stream_name, const gv_overlay_config_t *cfg,
                                int segment_target_ms, struct gv_pkg *pkg)
{
    if (!stream_name || !cfg || !pkg || segment_target_ms <= 0)
        return NULL;
    gv_overlay_t *ov = calloc(1, sizeof(*ov));
    if (!ov)
        return NULL;
    snprintf(ov->name, sizeof(ov->name), "%s", stream_name);
    ov->cfg = cfg;
    ov->segment_target_ms = segment_target_ms;
    ov->seg_ticks = (int64_t)segment_target_ms * GV_TIME_BASE / 1000;
    ov->pkg = pkg;
    ov->vcap = cfg->queue_frames > 0 ? cfg->queue_frames : 90;
    ov->acap = 2 * ov->vcap;
    pthread_mutex_init(&ov->mu, NULL);
    pthread_cond_init(&ov->cond, NULL);
    pthread_mutex_init(&ov->loader.mu, NULL);
    pthread_cond_init(&ov->loader.cond, NULL);
    ov->loader.ctx = ov->name;
    ov->store = gv_lot_store_create();
    ov->lot = calloc(1, sizeof(*ov->lot));
    ov->dpkt = av_packet_alloc();
    ov->epkt = av_packet_alloc();
    ov->dframe = av_frame_alloc();
    ov->fq = gv_frame_queue_create(FQ_PICTURES, FQ_ITEMS);
    if (!ov->store || !ov->lot || !ov->dpkt || !ov->epkt || !ov->dframe || !ov->fq)
        goto fail;
    if (pthread_create(&ov->loader.thread, NULL, loader_main, &ov->loader) != 0)
        goto fail;
    ov->loader.started = true;
    if (pthread_create(&ov->thread, NULL, encode_main, ov) != 0)
        goto fail;
    ov->thread_started = true;
    if (pthread_create(&ov->dthread, NULL, decode_main, ov) != 0)
        goto fail;
    ov->dthread_started = true;
    gv_log(GV_LOG_INFO, ov->name, "overlay worker started (queue %d frames, %d kbps, preset %s)",
           ov->vcap, cfg->bitrate_kbps, cfg->preset ? cfg->preset : "veryfast");
    return ov;
fail:
    gv_overlay_destroy(ov);
    return NULL;
}

void gv_overlay_destroy(gv_overlay_t *ov)
{
    if (!ov)
        return;
    /* The decode thread drains the ingest queue and closes the frame queue; the encode
     * thread finishes what is queued and ends. */
    if (ov->dthread_started) {
        pthread_mutex_lock(&ov->mu);
        ov->stop = true;
        pthread_cond_signal(&ov->cond);
        pthread_mutex_unlock(&ov->mu);
        pthread_join(ov->dthread, NULL);
    }
    if (ov->fq)
        gv_frame_queue_close(ov->fq);
    if (ov->thread_started)
        pthread_join(ov->thread, NULL);
    if (ov->loader.started) {
        pthread_mutex_lock(&ov->loader.mu);
        ov->loader.stop = true;
        pthread_cond_signal(&ov->loader.cond);
        pthread_mutex_unlock(&ov->loader.mu);
        pthread_join(ov->loader.thread, NULL);
    }
    while (ov->head) {
        qnode_t *n = ov->head;
        ov->head = n->next;
        gv_unit_unref(n->u);
        free(n);
    }
    gv_frame_queue_destroy(ov->fq, free_item);
    drop_held_audio(ov);
    close_decoder(ov);
    close_encoder(ov);
    gv_codec_config_unref(ov->out_cfg);
    av_packet_free(&ov->dpkt);
    av_packet_free(&ov->epkt);
    av_frame_free(&ov->dframe);
    av_buffer_pool_uninit(&ov->pool);
    sws_freeContext(ov->sws);
    gv_composer_destroy(ov->comp);
    free(ov->loader.bgra);
    free(ov->img);
    free(ov->lot);
    gv_lot_store_destroy(ov->store);
    pthread_cond_destroy(&ov->loader.cond);
    pthread_mutex_destroy(&ov->loader.mu);
    pthread_cond_destroy(&ov->cond);
    pthread_mutex_destroy(&ov->mu);
    free(ov);
}
