/* libFuzzer target for the LL-HLS query directive parser: any bytes, NUL-terminated copy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "packager/hls_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    gv_hls_query_t q;
    char err[64];
    int rc = gv_hls_query_parse(s, &q, err, sizeof(err));
    if (rc == 0) {
        if (q.part >= 0 && q.msn < 0)
            abort();
        if (q.msn > ((int64_t)1 << 53) || q.part > ((int64_t)1 << 53))
            abort();
    } else if (rc != GV_EINVAL) {
        abort();
    }
    free(s);
    return 0;
}
