/* Builders for the RTMP messages gavel sends: protocol control (chunk size, acknowledgement,
 * window, peer bandwidth, user control) and AMF0 command replies (_result, _error, onStatus).
 * Each appends chunked bytes to out through the connection's chunk writer. */
#ifndef GV_RTMP_MESSAGE_H
#define GV_RTMP_MESSAGE_H

#include <stdint.h>

#include "ingest/bytes.h"
#include "ingest/rtmp_chunk.h"

#define GV_RTMP_CSID_CONTROL 2 /* protocol control and user control, message stream 0 */
#define GV_RTMP_CSID_COMMAND 3 /* NetConnection commands */
#define GV_RTMP_CSID_STREAM 5  /* NetStream status */

enum { /* User Control event types */
       GV_RTMP_UC_STREAM_BEGIN = 0,
       GV_RTMP_UC_STREAM_EOF = 1,
       GV_RTMP_UC_SET_BUFFER_LENGTH = 3,
       GV_RTMP_UC_PING_REQUEST = 6,
       GV_RTMP_UC_PING_RESPONSE = 7,
};

/* Sends Set Chunk Size and then switches the writer to it. */
int gv_rtmp_put_set_chunk_size(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t size);
int gv_rtmp_put_ack(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t sequence);
int gv_rtmp_put_window_ack_size(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t size);
/* limit: 0 hard, 1 soft, 2 dynamic. */
int gv_rtmp_put_peer_bandwidth(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t size,
                               uint8_t limit);
int gv_rtmp_put_user_control(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint16_t event,
                             uint32_t value);

/* An AMF0 command message with the given encoded body. */
int gv_rtmp_put_command(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t csid,
                        uint32_t stream_id, const gv_bytes_t *body);

/* Command bodies (AMF0, appended to b). */
void gv_rtmp_body_connect_result(gv_bytes_t *b, double txn);
/* "_result"(txn, null, <number>) or, when has_value is false, "_result"(txn, null, undefined) */
void gv_rtmp_body_result(gv_bytes_t *b, double txn, bool has_value, double value);
void gv_rtmp_body_error(gv_bytes_t *b, double txn, const char *code, const char *description);
void gv_rtmp_body_on_status(gv_bytes_t *b, const char *level, const char *code,
                            const char *description);

#endif
