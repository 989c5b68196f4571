/* Overlay-internal: the lot shown on the card, the pure JSON validation of control-API bodies
 * into it, and the thread-safe per-stream state holder (update from HTTP, snapshot per frame). */
#ifndef GV_LOT_H
#define GV_LOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { GV_LOT_UPCOMING = 0, GV_LOT_LIVE, GV_LOT_SOLD, GV_LOT_UNSOLD } gv_lot_state_t;

typedef struct {
    char id[65];
    char title[513];        /* UTF-8, ellipsized when rendered */
    char image[1025];       /* URL (http/https) or absolute path; "" = none */
    char currency[4];       /* ISO 4217, e.g. "USD" */
    int64_t starting_bid;   /* minor units (cents) */
    int64_t current_bid;    /* minor units */
    int64_t bid_count;
    char leader[129];       /* leading bidder's display name, UTF-8 */
    int64_t ends_at_ms;     /* unix ms; 0 = no countdown */
    gv_lot_state_t state;
    char labels[4][65];     /* e.g. "Free shipping" */
    int n_labels;
} gv_lot_t;

/* Parses a PUT /lot body. 0, or GV_EINVAL with a message like "current_bid: expected a
 * non-negative amount" in err. Amounts are JSON numbers in major units (12.5 = 1250 cents;
 * currencies without minor units like JPY: 1 = 1), at most 2 decimals. ends_at: unix seconds
 * (number) or RFC 3339 string. */
/* "upcoming", "live", "sold" or "unsold": the API's and the playlist's name of a state. */
const char *gv_lot_state_name(gv_lot_state_t s);

int gv_lot_parse(const char *json, size_t len, gv_lot_t *out, char *err, size_t errlen);

typedef struct {
    char lot_id[65];
    int64_t amount;         /* minor units */
    char bidder[129];
    int64_t bid_count;      /* -1 when absent */
    int64_t ends_at_ms;     /* -1 when absent */
} gv_bid_t;

/* Parses a POST /bids body; currency gives the minor-unit exponent. */
int gv_bid_parse(const char *json, size_t len, const char *currency, gv_bid_t *out, char *err,
                 size_t errlen);
/* Applies a bid to a lot: GV_EINVAL ("lot_id does not match the current lot") when ids differ. */
int gv_lot_apply_bid(gv_lot_t *lot, const gv_bid_t *bid, char *err, size_t errlen);
/* Formats an amount with its currency for display ("$1,250.00", "¥1,250", "€12.50"). */
void gv_lot_format_amount(int64_t minor, const char *currency, char *out, size_t outlen);
/* Minor-unit exponent of a currency (2 for most, 0 for JPY/KRW/...). */
int gv_currency_exponent(const char *currency);

#endif
