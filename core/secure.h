/* Comparison of secrets (publish keys, API bearer tokens) whose running time does not depend on
 * where the inputs first differ, so response timing reveals nothing about how much matched. */
#ifndef GV_SECURE_H
#define GV_SECURE_H

#include <stdbool.h>
#include <stddef.h>

/* True when a[0..la) equals b[0..lb). Reads every byte of the longer input: no early exit. */
static inline bool gv_secure_equal(const char *a, size_t la, const char *b, size_t lb)
{
    size_t n = la > lb ? la : lb;
    unsigned diff = (unsigned)(la ^ lb);
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = i < la ? (unsigned char)a[i] : 0;
        unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(ca ^ cb);
    }
    return diff == 0;
}

#endif
