/* Unit tests for the RTMP session state machine, driven like a real encoder: bytes built with
 * the chunk writer and AMF0 encoder go in, replies are parsed back with the chunk reader. Covers
 * the OBS command sequence (fed in bulk and byte by byte), Publish.Start only after a valid key,
 * BadName + close on a wrong key, a busy stream, takeover (kick), ping, acknowledgements, bad
 * input, and media reaching the stream. Uses a registry built from gv_config_parse. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stream.h"
#include "ingest/amf0.h"
#include "ingest/rtmp_chunk.h"
#include "ingest/rtmp_handshake.h"
#include "ingest/rtmp_session.h"
#include "testlib.h"

#define KEY "k3y-secret"

typedef struct {
    uint8_t type;
    uint32_t stream_id;
    uint8_t *payload;
    size_t size;
    gv_amf0_t *amf; /* decoded body of command messages */
} reply_t;

typedef struct {
    gv_rtmp_session_t *s;
    gv_rtmp_chunk_writer_t w;
    gv_rtmp_chunk_reader_t *r;
    gv_bytes_t out; /* everything the session sent */
    size_t parsed;  /* how much of out was handed to the reader */
    reply_t replies[64];
    size_t n_replies;
    int rc; /* first non-zero feed result */
    bool bytewise;
    int kicks;
} client_t;

static gv_config_t *cfg;
static gv_registry_t *reg;

static void on_kick(void *opaque, const char *reason)
{
    client_t *c = opaque;
    c->kicks++;
}

static void client_init(client_t *c, bool bytewise)
{
    memset(c, 0, sizeof(*c));
    gv_rtmp_session_opts_t o = {
        .cfg = cfg, .reg = reg, .peer = "127.0.0.1:5555", .on_kick = on_kick, .opaque = c};
    c->s = gv_rtmp_session_create(&o);
    gv_rtmp_chunk_writer_init(&c->w, 128);
    c->r = gv_rtmp_chunk_reader_create(NULL);
    gv_bytes_init(&c->out, 0);
    c->bytewise = bytewise;
}

static void client_free(client_t *c)
{
    for (size_t i = 0; i < c->n_replies; i++) {
        free(c->replies[i].payload);
        gv_amf0_free(c->replies[i].amf);
    }
    gv_rtmp_session_destroy(c->s);
    gv_rtmp_chunk_reader_destroy(c->r);
    gv_bytes_free(&c->out);
}

static void feed(client_t *c, const uint8_t *p, size_t n)
{
    if (c->rc)
        return;
    if (!c->bytewise) {
        c->rc = gv_rtmp_session_feed(c->s, p, n, &c->out);
        return;
    }
    for (size_t i = 0; i < n && !c->rc; i++)
        c->rc = gv_rtmp_session_feed(c->s, p + i, 1, &c->out);
}

/* Parses whatever the session sent since the last call into c->replies. */
static void drain(client_t *c)
{
    while (c->parsed < c->out.len) {
        gv_rtmp_msg_t m;
        size_t used = 0;
        int rc = gv_rtmp_chunk_reader_feed(c->r, c->out.data + c->parsed, c->out.len - c->parsed,
                                           &used, &m);
        GV_CHECK(rc >= 0);
        if (rc < 0)
            return;
        c->parsed += used;
        if (rc == 1 && c->n_replies < 64) {
            reply_t *r = &c->replies[c->n_replies++];
            r->type = m.type;
            r->stream_id = m.stream_id;
            r->size = m.size;
            r->payload = malloc(m.size + 1);
            memcpy(r->payload, m.payload, m.size);
            if (m.type == GV_RTMP_COMMAND_AMF0)
                GV_CHECK_INT(gv_amf0_decode_seq(m.payload, m.size, 16, &r->amf), 0);
        }
    }
}

static void handshake(client_t *c)
{
    uint8_t c0c1[GV_RTMP_HS_C0C1_SIZE] = {3};
    for (size_t i = 9; i < sizeof(c0c1); i++)
        c0c1[i] = (uint8_t)(i * 13);
    feed(c, c0c1, sizeof(c0c1));
    GV_CHECK_INT(c->rc, 0);
    GV_CHECK_INT(c->out.len, GV_RTMP_HS_S0S1S2_SIZE);
    GV_CHECK(c->out.len >= GV_RTMP_HS_S0S1S2_SIZE && c->out.data[0] == 3);
    /* C2 echoes S1. */
    feed(c, c->out.data + 1, GV_RTMP_HS_SIZE);
    GV_CHECK_INT(c->rc, 0);
    GV_CHECK_INT(gv_rtmp_session_state(c->s), GV_RTMP_STATE_CONNECTING);
    c->parsed = c->out.len;
}

static void send_msg(client_t *c, uint32_t csid, uint8_t type, uint32_t sid, uint32_t ts,
                     const uint8_t *p, size_t n)
{
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    GV_CHECK_INT(gv_rtmp_chunk_write(&c->w, &b, csid, type, sid, ts, p, n), 0);
    feed(c, b.data, b.len);
    gv_bytes_free(&b);
    drain(c);
}

static void send_body(client_t *c, uint32_t csid, uint32_t sid, gv_bytes_t *body)
{
    send_msg(c, csid, GV_RTMP_COMMAND_AMF0, sid, 0, body->data, body->len);
    gv_bytes_free(body);
}

/* command(name, txn, null, [string arg]) */
static void simple_cmd(client_t *c, const char *name, double txn, const char *arg, uint32_t sid)
{
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    gv_amf0_put_string(&b, name);
    gv_amf0_put_number(&b, txn);
    gv_amf0_put_null(&b);
    if (arg)
        gv_amf0_put_string(&b, arg);
    send_body(c, sid == 0 ? 3 : 4, sid, &b);
}

static void connect_cmd(client_t *c)
{
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    gv_amf0_put_string(&b, "connect");
    gv_amf0_put_number(&b, 1);
    gv_amf0_put_object_begin(&b);
    gv_amf0_put_key(&b, "app");
    gv_amf0_put_string(&b, "live");
    gv_amf0_put_key(&b, "type");
    gv_amf0_put_string(&b, "nonprivate");
    gv_amf0_put_key(&b, "flashVer");
    gv_amf0_put_string(&b, "FMLE/3.0 (compatible; FMSc/1.0)");
    gv_amf0_put_key(&b, "tcUrl");
    gv_amf0_put_string(&b, "rtmp://127.0.0.1/live");
    gv_amf0_put_object_end(&b);
    send_body(c, 3, 0, &b);
}

static void publish_cmd(client_t *c, const char *name)
{
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    gv_amf0_put_string(&b, "publish");
    gv_amf0_put_number(&b, 5);
    gv_amf0_put_null(&b);
    gv_amf0_put_string(&b, name);
    gv_amf0_put_string(&b, "live");
    send_body(c, 4, 1, &b);
}

/* The first reply at or after *from that is a command named name; NULL when none. */
static const reply_t *find_cmd(client_t *c, size_t *from, const char *name)
{
    for (size_t i = *from; i < c->n_replies; i++) {
        const reply_t *r = &c->replies[i];
        if (r->amf && gv_amf0_str(gv_amf0_at(r->amf, 0)) &&
            !strcmp(gv_amf0_str(gv_amf0_at(r->amf, 0)), name)) {
            *from = i + 1;
            return r;
        }
    }
    return NULL;
}

static const char *status_code(const reply_t *r)
{
    return r ? gv_amf0_str(gv_amf0_get(gv_amf0_at(r->amf, 3), "code")) : NULL;
}

static bool has_status(client_t *c, const char *code)
{
    size_t at = 0;
    const reply_t *r;
    while ((r = find_cmd(c, &at, "onStatus")) != NULL) {
        if (status_code(r) && !strcmp(status_code(r), code))
            return true;
    }
    return false;
}

static void connect_and_create(client_t *c)
{
    handshake(c);
    connect_cmd(c);
    GV_CHECK_INT(c->rc, 0);
    /* Window Ack Size, Set Peer Bandwidth, Set Chunk Size, then the _result. */
    GV_CHECK(c->n_replies >= 4);
    if (c->n_replies >= 4) {
        GV_CHECK_INT(c->replies[0].type, GV_RTMP_WINDOW_ACK_SIZE);
        GV_CHECK_INT(c->replies[1].type, GV_RTMP_SET_PEER_BANDWIDTH);
        GV_CHECK_INT(c->replies[2].type, GV_RTMP_SET_CHUNK_SIZE);
        GV_CHECK_INT(gv_rd_u32be(c->replies[2].payload), cfg->rtmp.out_chunk_size);
    }
    size_t at = 0;
    const reply_t *res = find_cmd(c, &at, "_result");
    GV_CHECK(res != NULL);
    if (res) {
        double txn = 0;
        GV_CHECK(gv_amf0_num(gv_amf0_at(res->amf, 1), &txn) && txn == 1);
        const gv_amf0_t *info = gv_amf0_at(res->amf, 3);
        GV_CHECK_STR(gv_amf0_str(gv_amf0_get(info, "code")), "NetConnection.Connect.Success");
        double enc = -1;
        GV_CHECK(gv_amf0_num(gv_amf0_get(info, "objectEncoding"), &enc) && enc == 0);
        GV_CHECK(gv_amf0_str(gv_amf0_get(gv_amf0_at(res->amf, 2), "fmsVer")) != NULL);
    }
    GV_CHECK_INT(gv_rtmp_session_state(c->s), GV_RTMP_STATE_CONNECTED);

    /* OBS: releaseStream, FCPublish, createStream. */
    simple_cmd(c, "releaseStream", 2, KEY, 0);
    simple_cmd(c, "FCPublish", 3, KEY, 0);
    simple_cmd(c, "createStream", 4, NULL, 0);
    GV_CHECK_INT(c->rc, 0);
    double want_txn[3] = {2, 3, 4};
    for (int i = 0; i < 3; i++) {
        res = find_cmd(c, &at, "_result");
        GV_CHECK(res != NULL);
        double txn = 0, sid = 0;
        if (res)
            GV_CHECK(gv_amf0_num(gv_amf0_at(res->amf, 1), &txn) && txn == want_txn[i]);
        if (res && i == 2)
            GV_CHECK(gv_amf0_num(gv_amf0_at(res->amf, 3), &sid) && sid == 1);
    }
    GV_CHECK(!has_status(c, "NetStream.Publish.Start"));
}

static const uint8_t sps[] = {0x67, 0x42, 0xc0, 0x0a, 0xd9, 0x04, 0x26, 0xc0,
                              0x44, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00,
                              0x03, 0x00, 0x50, 0x3c, 0x48, 0x99, 0x20};
static const uint8_t pps[] = {0x68, 0xcb, 0x83, 0xcb, 0x20};

static void send_media(client_t *c)
{
    /* @setDataFrame onMetaData */
    gv_bytes_t b;
    gv_bytes_init(&b, 0);
    gv_amf0_put_string(&b, "@setDataFrame");
    gv_amf0_put_string(&b, "onMetaData");
    gv_amf0_put_ecma_begin(&b, 2);
    gv_amf0_put_key(&b, "width");
    gv_amf0_put_number(&b, 64);
    gv_amf0_put_key(&b, "height");
    gv_amf0_put_number(&b, 64);
    gv_amf0_put_object_end(&b);
    send_msg(c, 4, GV_RTMP_DATA_AMF0, 1, 0, b.data, b.len);

    /* AVC sequence header */
    gv_bytes_reset(&b);
    const uint8_t head[] = {0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x0a, 0xff, 0xe1};
    gv_bytes_put(&b, head, sizeof(head));
    gv_bytes_u16be(&b, sizeof(sps));
    gv_bytes_put(&b, sps, sizeof(sps));
    gv_bytes_u8(&b, 1);
    gv_bytes_u16be(&b, sizeof(pps));
    gv_bytes_put(&b, pps, sizeof(pps));
    send_msg(c, 6, GV_RTMP_VIDEO, 1, 0, b.data, b.len);
    /* AAC config */
    const uint8_t asc[] = {0xaf, 0, 0x12, 0x10};
    send_msg(c, 4, GV_RTMP_AUDIO, 1, 0, asc, sizeof(asc));
    /* A second of frames: video every 100 ms (IDR at 0), audio every ~23 ms. */
    uint8_t frame[600];
    double audio_ms = 0;
    for (uint32_t t = 0; t < 1000; t += 100) {
        gv_bytes_reset(&b);
        const uint8_t vh[] = {t == 0 ? 0x17 : 0x27, 1, 0, 0, 0};
        gv_bytes_put(&b, vh, sizeof(vh));
        memset(frame, 0x5a, sizeof(frame));
        frame[0] = t == 0 ? 0x65 : 0x41;
        gv_bytes_u32be(&b, sizeof(frame));
        gv_bytes_put(&b, frame, sizeof(frame));
        send_msg(c, 6, GV_RTMP_VIDEO, 1, t, b.data, b.len);
        for (; audio_ms < t + 100; audio_ms += 1024.0 * 1000 / 44100) {
            const uint8_t af[] = {0xaf, 1, 0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c};
            send_msg(c, 4, GV_RTMP_AUDIO, 1, (uint32_t)audio_ms, af, sizeof(af));
        }
    }
    gv_bytes_free(&b);
}

static void obs_sequence(bool bytewise)
{
    client_t c;
    client_init(&c, bytewise);
    connect_and_create(&c);
    gv_stream_t *st = gv_registry_find_by_name(reg, "shop1");
    GV_CHECK(!gv_stream_is_live(st));

    publish_cmd(&c, KEY "?obs=1&x=y");
    GV_CHECK_INT(c.rc, 0);
    GV_CHECK_INT(gv_rtmp_session_state(c.s), GV_RTMP_STATE_PUBLISHING);
    GV_CHECK(has_status(&c, "NetStream.Publish.Start"));
    GV_CHECK_STR(gv_rtmp_session_stream_name(c.s), "shop1");
    GV_CHECK(gv_stream_is_live(st));
    /* Stream Begin for stream 1 precedes the status. */
    bool begin = false;
    for (size_t i = 0; i < c.n_replies; i++) {
        if (c.replies[i].type == GV_RTMP_USER_CONTROL && c.replies[i].payload[1] == 0 &&
            gv_rd_u32be(c.replies[i].payload + 2) == 1)
            begin = true;
    }
    GV_CHECK(begin);
    size_t at = 0;
    const reply_t *st_reply = find_cmd(&c, &at, "onStatus");
    GV_CHECK(st_reply && st_reply->stream_id == 1);

    send_media(&c);
    GV_CHECK_INT(c.rc, 0);
    GV_CHECK(gv_rtmp_session_units(c.s) > 0);

    /* Stop as OBS does. */
    simple_cmd(&c, "FCUnpublish", 6, KEY, 0);
    simple_cmd(&c, "deleteStream", 7, NULL, 0);
    GV_CHECK_INT(c.rc, 0);
    GV_CHECK_INT(gv_rtmp_session_state(c.s), GV_RTMP_STATE_CONNECTED);
    GV_CHECK(!gv_stream_is_live(st));
    client_free(&c);
}

static void test_obs_sequence(void)
{
    obs_sequence(false);
}

static void test_obs_sequence_bytewise(void)
{
    obs_sequence(true);
}

static void test_wrong_key(void)
{
    const char *bad[] = {"nope", "", "?" KEY, KEY "x"};
    for (size_t i = 0; i < 4; i++) {
        client_t c;
        client_init(&c, false);
        connect_and_create(&c);
        publish_cmd(&c, bad[i]);
        GV_CHECK_INT(c.rc, GV_EAUTH);
        GV_CHECK(has_status(&c, "NetStream.Publish.BadName"));
        GV_CHECK(!has_status(&c, "NetStream.Publish.Start"));
        size_t at = 0;
        const reply_t *r = find_cmd(&c, &at, "onStatus");
        GV_CHECK(r && !strcmp(gv_amf0_str(gv_amf0_get(gv_amf0_at(r->amf, 3), "level")), "error"));
        GV_CHECK_INT(gv_rtmp_session_state(c.s), GV_RTMP_STATE_CLOSED);
        GV_CHECK(strstr(gv_rtmp_session_reason(c.s), "unknown") ||
                 strstr(gv_rtmp_session_reason(c.s), "invalid"));
        GV_CHECK(strstr(gv_rtmp_session_reason(c.s), KEY) == NULL);
        /* Closed for good. */
        const uint8_t x = 0;
        GV_CHECK_INT(gv_rtmp_session_feed(c.s, &x, 1, &c.out), GV_ECLOSED);
        GV_CHECK(!gv_stream_is_live(gv_registry_find_by_name(reg, "shop1")));
        client_free(&c);
    }
}

static void test_busy(void)
{
    client_t a, b;
    client_init(&a, false);
    client_init(&b, false);
    connect_and_create(&a);
    publish_cmd(&a, KEY);
    GV_CHECK(has_status(&a, "NetStream.Publish.Start"));
    connect_and_create(&b);
    publish_cmd(&b, KEY);
    GV_CHECK_INT(b.rc, GV_EBUSY);
    GV_CHECK(has_status(&b, "NetStream.Publish.BadName"));
    GV_CHECK(!has_status(&b, "NetStream.Publish.Start"));
    size_t at = 0;
    const reply_t *r = find_cmd(&b, &at, "onStatus");
    GV_CHECK_STR(gv_amf0_str(gv_amf0_get(gv_amf0_at(r ? r->amf : NULL, 3), "description")),
                 "stream is already being published");
    GV_CHECK_INT(a.kicks, 0);
    client_free(&b);
    /* A keeps publishing. */
    GV_CHECK(gv_stream_is_live(gv_registry_find_by_name(reg, "shop1")));
    client_free(&a);
    GV_CHECK(!gv_stream_is_live(gv_registry_find_by_name(reg, "shop1")));
}

static void test_takeover(void)
{
    /* Second stream is configured with on_duplicate: takeover through its own registry. */
    char err[256];
    gv_config_t *cfg2 = NULL;
    const char *text = "rtmp:\n  listen: \"127.0.0.1:0\"\n"
                       "ingest:\n  on_duplicate: takeover\n"
                       "streams:\n  - name: shop1\n    key: \"" KEY "\"\n";
    GV_CHECK_INT(gv_config_parse("t2.yaml", text, strlen(text), &cfg2, err, sizeof(err)), 0);
    if (!cfg2)
        return;
    gv_config_t *saved_cfg = cfg;
    gv_registry_t *saved_reg = reg;
    cfg = cfg2;
    reg = gv_registry_create(cfg2);

    client_t a, b;
    client_init(&a, false);
    client_init(&b, false);
    connect_and_create(&a);
    publish_cmd(&a, KEY);
    connect_and_create(&b);
    publish_cmd(&b, KEY);
    GV_CHECK_INT(b.rc, 0);
    GV_CHECK(has_status(&b, "NetStream.Publish.Start"));
    GV_CHECK_INT(a.kicks, 1);
    /* The old session notices on its next input and asks to be closed. */
    const uint8_t ping[] = {0, 6, 0, 0, 0, 1};
    send_msg(&a, 2, GV_RTMP_USER_CONTROL, 0, 0, ping, sizeof(ping));
    GV_CHECK_INT(a.rc, GV_ECLOSED);
    client_free(&a);
    /* Destroying the old one must not detach the newcomer. */
    GV_CHECK(gv_stream_is_live(gv_registry_find_by_name(reg, "shop1")));
    client_free(&b);

    gv_registry_destroy(reg);
    gv_config_free(cfg2);
    cfg = saved_cfg;
    reg = saved_reg;
}

static void test_ping_and_ack(void)
{
    client_t c;
    client_init(&c, false);
    connect_and_create(&c);
    const uint8_t ping[] = {0, 6, 0x12, 0x34, 0x56, 0x78};
    send_msg(&c, 2, GV_RTMP_USER_CONTROL, 0, 0, ping, sizeof(ping));
    bool pong = false, ack = false;
    for (size_t i = 0; i < c.n_replies; i++) {
        const reply_t *r = &c.replies[i];
        if (r->type == GV_RTMP_USER_CONTROL && r->payload[1] == 7 &&
            gv_rd_u32be(r->payload + 2) == 0x12345678)
            pong = true;
    }
    GV_CHECK(pong);
    /* The config sets ack_window 4096 and the client never sent Window Ack Size: receiving
     * more than that must produce an Acknowledgement carrying the byte count. */
    uint8_t junk[3000];
    memset(junk, 0, sizeof(junk));
    send_msg(&c, 8, 0x7f, 0, 0, junk, sizeof(junk)); /* unknown type: ignored */
    send_msg(&c, 8, 0x7f, 0, 0, junk, sizeof(junk));
    GV_CHECK_INT(c.rc, 0);
    for (size_t i = 0; i < c.n_replies; i++) {
        const reply_t *r = &c.replies[i];
        if (r->type == GV_RTMP_ACK) {
            ack = true;
            GV_CHECK(gv_rd_u32be(r->payload) >= 4096);
            GV_CHECK(gv_rd_u32be(r->payload) <= gv_rtmp_session_bytes_in(c.s));
        }
    }
    GV_CHECK(ack);
    client_free(&c);
}

static void test_bad_input(void)
{
    client_t c;
    /* Not RTMP at all: an HTTP request. */
    client_init(&c, false);
    feed(&c, (const uint8_t *)"GET / HTTP/1.1\r\n", 16);
    GV_CHECK_INT(c.rc, GV_EPROTO);
    GV_CHECK(strstr(gv_rtmp_session_reason(c.s), "not RTMP") != NULL);
    GV_CHECK_INT(c.out.len, 0);
    client_free(&c);
    /* RTMPE. */
    client_init(&c, false);
    const uint8_t six = 6;
    feed(&c, &six, 1);
    GV_CHECK_INT(c.rc, GV_EUNSUPP);
    client_free(&c);
    /* A command before connect. */
    client_init(&c, false);
    handshake(&c);
    simple_cmd(&c, "createStream", 2, NULL, 0);
    GV_CHECK_INT(c.rc, GV_EPROTO);
    client_free(&c);
    /* A compact chunk header with nothing before it. */
    client_init(&c, false);
    handshake(&c);
    const uint8_t orphan[] = {0x43, 0, 0, 0, 0, 0, 1, 20, 5};
    feed(&c, orphan, sizeof(orphan));
    GV_CHECK_INT(c.rc, GV_EPROTO);
    GV_CHECK(strstr(gv_rtmp_session_reason(c.s), "chunk") != NULL);
    client_free(&c);
    /* Garbage AMF0 in a command. */
    client_init(&c, false);
    handshake(&c);
    const uint8_t garbage[] = {0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e', 'c', 't', 0x42};
    send_msg(&c, 3, GV_RTMP_COMMAND_AMF0, 0, 0, garbage, sizeof(garbage));
    GV_CHECK_INT(c.rc, GV_EPROTO);
    client_free(&c);
    /* A malformed video tag while publishing closes the session. */
    client_init(&c, false);
    connect_and_create(&c);
    publish_cmd(&c, KEY);
    const uint8_t bad_seq[] = {0x17, 0, 0, 0, 0, 2};
    send_msg(&c, 6, GV_RTMP_VIDEO, 1, 0, bad_seq, sizeof(bad_seq));
    GV_CHECK_INT(c.rc, GV_ETRUNC);
    GV_CHECK(!gv_stream_is_live(gv_registry_find_by_name(reg, "shop1")));
    client_free(&c);
    /* Unsupported audio is dropped with a warning, not fatal. */
    client_init(&c, false);
    connect_and_create(&c);
    publish_cmd(&c, KEY);
    const uint8_t mp3[] = {0x2f, 0xff, 0xfb};
    send_msg(&c, 4, GV_RTMP_AUDIO, 1, 0, mp3, sizeof(mp3));
    GV_CHECK_INT(c.rc, 0);
    client_free(&c);
}

static void test_media_before_publish_ignored(void)
{
    client_t c;
    client_init(&c, false);
    connect_and_create(&c);
    const uint8_t frame[] = {0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41};
    send_msg(&c, 6, GV_RTMP_VIDEO, 1, 0, frame, sizeof(frame));
    GV_CHECK_INT(c.rc, 0);
    GV_CHECK_INT(gv_rtmp_session_units(c.s), 0);
    client_free(&c);
}

static void setup(void)
{
    char err[256];
    const char *text = "rtmp:\n  listen: \"127.0.0.1:0\"\n  ack_window: 4096\n"
                       "  out_chunk_size: 1024\n"
                       "ingest:\n  on_duplicate: reject\n"
                       "streams:\n  - name: shop1\n    key: \"" KEY "\"\n"
                       "  - name: shop2\n    key: \"other-key\"\n";
    if (gv_config_parse("t.yaml", text, strlen(text), &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: %s\n", err);
        exit(1);
    }
    reg = gv_registry_create(cfg);
    if (!reg)
        exit(1);
    gv_log_set_level(GV_LOG_WARN);
}

static void teardown(void)
{
    gv_registry_destroy(reg);
    gv_config_free(cfg);
}

static void test_setup(void)
{
    setup();
}

static void test_teardown(void)
{
    teardown();
}

GV_TEST_MAIN(GV_TEST(test_setup), GV_TEST(test_obs_sequence), GV_TEST(test_obs_sequence_bytewise),
             GV_TEST(test_wrong_key), GV_TEST(test_busy), GV_TEST(test_takeover),
             GV_TEST(test_ping_and_ack), GV_TEST(test_bad_input),
             GV_TEST(test_media_before_publish_ignored), GV_TEST(test_teardown))
