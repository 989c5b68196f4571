/* Parser for the LL-HLS delivery directives in a playlist request's query string
 * (_HLS_msn, _HLS_part, _HLS_skip). Pure function over the raw query text; the HTTP origin
 * answers 400 with the returned reason when it fails. */
#ifndef GV_HLS_QUERY_H
#define GV_HLS_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "packager/packager.h"

typedef struct {
    int64_t msn;
    int64_t part;
    gv_skip_t skip;
} gv_hls_query_t;

/* Parses a raw URL query string (may be NULL/empty). msn/part = -1 when absent. Returns 0,
   or GV_EINVAL with a short reason in err (e.g. "_HLS_part without _HLS_msn", "bad
   _HLS_msn"). Unknown parameters are ignored; any order accepted; values must be decimal
   without sign, <= 2^53. */
int gv_hls_query_parse(const char *query, gv_hls_query_t *out, char *err, size_t errlen);

#endif
