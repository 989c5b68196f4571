/* Unit tests for packager/fmp4.c (and codec_info.c on real streams): H.264 (libx264) or HEVC
 * (libx265) video plus AAC audio are encoded in the test, written as an init segment and two
 * fragments, then read back with libavformat (codecs, picture size, every packet's pts, dts,
 * key flag and bytes) and every video frame is decoded with libavcodec. Box layout details,
 * signed composition offsets and input validation are checked on the bytes directly. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

#include "core/error.h"
#include "core/media.h"
#include "packager/codec_info.h"
#include "packager/fmp4.h"
#include "testlib.h"

#define VID_W 320
#define VID_H 240
#define VID_FPS 30
#define VID_FRAMES 60
#define AUD_RATE 48000
#define AUD_FRAMES 100 /* ~2.1 s of 1024-sample frames */

typedef struct {
    uint8_t *data; /* video: 4-byte length-prefixed NALUs; audio: raw AAC frame */
    size_t size;
    int64_t pts, dts; /* encoder time base */
    bool key;
} pkt_t;

typedef struct {
    gv_codec_config_t *config;
    pkt_t *pkts;
    size_t n, cap;
} stream_t;

static void stream_free(stream_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->pkts[i].data);
    free(s->pkts);
    gv_codec_config_unref(s->config);
    memset(s, 0, sizeof(*s));
}

static void stream_add(stream_t *s, uint8_t *data, size_t size, int64_t pts, int64_t dts, bool key)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->pkts = realloc(s->pkts, s->cap * sizeof(*s->pkts));
        if (!s->pkts)
            abort();
    }
    s->pkts[s->n++] = (pkt_t){data, size, pts, dts, key};
}

/* ---- Annex B helpers (test-only: libx264/libx265 emit start-code framing) ---- */

/* Finds the next NAL unit at or after *pos; returns false when there is none. */
static bool next_nal(const uint8_t *b, size_t len, size_t *pos, const uint8_t **nal, size_t *n)
{
    size_t i = *pos;
    while (i + 3 <= len && !(b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1))
        i++;
    if (i + 3 > len)
        return false;
    size_t start = i + 3, end = start;
    while (end + 3 <= len && !(b[end] == 0 && b[end + 1] == 0 && b[end + 2] == 1))
        end++;
    if (end + 3 > len)
        end = len;
    *pos = end;
    while (end > start && b[end - 1] == 0)
        end--;
    *nal = b + start;
    *n = end - start;
    return true;
}

static uint8_t *annexb_to_lp(const uint8_t *b, size_t len, size_t *out_len)
{
    uint8_t *out = malloc(len + 64);
    size_t pos = 0, o = 0, n;
    const uint8_t *nal;
    while (next_nal(b, len, &pos, &nal, &n)) {
        out[o++] = (uint8_t)(n >> 24);
        out[o++] = (uint8_t)(n >> 16);
        out[o++] = (uint8_t)(n >> 8);
        out[o++] = (uint8_t)n;
        memcpy(out + o, nal, n);
        o += n;
    }
    *out_len = o;
    return out;
}

static bool find_nal(const uint8_t *b, size_t len, bool hevc, int type, const uint8_t **nal,
                     size_t *n)
{
    size_t pos = 0;
    while (next_nal(b, len, &pos, nal, n))
        if (*n > 0 && (hevc ? ((*nal)[0] >> 1) & 0x3F : (*nal)[0] & 0x1F) == type)
            return true;
    return false;
}

static size_t put_ps(uint8_t *o, const uint8_t *nal, size_t n)
{
    o[0] = (uint8_t)(n >> 8);
    o[1] = (uint8_t)n;
    memcpy(o + 2, nal, n);
    return 2 + n;
}

static gv_codec_config_t *avcc_from_annexb(const uint8_t *ex, size_t len)
{
    const uint8_t *sps, *pps;
    size_t ns, np;
    if (!find_nal(ex, len, false, 7, &sps, &ns) || !find_nal(ex, len, false, 8, &pps, &np) ||
        ns < 4)
        return NULL;
    uint8_t *r = malloc(16 + ns + np);
    size_t o = 0;
    r[o++] = 1;
    r[o++] = sps[1];
    r[o++] = sps[2];
    r[o++] = sps[3];
    r[o++] = 0xFF; /* lengthSizeMinusOne = 3 */
    r[o++] = 0xE1; /* one SPS */
    o += put_ps(r + o, sps, ns);
    r[o++] = 1;
    o += put_ps(r + o, pps, np);
    gv_codec_config_t *c = gv_codec_config_create(GV_CODEC_H264, r, o);
    free(r);
    return c;
}

static gv_codec_config_t *hvcc_from_annexb(const uint8_t *ex, size_t len)
{
    const uint8_t *ps[3];
    size_t pn[3];
    for (int t = 0; t < 3; t++)
        if (!find_nal(ex, len, true, 32 + t, &ps[t], &pn[t]))
            return NULL;
    /* general profile_tier_level: 12 bytes after the SPS's 2-byte header and first byte,
     * read past emulation-prevention bytes. */
    uint8_t ptl[12];
    size_t k = 0, zeros = 0;
    for (size_t i = 3; i < pn[1] && k < 12; i++) {
        if (zeros >= 2 && ps[1][i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = ps[1][i] == 0 ? zeros + 1 : 0;
        ptl[k++] = ps[1][i];
    }
    if (k < 12)
        return NULL;
    uint8_t *r = malloc(64 + pn[0] + pn[1] + pn[2]);
    size_t o = 0;
    r[o++] = 1;
    memcpy(r + o, ptl, 12);
    o += 12;
    r[o++] = 0xF0; /* min_spatial_segmentation_idc = 0 */
    r[o++] = 0x00;
    r[o++] = 0xFC; /* parallelismType = 0 */
    r[o++] = 0xFD; /* chroma_format_idc = 1 (4:2:0) */
    r[o++] = 0xF8; /* bit depth luma 8 */
    r[o++] = 0xF8; /* bit depth chroma 8 */
    r[o++] = 0;
    r[o++] = 0;    /* avgFrameRate */
    r[o++] = 0x0F; /* 1 temporal layer, nested, 4-byte lengths */
    r[o++] = 3;
    for (int t = 0; t < 3; t++) {
        r[o++] = (uint8_t)(0x80 | (32 + t)); /* array_completeness = 1 */
        r[o++] = 0;
        r[o++] = 1;
        o += put_ps(r + o, ps[t], pn[t]);
    }
    gv_codec_config_t *c = gv_codec_config_create(GV_CODEC_HEVC, r, o);
    free(r);
    return c;
}

/* ---- encoders ---- */

static int drain(AVCodecContext *ctx, AVPacket *pkt, stream_t *s, bool video)
{
    int ret;
    while ((ret = avcodec_receive_packet(ctx, pkt)) == 0) {
        uint8_t *d;
        size_t n;
        if (video) {
            d = annexb_to_lp(pkt->data, (size_t)pkt->size, &n);
        } else {
            n = (size_t)pkt->size;
            d = malloc(n);
            memcpy(d, pkt->data, n);
        }
        stream_add(s, d, n, pkt->pts, pkt->dts, video ? (pkt->flags & AV_PKT_FLAG_KEY) : true);
        av_packet_unref(pkt);
    }
    return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : ret;
}

/* Encodes a moving synthetic picture. Returns 1 (skip) when the encoder is not available. */
static int encode_video(const char *name, int w, int h, int frames, stream_t *s)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    if (!codec)
        return 1;
    bool hevc = codec->id == AV_CODEC_ID_HEVC;
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    AVDictionary *opts = NULL;
    int ret = -1;

    ctx->width = w;
    ctx->height = h;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = (AVRational){1, VID_FPS};
    ctx->framerate = (AVRational){VID_FPS, 1};
    ctx->gop_size = VID_FPS;
    ctx->max_b_frames = 2; /* B-frames give non-zero composition offsets */
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (hevc) {
        av_dict_set(&opts, "preset", "ultrafast", 0);
        av_dict_set(&opts, "x265-params", "log-level=error:scenecut=0:open-gop=0:bframes=2", 0);
    } else {
        av_dict_set(&opts, "preset", "veryfast", 0);
        av_dict_set(&opts, "x264-params", "scenecut=0", 0);
    }
    if (avcodec_open2(ctx, codec, &opts) < 0)
        goto done;
    s->config = hevc ? hvcc_from_annexb(ctx->extradata, (size_t)ctx->extradata_size)
                     : avcc_from_annexb(ctx->extradata, (size_t)ctx->extradata_size);
    if (!s->config)
        goto done;
    f->format = ctx->pix_fmt;
    f->width = w;
    f->height = h;
    if (av_frame_get_buffer(f, 0) < 0)
        goto done;
    for (int i = 0; i < frames; i++) {
        if (av_frame_make_writable(f) < 0)
            goto done;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                bool box = x >= (i * 4) % w && x < (i * 4) % w + 40 && y >= 60 && y < 120;
                f->data[0][y * f->linesize[0] + x] = box ? 235 : (uint8_t)(x + y + i * 3);
            }
        for (int y = 0; y < h / 2; y++)
            for (int x = 0; x < w / 2; x++) {
                f->data[1][y * f->linesize[1] + x] = (uint8_t)(128 + x / 4 - i);
                f->data[2][y * f->linesize[2] + x] = (uint8_t)(128 + y / 4 + i);
            }
        f->pts = i;
        if (avcodec_send_frame(ctx, f) < 0 || drain(ctx, pkt, s, true) < 0)
            goto done;
    }
    if (avcodec_send_frame(ctx, NULL) < 0 || drain(ctx, pkt, s, true) < 0)
        goto done;
    ret = 0;
done:
    av_dict_free(&opts);
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&ctx);
    return ret;
}

static int encode_audio(int frames, stream_t *s)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    if (!codec)
        return -1;
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int ret = -1;

    ctx->sample_rate = AUD_RATE;
    ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&ctx->ch_layout, 2);
    ctx->bit_rate = 128000;
    ctx->time_base = (AVRational){1, AUD_RATE};
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(ctx, codec, NULL) < 0 || ctx->extradata_size < 2)
        goto done;
    s->config = gv_codec_config_create(GV_CODEC_AAC, ctx->extradata, (size_t)ctx->extradata_size);
    f->format = ctx->sample_fmt;
    f->nb_samples = ctx->frame_size;
    f->sample_rate = AUD_RATE;
    if (av_channel_layout_copy(&f->ch_layout, &ctx->ch_layout) < 0 || av_frame_get_buffer(f, 0) < 0)
        goto done;
    for (int i = 0; i < frames; i++) {
        if (av_frame_make_writable(f) < 0)
            goto done;
        for (int c = 0; c < 2; c++) {
            float *p = (float *)f->data[c];
            for (int k = 0; k < f->nb_samples; k++) {
                int t = i * f->nb_samples + k;
                p[k] = 0.3f * (float)((t * (c ? 7 : 5)) % 200 - 100) / 100.0f;
            }
        }
        f->pts = (int64_t)i * f->nb_samples;
        if (avcodec_send_frame(ctx, f) < 0 || drain(ctx, pkt, s, false) < 0)
            goto done;
    }
    if (avcodec_send_frame(ctx, NULL) < 0 || drain(ctx, pkt, s, false) < 0)
        goto done;
    ret = 0;
done:
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&ctx);
    return ret;
}

/* ---- box walking over written bytes ---- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Finds a box by a '/'-separated path of types, descending into the listed containers.
 * Containers with fields before their children (stsd, sample entries) are stepped past. */
static const uint8_t *find_box(const uint8_t *b, size_t len, const char *path, size_t *box_len)
{
    while (*path) {
        const uint8_t *hit = NULL;
        size_t hit_len = 0, pos = 0;
        while (pos + 8 <= len) {
            uint32_t sz = be32(b + pos);
            if (sz < 8 || sz > len - pos)
                return NULL;
            if (memcmp(b + pos + 4, path, 4) == 0) {
                hit = b + pos;
                hit_len = sz;
                break;
            }
            pos += sz;
        }
        if (!hit)
            return NULL;
        path += 4;
        if (*path == '/')
            path++;
        if (!*path) {
            *box_len = hit_len;
            return hit;
        }
        size_t hdr = 8;
        if (memcmp(hit + 4, "stsd", 4) == 0)
            hdr = 16;
        else if (memcmp(hit + 4, "avc1", 4) == 0 || memcmp(hit + 4, "hvc1", 4) == 0)
            hdr = 8 + 78;
        else if (memcmp(hit + 4, "mp4a", 4) == 0)
            hdr = 8 + 28;
        b = hit + hdr;
        len = hit_len - hdr;
    }
    return NULL;
}

/* The idx-th (0-based) box of a type among the boxes directly in b. */
static const uint8_t *nth_child(const uint8_t *b, size_t len, const char *type, int idx,
                                size_t *box_len)
{
    size_t pos = 0;
    while (pos + 8 <= len) {
        uint32_t sz = be32(b + pos);
        if (sz < 8 || sz > len - pos)
            return NULL;
        if (memcmp(b + pos + 4, type, 4) == 0 && idx-- == 0) {
            *box_len = sz;
            return b + pos;
        }
        pos += sz;
    }
    return NULL;
}

/* ---- the round trip ---- */

typedef struct {
    gv_fmp4_sample_t *samples;
    uint64_t *dts; /* track timescale */
    int64_t *pts;
    size_t n;
} track_samples_t;

static void build_video_samples(const stream_t *s, track_samples_t *t)
{
    int64_t scale = 90000 / VID_FPS;
    t->n = s->n;
    t->samples = calloc(s->n, sizeof(*t->samples));
    t->dts = calloc(s->n, sizeof(*t->dts));
    t->pts = calloc(s->n, sizeof(*t->pts));
    for (size_t i = 0; i < s->n; i++) {
        t->dts[i] = (uint64_t)((s->pkts[i].dts - s->pkts[0].dts) * scale);
        t->pts[i] = (int64_t)t->dts[i] + (s->pkts[i].pts - s->pkts[i].dts) * scale;
        t->samples[i] = (gv_fmp4_sample_t){
            .data = s->pkts[i].data,
            .size = (uint32_t)s->pkts[i].size,
            .duration =
                (uint32_t)(i + 1 < s->n ? (s->pkts[i + 1].dts - s->pkts[i].dts) * scale : scale),
            .cts = (int32_t)((s->pkts[i].pts - s->pkts[i].dts) * scale),
            .keyframe = s->pkts[i].key,
        };
    }
}

static void build_audio_samples(const stream_t *s, track_samples_t *t)
{
    t->n = s->n;
    t->samples = calloc(s->n, sizeof(*t->samples));
    t->dts = calloc(s->n, sizeof(*t->dts));
    t->pts = calloc(s->n, sizeof(*t->pts));
    for (size_t i = 0; i < s->n; i++) {
        t->dts[i] = i * 1024;
        t->pts[i] = (int64_t)i * 1024;
        t->samples[i] = (gv_fmp4_sample_t){.data = s->pkts[i].data,
                                           .size = (uint32_t)s->pkts[i].size,
                                           .duration = 1024,
                                           .keyframe = true};
    }
}

static void track_samples_free(track_samples_t *t)
{
    free(t->samples);
    free(t->dts);
    free(t->pts);
}

static bool write_all(int fd, const gv_blob_t *b)
{
    return b && write(fd, b->data, b->size) == (ssize_t)b->size;
}

/* Decodes every video packet of the file; returns the number of frames or -1 on an error. */
static int decode_all(AVFormatContext *fmt, int vidx)
{
    AVStream *st = fmt->streams[vidx];
    const AVCodec *dec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *ctx = avcodec_alloc_context3(dec);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int frames = -1, n = 0, ret;

    if (avcodec_parameters_to_context(ctx, st->codecpar) < 0)
        goto done;
    ctx->err_recognition = AV_EF_EXPLODE | AV_EF_CRCCHECK | AV_EF_BITSTREAM;
    if (avcodec_open2(ctx, dec, NULL) < 0 || av_seek_frame(fmt, vidx, 0, AVSEEK_FLAG_BACKWARD) < 0)
        goto done;
    for (bool eof = false; !eof;) {
        ret = av_read_frame(fmt, pkt);
        if (ret == AVERROR_EOF) {
            eof = true;
            if (avcodec_send_packet(ctx, NULL) < 0)
                goto done;
        } else if (ret < 0) {
            goto done;
        } else if (pkt->stream_index != vidx) {
            av_packet_unref(pkt);
            continue;
        } else {
            ret = avcodec_send_packet(ctx, pkt);
            av_packet_unref(pkt);
            if (ret < 0)
                goto done;
        }
        while ((ret = avcodec_receive_frame(ctx, f)) == 0) {
            if (f->width != st->codecpar->width || f->height != st->codecpar->height ||
                (f->decode_error_flags | (f->flags & AV_FRAME_FLAG_CORRUPT)))
                goto done;
            n++;
            av_frame_unref(f);
        }
        if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
            goto done;
    }
    frames = n;
done:
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
    return frames;
}

static void roundtrip(const stream_t *video, const stream_t *audio, int w, int h)
{
    bool hevc = video->config->codec == GV_CODEC_HEVC;
    track_samples_t vt, at = {0};
    gv_blob_t *init = NULL, *frag[2] = {NULL, NULL};
    AVFormatContext *fmt = NULL;
    char path[] = "/tmp/gv_test_fmp4_XXXXXX";
    int fd = mkstemp(path);
    GV_CHECK(fd >= 0);
    if (fd < 0)
        return;

    build_video_samples(video, &vt);
    if (audio)
        build_audio_samples(audio, &at);
    gv_fmp4_track_t tracks[2] = {
        {.track_id = 1, .timescale = 90000, .config = video->config, .width = w, .height = h},
        {.track_id = 2,
         .timescale = AUD_RATE,
         .config = audio ? audio->config : NULL,
         .sample_rate = AUD_RATE,
         .channels = 2},
    };
    GV_CHECK_INT(gv_fmp4_write_init(tracks, audio ? 2 : 1, &init), 0);

    /* Fragment 1: the first second of each track (video run first); fragment 2: the rest
     * (audio run first), so data offsets are exercised in both orders. */
    size_t v1 = VID_FPS < vt.n ? VID_FPS : vt.n;
    size_t a1 = 47 < at.n ? 47 : at.n;
    gv_fmp4_run_t r1[2] = {{1, vt.dts[0], vt.samples, v1}, {2, 0, at.samples, a1}};
    gv_fmp4_run_t r2[2] = {{2, a1 < at.n ? at.dts[a1] : 0, at.samples + a1, at.n - a1},
                           {1, vt.dts[v1 < vt.n ? v1 : 0], vt.samples + v1, vt.n - v1}};
    GV_CHECK_INT(gv_fmp4_write_fragment(1, r1, audio ? 2 : 1, &frag[0]), 0);
    GV_CHECK_INT(gv_fmp4_write_fragment(2, r2, 2, &frag[1]), 0);
    bool ok = write_all(fd, init) && write_all(fd, frag[0]) && write_all(fd, frag[1]);
    close(fd);
    GV_CHECK(ok);
    if (!ok)
        goto done;

    GV_CHECK_INT(avformat_open_input(&fmt, path, NULL, NULL), 0);
    if (!fmt)
        goto done;
    GV_CHECK(avformat_find_stream_info(fmt, NULL) >= 0);
    GV_CHECK_INT(fmt->nb_streams, audio ? 2 : 1);
    int vidx = -1, aidx = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVCodecParameters *p = fmt->streams[i]->codecpar;
        if (p->codec_type == AVMEDIA_TYPE_VIDEO)
            vidx = (int)i;
        else if (p->codec_type == AVMEDIA_TYPE_AUDIO)
            aidx = (int)i;
    }
    GV_CHECK(vidx >= 0);
    GV_CHECK(!audio || aidx >= 0);
    if (vidx < 0 || (audio && aidx < 0))
        goto done;
    AVCodecParameters *vp = fmt->streams[vidx]->codecpar;
    GV_CHECK_INT(vp->codec_id, hevc ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
    GV_CHECK_INT(vp->codec_tag, hevc ? MKTAG('h', 'v', 'c', '1') : MKTAG('a', 'v', 'c', '1'));
    GV_CHECK_INT(vp->width, w);
    GV_CHECK_INT(vp->height, h);
    GV_CHECK_INT(fmt->streams[vidx]->time_base.den, 90000);
    if (audio) {
        AVCodecParameters *ap = fmt->streams[aidx]->codecpar;
        GV_CHECK_INT(ap->codec_id, AV_CODEC_ID_AAC);
        GV_CHECK_INT(ap->sample_rate, AUD_RATE);
        GV_CHECK_INT(ap->ch_layout.nb_channels, 2);
        GV_CHECK_INT(fmt->streams[aidx]->time_base.den, AUD_RATE);
    }

    /* Every packet comes back with our timestamps, flags and bytes, in order per track. */
    size_t vn = 0, an = 0;
    AVPacket *pkt = av_packet_alloc();
    while (av_read_frame(fmt, pkt) >= 0) {
        const track_samples_t *t = pkt->stream_index == vidx ? &vt : &at;
        size_t *idx = pkt->stream_index == vidx ? &vn : &an;
        if (*idx < t->n) {
            const gv_fmp4_sample_t *s = &t->samples[*idx];
            GV_CHECK_INT(pkt->dts, (int64_t)t->dts[*idx]);
            GV_CHECK_INT(pkt->pts, t->pts[*idx]);
            GV_CHECK_INT(!!(pkt->flags & AV_PKT_FLAG_KEY), s->keyframe);
            GV_CHECK_INT(pkt->size, s->size);
            GV_CHECK(pkt->size == (int)s->size && memcmp(pkt->data, s->data, s->size) == 0);
        }
        (*idx)++;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    GV_CHECK_INT(vn, vt.n);
    GV_CHECK_INT(an, at.n);

    /* And every video frame decodes, with error detection turned up. */
    GV_CHECK_INT(decode_all(fmt, vidx), vt.n);
done:
    avformat_close_input(&fmt);
    unlink(path);
    gv_blob_unref(init);
    gv_blob_unref(frag[0]);
    gv_blob_unref(frag[1]);
    track_samples_free(&vt);
    track_samples_free(&at);
}

static void test_h264_aac_roundtrip(void)
{
    stream_t v = {0}, a = {0};
    GV_CHECK_INT(encode_video("libx264", VID_W, VID_H, VID_FRAMES, &v), 0);
    GV_CHECK_INT(encode_audio(AUD_FRAMES, &a), 0);
    GV_CHECK_INT(v.n, VID_FRAMES);
    if (v.n == VID_FRAMES && a.n > 47 && v.config && a.config) {
        bool cts = false;
        for (size_t i = 0; i < v.n; i++)
            cts |= v.pkts[i].pts != v.pkts[i].dts;
        GV_CHECK(cts); /* the stream really has B-frames */
        roundtrip(&v, &a, VID_W, VID_H);

        /* Codec facts on the same stream. */
        char cs[32];
        GV_CHECK_INT(gv_codec_string(v.config, cs, sizeof(cs)), 0);
        char want[32];
        snprintf(want, sizeof(want), "avc1.%02x%02x%02x", v.config->data[1], v.config->data[2],
                 v.config->data[3]);
        GV_CHECK_STR(cs, want);
        GV_CHECK_INT(gv_codec_string(a.config, cs, sizeof(cs)), 0);
        GV_CHECK_STR(cs, "mp4a.40.2");
        int aot, rate, ch;
        GV_CHECK_INT(gv_aac_asc_parse(a.config->data, a.config->size, &aot, &rate, &ch), 0);
        GV_CHECK_INT(rate, AUD_RATE);
        GV_CHECK_INT(ch, 2);
        int w = 0, h = 0;
        GV_CHECK_INT(gv_video_probe_size(v.config, v.pkts[0].data, v.pkts[0].size, &w, &h), 0);
        GV_CHECK_INT(w, VID_W);
        GV_CHECK_INT(h, VID_H);
    }
    stream_free(&v);
    stream_free(&a);
}

/* A size that is not a multiple of 16 is cropped in the SPS: the probe reports the crop. */
static void test_h264_probe_cropped(void)
{
    stream_t v = {0};
    GV_CHECK_INT(encode_video("libx264", 200, 106, 3, &v), 0);
    GV_CHECK(v.n > 0 && v.config);
    if (v.n > 0 && v.config) {
        int w = 0, h = 0;
        GV_CHECK_INT(gv_video_probe_size(v.config, v.pkts[0].data, v.pkts[0].size, &w, &h), 0);
        GV_CHECK_INT(w, 200);
        GV_CHECK_INT(h, 106);
        /* Every truncation of the keyframe fails cleanly or still finds the size (the
         * parser's complaints about cut slices are expected). */
        av_log_set_level(AV_LOG_QUIET);
        for (size_t k = 0; k < v.pkts[0].size; k += 1 + k / 8) {
            int r = gv_video_probe_size(v.config, v.pkts[0].data, k, &w, &h);
            GV_CHECK(r == 0 || r == GV_ETRUNC || r == GV_ECODEC || r == GV_EPROTO);
        }
        av_log_set_level(AV_LOG_ERROR);
    }
    stream_free(&v);
}

static void test_hevc_aac_roundtrip(void)
{
    stream_t v = {0}, a = {0};
    int r = encode_video("libx265", VID_W, VID_H, VID_FRAMES, &v);
    if (r == 1) {
        printf("test_hevc_aac_roundtrip: skipped, libavcodec has no libx265 encoder\n");
        return;
    }
    GV_CHECK_INT(r, 0);
    GV_CHECK_INT(encode_audio(AUD_FRAMES, &a), 0);
    GV_CHECK_INT(v.n, VID_FRAMES);
    if (v.n == VID_FRAMES && a.n > 47 && v.config && a.config) {
        roundtrip(&v, &a, VID_W, VID_H);
        char cs[48];
        GV_CHECK_INT(gv_codec_string(v.config, cs, sizeof(cs)), 0);
        GV_CHECK(strncmp(cs, "hvc1.1.6.L", 10) == 0); /* Main profile */
        int w = 0, h = 0;
        GV_CHECK_INT(gv_video_probe_size(v.config, v.pkts[0].data, v.pkts[0].size, &w, &h), 0);
        GV_CHECK_INT(w, VID_W);
        GV_CHECK_INT(h, VID_H);
    }
    stream_free(&v);
    stream_free(&a);
}

/* ---- byte-level checks ---- */

static const uint8_t avcc_min[] = {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe0, 0x00};
static const uint8_t asc_lc[] = {0x11, 0x90};

static void test_init_layout(void)
{
    gv_codec_config_t vc = {
        .codec = GV_CODEC_H264, .data = (uint8_t *)avcc_min, .size = sizeof(avcc_min)};
    gv_codec_config_t ac = {
        .codec = GV_CODEC_AAC, .data = (uint8_t *)asc_lc, .size = sizeof(asc_lc)};
    gv_fmp4_track_t t[2] = {
        {.track_id = 1, .timescale = 90000, .config = &vc, .width = 1280, .height = 720},
        {.track_id = 7, .timescale = 48000, .config = &ac, .sample_rate = 48000, .channels = 2},
    };
    gv_blob_t *b = NULL;
    size_t n;
    const uint8_t *p;
    GV_CHECK_INT(gv_fmp4_write_init(t, 2, &b), 0);
    if (!b)
        return;
    p = find_box(b->data, b->size, "ftyp", &n);
    GV_CHECK(p && memcmp(p + 8, "iso6", 4) == 0 && be32(p + 12) == 0);
    GV_CHECK(p && n >= 24 && memcmp(p + 20, "cmfc", 4) == 0);
    size_t ftyp_len = n, moov_len = 0;
    GV_CHECK(find_box(b->data, b->size, "moov", &moov_len) != NULL);
    GV_CHECK_INT(ftyp_len + moov_len, b->size);
    p = find_box(b->data, b->size, "moov/mvhd", &n);
    GV_CHECK(p && be32(p + 20) == 1000 && be32(p + n - 4) == 8); /* timescale, next_track_id */
    p = find_box(b->data, b->size, "moov/trak/tkhd", &n);
    GV_CHECK(p && (be32(p + 8) & 0xFFFFFF) == 3 && be32(p + 20) == 1);
    GV_CHECK(p && be32(p + n - 8) == 1280u << 16 && be32(p + n - 4) == 720u << 16);
    p = find_box(b->data, b->size, "moov/trak/mdia/mdhd", &n);
    GV_CHECK(p && be32(p + 20) == 90000 && p[28] == 0x55 && p[29] == 0xC4);
    p = find_box(b->data, b->size, "moov/trak/mdia/hdlr", &n);
    GV_CHECK(p && memcmp(p + 16, "vide", 4) == 0 && p[n - 1] == 0);
    p = find_box(b->data, b->size, "moov/trak/mdia/minf/vmhd", &n);
    GV_CHECK(p && (be32(p + 8) & 0xFFFFFF) == 1);
    p = find_box(b->data, b->size, "moov/trak/mdia/minf/dinf/dref", &n);
    GV_CHECK(p && be32(p + 12) == 1 && memcmp(p + 20, "url ", 4) == 0 && be32(p + 24) == 1);
    p = find_box(b->data, b->size, "moov/trak/mdia/minf/stbl/stsd/avc1/avcC", &n);
    GV_CHECK(p && n == 8 + sizeof(avcc_min) && memcmp(p + 8, avcc_min, sizeof(avcc_min)) == 0);
    p = find_box(b->data, b->size, "moov/trak/mdia/minf/stbl/stsd/avc1", &n);
    GV_CHECK(p && p[32] == 0x05 && p[33] == 0x00 && p[34] == 0x02 && p[35] == 0xD0);
    const char *empty[] = {"stts", "stsc", "stco"};
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof(path), "moov/trak/mdia/minf/stbl/%s", empty[i]);
        p = find_box(b->data, b->size, path, &n);
        GV_CHECK(p && n == 16 && be32(p + 12) == 0);
    }
    p = find_box(b->data, b->size, "moov/mvex/trex", &n);
    GV_CHECK(p && be32(p + 12) == 1 && be32(p + 16) == 1 && be32(p + 28) == 0x01010000);

    /* The audio trak is the second one. */
    const uint8_t *moov = find_box(b->data, b->size, "moov", &moov_len);
    size_t tlen = 0;
    const uint8_t *t2 = moov ? nth_child(moov + 8, moov_len - 8, "trak", 1, &tlen) : NULL;
    GV_CHECK(t2 != NULL);
    if (t2) {
        const uint8_t *a = find_box(t2, tlen, "trak/tkhd", &n);
        GV_CHECK(a && be32(a + 20) == 7 && a[44] == 0x01 && a[45] == 0x00); /* volume 1.0 */
        a = find_box(t2, tlen, "trak/mdia/hdlr", &n);
        GV_CHECK(a && memcmp(a + 16, "soun", 4) == 0);
        GV_CHECK(find_box(t2, tlen, "trak/mdia/minf/smhd", &n) != NULL);
        a = find_box(t2, tlen, "trak/mdia/minf/stbl/stsd/mp4a", &n);
        GV_CHECK(a && be32(a + 24) >> 16 == 2 && be32(a + 32) == 48000u << 16);
        a = find_box(t2, tlen, "trak/mdia/minf/stbl/stsd/mp4a/esds", &n);
        /* ES_Descriptor(3) > DecoderConfig(4: 0x40, stream type 5) > DSI(5: the ASC), SL(6: 2) */
        static const uint8_t want[] = {0x03, 25, 0x00, 0x07, 0x00, 0x04, 17,   0x40, 0x15,
                                       0,    0,  0,    0,    0,    0,    0,    0,    0,
                                       0,    0,  0x05, 2,    0x11, 0x90, 0x06, 1,    0x02};
        GV_CHECK(a && n == 12 + sizeof(want) && memcmp(a + 12, want, sizeof(want)) == 0);
    }
    const uint8_t *mvex = find_box(b->data, b->size, "moov/mvex", &n);
    GV_CHECK(mvex && n == 8 + 32 + 32 && be32(mvex + 8 + 32 + 12) == 7 &&
             be32(mvex + 8 + 32 + 28) == 0x02000000);
    gv_blob_unref(b);
}

static void test_fragment_layout(void)
{
    static const uint8_t d0[] = {0, 0, 0, 3, 0x65, 1, 2}, d1[] = {0, 0, 0, 1, 0x41},
                         d2[] = {0xAA, 0xBB, 0xCC};
    gv_fmp4_sample_t vs[2] = {
        {.data = d0, .size = sizeof(d0), .duration = 3000, .cts = 6000, .keyframe = true},
        {.data = d1, .size = sizeof(d1), .duration = 3001, .cts = -3000, .keyframe = false},
    };
    gv_fmp4_sample_t as[1] = {{.data = d2, .size = sizeof(d2), .duration = 1024, .keyframe = true}};
    gv_fmp4_run_t runs[3] = {
        {.track_id = 1, .base_dts = 0x123456789ULL, .samples = vs, .n = 2},
        {.track_id = 3, .base_dts = 5, .samples = NULL, .n = 0}, /* empty: no traf */
        {.track_id = 2, .base_dts = 4096, .samples = as, .n = 1},
    };
    gv_blob_t *b = NULL;
    size_t n, moof_len, mdat_len;
    GV_CHECK_INT(gv_fmp4_write_fragment(42, runs, 3, &b), 0);
    if (!b)
        return;
    const uint8_t *moof = find_box(b->data, b->size, "moof", &moof_len);
    const uint8_t *mdat = find_box(b->data, b->size, "mdat", &mdat_len);
    GV_CHECK(moof == b->data && mdat && moof_len + mdat_len == b->size);
    GV_CHECK_INT(mdat_len, 8 + sizeof(d0) + sizeof(d1) + sizeof(d2));
    const uint8_t *p = find_box(b->data, b->size, "moof/mfhd", &n);
    GV_CHECK(p && be32(p + 12) == 42);
    p = find_box(b->data, b->size, "moof/traf/tfhd", &n);
    GV_CHECK(p && be32(p + 8) == 0x00020000 && be32(p + 12) == 1);
    p = find_box(b->data, b->size, "moof/traf/tfdt", &n);
    GV_CHECK(p && p[8] == 1 && be32(p + 12) == 1 && be32(p + 16) == 0x23456789);
    p = find_box(b->data, b->size, "moof/traf/trun", &n);
    GV_CHECK(p && p[8] == 1 && (be32(p + 8) & 0xFFFFFF) == 0xF01 && be32(p + 12) == 2);
    if (p) {
        uint32_t off = be32(p + 16);
        GV_CHECK(off == moof_len + 8 && memcmp(b->data + off, d0, sizeof(d0)) == 0);
        const uint8_t *s = p + 20;
        GV_CHECK(be32(s) == 3000 && be32(s + 4) == sizeof(d0) && be32(s + 8) == 0x02000000 &&
                 be32(s + 12) == 6000);
        s += 16;
        GV_CHECK(be32(s) == 3001 && be32(s + 4) == sizeof(d1) && be32(s + 8) == 0x01010000 &&
                 (int32_t)be32(s + 12) == -3000);
    }
    /* Two trafs only; the second (track 2) points at the audio bytes behind the video. */
    size_t tl = 0;
    GV_CHECK(nth_child(moof + 8, moof_len - 8, "traf", 2, &tl) == NULL);
    const uint8_t *traf2 = nth_child(moof + 8, moof_len - 8, "traf", 1, &tl);
    GV_CHECK(traf2 && traf2 + tl == moof + moof_len);
    if (traf2) {
        const uint8_t *tr = find_box(traf2, tl, "traf/trun", &n);
        GV_CHECK(tr && memcmp(b->data + be32(tr + 16), d2, sizeof(d2)) == 0);
        const uint8_t *hd = find_box(traf2, tl, "traf/tfhd", &n);
        GV_CHECK(hd && be32(hd + 12) == 2);
        const uint8_t *dt = find_box(traf2, tl, "traf/tfdt", &n);
        GV_CHECK(dt && be32(dt + 16) == 4096);
    }
    gv_blob_unref(b);
}

static void test_invalid_input(void)
{
    gv_codec_config_t vc = {
        .codec = GV_CODEC_H264, .data = (uint8_t *)avcc_min, .size = sizeof(avcc_min)};
    static const uint8_t badver[] = {0x00, 0x64, 0x00, 0x1f, 0xff, 0xe0, 0x00};
    gv_codec_config_t bad = {
        .codec = GV_CODEC_H264, .data = (uint8_t *)badver, .size = sizeof(badver)};
    gv_codec_config_t hshort = {
        .codec = GV_CODEC_HEVC, .data = (uint8_t *)avcc_min, .size = sizeof(avcc_min)};
    gv_codec_config_t none = {.codec = GV_CODEC_NONE, .data = (uint8_t *)avcc_min, .size = 7};
    gv_fmp4_track_t t = {
        .track_id = 1, .timescale = 90000, .config = &vc, .width = 16, .height = 16};
    gv_blob_t *b = (gv_blob_t *)&t; /* must be reset to NULL on failure */

    GV_CHECK_INT(gv_fmp4_write_init(&t, 1, NULL), GV_EINVAL);
    GV_CHECK_INT(gv_fmp4_write_init(NULL, 1, &b), GV_EINVAL);
    GV_CHECK(b == NULL);
    GV_CHECK_INT(gv_fmp4_write_init(&t, 0, &b), GV_EINVAL);
    gv_fmp4_track_t two[2] = {t, t};
    GV_CHECK_INT(gv_fmp4_write_init(two, 2, &b), GV_EINVAL); /* duplicate id */
    gv_fmp4_track_t x = t;
    x.track_id = 0;
    GV_CHECK_INT(gv_fmp4_write_init(&x, 1, &b), GV_EINVAL);
    x = t;
    x.timescale = 0;
    GV_CHECK_INT(gv_fmp4_write_init(&x, 1, &b), GV_EINVAL);
    x = t;
    x.config = NULL;
    GV_CHECK_INT(gv_fmp4_write_init(&x, 1, &b), GV_EINVAL);
    x.config = &bad;
    GV_CHECK_INT(gv_fmp4_write_init(&x, 1, &b), GV_EPROTO);
    x.config = &hshort;
    GV_CHECK_INT(gv_fmp4_write_init(&x, 1, &b), GV_EPROTO);
    x.config = &none;
    GV_CHECK_INT(gv_fmp4_write_init(&x, 1, &b), GV_EUNSUPP);
    x = t;
    x.width = 70000;
    GV_CHECK_INT(gv_fmp4_write_init(&x, 1, &b), GV_EINVAL);
    x = t;
    x.track_id = UINT32_MAX;
    GV_CHECK_INT(gv_fmp4_write_init(&x, 1, &b), GV_EINVAL);
    GV_CHECK(b == NULL);
    gv_fmp4_track_t many[17];
    for (int i = 0; i < 17; i++) {
        many[i] = t;
        many[i].track_id = (uint32_t)i + 1;
    }
    GV_CHECK_INT(gv_fmp4_write_init(many, 17, &b), GV_ELIMIT);
    GV_CHECK_INT(gv_fmp4_write_init(many, 16, &b), 0);
    gv_blob_unref(b);
    b = NULL;

    static const uint8_t d[] = {1, 2, 3};
    gv_fmp4_sample_t s = {.data = d, .size = 3, .duration = 1, .keyframe = true};
    gv_fmp4_run_t r = {.track_id = 1, .samples = &s, .n = 1};
    GV_CHECK_INT(gv_fmp4_write_fragment(1, &r, 1, NULL), GV_EINVAL);
    GV_CHECK_INT(gv_fmp4_write_fragment(1, NULL, 1, &b), GV_EINVAL);
    GV_CHECK_INT(gv_fmp4_write_fragment(1, &r, 0, &b), GV_EINVAL);
    gv_fmp4_run_t y = r;
    y.n = 0;
    GV_CHECK_INT(gv_fmp4_write_fragment(1, &y, 1, &b), GV_EINVAL); /* nothing to write */
    y = r;
    y.track_id = 0;
    GV_CHECK_INT(gv_fmp4_write_fragment(1, &y, 1, &b), GV_EINVAL);
    y = r;
    y.samples = NULL;
    GV_CHECK_INT(gv_fmp4_write_fragment(1, &y, 1, &b), GV_EINVAL);
    gv_fmp4_sample_t nodata = {.data = NULL, .size = 5};
    y = r;
    y.samples = &nodata;
    GV_CHECK_INT(gv_fmp4_write_fragment(1, &y, 1, &b), GV_EINVAL);
    /* Sizes that cannot be addressed by a 32-bit data offset (no bytes are read). */
    gv_fmp4_sample_t big[2] = {{.data = d, .size = 0x7FFFFFF0u}, {.data = d, .size = 0x7FFFFFF0u}};
    y = r;
    y.samples = big;
    y.n = 2;
    GV_CHECK_INT(gv_fmp4_write_fragment(1, &y, 1, &b), GV_ETOOBIG);
    y.n = (1u << 20) + 1;
    GV_CHECK_INT(gv_fmp4_write_fragment(1, &y, 1, &b), GV_ELIMIT);
    GV_CHECK(b == NULL);
    /* A zero-size sample is legal. */
    gv_fmp4_sample_t empty = {.data = NULL, .size = 0, .duration = 10, .keyframe = true};
    y = r;
    y.samples = &empty;
    GV_CHECK_INT(gv_fmp4_write_fragment(1, &y, 1, &b), 0);
    GV_CHECK(b && b->size == 8 + 16 + 8 + 16 + 20 + 20 + 16 + 8);
    gv_blob_unref(b);
}

/* LeakSanitizer hook (only used in sanitizer builds): libx265 keeps a few encoder buffers
 * allocated after x265_encoder_close; those are not ours to report. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libx265.so\n";
}

static void setup_quiet(void)
{
    av_log_set_level(AV_LOG_ERROR);
}

GV_TEST_MAIN(GV_TEST(setup_quiet), GV_TEST(test_init_layout), GV_TEST(test_fragment_layout),
             GV_TEST(test_invalid_input), GV_TEST(test_h264_aac_roundtrip),
             GV_TEST(test_h264_probe_cropped), GV_TEST(test_hevc_aac_roundtrip))
