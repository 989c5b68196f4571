/* Outgoing RTMP protocol-control messages and AMF0 command replies (see rtmp_message.h). */
#include "ingest/rtmp_message.h"

#include "ingest/amf0.h"

static int put_u32_msg(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint8_t type, uint32_t v)
{
    uint8_t p[4];
    gv_wr_u32be(p, v);
    return gv_rtmp_chunk_write(w, out, GV_RTMP_CSID_CONTROL, type, 0, 0, p, sizeof(p));
}

int gv_rtmp_put_set_chunk_size(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t size)
{
    int err = put_u32_msg(w, out, GV_RTMP_SET_CHUNK_SIZE, size & 0x7fffffffu);
    if (!err)
        w->chunk_size = size;
    return err;
}

int gv_rtmp_put_ack(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t sequence)
{
    return put_u32_msg(w, out, GV_RTMP_ACK, sequence);
}

int gv_rtmp_put_window_ack_size(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t size)
{
    return put_u32_msg(w, out, GV_RTMP_WINDOW_ACK_SIZE, size);
}

int gv_rtmp_put_peer_bandwidth(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t size,
                               uint8_t limit)
{
    uint8_t p[5];
    gv_wr_u32be(p, size);
    p[4] = limit;
    return gv_rtmp_chunk_write(w, out, GV_RTMP_CSID_CONTROL, GV_RTMP_SET_PEER_BANDWIDTH, 0, 0, p,
                               sizeof(p));
}

int gv_rtmp_put_user_control(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint16_t event,
                             uint32_t value)
{
    uint8_t p[6] = {(uint8_t)(event >> 8), (uint8_t)event};
    gv_wr_u32be(p + 2, value);
    return gv_rtmp_chunk_write(w, out, GV_RTMP_CSID_CONTROL, GV_RTMP_USER_CONTROL, 0, 0, p,
                               sizeof(p));
}

int gv_rtmp_put_command(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t csid,
                        uint32_t stream_id, const gv_bytes_t *body)
{
    if (body->err)
        return body->err;
    return gv_rtmp_chunk_write(w, out, csid, GV_RTMP_COMMAND_AMF0, stream_id, 0, body->data,
                               body->len);
}

void gv_rtmp_body_connect_result(gv_bytes_t *b, double txn)
{
    gv_amf0_put_string(b, "_result");
    gv_amf0_put_number(b, txn);
    gv_amf0_put_object_begin(b);
    gv_amf0_put_key(b, "fmsVer");
    gv_amf0_put_string(b, "FMS/3,0,1,123");
    gv_amf0_put_key(b, "capabilities");
    gv_amf0_put_number(b, 31);
    gv_amf0_put_object_end(b);
    gv_amf0_put_object_begin(b);
    gv_amf0_put_key(b, "level");
    gv_amf0_put_string(b, "status");
    gv_amf0_put_key(b, "code");
    gv_amf0_put_string(b, "NetConnection.Connect.Success");
    gv_amf0_put_key(b, "description");
    gv_amf0_put_string(b, "Connection succeeded.");
    gv_amf0_put_key(b, "objectEncoding");
    gv_amf0_put_number(b, 0);
    gv_amf0_put_object_end(b);
}

void gv_rtmp_body_result(gv_bytes_t *b, double txn, bool has_value, double value)
{
    gv_amf0_put_string(b, "_result");
    gv_amf0_put_number(b, txn);
    gv_amf0_put_null(b);
    if (has_value)
        gv_amf0_put_number(b, value);
    else
        gv_amf0_put_undefined(b);
}

static void status_object(gv_bytes_t *b, const char *level, const char *code,
                          const char *description)
{
    gv_amf0_put_object_begin(b);
    gv_amf0_put_key(b, "level");
    gv_amf0_put_string(b, level);
    gv_amf0_put_key(b, "code");
    gv_amf0_put_string(b, code);
    gv_amf0_put_key(b, "description");
    gv_amf0_put_string(b, description);
    gv_amf0_put_object_end(b);
}

void gv_rtmp_body_error(gv_bytes_t *b, double txn, const char *code, const char *description)
{
    gv_amf0_put_string(b, "_error");
    gv_amf0_put_number(b, txn);
    gv_amf0_put_null(b);
    status_object(b, "error", code, description);
}

void gv_rtmp_body_on_status(gv_bytes_t *b, const char *level, const char *code,
                            const char *description)
{
    gv_amf0_put_string(b, "onStatus");
    gv_amf0_put_number(b, 0);
    gv_amf0_put_null(b);
    status_object(b, level, code, description);
}
