/* RTMP chunk writer: splits a message into chunks, choosing the most compact header format the
 * previous message on the same chunk stream allows (see rtmp_chunk.h). */
#include "ingest/rtmp_chunk.h"

#include <string.h>

#include "core/error.h"

void gv_rtmp_chunk_writer_init(gv_rtmp_chunk_writer_t *w, uint32_t chunk_size)
{
    memset(w, 0, sizeof(*w));
    w->chunk_size = chunk_size ? chunk_size : GV_RTMP_DEFAULT_CHUNK_SIZE;
    w->compress = true;
    w->ext_in_fmt3 = true;
}

static void put_basic(gv_bytes_t *out, unsigned fmt, uint32_t csid)
{
    if (csid < 64) {
        gv_bytes_u8(out, (uint8_t)(fmt << 6 | csid));
    } else if (csid < 320) {
        gv_bytes_u8(out, (uint8_t)(fmt << 6));
        gv_bytes_u8(out, (uint8_t)(csid - 64));
    } else {
        gv_bytes_u8(out, (uint8_t)(fmt << 6 | 1));
        gv_bytes_u8(out, (uint8_t)((csid - 64) & 0xff));
        gv_bytes_u8(out, (uint8_t)((csid - 64) >> 8));
    }
}

static gv_rtmp_wstream_t *writer_stream(gv_rtmp_chunk_writer_t *w, uint32_t csid, bool *fresh)
{
    *fresh = false;
    for (size_t i = 0; i < w->n_streams; i++) {
        if (w->streams[i].csid == csid)
            return &w->streams[i];
    }
    if (w->n_streams == GV_RTMP_WRITER_STREAMS)
        return NULL; /* untracked: always full headers */
    *fresh = true;
    gv_rtmp_wstream_t *s = &w->streams[w->n_streams++];
    memset(s, 0, sizeof(*s));
    s->csid = csid;
    return s;
}

int gv_rtmp_chunk_write(gv_rtmp_chunk_writer_t *w, gv_bytes_t *out, uint32_t csid, uint8_t type,
                        uint32_t stream_id, uint32_t timestamp, const uint8_t *payload, size_t len)
{
    if (csid < GV_RTMP_MIN_CSID || csid > GV_RTMP_MAX_CSID || len > 0xffffff)
        return GV_EINVAL;
    bool fresh;
    gv_rtmp_wstream_t *s = writer_stream(w, csid, &fresh);
    unsigned fmt = 0;
    uint32_t field = timestamp;
    if (s && !fresh && w->compress && s->stream_id == stream_id && timestamp >= s->timestamp) {
        field = timestamp - s->timestamp;
        if (s->length != len || s->type != type)
            fmt = 1;
        else if (field != s->ts_field)
            fmt = 2;
        else
            fmt = 3;
    }
    if (fmt == 0)
        field = timestamp;
    bool ext = field >= GV_RTMP_EXT_TS;

    put_basic(out, fmt, csid);
    if (fmt < 3)
        gv_bytes_u24be(out, ext ? GV_RTMP_EXT_TS : field);
    if (fmt < 2) {
        gv_bytes_u24be(out, (uint32_t)len);
        gv_bytes_u8(out, type);
    }
    if (fmt == 0)
        gv_bytes_u32le(out, stream_id);
    if (ext && (fmt < 3 || w->ext_in_fmt3))
        gv_bytes_u32be(out, field);

    size_t pos = 0;
    for (;;) {
        size_t n = len - pos < w->chunk_size ? len - pos : w->chunk_size;
        gv_bytes_put(out, payload + pos, n);
        pos += n;
        if (pos >= len)
            break;
        put_basic(out, 3, csid);
        if (ext && w->ext_in_fmt3)
            gv_bytes_u32be(out, field);
    }
    if (s) {
        s->timestamp = timestamp;
        s->ts_field = field;
        s->length = (uint32_t)len;
        s->type = type;
        s->stream_id = stream_id;
    }
    return out->err;
}
