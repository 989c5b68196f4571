/* Packager-internal: facts about a stream's codecs that playlists and init segments need,
 * read from the codec config records and (for picture size) the first keyframe. */
#ifndef GV_CODEC_INFO_H
#define GV_CODEC_INFO_H

#include <stddef.h>

#include "core/media.h"

/* RFC 6381 codec string: "avc1.64001f", "hvc1.1.6.L93.B0", "mp4a.40.2". 0 or GV_EINVAL. */
int gv_codec_string(const gv_codec_config_t *c, char *out, size_t outlen);

/* Parses an AudioSpecificConfig: audio object type, sample rate, channel count. */
int gv_aac_asc_parse(const uint8_t *asc, size_t len, int *aot, int *sample_rate, int *channels);

/* Picture size of an H.264/HEVC stream from its config record and one keyframe unit (payload
 * in 4-byte length-prefixed form). Uses libavcodec's parser. 0 or GV_E*. */
int gv_video_probe_size(const gv_codec_config_t *c, const uint8_t *key, size_t key_size,
                        int *width, int *height);

#endif
