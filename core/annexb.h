/* H.264 / HEVC byte-stream helpers for producers that get Annex B (start-code delimited) NAL
 * units, such as an x264 encoder or an MPEG-TS demuxer: split a byte stream into NAL units,
 * convert an access unit to the 4-byte length-prefixed layout of gv_unit_t (optionally taking
 * out its parameter sets), and build avcC / hvcC records from parameter sets (ISO/IEC 14496-15
 * layouts, reading only the few SPS fields the records need). Pure functions over buffers,
 * bounded by the limits below. */
#ifndef GV_ANNEXB_H
#define GV_ANNEXB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/media.h"

#define GV_ANNEXB_MAX_PS 8            /* parameter sets of one kind (VPS/SPS/PPS) per record */
#define GV_ANNEXB_MAX_PS_SIZE 4096    /* bytes of one parameter set */
#define GV_ANNEXB_MAX_NALUS 1024      /* NAL units in one access unit */
#define GV_ANNEXB_MAX_AU_SIZE (16u << 20)

typedef struct {
    const uint8_t *p;
    size_t n;
} gv_annexb_nal_t;

typedef enum {
    GV_ANNEXB_VPS = 0,
    GV_ANNEXB_SPS = 1,
    GV_ANNEXB_PPS = 2,
    GV_ANNEXB_PS_KINDS = 3
} gv_annexb_ps_kind_t;

/* One access unit split from Annex B. ps[] point into the input buffer. */
typedef struct {
    uint8_t *payload;   /* length-prefixed NAL units; parameter sets, AUD and filler removed */
    size_t len;
    size_t cap;
    gv_annexb_nal_t ps[GV_ANNEXB_PS_KINDS][GV_ANNEXB_MAX_PS];
    size_t n_ps[GV_ANNEXB_PS_KINDS];
    size_t n_nalus;     /* NAL units kept in payload */
    bool keyframe;      /* H.264 IDR slice / HEVC IRAP picture present */
    bool has_vcl;       /* at least one coded slice */
} gv_annexb_au_t;

/* Finds the next NAL unit in buf[*pos..size): on success sets nal and nal_size (without the
 * start code; trailing zero bytes belonging to the next start code are trimmed), advances *pos
 * and returns 1; returns 0 when there is none left. Bytes before the first start code are
 * skipped, and so are empty NAL units (back-to-back start codes). */
int gv_annexb_next_nal(const uint8_t *buf, size_t size, size_t *pos, const uint8_t **nal,
                       size_t *nal_size);

/* Converts an Annex B access unit to 4-byte length-prefixed NAL units, keeping every NAL unit.
 * *out is malloc'd. Returns 0, GV_EINVAL when no NAL unit is found, GV_ETOOBIG, GV_ENOMEM. */
int gv_annexb_to_lp(const uint8_t *buf, size_t size, uint8_t **out, size_t *out_size);

void gv_annexb_au_init(gv_annexb_au_t *au);
void gv_annexb_au_free(gv_annexb_au_t *au);

/* Splits an Annex B buffer (codec H264 or HEVC) into au (reset first; its payload allocation is
 * reused). Duplicate parameter sets are listed once. Returns 0, GV_EPROTO (no start code,
 * forbidden bit set), GV_ELIMIT (too many NAL units or parameter sets), GV_ETOOBIG, GV_ENOMEM,
 * GV_EINVAL. */
int gv_annexb_split(gv_codec_t codec, const uint8_t *p, size_t n, gv_annexb_au_t *au);

/* avcC from SPS/PPS NAL units (with their 1-byte header), 4-byte NAL lengths; for the profiles
 * whose SPS carries chroma format and bit depths, the extension bytes are written from the
 * first SPS. *out is malloc'd. GV_EPROTO when an SPS is too short or unreadable, GV_EINVAL when
 * a list is empty, GV_ELIMIT / GV_ETOOBIG past the limits above, GV_ENOMEM. */
int gv_annexb_avcc_from_ps(const gv_annexb_nal_t *sps, size_t n_sps, const gv_annexb_nal_t *pps,
                           size_t n_pps, uint8_t **out, size_t *out_size);

/* hvcC from VPS/SPS/PPS NAL units (with their 2-byte header); profile, tier, level, chroma
 * format and bit depths come from the first SPS. 4-byte NAL lengths. *out is malloc'd. Errors as
 * for gv_annexb_avcc_from_ps. */
int gv_annexb_hvcc_from_ps(const gv_annexb_nal_t *vps, size_t n_vps, const gv_annexb_nal_t *sps,
                           size_t n_sps, const gv_annexb_nal_t *pps, size_t n_pps, uint8_t **out,
                           size_t *out_size);

/* avcC from the SPS and PPS NAL units of an H.264 Annex B buffer (e.g. an encoder's
 * extradata): gv_annexb_split then gv_annexb_avcc_from_ps, with their error codes. */
int gv_annexb_build_avcc(const uint8_t *buf, size_t size, uint8_t **out, size_t *out_size);

#endif
