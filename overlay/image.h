/* Overlay-internal: loads a lot's item image for the card, off the frame path (it blocks on
 * the network or disk). http(s) URLs and absolute file paths are read through libavformat's
 * avio with a total deadline and a byte limit; PNG, JPEG and WebP are decoded with libavcodec
 * and converted with libswscale to premultiplied BGRA (cairo ARGB32 byte order). */
#ifndef GV_IMAGE_H
#define GV_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Largest side of a loaded image; bigger images are scaled down (aspect kept). The card shows
 * the image at under 400 px even at 4K, so this bounds memory, not quality. */
#define GV_IMAGE_MAX_SIDE 1024

/* Loads url_or_path (http://, https://, or an absolute path), reading at most max_bytes within
 * timeout_ms. On success *bgra (free with free()) holds *h rows of *stride bytes, *w pixels
 * each. Errors: GV_EINVAL (not a URL or absolute path), GV_ENOENT (404 / no such file),
 * GV_ETIMEDOUT, GV_ETOOBIG (more than max_bytes or too many pixels), GV_EUNSUPP (not
 * PNG/JPEG/WebP), GV_ECODEC (corrupt image), GV_EIO, GV_ENOMEM; the reason is logged. */
int gv_image_load(const char *url_or_path, size_t max_bytes, int timeout_ms, uint8_t **bgra, int *w,
                  int *h, int *stride);

/* Premultiplies straight-alpha BGRA in place (exposed for tests). */
void gv_image_premultiply(uint8_t *bgra, int w, int h, int stride);

#endif
