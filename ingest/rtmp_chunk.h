/* RTMP chunk stream: an incremental, allocation-bounded reader that turns received bytes into
 * complete messages, and a writer that splits outgoing messages into chunks. The reader is a
 * pure parser: feed it any split of the byte stream and it yields the same messages. */
#ifndef GV_RTMP_CHUNK_H
#define GV_RTMP_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/bytes.h"

/* Message type ids. */
enum {
    GV_RTMP_SET_CHUNK_SIZE = 1,
    GV_RTMP_ABORT = 2,
    GV_RTMP_ACK = 3,
    GV_RTMP_USER_CONTROL = 4,
    GV_RTMP_WINDOW_ACK_SIZE = 5,
    GV_RTMP_SET_PEER_BANDWIDTH = 6,
    GV_RTMP_AUDIO = 8,
    GV_RTMP_VIDEO = 9,
    GV_RTMP_DATA_AMF3 = 15,
    GV_RTMP_COMMAND_AMF3 = 17,
    GV_RTMP_DATA_AMF0 = 18,
    GV_RTMP_COMMAND_AMF0 = 20,
    GV_RTMP_AGGREGATE = 22,
};

#define GV_RTMP_DEFAULT_CHUNK_SIZE 128
#define GV_RTMP_MIN_CSID 2
#define GV_RTMP_MAX_CSID 65599
#define GV_RTMP_EXT_TS 0xffffffu /* 24-bit field value announcing an extended timestamp */

typedef struct {
    size_t max_message_bytes; /* declared message length cap */
    uint32_t max_chunk_size;  /* largest Set Chunk Size accepted from the peer */
    size_t max_chunk_streams; /* distinct chunk stream ids remembered */
    size_t max_inflight;      /* chunk streams holding a partly received message */
} gv_rtmp_chunk_limits_t;

/* One complete message. payload stays valid until the next feed call or destroy. */
typedef struct {
    uint32_t csid;
    uint8_t type;
    uint32_t stream_id;
    uint32_t timestamp; /* 32-bit milliseconds, wraps */
    const uint8_t *payload;
    size_t size;
} gv_rtmp_msg_t;

typedef struct gv_rtmp_chunk_reader gv_rtmp_chunk_reader_t;

/* Limits of 0 take defaults (4 MiB, 65536, 64, 8). NULL on allocation failure. */
gv_rtmp_chunk_reader_t *gv_rtmp_chunk_reader_create(const gv_rtmp_chunk_limits_t *lim);
void gv_rtmp_chunk_reader_destroy(gv_rtmp_chunk_reader_t *r);

/* Consumes bytes from in[0..len). Returns 1 when a message completed (*msg filled; *consumed
 * says how far it read, call again with the rest), 0 when every byte was consumed without
 * completing one, or a negative error: GV_EPROTO (bad header, fmt 1-3 without a previous
 * header, bad Set Chunk Size/Abort), GV_ETOOBIG (message or chunk size over the limit),
 * GV_ELIMIT (too many chunk streams), GV_ENOMEM. After an error the reader is unusable.
 * Set Chunk Size (type 1) and Abort (type 2) are applied here and still returned. */
int gv_rtmp_chunk_reader_feed(gv_rtmp_chunk_reader_t *r, const uint8_t *in, size_t len,
                              size_t *consumed, gv_rtmp_msg_t *msg);
/* Validates and applies a chunk size: 0 or above 2^31-1 -> GV_EPROTO, above the configured
 * maximum -> GV_ETOOBIG. */
int gv_rtmp_chunk_reader_set_chunk_size(gv_rtmp_chunk_reader_t *r, uint32_t size);
uint32_t gv_rtmp_chunk_reader_chunk_size(const gv_rtmp_chunk_reader_t *r);

/* The writer keeps the last header per chunk stream so it can use the compact formats. */
#define GV_RTMP_WRITER_STREAMS 16

typedef struct {
    uint32_t csid;
    uint32_t timestamp;
    uint32_t ts_field; /* last timestamp field written (absolute for fmt 0, else delta) */
    uint32_t length;
    uint32_t stream_id;
    uint8_t type;
} gv_rtmp_wstream_t;

typedef struct {
    uint32_t chunk_size;
    bool compress;    /* use fmt 1/2/3 headers when possible (default true) */
    bool ext_in_fmt3; /* repeat the extended timestamp in fmt 3 chunks (default true) */
    gv_rtmp_wstream_t streams[GV_RTMP_WRITER_STREAMS];
    size_t n_streams;
} gv_rtmp_chunk_writer_t;

void gv_rtmp_chunk_writer_init(gv_rtmp_chunk_writer_t *w, uint32_t chunk_size);
/* Appends msg as chunks to out. Returns 0 or GV_EINVAL (bad csid) / out->err. */
int gv_rtmp_chunk_write(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t csid, uint8_t type,
                        uint32_t stream_id, uint32_t timestamp, const uint8_t *payload, size_t len);

#endif
