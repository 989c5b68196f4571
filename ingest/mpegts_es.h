/* Elementary-stream helpers for the MPEG-TS ingest, all pure functions over buffers:
 * Annex B access units -> 4-byte length-prefixed NAL units plus the parameter sets they carry,
 * avcC / hvcC configuration records built from parameter sets, and ADTS header parsing (AAC
 * frames arrive with ADTS headers in TS; units carry raw frames and an AudioSpecificConfig). */
#ifndef GV_MPEGTS_ES_H
#define GV_MPEGTS_ES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/media.h"
#include "ingest/bytes.h"

#define GV_ES_MAX_PS 8          /* parameter sets of one kind (VPS/SPS/PPS) per record */
#define GV_ES_MAX_PS_SIZE 4096  /* bytes of one parameter set */
#define GV_ES_MAX_NALUS 1024    /* NAL units in one access unit */
#define GV_ES_MAX_AU_SIZE (16u << 20)

typedef struct {
    const uint8_t *p;
    size_t n;
} gv_es_nal_t;

typedef enum { GV_ES_VPS = 0, GV_ES_SPS = 1, GV_ES_PPS = 2, GV_ES_PS_KINDS = 3 } gv_es_ps_kind_t;

/* One access unit split from Annex B. ps[] point into the input buffer. */
typedef struct {
    gv_bytes_t payload; /* length-prefixed NAL units; parameter sets, AUD and filler removed */
    gv_es_nal_t ps[GV_ES_PS_KINDS][GV_ES_MAX_PS];
    size_t n_ps[GV_ES_PS_KINDS];
    size_t n_nalus;     /* NAL units kept in payload */
    bool keyframe;      /* H.264 IDR slice / HEVC IRAP picture present */
    bool has_vcl;       /* at least one coded slice */
} gv_es_au_t;

void gv_es_au_init(gv_es_au_t *au);
void gv_es_au_free(gv_es_au_t *au);

/* Splits an Annex B buffer (codec H264 or HEVC) into au (reset first). Duplicate parameter
 * sets are listed once. Returns 0, GV_EPROTO (no start code, forbidden bit set),
 * GV_ELIMIT (too many NAL units or parameter sets), GV_ETOOBIG, GV_ENOMEM, GV_EINVAL. */
int gv_es_annexb_split(gv_codec_t codec, const uint8_t *p, size_t n, gv_es_au_t *au);

/* avcC from SPS/PPS NAL units (with their 1-byte header). 4-byte NAL lengths. out is reset.
 * GV_EPROTO when an SPS is too short or unreadable, GV_EINVAL when a list is empty. */
int gv_es_avcc_build(const gv_es_nal_t *sps, size_t n_sps, const gv_es_nal_t *pps, size_t n_pps,
                     gv_bytes_t *out);
/* hvcC from VPS/SPS/PPS NAL units (with their 2-byte header); profile, tier, level, chroma
 * format and bit depths come from the first SPS. 4-byte NAL lengths. out is reset. */
int gv_es_hvcc_build(const gv_es_nal_t *vps, size_t n_vps, const gv_es_nal_t *sps, size_t n_sps,
                     const gv_es_nal_t *pps, size_t n_pps, gv_bytes_t *out);

/* One ADTS header. */
typedef struct {
    int aot;            /* audio object type (profile + 1), 1..4 */
    int sr_index;       /* sampling_frequency_index */
    int sample_rate;
    int channels;       /* channel_configuration 1..7 (7 means 8 channels) */
    int chan_config;
    size_t header_len;  /* 7, or 9 with CRC */
    size_t frame_len;   /* header + raw data */
    int raw_blocks;     /* number_of_raw_data_blocks_in_frame + 1 */
} gv_adts_t;

/* Parses the ADTS header at p. GV_ETRUNC when n is shorter than the header, GV_EPROTO for a bad
 * sync word, layer, sample-rate index or frame length, GV_EUNSUPP for a channel configuration
 * of 0 (layout in a PCE) or several raw blocks per frame. Does not require the whole frame. */
int gv_adts_parse(const uint8_t *p, size_t n, gv_adts_t *h);
/* The 2-byte AudioSpecificConfig matching h. */
void gv_adts_asc(const gv_adts_t *h, uint8_t asc[2]);

#endif
