/* Measures the cost of closing one LL-HLS part: gavel's fMP4 writer (gv_fmp4_write_fragment)
 * against libavformat's mp4 muxer in fragmented mode (frag_custom + empty_moov +
 * default_base_moof, one av_write_frame(ctx, NULL) per part), both writing the same synthetic
 * H.264 samples into memory. Prints microseconds per part for each and the ratio.
 *
 * Usage: fmp4_writer_bench [parts] [frames_per_part] [sample_bytes] [rounds]
 * Defaults: 2000 parts of 6 frames of 30000 bytes, best of 3 rounds. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "core/error.h"
#include "packager/fmp4.h"

#define FPS 30
#define TICKS (90000 / FPS)
#define GOP_PARTS 10 /* a keyframe every 10 parts (2 s at 6 frames per part) */

/* A plausible avcC (High profile, level 3.1) for the muxer's sample entry; the sample bytes
 * are filler, neither writer decodes them. */
static const uint8_t avcc[] = {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x19, 0x67, 0x64, 0x00,
                               0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00,
                               0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19,
                               0x60, 0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long arg(int argc, char **argv, int i, long def, long lo, long hi)
{
    if (argc <= i)
        return def;
    char *end;
    errno = 0;
    long v = strtol(argv[i], &end, 10);
    if (errno || *end || v < lo || v > hi) {
        fprintf(stderr, "argument %d must be an integer in [%ld, %ld]\n", i, lo, hi);
        exit(2);
    }
    return v;
}

/* One synthetic access unit: a 4-byte length prefix and an IDR or non-IDR slice NAL header
 * followed by filler, sample_bytes in total. */
static uint8_t *make_sample(size_t size, bool key)
{
    uint8_t *p = malloc(size);
    if (!p)
        return NULL;
    uint32_t n = (uint32_t)(size - 4);
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    p[4] = key ? 0x65 : 0x41;
    for (size_t i = 5; i < size; i++)
        p[i] = (uint8_t)(i * 31 + 7) | 1;
    return p;
}

static int run_gavel(long parts, int frames, uint8_t *key, uint8_t *delta, uint32_t size,
                     double *secs, uint64_t *bytes)
{
    gv_fmp4_sample_t s[64];
    gv_blob_t *b = NULL;
    uint64_t total = 0;
    double t0 = now_s();
    for (long p = 0; p < parts; p++) {
        for (int i = 0; i < frames; i++) {
            bool k = i == 0 && p % GOP_PARTS == 0;
            s[i] = (gv_fmp4_sample_t){
                .data = k ? key : delta, .size = size, .duration = TICKS, .cts = 0, .keyframe = k};
        }
        gv_fmp4_run_t run = {.track_id = 1,
                             .base_dts = (uint64_t)p * frames * TICKS,
                             .samples = s,
                             .n = (size_t)frames};
        int ret = gv_fmp4_write_fragment((uint32_t)p + 1, &run, 1, &b);
        if (ret < 0) {
            fprintf(stderr, "gv_fmp4_write_fragment: %s\n", gv_strerror(ret));
            return -1;
        }
        total += b->size;
        gv_blob_unref(b);
    }
    *secs = now_s() - t0;
    *bytes = total;
    return 0;
}

static void no_free(void *opaque, uint8_t *data)
{
}

static int run_lavf(long parts, int frames, uint8_t *key, uint8_t *delta, uint32_t size,
                    double *secs, uint64_t *bytes)
{
    AVFormatContext *ctx = NULL;
    AVDictionary *opts = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVBufferRef *kb = av_buffer_create(key, size, no_free, NULL, AV_BUFFER_FLAG_READONLY);
    AVBufferRef *db = av_buffer_create(delta, size, no_free, NULL, AV_BUFFER_FLAG_READONLY);
    uint8_t *out = NULL;
    uint64_t total = 0;
    int ret = -1;

    if (!pkt || !kb || !db || avformat_alloc_output_context2(&ctx, NULL, "mp4", NULL) < 0)
        goto done;
    AVStream *st = avformat_new_stream(ctx, NULL);
    if (!st)
        goto done;
    st->time_base = (AVRational){1, 90000};
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = AV_CODEC_ID_H264;
    st->codecpar->width = 1280;
    st->codecpar->height = 720;
    st->codecpar->extradata = av_mallocz(sizeof(avcc) + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!st->codecpar->extradata)
        goto done;
    memcpy(st->codecpar->extradata, avcc, sizeof(avcc));
    st->codecpar->extradata_size = (int)sizeof(avcc);
    av_dict_set(&opts, "movflags", "frag_custom+empty_moov+default_base_moof", 0);
    if (avio_open_dyn_buf(&ctx->pb) < 0 || avformat_write_header(ctx, &opts) < 0)
        goto done;
    /* The init segment is not part of the per-part cost: take it out before timing. */
    avio_close_dyn_buf(ctx->pb, &out);
    av_freep(&out);
    ctx->pb = NULL;

    double t0 = now_s();
    for (long p = 0; p < parts; p++) {
        if (avio_open_dyn_buf(&ctx->pb) < 0)
            goto done;
        for (int i = 0; i < frames; i++) {
            bool k = i == 0 && p % GOP_PARTS == 0;
            pkt->buf = av_buffer_ref(k ? kb : db);
            if (!pkt->buf)
                goto done;
            pkt->data = k ? key : delta;
            pkt->size = (int)size;
            pkt->stream_index = 0;
            pkt->dts = pkt->pts = ((int64_t)p * frames + i) * TICKS;
            pkt->duration = TICKS;
            pkt->flags = k ? AV_PKT_FLAG_KEY : 0;
            int r = av_write_frame(ctx, pkt);
            av_packet_unref(pkt);
            if (r < 0)
                goto done;
        }
        if (av_write_frame(ctx, NULL) < 0) /* closes the fragment: this part's moof+mdat */
            goto done;
        int n = avio_close_dyn_buf(ctx->pb, &out);
        ctx->pb = NULL;
        total += (uint64_t)n;
        av_freep(&out);
    }
    *secs = now_s() - t0;
    *bytes = total;
    if (avio_open_dyn_buf(&ctx->pb) < 0)
        goto done;
    av_write_trailer(ctx);
    ret = 0;
done:
    if (ctx && ctx->pb) {
        avio_close_dyn_buf(ctx->pb, &out);
        av_freep(&out);
    }
    avformat_free_context(ctx);
    av_dict_free(&opts);
    av_packet_free(&pkt);
    av_buffer_unref(&kb);
    av_buffer_unref(&db);
    return ret;
}

int main(int argc, char **argv)
{
    long parts = arg(argc, argv, 1, 2000, 1, 1000000);
    int frames = (int)arg(argc, argv, 2, 6, 1, 64);
    uint32_t size = (uint32_t)arg(argc, argv, 3, 30000, 16, 1 << 22);
    int rounds = (int)arg(argc, argv, 4, 3, 1, 100);
    uint8_t *key = make_sample(size, true), *delta = make_sample(size, false);
    double best_g = 1e30, best_l = 1e30;
    uint64_t bytes_g = 0, bytes_l = 0;

    if (!key || !delta)
        return 1;
    av_log_set_level(AV_LOG_ERROR);
    printf("fmp4_writer_bench: %ld parts x %d frames x %u bytes, best of %d rounds\n", parts,
           frames, size, rounds);
    for (int r = 0; r < rounds; r++) {
        double g, l;
        if (run_gavel(parts, frames, key, delta, size, &g, &bytes_g) < 0 ||
            run_lavf(parts, frames, key, delta, size, &l, &bytes_l) < 0) {
            fprintf(stderr, "run failed\n");
            return 1;
        }
        printf("round %d: gavel %.2f us/part, libavformat %.2f us/part\n", r + 1,
               g * 1e6 / (double)parts, l * 1e6 / (double)parts);
        if (g < best_g)
            best_g = g;
        if (l < best_l)
            best_l = l;
    }
    printf("gavel fmp4 writer : %8.2f us/part  (%" PRIu64 " bytes/part)\n",
           best_g * 1e6 / (double)parts, bytes_g / (uint64_t)parts);
    printf("libavformat mp4   : %8.2f us/part  (%" PRIu64 " bytes/part)\n",
           best_l * 1e6 / (double)parts, bytes_l / (uint64_t)parts);
    printf("ratio libavformat/gavel: %.2fx\n", best_l / best_g);
    free(key);
    free(delta);
    return 0;
}
