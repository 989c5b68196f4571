/* The RTMP publisher state machine (see rtmp_session.h). No sockets here: the server feeds
 * received bytes and writes out whatever the session appended to its output buffer.
 *
 * Sequence accepted (OBS, ffmpeg, GStreamer rtmp2sink all send this family):
 *   C0+C1 -> S0+S1+S2, C2
 *   connect            -> Window Ack Size, Set Peer Bandwidth, Set Chunk Size, _result
 *   releaseStream, FCPublish, createStream -> _result (createStream answers stream id 1)
 *   publish(name)      -> key lookup + attach; only then Stream Begin + Publish.Start,
 *                         else onStatus error (BadName) and close
 *   @setDataFrame, audio/video messages -> FLV parser -> registry
 *   FCUnpublish / deleteStream / closeStream -> detach */
#include "ingest/rtmp_session.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "ingest/amf0.h"
#include "ingest/flv.h"
#include "ingest/rtmp_chunk.h"
#include "ingest/rtmp_handshake.h"
#include "ingest/rtmp_message.h"

#define PUBLISH_STREAM_ID 1
#define MAX_COMMAND_VALUES 64
#define MAX_KEY_LEN 256
#define MIN_ACK_WINDOW 4096 /* a tiny peer window would make us ack every few bytes */

struct gv_rtmp_session {
    gv_publisher_t pub; /* first member: the kick callback gets back to the session from it */
    const gv_config_t *cfg;
    gv_registry_t *reg;
    char peer[96];
    void (*on_kick)(void *opaque, const char *reason);
    void *opaque;

    gv_rtmp_state_t state;
    int64_t created_mono_us;
    uint8_t hs[GV_RTMP_HS_C0C1_SIZE];
    size_t hs_got;
    bool hs_c2; /* S0-S2 sent, collecting C2 */

    gv_rtmp_chunk_reader_t *rd;
    gv_rtmp_chunk_writer_t wr;
    gv_bytes_t body; /* scratch for AMF0 reply bodies */

    uint64_t bytes_in;
    uint64_t last_ack;
    uint32_t ack_window;

    gv_stream_t *stream;     /* set while attached */
    const char *stream_name; /* of the last attach, kept for the close log line */
    gv_flv_t flv;
    bool audio_unsupported_logged;
    bool push_error_logged;
    uint64_t units;
    int kicked; /* atomic: set from whichever thread attached the newcomer */
    char reason[160];
};

static void kick_cb(gv_publisher_t *self, const char *reason)
{
    gv_rtmp_session_t *s = (gv_rtmp_session_t *)self;
    __atomic_store_n(&s->kicked, 1, __ATOMIC_RELEASE);
    if (s->on_kick)
        s->on_kick(s->opaque, reason);
}

gv_rtmp_session_t *gv_rtmp_session_create(const gv_rtmp_session_opts_t *o)
{
    gv_rtmp_session_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = o->cfg;
    s->reg = o->reg;
    snprintf(s->peer, sizeof(s->peer), "%s", o->peer ? o->peer : "?");
    s->on_kick = o->on_kick;
    s->opaque = o->opaque;
    s->pub.kick = kick_cb;
    s->pub.proto = "rtmp";
    s->pub.peer = s->peer;
    s->created_mono_us = gv_mono_us();
    gv_rtmp_chunk_limits_t lim = {
        .max_message_bytes = (size_t)o->cfg->rtmp.max_message_bytes,
        .max_chunk_size = (uint32_t)o->cfg->rtmp.max_chunk_size,
    };
    s->rd = gv_rtmp_chunk_reader_create(&lim);
    if (!s->rd) {
        free(s);
        return NULL;
    }
    gv_rtmp_chunk_writer_init(&s->wr, GV_RTMP_DEFAULT_CHUNK_SIZE);
    gv_bytes_init(&s->body, 64 * 1024);
    s->ack_window = o->cfg->rtmp.ack_window > 0 ? (uint32_t)o->cfg->rtmp.ack_window : 2500000;
    gv_flv_init(&s->flv);
    return s;
}

static void detach(gv_rtmp_session_t *s)
{
    if (s->stream) {
        gv_stream_detach(s->stream, &s->pub);
        s->stream = NULL;
    }
    gv_flv_reset(&s->flv);
}

void gv_rtmp_session_destroy(gv_rtmp_session_t *s)
{
    if (!s)
        return;
    detach(s);
    gv_rtmp_chunk_reader_destroy(s->rd);
    gv_bytes_free(&s->body);
    free(s);
}

gv_rtmp_state_t gv_rtmp_session_state(const gv_rtmp_session_t *s)
{
    return s->state;
}

const char *gv_rtmp_session_reason(const gv_rtmp_session_t *s)
{
    return s->reason;
}

const char *gv_rtmp_session_stream_name(const gv_rtmp_session_t *s)
{
    return s->stream_name;
}

uint64_t gv_rtmp_session_units(const gv_rtmp_session_t *s)
{
    return s->units;
}

uint64_t gv_rtmp_session_bytes_in(const gv_rtmp_session_t *s)
{
    return s->bytes_in;
}

/* Records why the session ends (first reason wins) and returns err. */
static int fail(gv_rtmp_session_t *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(gv_rtmp_session_t *s, int err, const char *fmt, ...)
{
    if (!s->reason[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
        va_end(ap);
    }
    return err;
}

static int handshake(gv_rtmp_session_t *s, const uint8_t *p, size_t n, size_t *used,
                     gv_bytes_t *out)
{
    size_t want = s->hs_c2 ? GV_RTMP_HS_SIZE : GV_RTMP_HS_C0C1_SIZE;
    size_t take = n < want - s->hs_got ? n : want - s->hs_got;
    memcpy(s->hs + s->hs_got, p, take);
    s->hs_got += take;
    *used = take;
    /* Judge C0 on its own so a wrong protocol is reported at once, not after 1536 bytes. */
    if (!s->hs_c2 && s->hs[0] != GV_RTMP_VERSION) {
        if (s->hs[0] == 6 || s->hs[0] == 8)
            return fail(s, GV_EUNSUPP, "handshake: encrypted RTMPE (version %u) not supported",
                        s->hs[0]);
        return fail(s, GV_EPROTO, "handshake: not RTMP (first byte 0x%02x, expected 0x03)",
                    s->hs[0]);
    }
    if (s->hs_got < want)
        return 0;
    if (!s->hs_c2) {
        uint8_t rnd[GV_RTMP_HS_RANDOM_SIZE];
        uint8_t resp[GV_RTMP_HS_S0S1S2_SIZE];
        bool digest = false;
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
            return fail(s, GV_EIO, "handshake: no random bytes");
        uint32_t uptime = (uint32_t)((gv_mono_us() - s->created_mono_us) / 1000);
        int err = gv_rtmp_handshake_respond(s->hs, rnd, uptime, resp, &digest);
        if (err)
            return fail(s, err, "handshake rejected");
        gv_bytes_put(out, resp, sizeof(resp));
        gv_log(GV_LOG_DEBUG, s->peer, "handshake: %s variant", digest ? "digest" : "plain");
        s->hs_c2 = true;
        s->hs_got = 0;
        return 0;
    }
    int err = gv_rtmp_handshake_check_c2(s->hs);
    if (err)
        return fail(s, err, "handshake: bad C2");
    s->state = GV_RTMP_STATE_CONNECTING;
    return 0;
}

/* Sends a command body that was built in s->body, then clears it. */
static int send_body(gv_rtmp_session_t *s, gv_bytes_t *out, uint32_t csid, uint32_t stream_id)
{
    int err = gv_rtmp_put_command(&s->wr, out, csid, stream_id, &s->body);
    gv_bytes_reset(&s->body);
    return err;
}

static int on_connect(gv_rtmp_session_t *s, const gv_amf0_t *args, double txn, gv_bytes_t *out)
{
    if (s->state != GV_RTMP_STATE_CONNECTING)
        return fail(s, GV_EPROTO, "connect received twice");
    const char *app = gv_amf0_str(gv_amf0_get(gv_amf0_at(args, 2), "app"));
    gv_log(GV_LOG_DEBUG, s->peer, "connect app '%s'", app ? app : "");
    uint32_t window = (uint32_t)s->cfg->rtmp.ack_window;
    int err = gv_rtmp_put_window_ack_size(&s->wr, out, window);
    if (!err)
        err = gv_rtmp_put_peer_bandwidth(&s->wr, out, window, 2);
    if (!err)
        err = gv_rtmp_put_set_chunk_size(&s->wr, out, (uint32_t)s->cfg->rtmp.out_chunk_size);
    if (err)
        return fail(s, err, "cannot build connect reply");
    gv_rtmp_body_connect_result(&s->body, txn);
    if ((err = send_body(s, out, GV_RTMP_CSID_COMMAND, 0)) != 0)
        return fail(s, err, "cannot build connect reply");
    s->state = GV_RTMP_STATE_CONNECTED;
    return 0;
}

static int send_status(gv_rtmp_session_t *s, gv_bytes_t *out, const char *level, const char *code,
                       const char *description)
{
    gv_rtmp_body_on_status(&s->body, level, code, description);
    return send_body(s, out, GV_RTMP_CSID_STREAM, PUBLISH_STREAM_ID);
}

/* Refuses a publish: error status to the client, then the connection closes. */
static int refuse(gv_rtmp_session_t *s, gv_bytes_t *out, int err, const char *description)
{
    send_status(s, out, "error", "NetStream.Publish.BadName", description);
    return fail(s, err, "publish refused: %s", description);
}

static int on_publish(gv_rtmp_session_t *s, const gv_amf0_t *args, gv_bytes_t *out)
{
    if (s->state == GV_RTMP_STATE_PUBLISHING)
        return fail(s, GV_EPROTO, "publish received while already publishing");
    const char *name = gv_amf0_str(gv_amf0_at(args, 3));
    if (!name)
        return refuse(s, out, GV_EAUTH, "missing stream key");
    /* The key is the publishing name up to any "?query" (OBS and others append options). */
    size_t klen = strcspn(name, "?");
    if (klen == 0 || klen > MAX_KEY_LEN)
        return refuse(s, out, GV_EAUTH, "invalid stream key");
    char key[MAX_KEY_LEN + 1];
    memcpy(key, name, klen);
    key[klen] = '\0';
    gv_stream_t *st = gv_registry_find_by_key(s->reg, key);
    memset(key, 0, sizeof(key));
    if (!st)
        return refuse(s, out, GV_EAUTH, "unknown stream key");
    gv_flv_reset(&s->flv);
    int err = gv_stream_attach(st, &s->pub);
    if (err == GV_EBUSY)
        return refuse(s, out, GV_EBUSY, "stream is already being published");
    if (err)
        return refuse(s, out, err, "stream unavailable");
    s->stream = st;
    s->stream_name = gv_stream_name(st);
    s->state = GV_RTMP_STATE_PUBLISHING;
    err = gv_rtmp_put_user_control(&s->wr, out, GV_RTMP_UC_STREAM_BEGIN, PUBLISH_STREAM_ID);
    if (!err)
        err = send_status(s, out, "status", "NetStream.Publish.Start", "Start publishing");
    if (err)
        return fail(s, err, "cannot build publish reply");
    gv_log(GV_LOG_DEBUG, s->peer, "publishing stream '%s'", gv_stream_name(st));
    return 0;
}

static int on_command(gv_rtmp_session_t *s, const gv_rtmp_msg_t *m, gv_bytes_t *out)
{
    const uint8_t *p = m->payload;
    size_t n = m->size;
    if (m->type == GV_RTMP_COMMAND_AMF3) {
        /* An AMF3 command message starts with a format byte, then AMF0 values. */
        if (n < 1)
            return fail(s, GV_EPROTO, "empty AMF3 command");
        p++;
        n--;
    }
    gv_amf0_t *args = NULL;
    int err = gv_amf0_decode_seq(p, n, MAX_COMMAND_VALUES, &args);
    if (err)
        return fail(s, err, "malformed AMF0 command (%s)", gv_strerror(err));
    const char *name = gv_amf0_str(gv_amf0_at(args, 0));
    double txn = 0;
    gv_amf0_num(gv_amf0_at(args, 1), &txn);
    if (!name) {
        err = fail(s, GV_EPROTO, "command without a name");
        goto out;
    }
    gv_log(GV_LOG_DEBUG, s->peer, "command %.64s (transaction %.0f)", name, txn);
    if (!strcmp(name, "connect")) {
        err = on_connect(s, args, txn, out);
        goto out;
    }
    if (s->state == GV_RTMP_STATE_CONNECTING) {
        err = fail(s, GV_EPROTO, "command '%.64s' before connect", name);
        goto out;
    }
    if (!strcmp(name, "releaseStream") || !strcmp(name, "FCPublish") || !strcmp(name, "_checkbw")) {
        if (txn != 0) {
            gv_rtmp_body_result(&s->body, txn, false, 0);
            err = send_body(s, out, GV_RTMP_CSID_COMMAND, 0);
        }
    } else if (!strcmp(name, "createStream")) {
        gv_rtmp_body_result(&s->body, txn, true, PUBLISH_STREAM_ID);
        err = send_body(s, out, GV_RTMP_CSID_COMMAND, 0);
    } else if (!strcmp(name, "publish")) {
        err = on_publish(s, args, out);
    } else if (!strcmp(name, "FCUnpublish") || !strcmp(name, "deleteStream") ||
               !strcmp(name, "closeStream")) {
        if (s->state == GV_RTMP_STATE_PUBLISHING) {
            gv_log(GV_LOG_DEBUG, s->peer, "%s: publish of '%s' ends", name,
                   gv_stream_name(s->stream));
            detach(s);
            s->state = GV_RTMP_STATE_CONNECTED;
        }
    } else if (!strcmp(name, "play") || !strcmp(name, "play2")) {
        gv_rtmp_body_error(&s->body, txn, "NetStream.Play.Failed",
                           "this server only accepts publishers");
        send_body(s, out, GV_RTMP_CSID_COMMAND, 0);
        err = fail(s, GV_ECLOSED, "client tried to play");
    }
    /* Anything else (getStreamLength, onBWDone answers, ...) needs no reply from a publish
     * server; clients do not wait on it. */
out:
    gv_amf0_free(args);
    return err;
}

static void on_data(gv_rtmp_session_t *s, const gv_rtmp_msg_t *m)
{
    if (gv_log_level_current < GV_LOG_DEBUG)
        return;
    const uint8_t *p = m->payload;
    size_t n = m->size;
    if (m->type == GV_RTMP_DATA_AMF3 && n > 0) {
        p++;
        n--;
    }
    gv_amf0_t *v = NULL;
    if (gv_amf0_decode_seq(p, n, MAX_COMMAND_VALUES, &v) != 0) {
        gv_log(GV_LOG_DEBUG, s->peer, "ignoring malformed data message");
        return;
    }
    const gv_amf0_t *meta = NULL;
    for (size_t i = 0; i < v->count && !meta; i++) {
        const gv_amf0_t *it = v->items[i];
        if (it->type == GV_AMF0_OBJECT || it->type == GV_AMF0_ECMA_ARRAY)
            meta = it;
    }
    double w = 0, h = 0, fps = 0;
    gv_amf0_num(gv_amf0_get(meta, "width"), &w);
    gv_amf0_num(gv_amf0_get(meta, "height"), &h);
    gv_amf0_num(gv_amf0_get(meta, "framerate"), &fps);
    const char *enc = gv_amf0_str(gv_amf0_get(meta, "encoder"));
    gv_log(GV_LOG_DEBUG, s->peer, "metadata: %.0fx%.0f @ %.2f fps, encoder '%.64s'", w, h, fps,
           enc ? enc : "");
    gv_amf0_free(v);
}

static int on_media(gv_rtmp_session_t *s, uint8_t type, uint32_t ts, const uint8_t *p, size_t n)
{
    if (s->state != GV_RTMP_STATE_PUBLISHING)
        return 0; /* media before publish (or after unpublish) is dropped */
    gv_unit_t *u = NULL;
    bool video = type == GV_RTMP_VIDEO;
    int err = video ? gv_flv_video(&s->flv, ts, p, n, &u) : gv_flv_audio(&s->flv, ts, p, n, &u);
    if (err == GV_EUNSUPP && !video) {
        if (!s->audio_unsupported_logged)
            gv_log(GV_LOG_WARN, s->peer,
                   "stream '%s': audio codec not supported (AAC only), "
                   "dropping audio",
                   gv_stream_name(s->stream));
        s->audio_unsupported_logged = true;
        return 0;
    }
    if (err)
        return fail(s, err, "bad %s tag (%s)", video ? "video" : "audio", gv_strerror(err));
    bool *changed = video ? &s->flv.video_cfg_changed : &s->flv.audio_cfg_changed;
    if (*changed) {
        const gv_codec_config_t *c = video ? s->flv.video_cfg : s->flv.audio_cfg;
        gv_log(GV_LOG_INFO, gv_stream_name(s->stream), "%s config: %s, %zu bytes",
               video ? "video" : "audio", gv_codec_name(c->codec), c->size);
        *changed = false;
    }
    if (!u)
        return 0;
    err = gv_stream_push(s->stream, &s->pub, u);
    gv_unit_unref(u);
    if (err == GV_ECLOSED)
        return fail(s, GV_ECLOSED, "taken over by a newer publisher");
    if (err) {
        gv_log(s->push_error_logged ? GV_LOG_DEBUG : GV_LOG_WARN, gv_stream_name(s->stream),
               "media unit rejected: %s", gv_strerror(err));
        s->push_error_logged = true;
        return 0;
    }
    s->units++;
    return 0;
}

/* An aggregate message holds FLV tags (11-byte header, body, 4-byte back pointer); their
 * timestamps are relative to the first one, re-based onto the message timestamp. */
static int on_aggregate(gv_rtmp_session_t *s, const gv_rtmp_msg_t *m)
{
    const uint8_t *p = m->payload;
    size_t n = m->size, pos = 0;
    bool first = true;
    uint32_t base = 0;
    while (pos < n) {
        if (n - pos < 11)
            return fail(s, GV_ETRUNC, "truncated aggregate message");
        uint8_t type = p[pos] & 0x1f;
        size_t size = gv_rd_u24be(p + pos + 1);
        uint32_t ts = gv_rd_u24be(p + pos + 4) | (uint32_t)p[pos + 7] << 24;
        pos += 11;
        if (size > n - pos || n - pos - size < 4)
            return fail(s, GV_ETRUNC, "truncated aggregate message");
        if (first)
            base = ts;
        first = false;
        if (type == GV_RTMP_AUDIO || type == GV_RTMP_VIDEO) {
            int err = on_media(s, type, m->timestamp + (ts - base), p + pos, size);
            if (err)
                return err;
        }
        pos += size + 4;
    }
    return 0;
}

static int on_message(gv_rtmp_session_t *s, const gv_rtmp_msg_t *m, gv_bytes_t *out)
{
    const uint8_t *p = m->payload;
    switch (m->type) {
    case GV_RTMP_SET_CHUNK_SIZE:
        gv_log(GV_LOG_DEBUG, s->peer, "peer chunk size %u", gv_rd_u32be(p));
        return 0;
    case GV_RTMP_ABORT:
    case GV_RTMP_ACK:
    case GV_RTMP_SET_PEER_BANDWIDTH:
        return 0;
    case GV_RTMP_WINDOW_ACK_SIZE:
        if (m->size < 4)
            return fail(s, GV_EPROTO, "short Window Acknowledgement Size");
        s->ack_window = gv_rd_u32be(p);
        if (s->ack_window < MIN_ACK_WINDOW)
            s->ack_window = MIN_ACK_WINDOW;
        return 0;
    case GV_RTMP_USER_CONTROL:
        if (m->size < 2)
            return fail(s, GV_EPROTO, "short User Control message");
        if (gv_rd_u16be(p) == GV_RTMP_UC_PING_REQUEST && m->size >= 6)
            return gv_rtmp_put_user_control(&s->wr, out, GV_RTMP_UC_PING_RESPONSE,
                                            gv_rd_u32be(p + 2));
        return 0;
    case GV_RTMP_AUDIO:
    case GV_RTMP_VIDEO:
        return on_media(s, m->type, m->timestamp, p, m->size);
    case GV_RTMP_AGGREGATE:
        return on_aggregate(s, m);
    case GV_RTMP_COMMAND_AMF0:
    case GV_RTMP_COMMAND_AMF3:
        return on_command(s, m, out);
    case GV_RTMP_DATA_AMF0:
    case GV_RTMP_DATA_AMF3:
        on_data(s, m);
        return 0;
    default:
        gv_log(GV_LOG_DEBUG, s->peer, "ignoring message type %u", m->type);
        return 0;
    }
}

int gv_rtmp_session_feed(gv_rtmp_session_t *s, const uint8_t *in, size_t len, gv_bytes_t *out)
{
    if (s->state == GV_RTMP_STATE_CLOSED)
        return GV_ECLOSED;
    int rc = 0;
    size_t pos = 0;
    if (__atomic_load_n(&s->kicked, __ATOMIC_ACQUIRE)) {
        rc = fail(s, GV_ECLOSED, "taken over by a newer publisher");
        goto done;
    }
    s->bytes_in += len;
    while (pos < len && rc == 0) {
        size_t used = 0;
        if (s->state == GV_RTMP_STATE_HANDSHAKE) {
            rc = handshake(s, in + pos, len - pos, &used, out);
            pos += used;
            continue;
        }
        gv_rtmp_msg_t m;
        rc = gv_rtmp_chunk_reader_feed(s->rd, in + pos, len - pos, &used, &m);
        pos += used;
        if (rc < 0) {
            rc = fail(s, rc, "chunk stream: %s", gv_strerror(rc));
        } else if (rc == 1) {
            rc = on_message(s, &m, out);
            if (rc && !s->reason[0])
                rc = fail(s, rc, "cannot answer message type %u", m.type);
        }
    }
    /* Acknowledge every window's worth of bytes whether or not the peer asked for it. */
    if (rc == 0 && s->state != GV_RTMP_STATE_HANDSHAKE &&
        s->bytes_in - s->last_ack >= s->ack_window) {
        rc = gv_rtmp_put_ack(&s->wr, out, (uint32_t)s->bytes_in);
        s->last_ack = s->bytes_in;
    }
    if (rc == 0 && out->err)
        rc = fail(s, out->err, "output buffer: %s", gv_strerror(out->err));
done:
    if (rc) {
        s->state = GV_RTMP_STATE_CLOSED;
        detach(s);
    }
    return rc;
}
