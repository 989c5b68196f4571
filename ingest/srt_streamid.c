/* SRT stream id parser. The access-control form is "#!::" followed by comma-separated k=v
 * items; gavel reads r (resource: "live/KEY" or "KEY"), m (mode), u (user) and t (type), and
 * ignores the rest. A stream id without the "#!::" prefix is the whole resource. An absent m is
 * taken as publish: gavel serves no SRT readers, so a caller that does not say is an encoder.
 * Keys follow the config's rule: printable ASCII without '/', '?' or '#'. */
#include "ingest/srt_streamid.h"

#include <stdbool.h>
#include <string.h>

#include "core/error.h"

static bool printable(char c)
{
    return c >= 0x20 && c <= 0x7e;
}

static bool eq(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(p, lit, n) == 0;
}

/* Copies a resource ("live/KEY" or "KEY") into out->key after validating it. */
static int parse_resource(const char *p, size_t n, gv_srt_streamid_t *out)
{
    if (n >= 5 && memcmp(p, "live/", 5) == 0) {
        p += 5;
        n -= 5;
    }
    if (n == 0)
        return GV_EPROTO;
    if (n > GV_SRT_KEY_MAX)
        return GV_ETOOBIG;
    for (size_t i = 0; i < n; i++)
        if (!printable(p[i]) || p[i] == '/' || p[i] == '?' || p[i] == '#')
            return GV_EPROTO;
    memcpy(out->key, p, n);
    out->key[n] = '\0';
    return 0;
}

static int parse_access_control(const char *p, size_t n, gv_srt_streamid_t *out)
{
    bool have_r = false, have_m = false, have_u = false, have_t = false;
    size_t pos = 0;
    while (pos <= n) {
        size_t end = pos;
        while (end < n && p[end] != ',')
            end++;
        const char *item = p + pos;
        size_t ilen = end - pos;
        const char *eqs = memchr(item, '=', ilen);
        if (!eqs || eqs == item)
            return GV_EPROTO;
        const char *k = item, *v = eqs + 1;
        size_t klen = (size_t)(eqs - item), vlen = ilen - klen - 1;
        int err;
        if (eq(k, klen, "r")) {
            if (have_r)
                return GV_EPROTO;
            have_r = true;
            if ((err = parse_resource(v, vlen, out)) < 0)
                return err;
        } else if (eq(k, klen, "m")) {
            if (have_m)
                return GV_EPROTO;
            have_m = true;
            if (eq(v, vlen, "publish"))
                out->mode = GV_SRT_MODE_PUBLISH;
            else if (eq(v, vlen, "request"))
                out->mode = GV_SRT_MODE_REQUEST;
            else if (eq(v, vlen, "bidirectional"))
                out->mode = GV_SRT_MODE_BIDIR;
            else
                return GV_EPROTO;
        } else if (eq(k, klen, "u")) {
            if (have_u)
                return GV_EPROTO;
            have_u = true;
            if (vlen > GV_SRT_USER_MAX)
                return GV_ETOOBIG;
            memcpy(out->user, v, vlen);
            out->user[vlen] = '\0';
        } else if (eq(k, klen, "t")) {
            if (have_t || !eq(v, vlen, "stream"))
                return GV_EPROTO;
            have_t = true;
        }
        /* Any other key (h, s, vendor keys) is accepted and ignored. */
        pos = end + 1;
    }
    return have_r ? 0 : GV_EPROTO;
}

int gv_srt_streamid_parse(const char *sid, size_t len, gv_srt_streamid_t *out)
{
    if (!sid || !out)
        return GV_EINVAL;
    memset(out, 0, sizeof(*out));
    out->mode = GV_SRT_MODE_PUBLISH;
    if (len == 0)
        return GV_EPROTO;
    if (len > GV_SRT_STREAMID_MAX)
        return GV_ETOOBIG;
    for (size_t i = 0; i < len; i++)
        if (!printable(sid[i]))
            return GV_EPROTO;
    int err;
    if (len >= 4 && memcmp(sid, "#!::", 4) == 0)
        err = parse_access_control(sid + 4, len - 4, out);
    else
        err = parse_resource(sid, len, out);
    if (err < 0) {
        memset(out, 0, sizeof(*out));
        return err;
    }
    return 0;
}

const char *gv_srt_mode_name(gv_srt_mode_t m)
{
    switch (m) {
    case GV_SRT_MODE_PUBLISH:
        return "publish";
    case GV_SRT_MODE_REQUEST:
        return "request";
    case GV_SRT_MODE_BIDIR:
        return "bidirectional";
    }
    return "?";
}
