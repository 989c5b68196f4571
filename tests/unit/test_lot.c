/* Unit tests for the control-API body validation (gv_lot_parse, gv_bid_parse), bids applied to
 * lots, currency exponents and amount formatting: valid bodies and every class of bad input. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "overlay/lot.h"
#include "testlib.h"

static int parse(const char *json, gv_lot_t *lot, char *err)
{
    return gv_lot_parse(json, strlen(json), lot, err, 256);
}

/* Expects a parse failure whose message starts with prefix. */
static void bad_lot(const char *json, const char *prefix, int line)
{
    gv_lot_t lot;
    char err[256] = "";
    int rc = parse(json, &lot, err);
    if (rc != GV_EINVAL || strncmp(err, prefix, strlen(prefix)) != 0) {
        fprintf(stderr, "line %d: body %.80s: rc %d err \"%s\", expected \"%s...\"\n", line, json,
                rc, err, prefix);
        gv_test_failures++;
    }
}
#define BAD_LOT(json, prefix) bad_lot(json, prefix, __LINE__)

#define BASE "\"id\":\"lot-1\",\"title\":\"Card\",\"currency\":\"USD\""

static void test_lot_valid_full(void)
{
    const char *j = "{\"id\":\"lot-42\",\"title\":\"1986 Fleer RC Clyde Drexler BGS 8.5 Auto\","
                    "\"image\":\"https://cdn.example.com/a.jpg\",\"currency\":\"USD\","
                    "\"starting_bid\":10,\"current_bid\":1250.5,\"bid_count\":23,"
                    "\"leader\":\"drexler_fan\",\"ends_at\":1714588200,\"state\":\"live\","
                    "\"labels\":[\"Free shipping\",\"Graded\"],\"unknown\":{\"x\":[1,2]}}";
    gv_lot_t lot;
    char err[256] = "";
    GV_CHECK_INT(parse(j, &lot, err), 0);
    GV_CHECK_STR(lot.id, "lot-42");
    GV_CHECK_STR(lot.title, "1986 Fleer RC Clyde Drexler BGS 8.5 Auto");
    GV_CHECK_STR(lot.image, "https://cdn.example.com/a.jpg");
    GV_CHECK_STR(lot.currency, "USD");
    GV_CHECK_INT(lot.starting_bid, 1000);
    GV_CHECK_INT(lot.current_bid, 125050);
    GV_CHECK_INT(lot.bid_count, 23);
    GV_CHECK_STR(lot.leader, "drexler_fan");
    GV_CHECK_INT(lot.ends_at_ms, 1714588200000LL);
    GV_CHECK_INT(lot.state, GV_LOT_LIVE);
    GV_CHECK_INT(lot.n_labels, 2);
    GV_CHECK_STR(lot.labels[1], "Graded");
}

static void test_lot_valid_minimal(void)
{
    gv_lot_t lot;
    char err[256] = "";
    GV_CHECK_INT(parse("{" BASE ",\"starting_bid\":5}", &lot, err), 0);
    GV_CHECK_INT(lot.current_bid, 500); /* no bid yet: the starting price */
    GV_CHECK_INT(lot.starting_bid, 500);
    GV_CHECK_INT(lot.bid_count, 0);
    GV_CHECK_INT(lot.state, GV_LOT_LIVE);
    GV_CHECK_INT(lot.ends_at_ms, 0);
    GV_CHECK_INT(lot.n_labels, 0);
    GV_CHECK_STR(lot.image, "");
    GV_CHECK_STR(lot.leader, "");

    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":0,\"state\":\"upcoming\",\"leader\":null,"
                       "\"ends_at\":null,\"labels\":[]}",
                       &lot, err),
                 0);
    GV_CHECK_INT(lot.state, GV_LOT_UPCOMING);
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":1,\"state\":\"sold\"}", &lot, err), 0);
    GV_CHECK_INT(lot.state, GV_LOT_SOLD);
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":1,\"state\":\"unsold\"}", &lot, err), 0);
    GV_CHECK_INT(lot.state, GV_LOT_UNSOLD);
    /* Whitespace around the object and a trailing NUL are fine. */
    const char ws[] = " \n{" BASE ",\"current_bid\":1}\r\n";
    GV_CHECK_INT(gv_lot_parse(ws, sizeof(ws), &lot, err, sizeof(err)), 0);
}

static void test_lot_unicode(void)
{
    gv_lot_t lot;
    char err[256] = "";
    /* CJK, Arabic, emoji (raw UTF-8 and a \u surrogate pair). */
    const char *j = "{\"id\":\"x\",\"title\":\"\xe9\x81\x8a\xe6\x88\xb2\xe7\x8e\x8b \xd9\x85\xd8"
                    "\xb2\xd8\xa7\xd8\xaf \\ud83d\\udd25\",\"currency\":\"JPY\","
                    "\"current_bid\":125000}";
    GV_CHECK_INT(parse(j, &lot, err), 0);
    GV_CHECK(strstr(lot.title, "\xf0\x9f\x94\xa5") != NULL);
    GV_CHECK_INT(lot.current_bid, 125000); /* JPY has no minor unit */
    /* Invalid UTF-8 and control characters. */
    BAD_LOT("{\"id\":\"x\",\"title\":\"a\xff\",\"currency\":\"USD\",\"current_bid\":1}",
            "title: invalid UTF-8");
    BAD_LOT("{\"id\":\"x\",\"title\":\"a\xc0\xaf\",\"currency\":\"USD\",\"current_bid\":1}",
            "title: invalid UTF-8");
    BAD_LOT("{\"id\":\"x\",\"title\":\"a\xed\xa0\x80\",\"currency\":\"USD\",\"current_bid\":1}",
            "title: invalid UTF-8");
    BAD_LOT("{\"id\":\"x\",\"title\":\"a\\nb\",\"currency\":\"USD\",\"current_bid\":1}",
            "title: invalid UTF-8 or control");
    BAD_LOT("{\"id\":\"x\",\"title\":\"a\\u0000b\",\"currency\":\"USD\",\"current_bid\":1}", "");
}

static void test_lot_missing_and_types(void)
{
    BAD_LOT("{\"title\":\"t\",\"currency\":\"USD\",\"current_bid\":1}", "id: required");
    BAD_LOT("{\"id\":\"x\",\"currency\":\"USD\",\"current_bid\":1}", "title: required");
    BAD_LOT("{\"id\":\"x\",\"title\":\"t\",\"current_bid\":1}", "currency: required");
    BAD_LOT("{" BASE "}", "current_bid: required");
    BAD_LOT("{\"id\":7,"
            "\"title\":\"t\",\"currency\":\"USD\",\"current_bid\":1}",
            "id: expected a string");
    BAD_LOT("{\"id\":\"\",\"title\":\"t\",\"currency\":\"USD\",\"current_bid\":1}",
            "id: must not be empty");
    BAD_LOT("{\"id\":\"x\",\"title\":[\"t\"],\"currency\":\"USD\",\"current_bid\":1}",
            "title: expected a string");
    BAD_LOT("{" BASE ",\"current_bid\":\"12\"}", "current_bid: expected a non-negative amount");
    BAD_LOT("{" BASE ",\"current_bid\":true}", "current_bid: expected");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"bid_count\":\"3\"}", "bid_count: expected");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"bid_count\":1.5}", "bid_count: expected");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"bid_count\":-1}", "bid_count: expected");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"bid_count\":1e10}", "bid_count: too large");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"state\":\"LIVE\"}", "state: expected one of");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"state\":1}", "state: expected one of");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"labels\":\"a\"}", "labels: expected an array");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"labels\":[\"a\",2]}", "labels[1]: expected a string");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"labels\":[\"a\",\"\"]}", "labels[1]: must not");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"labels\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
            "labels: at most 4");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"image\":\"ftp://x/y.png\"}", "image: expected");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"image\":\"relative/y.png\"}", "image: expected");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"image\":\"/srv/../etc/passwd\"}", "image: expected");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"leader\":5}", "leader: expected a string");
}

static void test_lot_currency(void)
{
    BAD_LOT("{\"id\":\"x\",\"title\":\"t\",\"currency\":\"usd\",\"current_bid\":1}",
            "currency: expected 3 upper-case");
    BAD_LOT("{\"id\":\"x\",\"title\":\"t\",\"currency\":\"US\",\"current_bid\":1}",
            "currency: expected 3 upper-case");
    BAD_LOT("{\"id\":\"x\",\"title\":\"t\",\"currency\":\"USDX\",\"current_bid\":1}",
            "currency: too long");
    BAD_LOT("{\"id\":\"x\",\"title\":\"t\",\"currency\":\"U1D\",\"current_bid\":1}",
            "currency: expected 3 upper-case");
    GV_CHECK_INT(gv_currency_exponent("USD"), 2);
    GV_CHECK_INT(gv_currency_exponent("EUR"), 2);
    GV_CHECK_INT(gv_currency_exponent("JPY"), 0);
    GV_CHECK_INT(gv_currency_exponent("KRW"), 0);
    GV_CHECK_INT(gv_currency_exponent("KWD"), 3);
}

static void test_lot_amounts(void)
{
    gv_lot_t lot;
    char err[256] = "";
    BAD_LOT("{" BASE ",\"current_bid\":-1}", "current_bid: expected a non-negative amount");
    BAD_LOT("{" BASE ",\"current_bid\":-0.01}", "current_bid: expected a non-negative");
    BAD_LOT("{" BASE ",\"current_bid\":12.345}", "current_bid: too many decimals (max 2)");
    BAD_LOT("{" BASE ",\"current_bid\":0.001}", "current_bid: too many decimals");
    BAD_LOT("{" BASE ",\"current_bid\":1e-7}", "current_bid: too many decimals");
    BAD_LOT("{" BASE ",\"current_bid\":1e13}", "current_bid: too large");
    BAD_LOT("{" BASE ",\"current_bid\":1e400}", "current_bid:");
    BAD_LOT("{" BASE ",\"current_bid\":100000000000000000000000000000000000000}",
            "current_bid: too large");
    BAD_LOT("{" BASE ",\"starting_bid\":1,\"current_bid\":0.123}", "current_bid: too many");
    BAD_LOT("{\"id\":\"x\",\"title\":\"t\",\"currency\":\"JPY\",\"current_bid\":10.5}",
            "current_bid: too many decimals (max 0)");
    GV_CHECK_INT(parse("{\"id\":\"x\",\"title\":\"t\",\"currency\":\"KWD\",\"current_bid\":1.125}",
                       &lot, err),
                 0);
    GV_CHECK_INT(lot.current_bid, 1125);
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":1e12}", &lot, err), 0);
    GV_CHECK_INT(lot.current_bid, 100000000000000LL);
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":999999999999.99}", &lot, err), 0);
    GV_CHECK_INT(lot.current_bid, 99999999999999LL);
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":0.07}", &lot, err), 0);
    GV_CHECK_INT(lot.current_bid, 7);
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":19.99}", &lot, err), 0);
    GV_CHECK_INT(lot.current_bid, 1999);
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":1.5e2}", &lot, err), 0);
    GV_CHECK_INT(lot.current_bid, 15000);
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":0}", &lot, err), 0);
    GV_CHECK_INT(lot.current_bid, 0);
}

static void test_lot_dates(void)
{
    gv_lot_t lot;
    char err[256] = "";
    GV_CHECK_INT(
        parse("{" BASE ",\"current_bid\":1,\"ends_at\":\"2024-05-01T18:30:00Z\"}", &lot, err), 0);
    GV_CHECK_INT(lot.ends_at_ms, 1714588200000LL);
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":1,\"ends_at\":\"2024-05-01T20:30:00.25+02:00\"}",
                       &lot, err),
                 0);
    GV_CHECK_INT(lot.ends_at_ms, 1714588200250LL);
    GV_CHECK_INT(
        parse("{" BASE ",\"current_bid\":1,\"ends_at\":\"2024-05-01t13:30:00-05:00\"}", &lot, err),
        0);
    GV_CHECK_INT(lot.ends_at_ms, 1714588200000LL);
    GV_CHECK_INT(
        parse("{" BASE ",\"current_bid\":1,\"ends_at\":\"2024-02-29T00:00:00Z\"}", &lot, err), 0);
    GV_CHECK_INT(lot.ends_at_ms, 1709164800000LL);
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":1,\"ends_at\":1714588200.5}", &lot, err), 0);
    GV_CHECK_INT(lot.ends_at_ms, 1714588200500LL);

    static const char *const bad[] = {
        "2024-05-01 18:30:00Z",
        "2024-05-01T18:30:00",
        "2024-05-01T18:30Z",
        "2024-13-01T18:30:00Z",
        "2024-04-31T18:30:00Z",
        "2023-02-29T00:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T18:60:00Z",
        "2024-05-01T18:30:00+2:00",
        "2024-05-01T18:30:00+02",
        "2024-05-01T18:30:00.Z",
        "2024-05-01T18:30:00Zjunk",
        "1969-12-31T23:59:59Z",
        "24-05-01T18:30:00Z",
        "2024-05-01T18:30:00+24:00",
        "2024-05-01T18:30:00.1234567890Z",
        "yesterday",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{" BASE ",\"current_bid\":1,\"ends_at\":\"%s\"}", bad[i]);
        BAD_LOT(body, "ends_at: expected an RFC 3339");
    }
    BAD_LOT("{" BASE ",\"current_bid\":1,\"ends_at\":-5}", "ends_at: expected unix seconds");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"ends_at\":1e300}", "ends_at: expected unix seconds");
    BAD_LOT("{" BASE ",\"current_bid\":1,\"ends_at\":true}", "ends_at: expected unix seconds");
}

static void test_lot_lengths(void)
{
    char body[2048], big[700];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(body, sizeof(body),
             "{\"id\":\"x\",\"title\":\"%.512s\",\"currency\":\"USD\",\"current_bid\":1}", big);
    gv_lot_t lot;
    char err[256] = "";
    GV_CHECK_INT(parse(body, &lot, err), 0); /* exactly 512 bytes */
    GV_CHECK_INT(strlen(lot.title), 512);
    snprintf(body, sizeof(body),
             "{\"id\":\"x\",\"title\":\"%.513s\",\"currency\":\"USD\",\"current_bid\":1}", big);
    BAD_LOT(body, "title: too long (max 512 bytes)");
    snprintf(body, sizeof(body),
             "{\"id\":\"%.65s\",\"title\":\"t\",\"currency\":\"USD\",\"current_bid\":1}", big);
    BAD_LOT(body, "id: too long (max 64 bytes)");
    snprintf(body, sizeof(body), "{" BASE ",\"current_bid\":1,\"leader\":\"%.129s\"}", big);
    BAD_LOT(body, "leader: too long (max 128 bytes)");
    snprintf(body, sizeof(body), "{" BASE ",\"current_bid\":1,\"labels\":[\"%.65s\"]}", big);
    BAD_LOT(body, "labels[0]: too long (max 64 bytes)");
    char img[1200] = "/";
    memset(img + 1, 'b', 1030);
    img[1031] = '\0';
    char body2[1400];
    snprintf(body2, sizeof(body2), "{" BASE ",\"current_bid\":1,\"image\":\"%s\"}", img);
    BAD_LOT(body2, "image: too long (max 1024 bytes)");
}

static void test_lot_bad_json(void)
{
    BAD_LOT("", "body: empty");
    BAD_LOT("{", "body: invalid JSON");
    BAD_LOT("{\"id\":\"x\",}", "body: invalid JSON");
    BAD_LOT("{\"id\":'x'}", "body: invalid JSON");
    BAD_LOT("nul", "body: invalid JSON");
    BAD_LOT("[1,2]", "body: expected a JSON object");
    BAD_LOT("\"str\"", "body: expected a JSON object");
    BAD_LOT("null", "body: expected a JSON object");
    BAD_LOT("{" BASE ",\"current_bid\":1} {}", "body: unexpected data");
    BAD_LOT("{" BASE ",\"current_bid\":1}x", "body: unexpected data");

    /* Deep nesting (in an ignored field) is refused by the parser's depth limit, not the stack. */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 64);
    size_t n = 0;
    n += (size_t)snprintf(deep, 64, "{\"x\":");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    BAD_LOT(deep, "body: invalid JSON");
    free(deep);

    /* Every truncation of a valid body is rejected without crashing. */
    const char *j = "{\"id\":\"lot-42\",\"title\":\"T\",\"currency\":\"USD\",\"current_bid\":12.5,"
                    "\"labels\":[\"a\"],\"ends_at\":\"2024-05-01T18:30:00Z\"}";
    gv_lot_t lot;
    char err[256];
    for (size_t len = 0; len < strlen(j); len++)
        GV_CHECK_INT(gv_lot_parse(j, len, &lot, err, sizeof(err)), GV_EINVAL);
    GV_CHECK_INT(gv_lot_parse(j, strlen(j), &lot, err, sizeof(err)), 0);

    /* Oversized body. */
    size_t huge = 300 * 1024;
    char *h = malloc(huge);
    memset(h, ' ', huge);
    h[0] = '{';
    h[huge - 1] = '}';
    GV_CHECK_INT(gv_lot_parse(h, huge, &lot, err, sizeof(err)), GV_EINVAL);
    GV_CHECK(strncmp(err, "body: too large", 15) == 0);
    free(h);
    /* A NULL error buffer is allowed. */
    GV_CHECK_INT(gv_lot_parse("{", 1, &lot, NULL, 0), GV_EINVAL);
}

static void test_bids(void)
{
    gv_bid_t bid;
    char err[256] = "";
    const char *j = "{\"lot_id\":\"lot-1\",\"amount\":13.5,\"bidder\":\"ana\"}";
    GV_CHECK_INT(gv_bid_parse(j, strlen(j), "USD", &bid, err, sizeof(err)), 0);
    GV_CHECK_STR(bid.lot_id, "lot-1");
    GV_CHECK_INT(bid.amount, 1350);
    GV_CHECK_STR(bid.bidder, "ana");
    GV_CHECK_INT(bid.bid_count, -1);
    GV_CHECK_INT(bid.ends_at_ms, -1);

    j = "{\"lot_id\":\"lot-1\",\"amount\":1400,\"bidder\":\"bo\",\"bid_count\":9,"
        "\"ends_at\":\"2024-05-01T18:30:15Z\"}";
    GV_CHECK_INT(gv_bid_parse(j, strlen(j), "JPY", &bid, err, sizeof(err)), 0);
    GV_CHECK_INT(bid.amount, 1400);
    GV_CHECK_INT(bid.bid_count, 9);
    GV_CHECK_INT(bid.ends_at_ms, 1714588215000LL);

    static const struct {
        const char *json, *prefix;
    } bad[] = {
        {"{\"amount\":1,\"bidder\":\"a\"}", "lot_id: required"},
        {"{\"lot_id\":\"l\",\"bidder\":\"a\"}", "amount: required"},
        {"{\"lot_id\":\"l\",\"amount\":1}", "bidder: required"},
        {"{\"lot_id\":\"l\",\"amount\":1,\"bidder\":\"\"}", "bidder: must not be empty"},
        {"{\"lot_id\":\"l\",\"amount\":-3,\"bidder\":\"a\"}", "amount: expected a non-negative"},
        {"{\"lot_id\":\"l\",\"amount\":1.001,\"bidder\":\"a\"}", "amount: too many decimals"},
        {"{\"lot_id\":\"l\",\"amount\":\"1\",\"bidder\":\"a\"}", "amount: expected"},
        {"{\"lot_id\":\"l\",\"amount\":1,\"bidder\":\"a\",\"bid_count\":-2}", "bid_count:"},
        {"{\"lot_id\":\"l\",\"amount\":1,\"bidder\":\"a\",\"ends_at\":\"soon\"}", "ends_at:"},
        {"[]", "body: expected a JSON object"},
        {"{\"lot_id\":", "body: invalid JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int rc = gv_bid_parse(bad[i].json, strlen(bad[i].json), "USD", &bid, err, sizeof(err));
        if (rc != GV_EINVAL || strncmp(err, bad[i].prefix, strlen(bad[i].prefix)) != 0) {
            fprintf(stderr, "bid %s: rc %d err \"%s\"\n", bad[i].json, rc, err);
            gv_test_failures++;
        }
    }
}

static void test_apply_bid(void)
{
    gv_lot_t lot;
    char err[256] = "";
    GV_CHECK_INT(parse("{" BASE ",\"current_bid\":10,\"bid_count\":4,\"ends_at\":100}", &lot, err),
                 0);
    gv_bid_t bid = {
        .lot_id = "lot-1", .amount = 1100, .bidder = "zed", .bid_count = -1, .ends_at_ms = -1};
    GV_CHECK_INT(gv_lot_apply_bid(&lot, &bid, err, sizeof(err)), 0);
    GV_CHECK_INT(lot.current_bid, 1100);
    GV_CHECK_INT(lot.bid_count, 5);
    GV_CHECK_STR(lot.leader, "zed");
    GV_CHECK_INT(lot.ends_at_ms, 100000);
    bid.bid_count = 12;
    bid.ends_at_ms = 130000;
    GV_CHECK_INT(gv_lot_apply_bid(&lot, &bid, err, sizeof(err)), 0);
    GV_CHECK_INT(lot.bid_count, 12);
    GV_CHECK_INT(lot.ends_at_ms, 130000);
    memcpy(bid.lot_id, "other", 6);
    GV_CHECK_INT(gv_lot_apply_bid(&lot, &bid, err, sizeof(err)), GV_EINVAL);
    GV_CHECK_STR(err, "lot_id does not match the current lot");
}

static void test_format_amount(void)
{
    char out[64];
    gv_lot_format_amount(125000, "USD", out, sizeof(out));
    GV_CHECK_STR(out, "$1,250.00");
    gv_lot_format_amount(1250, "JPY", out, sizeof(out));
    GV_CHECK_STR(out, "\xc2\xa5"
                      "1,250");
    gv_lot_format_amount(1250, "EUR", out, sizeof(out));
    GV_CHECK_STR(out, "\xe2\x82\xac"
                      "12.50");
    gv_lot_format_amount(7, "USD", out, sizeof(out));
    GV_CHECK_STR(out, "$0.07");
    gv_lot_format_amount(0, "GBP", out, sizeof(out));
    GV_CHECK_STR(out, "\xc2\xa3"
                      "0.00");
    gv_lot_format_amount(100000000000000LL, "USD", out, sizeof(out));
    GV_CHECK_STR(out, "$1,000,000,000,000.00");
    gv_lot_format_amount(123456, "SEK", out, sizeof(out));
    GV_CHECK_STR(out, "SEK 1,234.56");
    gv_lot_format_amount(1125, "KWD", out, sizeof(out));
    GV_CHECK_STR(out, "KWD 1.125");
    gv_lot_format_amount(999, "USD", out, 4); /* truncated, still terminated */
    GV_CHECK_INT(strlen(out), 3);
}

static void test_state_names(void)
{
    GV_CHECK_STR(gv_lot_state_name(GV_LOT_UPCOMING), "upcoming");
    GV_CHECK_STR(gv_lot_state_name(GV_LOT_LIVE), "live");
    GV_CHECK_STR(gv_lot_state_name(GV_LOT_SOLD), "sold");
    GV_CHECK_STR(gv_lot_state_name(GV_LOT_UNSOLD), "unsold");
    GV_CHECK_STR(gv_lot_state_name((gv_lot_state_t)17), "upcoming");
}

GV_TEST_MAIN(GV_TEST(test_state_names), GV_TEST(test_lot_valid_full), GV_TEST(test_lot_valid_minimal),
             GV_TEST(test_lot_unicode), GV_TEST(test_lot_missing_and_types),
             GV_TEST(test_lot_currency), GV_TEST(test_lot_amounts), GV_TEST(test_lot_dates),
             GV_TEST(test_lot_lengths), GV_TEST(test_lot_bad_json), GV_TEST(test_bids),
             GV_TEST(test_apply_bid), GV_TEST(test_format_amount))
