/* Item image loading for the card (see image.h): avio for http(s) and files with a total
 * deadline (interrupt callback) and a byte cap, format sniffing by magic bytes, libavcodec
 * decoding with a pixel limit, libswscale to BGRA, then premultiplication. */
#include "overlay/image.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avio.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/log.h"

#define MAX_DECODE_PIXELS (8192 * 8192)

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int past_deadline(void *opaque)
{
    return mono_ms() >= *(const int64_t *)opaque;
}

static int map_averror(int e)
{
    if (e == AVERROR(ENOENT) || e == AVERROR_HTTP_NOT_FOUND)
        return GV_ENOENT;
    if (e == AVERROR_EXIT || e == AVERROR(ETIMEDOUT))
        return GV_ETIMEDOUT;
    if (e == AVERROR(ENOMEM))
        return GV_ENOMEM;
    if (e == AVERROR_HTTP_FORBIDDEN || e == AVERROR_HTTP_UNAUTHORIZED)
        return GV_EAUTH;
    return GV_EIO;
}

void gv_image_premultiply(uint8_t *bgra, int w, int h, int stride)
{
    for (int y = 0; y < h; y++) {
        uint8_t *p = bgra + (size_t)y * stride;
        for (int x = 0; x < w; x++, p += 4) {
            unsigned a = p[3];
            if (a == 255)
                continue;
            for (int k = 0; k < 3; k++) {
                unsigned t = p[k] * a + 128;
                p[k] = (uint8_t)((t + (t >> 8)) >> 8);
            }
        }
    }
}

/* Reads the whole resource into *buf (malloc'd), at most max_bytes. */
static int fetch(const char *url, size_t max_bytes, int timeout_ms, uint8_t **buf, size_t *len)
{
    int64_t deadline = mono_ms() + timeout_ms;
    AVIOInterruptCB cb = {past_deadline, &deadline};
    AVDictionary *opts = NULL;
    char us[32];
    snprintf(us, sizeof(us), "%lld", (long long)timeout_ms * 1000);
    av_dict_set(&opts, "timeout", us, 0);
    av_dict_set(&opts, "rw_timeout", us, 0);
    av_dict_set(&opts, "protocol_whitelist", "file,http,https,tcp,tls", 0);
    AVIOContext *pb = NULL;
    int rc, e = avio_open2(&pb, url, AVIO_FLAG_READ, &cb, &opts);
    av_dict_free(&opts);
    if (e < 0)
        return map_averror(e);

    size_t cap = max_bytes < 64 * 1024 ? max_bytes + 1 : 64 * 1024, n = 0;
    uint8_t *b = malloc(cap);
    if (!b) {
        rc = GV_ENOMEM;
        goto fail;
    }
    for (;;) {
        if (n == cap) {
            /* The buffer holds at most max_bytes + 1: one byte more means too big. */
            size_t ncap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            uint8_t *nb = realloc(b, ncap);
            if (!nb) {
                rc = GV_ENOMEM;
                goto fail;
            }
            b = nb;
            cap = ncap;
        }
        size_t room = cap - n;
        int got = avio_read(pb, b + n, room > (1 << 20) ? (1 << 20) : (int)room);
        if (got == AVERROR_EOF || got == 0)
            break;
        if (got < 0) {
            rc = map_averror(got);
            goto fail;
        }
        n += (size_t)got;
        if (n > max_bytes) {
            rc = GV_ETOOBIG;
            goto fail;
        }
    }
    avio_closep(&pb);
    *buf = b;
    *len = n;
    return 0;
fail:
    free(b);
    avio_closep(&pb);
    return rc;
}

static enum AVCodecID sniff(const uint8_t *b, size_t n)
{
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return AV_CODEC_ID_PNG;
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return AV_CODEC_ID_MJPEG;
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return AV_CODEC_ID_WEBP;
    return AV_CODEC_ID_NONE;
}

/* JPEG decoders report the deprecated full-range "j" formats; swscale wants the plain format
 * plus a full-range flag. */
static enum AVPixelFormat unj(enum AVPixelFormat f, int *full)
{
    *full = 1;
    switch (f) {
    case AV_PIX_FMT_YUVJ420P:
        return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
        return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
        return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
        return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P:
        return AV_PIX_FMT_YUV411P;
    default:
        *full = 0;
        return f;
    }
}

static int decode(const uint8_t *data, size_t len, AVFrame *frame)
{
    enum AVCodecID id = sniff(data, len);
    if (id == AV_CODEC_ID_NONE)
        return GV_EUNSUPP;
    const AVCodec *codec = avcodec_find_decoder(id);
    if (!codec)
        return GV_EUNSUPP;
    int rc = GV_ECODEC;
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    AVPacket *pkt = av_packet_alloc();
    if (!ctx || !pkt || len > INT32_MAX) {
        rc = GV_ENOMEM;
        goto fail;
    }
    ctx->max_pixels = MAX_DECODE_PIXELS;
    ctx->thread_count = 1;
    if (avcodec_open2(ctx, codec, NULL) < 0)
        goto fail;
    if (av_new_packet(pkt, (int)len) < 0) {
        rc = GV_ENOMEM;
        goto fail;
    }
    memcpy(pkt->data, data, len);
    if (avcodec_send_packet(ctx, pkt) < 0)
        goto fail;
    avcodec_send_packet(ctx, NULL);
    if (avcodec_receive_frame(ctx, frame) < 0)
        goto fail;
    rc = frame->width > 0 && frame->height > 0 ? 0 : GV_ECODEC;
fail:
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
    return rc;
}

int gv_image_load(const char *url_or_path, size_t max_bytes, int timeout_ms, uint8_t **bgra, int *w,
                  int *h, int *stride)
{
    int rc;
    uint8_t *data = NULL, *out = NULL;
    size_t len = 0;
    AVFrame *frame = NULL;
    struct SwsContext *sws = NULL;
    char url[1100];
    const char *what = "";

    *bgra = NULL;
    if (!url_or_path || timeout_ms <= 0 || max_bytes == 0) {
        rc = GV_EINVAL;
        what = "bad arguments";
        goto fail;
    }
    if (strncmp(url_or_path, "http://", 7) == 0 || strncmp(url_or_path, "https://", 8) == 0) {
        snprintf(url, sizeof(url), "%s", url_or_path);
    } else if (url_or_path[0] == '/') {
        snprintf(url, sizeof(url), "file:%s", url_or_path);
    } else {
        rc = GV_EINVAL;
        what = "expected an http(s) URL or an absolute path";
        goto fail;
    }
    if ((rc = fetch(url, max_bytes, timeout_ms, &data, &len)) != 0) {
        what = "read failed";
        goto fail;
    }
    frame = av_frame_alloc();
    if (!frame) {
        rc = GV_ENOMEM;
        goto fail;
    }
    if ((rc = decode(data, len, frame)) != 0) {
        what = rc == GV_EUNSUPP ? "not a PNG, JPEG or WebP image" : "cannot decode";
        goto fail;
    }

    int sw = frame->width, sh = frame->height, dw = sw, dh = sh;
    if (sw > GV_IMAGE_MAX_SIDE || sh > GV_IMAGE_MAX_SIDE) {
        if (sw >= sh) {
            dw = GV_IMAGE_MAX_SIDE;
            dh = (int)((int64_t)sh * GV_IMAGE_MAX_SIDE / sw);
        } else {
            dh = GV_IMAGE_MAX_SIDE;
            dw = (int)((int64_t)sw * GV_IMAGE_MAX_SIDE / sh);
        }
        dw = dw < 1 ? 1 : dw;
        dh = dh < 1 ? 1 : dh;
    }
    int full;
    enum AVPixelFormat fmt = unj((enum AVPixelFormat)frame->format, &full);
    sws = sws_getContext(sw, sh, fmt, dw, dh, AV_PIX_FMT_BGRA, dw < sw ? SWS_AREA : SWS_BICUBIC,
                         NULL, NULL, NULL);
    if (!sws) {
        rc = GV_EUNSUPP;
        what = "unsupported pixel format";
        goto fail;
    }
    if (full) {
        const int *coef = sws_getCoefficients(SWS_CS_DEFAULT);
        sws_setColorspaceDetails(sws, coef, 1, coef, 1, 0, 1 << 16, 1 << 16);
    }
    int ostride = (dw * 4 + 63) & ~63;
    void *mem = NULL;
    if (posix_memalign(&mem, 64, (size_t)ostride * dh) != 0) {
        rc = GV_ENOMEM;
        goto fail;
    }
    out = mem;
    uint8_t *dst[4] = {out, NULL, NULL, NULL};
    int dst_ls[4] = {ostride, 0, 0, 0};
    if (sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0, sh, dst, dst_ls) !=
        dh) {
        rc = GV_ECODEC;
        what = "pixel conversion failed";
        goto fail;
    }
    gv_image_premultiply(out, dw, dh, ostride);
    *bgra = out;
    *w = dw;
    *h = dh;
    *stride = ostride;
    out = NULL;
    rc = 0;
fail:
    if (rc != 0)
        gv_log(GV_LOG_WARN, "image", "%.200s: %s (%s)", url_or_path ? url_or_path : "(null)",
               what[0] ? what : gv_strerror(rc), gv_errname(rc));
    sws_freeContext(sws);
    av_frame_free(&frame);
    free(data);
    free(out);
    return rc;
}
