/* Content negotiation and gzip for playlist responses (Apple's authoring spec requires gzip for
 * playlists when the client accepts it). Uses zlib; nothing hand-rolled. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "core/error.h"
#include "packager/origin_http.h"

bool gv_http_accepts_gzip(const char *ae)
{
    if (!ae)
        return false;
    const char *p = ae;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ')
            p++;
        size_t len = (size_t)(p - tok);
        bool is_gzip = (len == 4 && !strncasecmp(tok, "gzip", 4)) || (len == 1 && *tok == '*');
        double q = 1.0;
        while (*p && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ')
                    p++;
                if ((*p == 'q' || *p == 'Q') && p[1] == '=')
                    q = strtod(p + 2, NULL);
            } else {
                p++;
            }
        }
        if (is_gzip && q > 0.0)
            return true;
    }
    return false;
}

int gv_http_gzip(const char *in, size_t len, char **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* windowBits 15 + 16 selects the gzip wrapper; level 6 is plenty for small text. */
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return GV_ENOMEM;
    uLong bound = deflateBound(&zs, (uLong)len);
    char *buf = malloc(bound);
    if (!buf) {
        deflateEnd(&zs);
        return GV_ENOMEM;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        deflateEnd(&zs);
        free(buf);
        return GV_EIO;
    }
    *out_len = zs.total_out;
    deflateEnd(&zs);
    *out = buf;
    return 0;
}
