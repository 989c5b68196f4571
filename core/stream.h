/* Streams and the registry that holds them. A stream exists per configured (name, key); it owns
 * its packager and knows which publisher, if any, is attached. Ingest protocols find a stream by
 * key, attach as its publisher (subject to the duplicate-publisher policy), push media units and
 * detach. The registry is created from config and is safe to use from the I/O and SRT threads. */
#ifndef GV_STREAM_H
#define GV_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/media.h"

typedef struct gv_stream gv_stream_t;
typedef struct gv_registry gv_registry_t;
struct gv_pkg;

/* Implemented by an ingest session (RTMP, SRT). The registry calls kick() when a newer publisher
 * takes the stream over; kick is called on the thread that attaches the newcomer and must only
 * schedule the old session's teardown (it must not call back into the registry). */
typedef struct gv_publisher {
    void (*kick)(struct gv_publisher *self, const char *reason);
    const char *proto;  /* "rtmp", "srt" */
    const char *peer;   /* "addr:port", for logs */
    int64_t last_media_mono_us; /* updated by gv_stream_push */
} gv_publisher_t;

gv_registry_t *gv_registry_create(const gv_config_t *cfg);
void gv_registry_destroy(gv_registry_t *reg);

/* Finds a stream by publish key, comparing in constant time over all keys. NULL when unknown. */
gv_stream_t *gv_registry_find_by_key(gv_registry_t *reg, const char *key);
gv_stream_t *gv_registry_find_by_name(gv_registry_t *reg, const char *name);
size_t gv_registry_count(gv_registry_t *reg);
gv_stream_t *gv_registry_at(gv_registry_t *reg, size_t i);

/* Attaches p as the stream's publisher. Returns 0, or GV_EBUSY when the policy refuses the
 * newcomer. On takeover the old publisher's kick() is called before this returns. Starts a new
 * publish on the packager (discontinuity, new init segment). */
int gv_stream_attach(gv_stream_t *s, gv_publisher_t *p);
/* Non-binding check made before a connection is accepted (SRT decides in its listen
 * callback): true when gv_stream_attach would accept a newcomer right now under the duplicate
 * policy. The real decision is still gv_stream_attach's. */
bool gv_stream_would_accept(gv_stream_t *s);
/* Detaches p if it is still the publisher; closes the open segment. Safe to call twice. */
void gv_stream_detach(gv_stream_t *s, gv_publisher_t *p);
/* Hands a unit to the stream's pipeline (overlay or packager). The caller keeps its reference.
 * Returns GV_ECLOSED if p is not (any more) the publisher. */
int gv_stream_push(gv_stream_t *s, gv_publisher_t *p, gv_unit_t *u);
/* Ends every stream's playlist (EXT-X-ENDLIST); used at shutdown. */
void gv_registry_finish_all(gv_registry_t *reg);

const char *gv_stream_name(const gv_stream_t *s);
const gv_stream_config_t *gv_stream_config(const gv_stream_t *s);
struct gv_pkg *gv_stream_packager(gv_stream_t *s);
/* The stream's overlay worker, or NULL when the stream has no overlay enabled. */
struct gv_overlay *gv_stream_overlay(gv_stream_t *s);
bool gv_stream_is_live(gv_stream_t *s);

#endif
