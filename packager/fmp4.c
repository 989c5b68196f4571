/* CMAF/fMP4 box writer (see fmp4.h). A tiny big-endian builder writes boxes: begin() reserves a
 * size field, end() patches it. The init segment is built in a growable buffer; a fragment's
 * size is computed up front so its moof is written straight into the output blob and each
 * sample is copied exactly once, behind it, into the mdat. */
#include "packager/fmp4.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define MAX_TRACKS 16
#define MAX_DEPTH 12
#define MAX_CONFIG_SIZE (64 * 1024) /* avcC/hvcC/ASC records larger than this are rejected */
#define MAX_RUN_SAMPLES (1u << 20)
#define MAX_RUNS 64
#define INIT_INITIAL_CAP 1024

/* Sample flags (ISO/IEC 14496-12 8.8.3.1): sample_depends_on in bits 24-25 and
 * sample_is_non_sync_sample in bit 16. */
#define FLAGS_SYNC 0x02000000u
#define FLAGS_NON_SYNC 0x01010000u

#define TFHD_DEFAULT_BASE_IS_MOOF 0x020000u
#define TRUN_FLAGS 0x000F01u /* data-offset, duration, size, flags, composition offset */
#define TKHD_FLAGS 0x000003u /* track_enabled | track_in_movie */

#define MFHD_SIZE 16u
#define TFHD_SIZE 16u
#define TFDT_SIZE 20u
#define TRUN_HEADER_SIZE 20u
#define TRUN_SAMPLE_SIZE 16u

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    bool fixed; /* writing into caller memory of exact size: never grows */
    int err;    /* sticky: the first failure; later writes are ignored */
    size_t stack[MAX_DEPTH];
    int depth;
} bw_t;

static int bw_reserve(bw_t *w, size_t n)
{
    if (w->err)
        return w->err;
    if (n <= w->cap - w->len)
        return 0;
    if (w->fixed || n > SIZE_MAX / 2 - w->len) {
        w->err = GV_ETOOBIG;
        return w->err;
    }
    size_t cap = w->cap ? w->cap : INIT_INITIAL_CAP;
    while (cap - w->len < n)
        cap *= 2;
    uint8_t *nb = realloc(w->buf, cap);
    if (!nb) {
        w->err = GV_ENOMEM;
        return w->err;
    }
    w->buf = nb;
    w->cap = cap;
    return 0;
}

static void put_bytes(bw_t *w, const void *p, size_t n)
{
    if (n == 0 || bw_reserve(w, n))
        return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_zeros(bw_t *w, size_t n)
{
    if (n == 0 || bw_reserve(w, n))
        return;
    memset(w->buf + w->len, 0, n);
    w->len += n;
}

static void put_u8(bw_t *w, uint8_t v)
{
    put_bytes(w, &v, 1);
}

static void put_u16(bw_t *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put_bytes(w, b, 2);
}

static void put_u24(bw_t *w, uint32_t v)
{
    uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put_bytes(w, b, 3);
}

static void put_u32(bw_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put_bytes(w, b, 4);
}

static void put_u64(bw_t *w, uint64_t v)
{
    put_u32(w, (uint32_t)(v >> 32));
    put_u32(w, (uint32_t)v);
}

static void put_fourcc(bw_t *w, const char *cc)
{
    put_bytes(w, cc, 4);
}

static void patch_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void box_begin(bw_t *w, const char *type)
{
    if (w->err)
        return;
    if (w->depth >= MAX_DEPTH) {
        w->err = GV_ELIMIT;
        return;
    }
    w->stack[w->depth++] = w->len;
    put_u32(w, 0);
    put_fourcc(w, type);
}

static void fullbox_begin(bw_t *w, const char *type, uint8_t version, uint32_t flags)
{
    box_begin(w, type);
    put_u8(w, version);
    put_u24(w, flags);
}

static void box_end(bw_t *w)
{
    if (w->err)
        return;
    if (w->depth <= 0) {
        w->err = GV_EINVAL;
        return;
    }
    size_t start = w->stack[--w->depth];
    size_t size = w->len - start;
    if (size > UINT32_MAX) {
        w->err = GV_ETOOBIG;
        return;
    }
    patch_u32(w->buf + start, (uint32_t)size);
}

/* The identity transformation matrix used by mvhd and tkhd. */
static void put_matrix(bw_t *w)
{
    static const uint32_t m[9] = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};
    for (int i = 0; i < 9; i++)
        put_u32(w, m[i]);
}

static bool is_video(const gv_fmp4_track_t *t)
{
    return t->config->codec == GV_CODEC_H264 || t->config->codec == GV_CODEC_HEVC;
}

static int check_track(const gv_fmp4_track_t *t)
{
    const gv_codec_config_t *c = t->config;
    if (t->track_id == 0 || t->timescale == 0 || !c || !c->data || c->size == 0)
        return GV_EINVAL;
    if (c->size > MAX_CONFIG_SIZE)
        return GV_ETOOBIG;
    switch (c->codec) {
    case GV_CODEC_H264:
        /* configurationVersion 1, then profile/compat/level and lengthSizeMinusOne. */
        if (c->size < 7 || c->data[0] != 1)
            return GV_EPROTO;
        break;
    case GV_CODEC_HEVC:
        if (c->size < 23 || c->data[0] != 1)
            return GV_EPROTO;
        break;
    case GV_CODEC_AAC:
        if (c->size < 2)
            return GV_EPROTO;
        break;
    default:
        return GV_EUNSUPP;
    }
    if (c->codec != GV_CODEC_AAC &&
        (t->width < 0 || t->width > 65535 || t->height < 0 || t->height > 65535))
        return GV_EINVAL;
    return 0;
}

static void write_ftyp(bw_t *w)
{
    box_begin(w, "ftyp");
    put_fourcc(w, "iso6");
    put_u32(w, 0);
    put_fourcc(w, "iso6");
    put_fourcc(w, "cmfc");
    put_fourcc(w, "isom");
    put_fourcc(w, "mp41");
    box_end(w);
}

static void write_mvhd(bw_t *w, uint32_t next_track_id)
{
    fullbox_begin(w, "mvhd", 0, 0);
    put_u32(w, 0);          /* creation_time */
    put_u32(w, 0);          /* modification_time */
    put_u32(w, 1000);       /* timescale */
    put_u32(w, 0);          /* duration: unknown, fragmented */
    put_u32(w, 0x00010000); /* rate 1.0 */
    put_u16(w, 0x0100);     /* volume 1.0 */
    put_zeros(w, 10);
    put_matrix(w);
    put_zeros(w, 24); /* pre_defined */
    put_u32(w, next_track_id);
    box_end(w);
}

static void write_tkhd(bw_t *w, const gv_fmp4_track_t *t)
{
    bool video = is_video(t);
    fullbox_begin(w, "tkhd", 0, TKHD_FLAGS);
    put_u32(w, 0); /* creation_time */
    put_u32(w, 0); /* modification_time */
    put_u32(w, t->track_id);
    put_u32(w, 0); /* reserved */
    put_u32(w, 0); /* duration */
    put_zeros(w, 8);
    put_u16(w, 0); /* layer */
    put_u16(w, 0); /* alternate_group */
    put_u16(w, video ? 0 : 0x0100);
    put_u16(w, 0);
    put_matrix(w);
    put_u32(w, video ? (uint32_t)t->width << 16 : 0);
    put_u32(w, video ? (uint32_t)t->height << 16 : 0);
    box_end(w);
}

static void write_mdhd(bw_t *w, const gv_fmp4_track_t *t)
{
    fullbox_begin(w, "mdhd", 0, 0);
    put_u32(w, 0);
    put_u32(w, 0);
    put_u32(w, t->timescale);
    put_u32(w, 0);
    /* ISO 639-2 "und", three 5-bit letters offset by 0x60. */
    put_u16(w, (uint16_t)((('u' - 0x60) << 10) | (('n' - 0x60) << 5) | ('d' - 0x60)));
    put_u16(w, 0);
    box_end(w);
}

static void write_hdlr(bw_t *w, bool video)
{
    static const char vname[] = "VideoHandler";
    static const char sname[] = "SoundHandler";
    fullbox_begin(w, "hdlr", 0, 0);
    put_u32(w, 0); /* pre_defined */
    put_fourcc(w, video ? "vide" : "soun");
    put_zeros(w, 12);
    if (video)
        put_bytes(w, vname, sizeof(vname)); /* includes the terminating NUL */
    else
        put_bytes(w, sname, sizeof(sname));
    box_end(w);
}

static void write_dinf(bw_t *w)
{
    box_begin(w, "dinf");
    fullbox_begin(w, "dref", 0, 0);
    put_u32(w, 1);
    fullbox_begin(w, "url ", 0, 1); /* flag 1: media data is in this file */
    box_end(w);
    box_end(w);
    box_end(w);
}

static void write_visual_entry(bw_t *w, const gv_fmp4_track_t *t)
{
    bool hevc = t->config->codec == GV_CODEC_HEVC;
    box_begin(w, hevc ? "hvc1" : "avc1");
    put_zeros(w, 6);
    put_u16(w, 1);    /* data_reference_index */
    put_zeros(w, 16); /* pre_defined, reserved, pre_defined[3] */
    put_u16(w, (uint16_t)t->width);
    put_u16(w, (uint16_t)t->height);
    put_u32(w, 0x00480000); /* 72 dpi */
    put_u32(w, 0x00480000);
    put_u32(w, 0);
    put_u16(w, 1);    /* frame_count */
    put_zeros(w, 32); /* compressorname */
    put_u16(w, 0x0018);
    put_u16(w, 0xFFFF); /* pre_defined = -1 */
    box_begin(w, hevc ? "hvcC" : "avcC");
    put_bytes(w, t->config->data, t->config->size);
    box_end(w);
    box_end(w);
}

/* An MPEG-4 descriptor header: tag and a size in the 7-bits-per-byte form. */
static void put_descr(bw_t *w, uint8_t tag, size_t size)
{
    put_u8(w, tag);
    int n = 1;
    while (n < 4 && (size >> (7 * n)))
        n++;
    for (int i = n - 1; i >= 0; i--)
        put_u8(w, (uint8_t)(((size >> (7 * i)) & 0x7F) | (i ? 0x80 : 0)));
}

static size_t descr_len(size_t size)
{
    size_t n = 1;
    while (n < 4 && (size >> (7 * n)))
        n++;
    return 1 + n + size;
}

static void write_audio_entry(bw_t *w, const gv_fmp4_track_t *t)
{
    const gv_codec_config_t *c = t->config;
    int channels = t->channels > 0 && t->channels <= 0xFFFF ? t->channels : 2;
    uint32_t rate = t->sample_rate > 0 ? (uint32_t)t->sample_rate : t->timescale;

    box_begin(w, "mp4a");
    put_zeros(w, 6);
    put_u16(w, 1); /* data_reference_index */
    put_zeros(w, 8);
    put_u16(w, (uint16_t)channels);
    put_u16(w, 16); /* samplesize */
    put_u32(w, 0);  /* pre_defined, reserved */
    /* 16.16 fixed point; rates above 65535 Hz do not fit, the mdhd timescale carries them. */
    put_u32(w, rate <= 0xFFFF ? rate << 16 : 0);

    size_t dsi = descr_len(c->size);
    size_t dcd = descr_len(13 + dsi);
    size_t sl = descr_len(1);
    size_t es = 3 + dcd + sl;
    fullbox_begin(w, "esds", 0, 0);
    put_descr(w, 0x03, es); /* ES_Descriptor */
    put_u16(w, (uint16_t)t->track_id);
    put_u8(w, 0);
    put_descr(w, 0x04, 13 + dsi); /* DecoderConfigDescriptor */
    put_u8(w, 0x40);              /* objectTypeIndication: MPEG-4 Audio */
    put_u8(w, (5 << 2) | 1);      /* streamType audio, upStream 0, reserved 1 */
    put_u24(w, 0);                /* bufferSizeDB */
    put_u32(w, 0);                /* maxBitrate */
    put_u32(w, 0);                /* avgBitrate */
    put_descr(w, 0x05, c->size);  /* DecoderSpecificInfo = AudioSpecificConfig */
    put_bytes(w, c->data, c->size);
    put_descr(w, 0x06, 1); /* SLConfigDescriptor */
    put_u8(w, 2);          /* predefined: MP4 */
    box_end(w);
    box_end(w);
}

static void write_empty_table(bw_t *w, const char *type)
{
    fullbox_begin(w, type, 0, 0);
    put_u32(w, 0);
    box_end(w);
}

static void write_stbl(bw_t *w, const gv_fmp4_track_t *t)
{
    box_begin(w, "stbl");
    fullbox_begin(w, "stsd", 0, 0);
    put_u32(w, 1);
    if (is_video(t))
        write_visual_entry(w, t);
    else
        write_audio_entry(w, t);
    box_end(w);
    write_empty_table(w, "stts");
    write_empty_table(w, "stsc");
    fullbox_begin(w, "stsz", 0, 0);
    put_u32(w, 0); /* sample_size */
    put_u32(w, 0); /* sample_count */
    box_end(w);
    write_empty_table(w, "stco");
    box_end(w);
}

static void write_trak(bw_t *w, const gv_fmp4_track_t *t)
{
    bool video = is_video(t);
    box_begin(w, "trak");
    write_tkhd(w, t);
    box_begin(w, "mdia");
    write_mdhd(w, t);
    write_hdlr(w, video);
    box_begin(w, "minf");
    if (video) {
        fullbox_begin(w, "vmhd", 0, 1);
        put_zeros(w, 8); /* graphicsmode, opcolor */
        box_end(w);
    } else {
        fullbox_begin(w, "smhd", 0, 0);
        put_u32(w, 0); /* balance, reserved */
        box_end(w);
    }
    write_dinf(w);
    write_stbl(w, t);
    box_end(w); /* minf */
    box_end(w); /* mdia */
    box_end(w); /* trak */
}

static void write_trex(bw_t *w, const gv_fmp4_track_t *t)
{
    fullbox_begin(w, "trex", 0, 0);
    put_u32(w, t->track_id);
    put_u32(w, 1); /* default_sample_description_index */
    put_u32(w, 0); /* default_sample_duration */
    put_u32(w, 0); /* default_sample_size */
    put_u32(w, is_video(t) ? FLAGS_NON_SYNC : FLAGS_SYNC);
    box_end(w);
}

int gv_fmp4_write_init(const gv_fmp4_track_t *tracks, size_t n_tracks, gv_blob_t **out)
{
    bw_t w = {0};
    uint32_t max_id = 0;
    int ret;

    if (!out)
        return GV_EINVAL;
    *out = NULL;
    if (!tracks || n_tracks == 0)
        return GV_EINVAL;
    if (n_tracks > MAX_TRACKS)
        return GV_ELIMIT;
    for (size_t i = 0; i < n_tracks; i++) {
        if ((ret = check_track(&tracks[i])) < 0)
            return ret;
        for (size_t j = 0; j < i; j++)
            if (tracks[j].track_id == tracks[i].track_id)
                return GV_EINVAL;
        if (tracks[i].track_id > max_id)
            max_id = tracks[i].track_id;
    }
    if (max_id == UINT32_MAX)
        return GV_EINVAL;

    write_ftyp(&w);
    box_begin(&w, "moov");
    write_mvhd(&w, max_id + 1);
    for (size_t i = 0; i < n_tracks; i++)
        write_trak(&w, &tracks[i]);
    box_begin(&w, "mvex");
    for (size_t i = 0; i < n_tracks; i++)
        write_trex(&w, &tracks[i]);
    box_end(&w);
    box_end(&w);
    if (w.err) {
        ret = w.err;
        goto fail;
    }
    if (w.depth != 0) {
        ret = GV_EINVAL;
        goto fail;
    }
    *out = gv_blob_from(w.buf, w.len);
    if (!*out) {
        ret = GV_ENOMEM;
        goto fail;
    }
    free(w.buf);
    return 0;
fail:
    free(w.buf);
    return ret;
}

int gv_fmp4_write_fragment(uint32_t sequence, const gv_fmp4_run_t *runs, size_t n_runs,
                           gv_blob_t **out)
{
    uint64_t moof_size = 8 + MFHD_SIZE, data_size = 0;
    size_t n_trafs = 0;

    if (!out)
        return GV_EINVAL;
    *out = NULL;
    if (!runs || n_runs == 0)
        return GV_EINVAL;
    if (n_runs > MAX_RUNS)
        return GV_ELIMIT;

    /* Pass 1: validate and size everything so the blob is allocated once at its final size. */
    for (size_t i = 0; i < n_runs; i++) {
        const gv_fmp4_run_t *r = &runs[i];
        if (r->n == 0)
            continue;
        if (r->track_id == 0 || !r->samples)
            return GV_EINVAL;
        if (r->n > MAX_RUN_SAMPLES)
            return GV_ELIMIT;
        for (size_t k = 0; k < r->n; k++) {
            const gv_fmp4_sample_t *s = &r->samples[k];
            if (s->size && !s->data)
                return GV_EINVAL;
            data_size += s->size;
        }
        moof_size += 8 + TFHD_SIZE + TFDT_SIZE + TRUN_HEADER_SIZE + TRUN_SAMPLE_SIZE * r->n;
        n_trafs++;
    }
    if (n_trafs == 0)
        return GV_EINVAL;
    /* trun data_offset is a signed 32-bit offset from the moof start, and the mdat uses the
     * 32-bit size form: both bound the fragment. */
    if (moof_size + 8 + data_size > INT32_MAX)
        return GV_ETOOBIG;

    size_t total = (size_t)(moof_size + 8 + data_size);
    gv_blob_t *blob = gv_blob_create(total);
    if (!blob)
        return GV_ENOMEM;
    bw_t w = {.buf = blob->data, .cap = total, .fixed = true};
    int ret;

    box_begin(&w, "moof");
    fullbox_begin(&w, "mfhd", 0, 0);
    put_u32(&w, sequence);
    box_end(&w);
    uint64_t offset = moof_size + 8; /* first sample byte, relative to the moof start */
    for (size_t i = 0; i < n_runs; i++) {
        const gv_fmp4_run_t *r = &runs[i];
        if (r->n == 0)
            continue;
        box_begin(&w, "traf");
        fullbox_begin(&w, "tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF);
        put_u32(&w, r->track_id);
        box_end(&w);
        fullbox_begin(&w, "tfdt", 1, 0);
        put_u64(&w, r->base_dts);
        box_end(&w);
        fullbox_begin(&w, "trun", 1, TRUN_FLAGS);
        put_u32(&w, (uint32_t)r->n);
        put_u32(&w, (uint32_t)offset);
        for (size_t k = 0; k < r->n; k++) {
            const gv_fmp4_sample_t *s = &r->samples[k];
            put_u32(&w, s->duration);
            put_u32(&w, s->size);
            put_u32(&w, s->keyframe ? FLAGS_SYNC : FLAGS_NON_SYNC);
            put_u32(&w, (uint32_t)s->cts);
            offset += s->size;
        }
        box_end(&w);
        box_end(&w);
    }
    box_end(&w);
    put_u32(&w, (uint32_t)(8 + data_size));
    put_fourcc(&w, "mdat");
    for (size_t i = 0; i < n_runs; i++)
        for (size_t k = 0; k < runs[i].n; k++)
            put_bytes(&w, runs[i].samples[k].data, runs[i].samples[k].size);
    if (w.err) {
        ret = w.err;
        goto fail;
    }
    if (w.len != total || w.depth != 0) {
        ret = GV_EINVAL; /* the size computation and the writer disagree: a bug, not input */
        goto fail;
    }
    *out = blob;
    return 0;
fail:
    gv_blob_unref(blob);
    return ret;
}
