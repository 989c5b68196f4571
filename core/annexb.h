/* H.264 byte-stream helpers for producers that get Annex B (start-code delimited) NAL units, such
 * as an x264 encoder or an MPEG-TS demuxer: split a byte stream into NAL units, convert an access
 * unit to the 4-byte length-prefixed layout of gv_unit_t, and build an avcC record from the
 * SPS/PPS found in a byte stream. Pure functions over buffers with explicit limits. */
#ifndef GV_ANNEXB_H
#define GV_ANNEXB_H

#include <stddef.h>
#include <stdint.h>

/* Finds the next NAL unit in buf[*pos..size): on success sets nal and nal_size (without the
 * start code; trailing zero bytes belonging to the next start code are trimmed), advances *pos
 * and returns 1; returns 0 when there is none left. Bytes before the first start code are
 * skipped. */
int gv_annexb_next_nal(const uint8_t *buf, size_t size, size_t *pos, const uint8_t **nal,
                       size_t *nal_size);

/* Converts an Annex B access unit to 4-byte length-prefixed NAL units. *out is malloc'd.
 * Returns 0, GV_EINVAL when no NAL unit is found, GV_ENOMEM. */
int gv_annexb_to_lp(const uint8_t *buf, size_t size, uint8_t **out, size_t *out_size);

/* Builds an AVCDecoderConfigurationRecord (version 1, 4-byte lengths) from the SPS and PPS
 * NAL units of an Annex B buffer (e.g. an encoder's extradata). Takes at most 31 SPS and 255
 * PPS of up to 65535 bytes each. For High profiles (100/110/122/244) the chroma/bit depth
 * extension bytes are written with 4:2:0 8-bit defaults. Returns 0, GV_EINVAL (no SPS or no
 * PPS, or an SPS shorter than 4 bytes), GV_ETOOBIG, GV_ENOMEM. */
int gv_annexb_build_avcc(const uint8_t *buf, size_t size, uint8_t **out, size_t *out_size);

#endif
