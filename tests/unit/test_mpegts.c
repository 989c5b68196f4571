/* Unit tests for the MPEG-TS ingest path: ADTS headers, and whole-stream demuxing of TS files
 * that ffmpeg encodes during the test (H.264 + AAC with B-frames, HEVC + AAC, a 33-bit clock
 * wrap, a timestamp restart, a start in the middle of a GOP). Demuxed units are checked against
 * core/media.h (length-prefixed NAL units, no parameter sets in samples, monotonic 90 kHz
 * timestamps, keyframe first) and decoded with libavcodec using the config record gavel built.
 * Malformed input (truncations, corrupted bytes, random data) must never crash. */
#include <libavcodec/avcodec.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "ingest/mpegts.h"
#include "ingest/mpegts_es.h"
#include "packager/codec_info.h"
#include "testlib.h"

/* ---------------------------------------------------------------------------------------- */
/* pure helpers (Annex B splitting and avcC/hvcC records are tested in test_annexb.c) */

static void test_adts(void)
{
    /* AAC LC, 48 kHz (index 3), stereo, no CRC, frame length 100. */
    uint8_t h[9] = {0xff, 0xf1, (1 << 6) | (3 << 2) | 0, (2 << 6), 0, 0, 0xfc, 0, 0};
    size_t fl = 100;
    h[3] |= (uint8_t)((fl >> 11) & 3);
    h[4] = (uint8_t)(fl >> 3);
    h[5] = (uint8_t)((fl & 7) << 5 | 0x1f);
    gv_adts_t a;
    GV_CHECK_INT(gv_adts_parse(h, 7, &a), 0);
    GV_CHECK_INT(a.aot, 2);
    GV_CHECK_INT(a.sample_rate, 48000);
    GV_CHECK_INT(a.channels, 2);
    GV_CHECK_INT(a.header_len, 7);
    GV_CHECK_INT(a.frame_len, 100);
    uint8_t asc[2];
    gv_adts_asc(&a, asc);
    GV_CHECK_INT(asc[0], 0x11);
    GV_CHECK_INT(asc[1], 0x90);
    int aot, rate, ch;
    GV_CHECK_INT(gv_aac_asc_parse(asc, 2, &aot, &rate, &ch), 0);
    GV_CHECK_INT(rate, 48000);
    GV_CHECK_INT(ch, 2);
    for (size_t cut = 0; cut < 7; cut++)
        GV_CHECK_INT(gv_adts_parse(h, cut, &a), GV_ETRUNC);
    /* With CRC the header is 9 bytes. */
    h[1] = 0xf0;
    GV_CHECK_INT(gv_adts_parse(h, 9, &a), 0);
    GV_CHECK_INT(a.header_len, 9);
    GV_CHECK_INT(gv_adts_parse(h, 8, &a), GV_ETRUNC);
    h[1] = 0xf1;
    /* Mono 44.1 kHz HE-AAC signalled as LC in ADTS: object type from the profile field. */
    uint8_t m[7];
    memcpy(m, h, 7);
    m[2] = (1 << 6) | (4 << 2);
    m[3] = (uint8_t)((1 << 6) | (m[3] & 0x3f));
    GV_CHECK_INT(gv_adts_parse(m, 7, &a), 0);
    GV_CHECK_INT(a.sample_rate, 44100);
    GV_CHECK_INT(a.channels, 1);
    gv_adts_asc(&a, asc);
    GV_CHECK_INT(asc[0], 0x12);
    GV_CHECK_INT(asc[1], 0x08);
    /* Bad sync, layer, rate index, length; unsupported channel config 0 and multi-block. */
    memcpy(m, h, 7);
    m[0] = 0xfe;
    GV_CHECK_INT(gv_adts_parse(m, 7, &a), GV_EPROTO);
    memcpy(m, h, 7);
    m[1] = 0xf3; /* layer 1 */
    GV_CHECK_INT(gv_adts_parse(m, 7, &a), GV_EPROTO);
    memcpy(m, h, 7);
    m[2] = (1 << 6) | (13 << 2);
    GV_CHECK_INT(gv_adts_parse(m, 7, &a), GV_EPROTO);
    memcpy(m, h, 7);
    m[3] &= 0xfc;
    m[4] = 0;
    m[5] = (6 << 5);
    GV_CHECK_INT(gv_adts_parse(m, 7, &a), GV_EPROTO); /* frame length 6 < header */
    memcpy(m, h, 7);
    m[3] &= 0x3f;
    GV_CHECK_INT(gv_adts_parse(m, 7, &a), GV_EUNSUPP);
    memcpy(m, h, 7);
    m[6] = 0xfd;
    GV_CHECK_INT(gv_adts_parse(m, 7, &a), GV_EUNSUPP);
}

static void test_ts33_unwrap(void)
{
    gv_ts33_unwrap_t u = {0};
    const int64_t wrap = (int64_t)1 << 33;
    GV_CHECK_INT(gv_ts33_unwrap(&u, (uint64_t)wrap - 3000), wrap - 3000);
    GV_CHECK_INT(gv_ts33_unwrap(&u, 0), wrap);
    GV_CHECK_INT(gv_ts33_unwrap(&u, 3000), wrap + 3000);
    GV_CHECK_INT(gv_ts33_unwrap(&u, 1000), wrap + 1000); /* small step back */
    GV_CHECK_INT(gv_ts33_unwrap(&u, (uint64_t)wrap - 1000), wrap - 1000); /* back across */
    GV_CHECK_INT(gv_ts33_unwrap(&u, 5000), wrap + 5000);
    GV_CHECK_INT(gv_ts33_unwrap(&u, (uint64_t)wrap + 6000), wrap + 6000); /* masked to 33 bits */
}

/* ---------------------------------------------------------------------------------------- */
/* demuxing real TS produced by ffmpeg */

typedef struct {
    size_t n[GV_TRACK_COUNT];
    size_t keys;
    int64_t first_dts[GV_TRACK_COUNT], last_dts[GV_TRACK_COUNT];
    bool first_video_key;
    size_t bad_order, bad_layout, ps_in_payload, bad_pts;
    gv_codec_config_t *cfg[GV_TRACK_COUNT];
    size_t cfg_objects[GV_TRACK_COUNT];
    uint64_t hash;
    int64_t max_step[GV_TRACK_COUNT];
    /* decoding check */
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    size_t decoded, decode_errors;
    bool decode;
    gv_unit_t *keep[4096];
    size_t n_keep;
} sink_t;

static void sink_init(sink_t *s, bool decode)
{
    memset(s, 0, sizeof(*s));
    s->decode = decode;
    s->hash = 1469598103934665603ull;
}

static void drain_decoder(sink_t *s)
{
    while (avcodec_receive_frame(s->dec, s->frame) == 0) {
        s->decoded++;
        av_frame_unref(s->frame);
    }
}

static void sink_free(sink_t *s)
{
    if (s->dec) {
        avcodec_send_packet(s->dec, NULL);
        drain_decoder(s);
        avcodec_free_context(&s->dec);
    }
    av_packet_free(&s->pkt);
    av_frame_free(&s->frame);
    for (int t = 0; t < GV_TRACK_COUNT; t++)
        gv_codec_config_unref(s->cfg[t]);
    for (size_t i = 0; i < s->n_keep; i++)
        gv_unit_unref(s->keep[i]);
}

static bool payload_ok(const gv_unit_t *u, size_t *ps)
{
    size_t pos = 0;
    while (pos < u->size) {
        if (u->size - pos < 5)
            return false;
        uint32_t l = (uint32_t)u->data[pos] << 24 | u->data[pos + 1] << 16 |
                     u->data[pos + 2] << 8 | u->data[pos + 3];
        if (l == 0 || l > u->size - pos - 4)
            return false;
        uint8_t h = u->data[pos + 4];
        int t = u->codec == GV_CODEC_H264 ? (h & 0x1f) : ((h >> 1) & 0x3f);
        if ((u->codec == GV_CODEC_H264 && (t == 7 || t == 8 || t == 9)) ||
            (u->codec == GV_CODEC_HEVC && (t >= 32 && t <= 35)))
            (*ps)++;
        pos += 4 + l;
    }
    return pos == u->size;
}

static void decode_unit(sink_t *s, const gv_unit_t *u)
{
    if (!s->dec) {
        const AVCodec *c =
            avcodec_find_decoder(u->codec == GV_CODEC_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC);
        s->dec = avcodec_alloc_context3(c);
        s->dec->extradata = av_mallocz(u->config->size + AV_INPUT_BUFFER_PADDING_SIZE);
        memcpy(s->dec->extradata, u->config->data, u->config->size);
        s->dec->extradata_size = (int)u->config->size;
        s->dec->err_recognition = AV_EF_EXPLODE;
        s->dec->thread_count = 1;
        if (avcodec_open2(s->dec, c, NULL) < 0) {
            s->decode_errors++;
            s->decode = false;
            return;
        }
        s->pkt = av_packet_alloc();
        s->frame = av_frame_alloc();
    }
    av_new_packet(s->pkt, (int)u->size);
    memcpy(s->pkt->data, u->data, u->size);
    s->pkt->pts = u->pts;
    s->pkt->dts = u->dts;
    if (avcodec_send_packet(s->dec, s->pkt) < 0)
        s->decode_errors++;
    av_packet_unref(s->pkt);
    drain_decoder(s);
}

static int sink_emit(void *opaque, gv_unit_t *u)
{
    sink_t *s = opaque;
    int t = u->track;
    if (t < 0 || t >= GV_TRACK_COUNT || !u->config || u->codec != u->config->codec)
        return GV_EINVAL;
    if (s->n[t] && u->dts <= s->last_dts[t])
        s->bad_order++;
    if (s->n[t] && u->dts - s->last_dts[t] > s->max_step[t])
        s->max_step[t] = u->dts - s->last_dts[t];
    if (u->pts < u->dts)
        s->bad_pts++;
    if (!s->n[t])
        s->first_dts[t] = u->dts;
    if (t == GV_TRACK_VIDEO) {
        if (!s->n[t])
            s->first_video_key = u->keyframe;
        if (u->keyframe)
            s->keys++;
        if (!payload_ok(u, &s->ps_in_payload))
            s->bad_layout++;
        if (s->decode)
            decode_unit(s, u);
    } else if (!u->keyframe || u->size == 0) {
        s->bad_layout++;
    }
    if (s->cfg[t] != u->config) {
        gv_codec_config_unref(s->cfg[t]);
        s->cfg[t] = gv_codec_config_ref(u->config);
        s->cfg_objects[t]++;
    }
    s->last_dts[t] = u->dts;
    s->n[t]++;
    for (size_t i = 0; i < u->size; i++)
        s->hash = (s->hash ^ u->data[i]) * 1099511628211ull;
    s->hash = (s->hash ^ (uint64_t)u->dts) * 1099511628211ull;
    if (s->n_keep < 4096)
        s->keep[s->n_keep++] = gv_unit_ref(u);
    return 0;
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(p, 1, (size_t)(len > 0 ? len : 0), f);
    fclose(f);
    return p;
}

static char tmpdir[64];

/* Encodes a TS with ffmpeg; returns its bytes (NULL when ffmpeg failed). */
static uint8_t *make_ts(const char *name, const char *args, size_t *n)
{
    char path[128], cmd[1024];
    snprintf(path, sizeof(path), "%s/%s.ts", tmpdir, name);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -hide_banner -loglevel error -y "
             "-f lavfi -i testsrc2=size=320x240:rate=30 "
             "-f lavfi -i sine=frequency=440:sample_rate=48000 %s -f mpegts %s",
             args, path);
    if (system(cmd) != 0) {
        fprintf(stderr, "ffmpeg failed: %s\n", cmd);
        return NULL;
    }
    return read_file(path, n);
}

static const char *H264_ARGS = "-t 3 -c:v libx264 -preset veryfast -g 30 -bf 2 -pix_fmt yuv420p "
                               "-c:a aac -b:a 64k";

static void check_clean(sink_t *s, const char *label)
{
    if (s->bad_order || s->bad_layout || s->ps_in_payload || s->bad_pts)
        fprintf(stderr, "%s: order %zu layout %zu ps %zu pts %zu\n", label, s->bad_order,
                s->bad_layout, s->ps_in_payload, s->bad_pts);
    GV_CHECK_INT(s->bad_order, 0);
    GV_CHECK_INT(s->bad_layout, 0);
    GV_CHECK_INT(s->ps_in_payload, 0);
    GV_CHECK_INT(s->bad_pts, 0);
}

static void test_demux_h264_aac(void)
{
    size_t n = 0;
    uint8_t *ts = make_ts("h264", H264_ARGS, &n);
    GV_CHECK(ts != NULL);
    if (!ts)
        return;
    sink_t s;
    sink_init(&s, true);
    gv_mpegts_stats_t st;
    GV_CHECK_INT(gv_mpegts_demux_buffer(ts, n, sink_emit, &s, &st), 0);
    GV_CHECK_INT(s.n[GV_TRACK_VIDEO], 90);
    GV_CHECK_INT(s.keys, 3);
    GV_CHECK(s.first_video_key);
    /* 3 s of 48 kHz audio in 1024-sample frames (the encoder may pad one frame). */
    GV_CHECK(s.n[GV_TRACK_AUDIO] >= 140 && s.n[GV_TRACK_AUDIO] <= 143);
    check_clean(&s, "h264");
    GV_CHECK_INT(s.max_step[GV_TRACK_VIDEO], 3000);
    GV_CHECK_INT(s.max_step[GV_TRACK_AUDIO], 1920);
    GV_CHECK_INT(s.cfg_objects[GV_TRACK_VIDEO], 1); /* repeated SPS/PPS: one config object */
    GV_CHECK_INT(s.cfg_objects[GV_TRACK_AUDIO], 1);
    GV_CHECK_INT(st.config_changes, 2);
    GV_CHECK_INT(st.discontinuities, 0);
    /* Audio and video start together (no audio before the first keyframe). */
    int64_t skew = s.first_dts[GV_TRACK_AUDIO] - s.first_dts[GV_TRACK_VIDEO];
    GV_CHECK(skew > -GV_TIME_BASE / 2 && skew < GV_TIME_BASE / 2);
    char str[64] = "";
    GV_CHECK(s.cfg[GV_TRACK_VIDEO] && gv_codec_string(s.cfg[GV_TRACK_VIDEO], str, 64) == 0);
    GV_CHECK(strncmp(str, "avc1.64", 7) == 0);
    GV_CHECK(s.cfg[GV_TRACK_AUDIO] && gv_codec_string(s.cfg[GV_TRACK_AUDIO], str, 64) == 0);
    GV_CHECK_STR(str, "mp4a.40.2");
    GV_CHECK(s.cfg[GV_TRACK_AUDIO] && s.cfg[GV_TRACK_AUDIO]->sample_rate == 48000 &&
             s.cfg[GV_TRACK_AUDIO]->channels == 1);
    int w = 0, h = 0;
    if (s.n_keep)
        GV_CHECK_INT(gv_video_probe_size(s.cfg[GV_TRACK_VIDEO], s.keep[0]->data, s.keep[0]->size,
                                         &w, &h), 0);
    GV_CHECK_INT(w, 320);
    GV_CHECK_INT(h, 240);
    sink_free(&s);
    GV_CHECK_INT(s.decode_errors, 0);
    GV_CHECK_INT(s.decoded, 90);
    free(ts);
}

static void test_demux_hevc(void)
{
    size_t n = 0;
    uint8_t *ts = make_ts("hevc",
                          "-t 2 -c:v libx265 -preset ultrafast -x265-params log-level=error:"
                          "keyint=30:bframes=2 -pix_fmt yuv420p -c:a aac",
                          &n);
    GV_CHECK(ts != NULL);
    if (!ts)
        return;
    sink_t s;
    sink_init(&s, true);
    GV_CHECK_INT(gv_mpegts_demux_buffer(ts, n, sink_emit, &s, NULL), 0);
    GV_CHECK_INT(s.n[GV_TRACK_VIDEO], 60);
    GV_CHECK(s.first_video_key);
    GV_CHECK(s.keys >= 2);
    check_clean(&s, "hevc");
    char str[64] = "";
    GV_CHECK(s.cfg[GV_TRACK_VIDEO] && s.cfg[GV_TRACK_VIDEO]->codec == GV_CODEC_HEVC &&
             gv_codec_string(s.cfg[GV_TRACK_VIDEO], str, 64) == 0);
    GV_CHECK(strncmp(str, "hvc1.1.6.L", 10) == 0);
    GV_CHECK_INT(s.cfg_objects[GV_TRACK_VIDEO], 1);
    sink_free(&s);
    GV_CHECK_INT(s.decode_errors, 0);
    GV_CHECK_INT(s.decoded, 60);
    free(ts);
}

/* Input arriving in SRT-sized pieces (and sometimes single bytes) gives identical units. */
typedef struct {
    const uint8_t *p;
    size_t n, pos, call;
} chunks_t;

static int chunk_read(void *opaque, uint8_t *buf, int size, int64_t *arrival)
{
    chunks_t *c = opaque;
    size_t want = (c->call++ % 5 == 4) ? 1 : 1316;
    if (want > (size_t)size)
        want = (size_t)size;
    if (want > c->n - c->pos)
        want = c->n - c->pos;
    memcpy(buf, c->p + c->pos, want);
    c->pos += want;
    *arrival = 1000 + (int64_t)c->pos;
    return (int)want;
}

typedef struct {
    chunks_t in;
    sink_t sink;
} chunk_run_t;

static int chunk_emit(void *opaque, gv_unit_t *u)
{
    chunk_run_t *r = opaque;
    if (u->arrival_us < 1000 || u->arrival_us > 1000 + (int64_t)r->in.pos)
        r->sink.bad_layout++;
    return sink_emit(&r->sink, u);
}

static void test_demux_chunked(void)
{
    size_t n = 0;
    uint8_t *ts = make_ts("h264c", H264_ARGS, &n);
    if (!ts)
        return;
    sink_t whole;
    sink_init(&whole, false);
    GV_CHECK_INT(gv_mpegts_demux_buffer(ts, n, sink_emit, &whole, NULL), 0);
    chunk_run_t r;
    memset(&r, 0, sizeof(r));
    r.in = (chunks_t){ts, n, 0, 0};
    sink_init(&r.sink, false);
    /* chunk_emit needs the run itself as opaque; the read side gets the chunk state. */
    gv_mpegts_t *m = gv_mpegts_create("test", chunk_read, chunk_emit, &r);
    GV_CHECK(m != NULL);
    /* gv_mpegts_create passes one opaque to both callbacks: chunks_t is the first member. */
    GV_CHECK_INT(gv_mpegts_run(m), 0);
    gv_mpegts_destroy(m);
    GV_CHECK_INT(r.sink.n[GV_TRACK_VIDEO], whole.n[GV_TRACK_VIDEO]);
    GV_CHECK_INT(r.sink.n[GV_TRACK_AUDIO], whole.n[GV_TRACK_AUDIO]);
    GV_CHECK(r.sink.hash == whole.hash);
    check_clean(&r.sink, "chunked");
    sink_free(&whole);
    sink_free(&r.sink);
    free(ts);
}

static void test_demux_wrap(void)
{
    /* 2^33 / 90000 = 95443.7 s: offset the output so the clock wraps about 2 s in. */
    size_t n = 0;
    char args[256];
    snprintf(args, sizeof(args), "%s -output_ts_offset 95441.5", H264_ARGS);
    uint8_t *ts = make_ts("wrap", args, &n);
    if (!ts)
        return;
    sink_t s;
    sink_init(&s, true);
    gv_mpegts_stats_t st;
    GV_CHECK_INT(gv_mpegts_demux_buffer(ts, n, sink_emit, &s, &st), 0);
    GV_CHECK_INT(s.n[GV_TRACK_VIDEO], 90);
    check_clean(&s, "wrap");
    GV_CHECK_INT(st.discontinuities, 0);
    GV_CHECK_INT(s.max_step[GV_TRACK_VIDEO], 3000);
    GV_CHECK(s.last_dts[GV_TRACK_VIDEO] > ((int64_t)1 << 33)); /* really went past the wrap */
    sink_free(&s);
    GV_CHECK_INT(s.decode_errors, 0);
    free(ts);
}

static void test_demux_restart_and_midgop(void)
{
    size_t n = 0;
    uint8_t *ts = make_ts("restart", H264_ARGS, &n);
    if (!ts)
        return;
    /* Two copies back to back: the encoder clock restarts (a jump back of 3 s). */
    uint8_t *two = malloc(2 * n);
    memcpy(two, ts, n);
    memcpy(two + n, ts, n);
    sink_t s;
    sink_init(&s, false);
    gv_mpegts_stats_t st;
    GV_CHECK_INT(gv_mpegts_demux_buffer(two, 2 * n, sink_emit, &s, &st), 0);
    GV_CHECK(s.n[GV_TRACK_VIDEO] >= 179 && s.n[GV_TRACK_VIDEO] <= 180);
    check_clean(&s, "restart");
    GV_CHECK(st.discontinuities >= 1);
    GV_CHECK(s.max_step[GV_TRACK_VIDEO] <= 3000 * 3);
    sink_free(&s);

    /* Start 40% into the file, on a TS packet boundary: first unit is a keyframe. */
    size_t skip = (n * 2 / 5) / 188 * 188;
    sink_init(&s, true);
    GV_CHECK_INT(gv_mpegts_demux_buffer(ts + skip, n - skip, sink_emit, &s, &st), 0);
    GV_CHECK(s.first_video_key);
    GV_CHECK(st.dropped_before_key > 0);
    GV_CHECK(s.n[GV_TRACK_VIDEO] >= 30 && s.n[GV_TRACK_VIDEO] <= 60);
    check_clean(&s, "midgop");
    sink_free(&s);
    GV_CHECK_INT(s.decode_errors, 0);
    free(two);
    free(ts);
}

static void test_demux_malformed(void)
{
    size_t n = 0;
    uint8_t *ts = make_ts("bad", "-t 1 -c:v libx264 -preset ultrafast -g 10 -c:a aac", &n);
    if (!ts)
        return;
    gv_log_set_level(GV_LOG_ERROR);
    av_log_set_level(AV_LOG_QUIET);
    unsigned seed = 7;
    /* Truncations: all of the first 4 KiB in odd steps, then spread over the file. */
    for (size_t cut = 0; cut < n; cut += cut < 4096 ? 61 : 1 + n / 97) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, ts, cut);
        sink_t s;
        sink_init(&s, false);
        int rc = gv_mpegts_demux_buffer(copy, cut, sink_emit, &s, NULL);
        GV_CHECK(rc == 0 || rc == GV_EPROTO);
        check_clean(&s, "truncated");
        sink_free(&s);
        free(copy);
    }
    /* Corrupted bytes (0.5%, then 5%) and byte-shifted input. */
    for (int round = 0; round < 6; round++) {
        uint8_t *copy = malloc(n);
        memcpy(copy, ts, n);
        size_t flips = round < 3 ? n / 200 : n / 20;
        for (size_t i = 0; i < flips; i++)
            copy[(size_t)rand_r(&seed) % n] = (uint8_t)rand_r(&seed);
        size_t shift = round == 5 ? 77 : 0;
        sink_t s;
        sink_init(&s, false);
        int rc = gv_mpegts_demux_buffer(copy + shift, n - shift, sink_emit, &s, NULL);
        GV_CHECK(rc == 0 || rc == GV_EPROTO);
        GV_CHECK_INT(s.bad_order, 0);
        GV_CHECK_INT(s.bad_layout, 0);
        sink_free(&s);
        free(copy);
    }
    /* Random bytes, and random bytes with TS sync bytes every 188. */
    for (int round = 0; round < 8; round++) {
        size_t len = 1000 + (size_t)rand_r(&seed) % 100000;
        uint8_t *r = malloc(len);
        for (size_t i = 0; i < len; i++)
            r[i] = (uint8_t)rand_r(&seed);
        if (round & 1)
            for (size_t i = 0; i < len; i += 188)
                r[i] = 0x47;
        sink_t s;
        sink_init(&s, false);
        int rc = gv_mpegts_demux_buffer(r, len, sink_emit, &s, NULL);
        GV_CHECK(rc == 0 || rc == GV_EPROTO);
        GV_CHECK_INT(s.n[GV_TRACK_VIDEO] + s.n[GV_TRACK_AUDIO], 0);
        sink_free(&s);
        free(r);
    }
    sink_t s;
    sink_init(&s, false);
    GV_CHECK_INT(gv_mpegts_demux_buffer(NULL, 0, sink_emit, &s, NULL), 0);
    sink_free(&s);
    gv_log_set_level(GV_LOG_INFO);
    free(ts);
}

/* An emit callback that asks to stop ends the run with its code. */
static int stop_emit(void *opaque, gv_unit_t *u)
{
    (*(int *)opaque)++;
    return GV_ECLOSED;
}

static void test_demux_stop(void)
{
    size_t n = 0;
    uint8_t *ts = make_ts("stop", "-t 1 -c:v libx264 -preset ultrafast -c:a aac", &n);
    if (!ts)
        return;
    int calls = 0;
    GV_CHECK_INT(gv_mpegts_demux_buffer(ts, n, stop_emit, &calls, NULL), GV_ECLOSED);
    GV_CHECK_INT(calls, 1);
    free(ts);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gv-test-mpegts-XXXXXX");
    if (!mkdtemp(tmpdir))
        abort();
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

GV_TEST_MAIN(GV_TEST(setup), GV_TEST(test_adts), GV_TEST(test_ts33_unwrap),
             GV_TEST(test_demux_h264_aac), GV_TEST(test_demux_hevc), GV_TEST(test_demux_chunked),
             GV_TEST(test_demux_wrap), GV_TEST(test_demux_restart_and_midgop),
             GV_TEST(test_demux_malformed), GV_TEST(test_demux_stop), GV_TEST(teardown))
