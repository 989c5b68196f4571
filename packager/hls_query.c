/* LL-HLS query directive parsing (see hls_query.h). The query is split on '&' into name=value
 * pairs; only the three _HLS_ names are interpreted. Repeating one of them is refused because
 * a cache and the origin could disagree about which value counts. */
#include "packager/hls_query.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define MAX_QUERY 4096
#define MAX_DECIMAL ((int64_t)1 << 53)

static int fail(char *err, size_t errlen, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", why);
    return GV_EINVAL;
}

static bool name_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(p, name, n) == 0;
}

/* Decimal digits only, no sign, no leading/trailing junk, value <= 2^53. */
static bool parse_decimal(const char *p, size_t n, int64_t *out)
{
    if (n == 0 || n > 16)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    if (v > MAX_DECIMAL)
        return false;
    *out = v;
    return true;
}

int gv_hls_query_parse(const char *query, gv_hls_query_t *out, char *err, size_t errlen)
{
    if (!out)
        return GV_EINVAL;
    out->msn = -1;
    out->part = -1;
    out->skip = GV_SKIP_NONE;
    gv_hls_query_t q = *out;
    if (err && errlen)
        err[0] = '\0';
    if (!query)
        return 0;
    size_t qlen = strnlen(query, MAX_QUERY + 1);
    if (qlen > MAX_QUERY)
        return fail(err, errlen, "query too long");

    bool have_msn = false, have_part = false, have_skip = false;
    const char *p = query, *end = query + qlen;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        const char *ne = eq ? eq : pe;
        size_t nlen = (size_t)(ne - p);
        const char *v = eq ? eq + 1 : pe;
        size_t vlen = (size_t)(pe - v);

        if (name_is(p, nlen, "_HLS_msn")) {
            if (have_msn)
                return fail(err, errlen, "duplicate _HLS_msn");
            if (!eq || !parse_decimal(v, vlen, &q.msn))
                return fail(err, errlen, "bad _HLS_msn");
            have_msn = true;
        } else if (name_is(p, nlen, "_HLS_part")) {
            if (have_part)
                return fail(err, errlen, "duplicate _HLS_part");
            if (!eq || !parse_decimal(v, vlen, &q.part))
                return fail(err, errlen, "bad _HLS_part");
            have_part = true;
        } else if (name_is(p, nlen, "_HLS_skip")) {
            if (have_skip)
                return fail(err, errlen, "duplicate _HLS_skip");
            if (eq && name_is(v, vlen, "YES"))
                q.skip = GV_SKIP_YES;
            else if (eq && name_is(v, vlen, "v2"))
                q.skip = GV_SKIP_V2;
            else
                return fail(err, errlen, "bad _HLS_skip");
            have_skip = true;
        }
        p = amp ? amp + 1 : end;
    }
    if (have_part && !have_msn)
        return fail(err, errlen, "_HLS_part without _HLS_msn");
    *out = q;
    return 0;
}
