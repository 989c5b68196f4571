/* Refcounted byte buffers (see blob.h). */
#include "core/blob.h"

#include <stdlib.h>
#include <string.h>

gv_blob_t *gv_blob_create(size_t size)
{
    gv_blob_t *b = malloc(sizeof(*b) + (size ? size : 1));
    if (!b)
        return NULL;
    b->refs = 1;
    b->size = size;
    return b;
}

gv_blob_t *gv_blob_from(const void *data, size_t size)
{
    gv_blob_t *b = gv_blob_create(size);
    if (b && size)
        memcpy(b->data, data, size);
    return b;
}

gv_blob_t *gv_blob_ref(gv_blob_t *b)
{
    if (b)
        __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
    return b;
}

void gv_blob_unref(gv_blob_t *b)
{
    if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(b);
}
