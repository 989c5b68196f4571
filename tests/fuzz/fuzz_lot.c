/* libFuzzer target for the control API's body parsers: lot (PUT) and bid (POST) JSON. */
#include <stddef.h>
#include <stdint.h>

#include "overlay/lot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gv_lot_t lot;
    gv_bid_t bid;
    char err[256];
    if (gv_lot_parse((const char *)data, size, &lot, err, sizeof(err)) == 0) {
        char amount[64];
        gv_lot_format_amount(lot.current_bid, lot.currency, amount, sizeof(amount));
        if (gv_bid_parse((const char *)data, size, lot.currency, &bid, err, sizeof(err)) == 0)
            gv_lot_apply_bid(&lot, &bid, err, sizeof(err));
    } else {
        gv_bid_parse((const char *)data, size, "USD", &bid, err, sizeof(err));
    }
    return 0;
}
