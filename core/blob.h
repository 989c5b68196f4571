/* Refcounted immutable byte buffers: how finished init segments and parts are stored and
 * handed to the HTTP side without copying (one blob can be referenced by many responses). */
#ifndef GV_BLOB_H
#define GV_BLOB_H

#include <stddef.h>
#include <stdint.h>

typedef struct gv_blob {
    int refs; /* atomic */
    size_t size;
    uint8_t data[];
} gv_blob_t;

/* Allocates a blob of size bytes (contents uninitialised), refs = 1. NULL on failure. */
gv_blob_t *gv_blob_create(size_t size);
/* Allocates a blob holding a copy of data. */
gv_blob_t *gv_blob_from(const void *data, size_t size);
gv_blob_t *gv_blob_ref(gv_blob_t *b);
void gv_blob_unref(gv_blob_t *b);

#endif
