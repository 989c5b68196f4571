/* Validation of control-API JSON bodies (PUT /lot, POST /bids) into gv_lot_t / gv_bid_t, and the
 * display formatting of amounts. Pure functions over buffers: cJSON parses, this file checks
 * types, bounds, encodings and dates, and names the offending field in every error. */
#include "overlay/lot.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define MAX_BODY_BYTES (256 * 1024)
#define MAX_AMOUNT_MAJOR 1e12
#define MAX_BID_COUNT 1000000000LL
/* Latest accepted ends_at: 9999-12-31T23:59:59Z. */
#define MAX_UNIX_SECONDS 253402300799LL

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return GV_EINVAL;
}

/* --- strings ----------------------------------------------------------------------------- */

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF) without C0 controls or DEL, which a
 * one-line card cannot show. */
static bool text_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        int len;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + (size_t)len > n)
            return false;
        for (int k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += (size_t)len;
    }
    return true;
}

/* Copies the string member `name` into out (capacity cap, so at most cap-1 bytes). Absent or
 * null: "" when optional, an error when required. min_len applies to present values. */
static int get_string(const cJSON *obj, const char *name, bool required, size_t min_len, char *out,
                      size_t cap, char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    out[0] = '\0';
    if (!it || cJSON_IsNull(it)) {
        if (required)
            return fail(err, errlen, "%s: required", name);
        return 0;
    }
    if (!cJSON_IsString(it) || !it->valuestring)
        return fail(err, errlen, "%s: expected a string", name);
    size_t n = strlen(it->valuestring);
    if (n >= cap)
        return fail(err, errlen, "%s: too long (max %zu bytes)", name, cap - 1);
    if (n < min_len)
        return fail(err, errlen, "%s: must not be empty", name);
    if (!text_ok(it->valuestring, n))
        return fail(err, errlen, "%s: invalid UTF-8 or control character", name);
    memcpy(out, it->valuestring, n + 1);
    return 0;
}

/* --- numbers ----------------------------------------------------------------------------- */

int gv_currency_exponent(const char *currency)
{
    static const char *const zero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                       "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                       "VND", "VUV", "XAF", "XOF", "XPF"};
    static const char *const three[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
    if (!currency)
        return 2;
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
        if (strcmp(currency, zero[i]) == 0)
            return 0;
    for (size_t i = 0; i < sizeof(three) / sizeof(three[0]); i++)
        if (strcmp(currency, three[i]) == 0)
            return 3;
    return 2;
}

/* Converts a JSON amount in major units to minor units. The decimal digits are counted on the
 * shortest text that reproduces the double (15 significant digits suffice for every accepted
 * value), so 12.345 is refused for USD even though binary doubles cannot say so directly. */
static int amount_from_json(const cJSON *it, const char *name, int exponent, int64_t *out,
                            char *err, size_t errlen)
{
    if (!cJSON_IsNumber(it))
        return fail(err, errlen, "%s: expected a non-negative amount", name);
    double v = it->valuedouble;
    if (!isfinite(v) || v < 0)
        return fail(err, errlen, "%s: expected a non-negative amount", name);
    if (v > MAX_AMOUNT_MAJOR)
        return fail(err, errlen, "%s: too large (max 1e12)", name);
    char buf[64];
    snprintf(buf, sizeof(buf), "%.15g", v);
    if (strtod(buf, NULL) != v)
        return fail(err, errlen, "%s: too many decimals (max %d)", name, exponent);
    /* buf is "D+", "D+.D+" or with an exponent for tiny values, e.g. "1e-05". */
    const char *e = strchr(buf, 'e');
    if (e) {
        if (v != 0)
            return fail(err, errlen, "%s: too many decimals (max %d)", name, exponent);
        *out = 0;
        return 0;
    }
    const char *dot = strchr(buf, '.');
    size_t int_len = dot ? (size_t)(dot - buf) : strlen(buf);
    size_t frac_len = dot ? strlen(dot + 1) : 0;
    if (frac_len > (size_t)exponent)
        return fail(err, errlen, "%s: too many decimals (max %d)", name, exponent);
    int64_t minor = 0;
    for (size_t i = 0; i < int_len; i++)
        minor = minor * 10 + (buf[i] - '0');
    for (int i = 0; i < exponent; i++)
        minor = minor * 10 + ((size_t)i < frac_len ? dot[1 + i] - '0' : 0);
    *out = minor;
    return 0;
}

/* Optional amount: absent/null leaves *present false. */
static int get_amount(const cJSON *obj, const char *name, int exponent, int64_t *out, bool *present,
                      char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    *present = false;
    if (!it || cJSON_IsNull(it))
        return 0;
    *present = true;
    return amount_from_json(it, name, exponent, out, err, errlen);
}

/* Optional non-negative integer count; absent/null gives dflt. */
static int get_count(const cJSON *obj, const char *name, int64_t dflt, int64_t *out, char *err,
                     size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!it || cJSON_IsNull(it)) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0 ||
        it->valuedouble != floor(it->valuedouble))
        return fail(err, errlen, "%s: expected a non-negative integer", name);
    if (it->valuedouble > (double)MAX_BID_COUNT)
        return fail(err, errlen, "%s: too large (max %lld)", name, MAX_BID_COUNT);
    *out = (int64_t)it->valuedouble;
    return 0;
}

/* --- dates ------------------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    /* Days since 1970-01-01 in the proleptic Gregorian calendar (March-based years). */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Strict RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). 0 or -1. */
static int parse_rfc3339(const char *s, int64_t *ms_out)
{
    size_t n = strlen(s);
    if (n < 20 || n > 40)
        return -1;
    int year = digits(s, 4), mon = digits(s + 5, 2), day = digits(s + 8, 2);
    int hh = digits(s + 11, 2), mm = digits(s + 14, 2), ss = digits(s + 17, 2);
    if (year < 0 || mon < 0 || day < 0 || hh < 0 || mm < 0 || ss < 0)
        return -1;
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1970 || mon < 1 || mon > 12 || day < 1)
        return -1;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > mdays[mon - 1] + (mon == 2 && leap))
        return -1;
    if (hh > 23 || mm > 59 || ss > 60)
        return -1;
    size_t i = 19;
    int frac_ms = 0;
    if (s[i] == '.') {
        i++;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 3)
                frac_ms = frac_ms * 10 + (s[i] - '0');
            i++;
        }
        size_t nd = i - start;
        if (nd == 0 || nd > 9)
            return -1;
        for (size_t k = nd; k < 3; k++)
            frac_ms *= 10;
    }
    int offset_min = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        if (n - i != 6 || s[i + 3] != ':')
            return -1;
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || om < 0 || oh > 23 || om > 59)
            return -1;
        offset_min = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return -1;
    }
    if (i != n)
        return -1;
    int64_t secs = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss -
                   (int64_t)offset_min * 60;
    if (secs < 0 || secs > MAX_UNIX_SECONDS)
        return -1;
    *ms_out = secs * 1000 + frac_ms;
    return 0;
}

/* ends_at: absent/null -> *present false; number = unix seconds; string = RFC 3339. */
static int get_ends_at(const cJSON *obj, int64_t *ms_out, bool *present, char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "ends_at");
    *present = false;
    if (!it || cJSON_IsNull(it))
        return 0;
    *present = true;
    if (cJSON_IsNumber(it)) {
        double v = it->valuedouble;
        if (!isfinite(v) || v < 0 || v > (double)MAX_UNIX_SECONDS)
            return fail(err, errlen, "ends_at: expected unix seconds between 0 and %lld",
                        MAX_UNIX_SECONDS);
        *ms_out = (int64_t)llround(v * 1000.0);
        return 0;
    }
    if (cJSON_IsString(it) && it->valuestring) {
        if (parse_rfc3339(it->valuestring, ms_out) != 0)
            return fail(err, errlen,
                        "ends_at: expected an RFC 3339 date like 2024-05-01T18:30:00Z");
        return 0;
    }
    return fail(err, errlen, "ends_at: expected unix seconds or an RFC 3339 string");
}

/* --- bodies ------------------------------------------------------------------------------ */

static cJSON *parse_object(const char *json, size_t len, char *err, size_t errlen, int *rc)
{
    *rc = 0;
    if (!json || len == 0) {
        *rc = fail(err, errlen, "body: empty");
        return NULL;
    }
    if (len > MAX_BODY_BYTES) {
        *rc = fail(err, errlen, "body: too large (max %d bytes)", MAX_BODY_BYTES);
        return NULL;
    }
    /* cJSON decodes \u0000 into a NUL that would silently cut a string short: refuse it. An
     * escape is real when an odd number of backslashes precede the 'u'. */
    for (size_t i = 0; i + 6 <= len; i++) {
        if (json[i] == '\\' && json[i + 1] == 'u' && memcmp(json + i + 2, "0000", 4) == 0) {
            size_t k = i, n = 0;
            while (k > 0 && json[k - 1] == '\\') {
                k--;
                n++;
            }
            if (n % 2 == 0) {
                *rc = fail(err, errlen, "body: \\u0000 is not allowed in strings");
                return NULL;
            }
        }
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        *rc = fail(err, errlen, "body: invalid JSON near byte %zu", off);
        return NULL;
    }
    /* Only whitespace (or a trailing NUL some clients send) may follow the value. */
    for (const char *p = end; p && p < json + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '\0') {
            cJSON_Delete(root);
            *rc = fail(err, errlen, "body: unexpected data after JSON at byte %zu",
                       (size_t)(p - json));
            return NULL;
        }
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *rc = fail(err, errlen, "body: expected a JSON object");
        return NULL;
    }
    return root;
}

static const char *const STATE_NAMES[] = {"upcoming", "live", "sold", "unsold"};

const char *gv_lot_state_name(gv_lot_state_t s)
{
    return (unsigned)s < 4 ? STATE_NAMES[s] : "upcoming";
}

static int parse_state(const cJSON *obj, gv_lot_state_t *out, char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "state");
    *out = GV_LOT_LIVE;
    if (!it || cJSON_IsNull(it))
        return 0;
    if (cJSON_IsString(it) && it->valuestring) {
        for (int i = 0; i < 4; i++) {
            if (strcmp(it->valuestring, STATE_NAMES[i]) == 0) {
                *out = (gv_lot_state_t)i;
                return 0;
            }
        }
    }
    return fail(err, errlen, "state: expected one of upcoming, live, sold, unsold");
}

static int parse_labels(const cJSON *obj, gv_lot_t *lot, char *err, size_t errlen)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "labels");
    lot->n_labels = 0;
    if (!arr || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr))
        return fail(err, errlen, "labels: expected an array of strings");
    int n = cJSON_GetArraySize(arr);
    if (n > 4)
        return fail(err, errlen, "labels: at most 4 labels");
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !it->valuestring)
            return fail(err, errlen, "labels[%d]: expected a string", i);
        size_t len = strlen(it->valuestring);
        if (len == 0)
            return fail(err, errlen, "labels[%d]: must not be empty", i);
        if (len >= sizeof(lot->labels[0]))
            return fail(err, errlen, "labels[%d]: too long (max %zu bytes)", i,
                        sizeof(lot->labels[0]) - 1);
        if (!text_ok(it->valuestring, len))
            return fail(err, errlen, "labels[%d]: invalid UTF-8 or control character", i);
        memcpy(lot->labels[i], it->valuestring, len + 1);
        i++;
    }
    lot->n_labels = i;
    return 0;
}

static bool image_ref_ok(const char *s)
{
    if (s[0] == '\0' || s[0] == '/')
        return s[0] == '\0' || strstr(s, "/../") == NULL;
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

int gv_lot_parse(const char *json, size_t len, gv_lot_t *out, char *err, size_t errlen)
{
    int rc;
    gv_lot_t lot;
    memset(&lot, 0, sizeof(lot));
    cJSON *root = parse_object(json, len, err, errlen, &rc);
    if (!root)
        return rc;

    if ((rc = get_string(root, "id", true, 1, lot.id, sizeof(lot.id), err, errlen)) ||
        (rc = get_string(root, "title", true, 1, lot.title, sizeof(lot.title), err, errlen)) ||
        (rc = get_string(root, "image", false, 0, lot.image, sizeof(lot.image), err, errlen)) ||
        (rc = get_string(root, "leader", false, 0, lot.leader, sizeof(lot.leader), err, errlen)) ||
        (rc = get_string(root, "currency", true, 1, lot.currency, sizeof(lot.currency), err,
                         errlen)))
        goto fail;
    if (!image_ref_ok(lot.image)) {
        rc = fail(err, errlen, "image: expected an http(s) URL or an absolute path");
        goto fail;
    }
    if (strlen(lot.currency) != 3) {
        rc = fail(err, errlen, "currency: expected 3 upper-case letters (ISO 4217)");
        goto fail;
    }
    for (int i = 0; i < 3; i++) {
        if (lot.currency[i] < 'A' || lot.currency[i] > 'Z') {
            rc = fail(err, errlen, "currency: expected 3 upper-case letters (ISO 4217)");
            goto fail;
        }
    }
    int exp10 = gv_currency_exponent(lot.currency);
    bool has_start, has_current, has_end;
    if ((rc =
             get_amount(root, "starting_bid", exp10, &lot.starting_bid, &has_start, err, errlen)) ||
        (rc = get_amount(root, "current_bid", exp10, &lot.current_bid, &has_current, err, errlen)))
        goto fail;
    if (!has_start && !has_current) {
        rc = fail(err, errlen, "current_bid: required (or starting_bid)");
        goto fail;
    }
    /* With no bid yet the card shows the starting price. */
    if (!has_current)
        lot.current_bid = lot.starting_bid;
    if ((rc = get_count(root, "bid_count", 0, &lot.bid_count, err, errlen)) ||
        (rc = get_ends_at(root, &lot.ends_at_ms, &has_end, err, errlen)) ||
        (rc = parse_state(root, &lot.state, err, errlen)) ||
        (rc = parse_labels(root, &lot, err, errlen)))
        goto fail;
    if (!has_end)
        lot.ends_at_ms = 0;

    cJSON_Delete(root);
    *out = lot;
    return 0;
fail:
    cJSON_Delete(root);
    return rc;
}

int gv_bid_parse(const char *json, size_t len, const char *currency, gv_bid_t *out, char *err,
                 size_t errlen)
{
    int rc;
    gv_bid_t bid;
    memset(&bid, 0, sizeof(bid));
    cJSON *root = parse_object(json, len, err, errlen, &rc);
    if (!root)
        return rc;
    int exp10 = gv_currency_exponent(currency);
    bool has_amount, has_end;
    if ((rc = get_string(root, "lot_id", true, 1, bid.lot_id, sizeof(bid.lot_id), err, errlen)) ||
        (rc = get_amount(root, "amount", exp10, &bid.amount, &has_amount, err, errlen)))
        goto fail;
    if (!has_amount) {
        rc = fail(err, errlen, "amount: required");
        goto fail;
    }
    if ((rc = get_string(root, "bidder", true, 1, bid.bidder, sizeof(bid.bidder), err, errlen)) ||
        (rc = get_count(root, "bid_count", -1, &bid.bid_count, err, errlen)) ||
        (rc = get_ends_at(root, &bid.ends_at_ms, &has_end, err, errlen)))
        goto fail;
    if (!has_end)
        bid.ends_at_ms = -1;
    cJSON_Delete(root);
    *out = bid;
    return 0;
fail:
    cJSON_Delete(root);
    return rc;
}

int gv_lot_apply_bid(gv_lot_t *lot, const gv_bid_t *bid, char *err, size_t errlen)
{
    if (strcmp(lot->id, bid->lot_id) != 0)
        return fail(err, errlen, "lot_id does not match the current lot");
    lot->current_bid = bid->amount;
    memcpy(lot->leader, bid->bidder, sizeof(lot->leader));
    lot->bid_count = bid->bid_count >= 0 ? bid->bid_count : lot->bid_count + 1;
    if (bid->ends_at_ms >= 0)
        lot->ends_at_ms = bid->ends_at_ms;
    return 0;
}

/* --- display ----------------------------------------------------------------------------- */

static const char *currency_symbol(const char *c)
{
    static const struct {
        const char *code, *sym;
    } tab[] = {{"USD", "$"},   {"EUR", "€"},  {"GBP", "£"},   {"JPY", "¥"},   {"CNY", "CN¥"},
               {"KRW", "₩"},   {"INR", "₹"},  {"CAD", "CA$"}, {"AUD", "A$"},  {"NZD", "NZ$"},
               {"HKD", "HK$"}, {"SGD", "S$"}, {"TWD", "NT$"}, {"MXN", "MX$"}, {"BRL", "R$"},
               {"ILS", "₪"},   {"VND", "₫"},  {"PHP", "₱"},   {"THB", "฿"},   {"TRY", "₺"}};
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strcmp(c, tab[i].code) == 0)
            return tab[i].sym;
    return NULL;
}

void gv_lot_format_amount(int64_t minor, const char *currency, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return;
    const char *cur = currency ? currency : "";
    int exp10 = gv_currency_exponent(cur);
    bool neg = minor < 0;
    uint64_t v = neg ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t div = 1;
    for (int i = 0; i < exp10; i++)
        div *= 10;
    uint64_t major = v / div, frac = v % div;

    /* Major part with thousands separators, built right to left. */
    char digits_buf[40];
    int pos = (int)sizeof(digits_buf) - 1, n = 0;
    digits_buf[pos] = '\0';
    do {
        if (n && n % 3 == 0)
            digits_buf[--pos] = ',';
        digits_buf[--pos] = (char)('0' + major % 10);
        major /= 10;
        n++;
    } while (major);

    char frac_buf[8] = "";
    if (exp10 > 0) {
        frac_buf[0] = '.';
        for (int i = exp10; i >= 1; i--, frac /= 10)
            frac_buf[i] = (char)('0' + frac % 10);
        frac_buf[exp10 + 1] = '\0';
    }
    const char *sym = currency_symbol(cur);
    if (sym)
        snprintf(out, outlen, "%s%s%s%s", neg ? "-" : "", sym, digits_buf + pos, frac_buf);
    else
        snprintf(out, outlen, "%s%s%s%s%s", neg ? "-" : "", cur, cur[0] ? " " : "",
                 digits_buf + pos, frac_buf);
}
