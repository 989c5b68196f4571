/* The SRT listener: libsrt in live mode, one SRT thread running srt_epoll over the listener and
 * every publisher socket. Admission is decided before accept in the listen callback (on
 * libsrt's own thread, so it only parses the stream id, looks the key up and sets the stream's
 * passphrase on the new socket): malformed id 1400, read/bidirectional mode 1405, unknown key
 * 1403, stream busy (the duplicate policy refuses a newcomer now) 1409, connection limit or handshake
 * flood 1402. A wrong passphrase fails the handshake inside libsrt, so it never becomes a
 * stream. Accepted sockets attach to their stream (the duplicate policy decides for real
 * there) and feed a per-connection demux thread (srt_conn.c). Timeouts: SRTO_PEERIDLETIMEO for
 * dead peers, handshake_timeout_ms for a socket that never sends a byte, the same bound again
 * for one that sends bytes but no usable media, and peer_idle_timeout_ms for one that goes
 * quiet while keeping the SRT session alive. libsrt's log goes through gv_log with publish
 * keys masked. */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/error.h"
#include "core/log.h"
#include "ingest/ingest.h"
#include "ingest/srt_conn.h"
#include "ingest/srt_streamid.h"

#define LOOP_TIMEOUT_MS 50
#define QUEUE_BYTES (4u << 20)     /* per publisher: seconds of media at encoder bitrates */
#define HANDSHAKES_PER_SEC 50      /* token bucket refill; burst is twice that */
#define NO_MEDIA_MIN_MS 10000      /* floor for "bytes but no units" */
#define STATS_REFRESH_US 1000000
#define MAX_EVENTS 64

struct gv_srt_server {
    const gv_config_t *cfg;
    gv_registry_t *reg;
    SRTSOCKET lsn;
    int eid;
    int port;
    pthread_t thread;
    bool thread_started;
    int stop;                 /* atomic */
    int n_conns;              /* atomic: open publisher connections */
    gv_srt_conn_t *conns;     /* SRT thread only */

    pthread_mutex_t hs_lock;  /* handshake token bucket (listen callback) */
    double hs_tokens;
    int64_t hs_last_us;

    pthread_mutex_t stats_lock;
    gv_srt_stats_t *stats;
    size_t n_stats, cap_stats;
};

static int srt_users; /* srt_startup/srt_cleanup pairing across servers (tests make several) */
static pthread_mutex_t srt_users_lock = PTHREAD_MUTEX_INITIALIZER;
static const gv_config_t *log_cfg; /* keys to mask in libsrt's log lines */

static void format_peer(const struct sockaddr *sa, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(out, n, "%s:%d", host, port);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(out, n, "[%s]:%d", host, port);
    } else {
        snprintf(out, n, "?");
    }
}

/* ---- libsrt log routing ---- */

static void srt_log_handler(void *opaque, int level, const char *file, int line, const char *area,
                            const char *message)
{
    gv_log_level_t lv = level <= 3 ? GV_LOG_ERROR : level == 4 ? GV_LOG_WARN
                        : level == 5                           ? GV_LOG_INFO
                                                               : GV_LOG_DEBUG;
    if (lv > gv_log_level_current)
        return;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", message ? message : "");
    size_t len = strlen(buf);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    const gv_config_t *cfg = __atomic_load_n(&log_cfg, __ATOMIC_ACQUIRE);
    for (size_t i = 0; cfg && i < cfg->n_streams; i++) {
        const char *k = cfg->streams[i].key;
        size_t kl = strlen(k);
        for (char *hit = kl ? strstr(buf, k) : NULL; hit; hit = strstr(hit + 1, k))
            memset(hit, '*', kl);
    }
    gv_log(lv, "libsrt", "%s", buf);
}

/* ---- admission (libsrt's thread) ---- */

static bool handshake_allowed(gv_srt_server_t *s)
{
    pthread_mutex_lock(&s->hs_lock);
    int64_t now = gv_mono_us();
    s->hs_tokens += (double)(now - s->hs_last_us) * HANDSHAKES_PER_SEC / 1e6;
    if (s->hs_tokens > 2 * HANDSHAKES_PER_SEC)
        s->hs_tokens = 2 * HANDSHAKES_PER_SEC;
    s->hs_last_us = now;
    bool ok = s->hs_tokens >= 1.0;
    if (ok)
        s->hs_tokens -= 1.0;
    pthread_mutex_unlock(&s->hs_lock);
    return ok;
}

static int reject(SRTSOCKET ns, int code, const char *peer, const char *why)
{
    srt_setrejectreason(ns, code);
    gv_log(GV_LOG_INFO, peer, "SRT connection refused (%d): %s", code, why);
    return -1;
}

static int listen_cb(void *opaque, SRTSOCKET ns, int hs_version, const struct sockaddr *peeraddr,
                     const char *streamid)
{
    gv_srt_server_t *s = opaque;
    char peer[64];
    format_peer(peeraddr, peer, sizeof(peer));
    if (!handshake_allowed(s))
        return reject(ns, SRT_REJX_OVERLOAD, peer, "handshake rate limit");
    if (__atomic_load_n(&s->n_conns, __ATOMIC_RELAXED) >= s->cfg->srt.max_connections)
        return reject(ns, SRT_REJX_OVERLOAD, peer, "connection limit reached");
    gv_srt_streamid_t sid;
    size_t sid_len = streamid ? strnlen(streamid, GV_SRT_STREAMID_MAX + 1) : 0;
    if (hs_version < 5 || gv_srt_streamid_parse(streamid ? streamid : "", sid_len, &sid) < 0)
        return reject(ns, SRT_REJX_BAD_REQUEST, peer, "missing or malformed stream id");
    if (sid.mode != GV_SRT_MODE_PUBLISH)
        return reject(ns, SRT_REJX_BAD_MODE, peer, "only m=publish is served");
    gv_stream_t *st = gv_registry_find_by_key(s->reg, sid.key);
    if (!st)
        return reject(ns, SRT_REJX_FORBIDDEN, peer, "unknown publish key");
    /* Non-binding: the real decision is gv_stream_attach after accept, but a newcomer the
     * duplicate policy would refuse now is told so with 1409 before any media is sent. */
    if (!gv_stream_would_accept(st))
        return reject(ns, SRT_REJX_CONFLICT, peer, "stream is already being published");
    const char *pass = gv_stream_config(st)->passphrase;
    if (pass && srt_setsockflag(ns, SRTO_PASSPHRASE, pass, (int)strlen(pass)) == SRT_ERROR)
        return reject(ns, SRT_REJX_ISE, peer, "cannot set the stream's passphrase");
    gv_log(GV_LOG_DEBUG, peer, "SRT handshake for stream '%s'%s%s", gv_stream_name(st),
           sid.user[0] ? " user " : "", sid.user);
    return 0;
}

/* ---- connections (SRT thread) ---- */

static void refresh_stats(gv_srt_server_t *s, int64_t now);

static void close_conn(gv_srt_server_t *s, gv_srt_conn_t *c, const char *why)
{
    gv_srt_conn_t **pp = &s->conns;
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp)
        *pp = c->next;
    srt_epoll_remove_usock(s->eid, c->sock);
    gv_log(GV_LOG_INFO, gv_stream_name(c->stream), "SRT publisher %s closed: %s (%llu units)",
           c->peer, why, (unsigned long long)__atomic_load_n(&c->units, __ATOMIC_RELAXED));
    gv_srt_conn_destroy(c);
    __atomic_sub_fetch(&s->n_conns, 1, __ATOMIC_RELAXED);
    refresh_stats(s, gv_mono_us()); /* drop its entry now, not at the next refresh */
}

static void accept_one(gv_srt_server_t *s, SRTSOCKET ns, const struct sockaddr *sa)
{
    char peer[64];
    format_peer(sa, peer, sizeof(peer));
    char sidbuf[GV_SRT_STREAMID_MAX + 1] = {0};
    int sidlen = sizeof(sidbuf) - 1;
    gv_srt_streamid_t sid;
    gv_stream_t *st = NULL;
    if (srt_getsockflag(ns, SRTO_STREAMID, sidbuf, &sidlen) != SRT_ERROR && sidlen >= 0 &&
        gv_srt_streamid_parse(sidbuf, (size_t)sidlen, &sid) == 0)
        st = gv_registry_find_by_key(s->reg, sid.key);
    if (!st || __atomic_load_n(&s->n_conns, __ATOMIC_RELAXED) >= s->cfg->srt.max_connections) {
        gv_log(GV_LOG_WARN, peer, "SRT socket closed right after accept (%s)",
               st ? "connection limit" : "stream id changed");
        srt_close(ns);
        return;
    }
    gv_srt_conn_t *c = gv_srt_conn_create(ns, st, peer, QUEUE_BYTES);
    if (!c) {
        srt_close(ns);
        return;
    }
    snprintf(c->user, sizeof(c->user), "%s", sid.user);
    int err = gv_srt_conn_start(c);
    if (err < 0) {
        gv_log(GV_LOG_WARN, gv_stream_name(st), "SRT publisher %s refused: %s", peer,
               err == GV_EBUSY ? "stream is being published" : gv_strerror(err));
        gv_srt_conn_destroy(c);
        return;
    }
    int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    if (srt_epoll_add_usock(s->eid, ns, &events) == SRT_ERROR) {
        gv_srt_conn_destroy(c);
        return;
    }
    c->next = s->conns;
    s->conns = c;
    __atomic_add_fetch(&s->n_conns, 1, __ATOMIC_RELAXED);
    int64_t now = gv_mono_us();
    c->next_stats_mono_us = now + STATS_REFRESH_US;
    c->next_log_mono_us = now + (int64_t)s->cfg->srt.stats_interval_ms * 1000;
    gv_log(GV_LOG_INFO, gv_stream_name(st), "SRT publisher %s connected%s%s", peer,
           c->user[0] ? ", user " : "", c->user);
}

/* One accept per readiness event: the epoll is level-triggered, so further pending sockets
 * report again, and libsrt logs an error for an accept that finds nothing. */
static void accept_next(gv_srt_server_t *s)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    SRTSOCKET ns = srt_accept(s->lsn, (struct sockaddr *)&ss, &len);
    if (ns != SRT_INVALID_SOCK)
        accept_one(s, ns, (struct sockaddr *)&ss);
}

static gv_srt_conn_t *find_conn(gv_srt_server_t *s, SRTSOCKET sock)
{
    for (gv_srt_conn_t *c = s->conns; c; c = c->next)
        if (c->sock == sock)
            return c;
    return NULL;
}

/* Drains a readable socket into its queue. Returns false when the connection must close. */
static bool read_conn(gv_srt_server_t *s, gv_srt_conn_t *c, const char **why)
{
    uint8_t buf[1500];
    for (int i = 0; i < 256; i++) {
        int n = srt_recvmsg(c->sock, (char *)buf, sizeof(buf));
        if (n == SRT_ERROR) {
            if (srt_getlasterror(NULL) == SRT_EASYNCRCV)
                return true;
            *why = "connection lost";
            return false;
        }
        if (n == 0)
            return true;
        c->last_byte_mono_us = gv_mono_us();
        c->payloads++;
        bool first_drop = gv_srt_conn_feed(c, buf, (size_t)n, gv_now_us()) == GV_ELIMIT &&
                          c->dropped_bytes == (uint64_t)n; /* written on this thread only */
        if (first_drop)
            gv_log(GV_LOG_WARN, c->peer, "demux queue full: dropping payloads");
    }
    return true;
}

static void refresh_stats(gv_srt_server_t *s, int64_t now)
{
    size_t n = 0;
    for (gv_srt_conn_t *c = s->conns; c; c = c->next)
        n++;
    pthread_mutex_lock(&s->stats_lock);
    if (n > s->cap_stats) {
        gv_srt_stats_t *ns = realloc(s->stats, n * sizeof(*ns));
        if (ns) {
            s->stats = ns;
            s->cap_stats = n;
        }
    }
    size_t i = 0;
    for (gv_srt_conn_t *c = s->conns; c && i < s->cap_stats; c = c->next) {
        SRT_TRACEBSTATS perf;
        if (srt_bstats(c->sock, &perf, 0) == SRT_ERROR)
            continue;
        gv_srt_stats_t *o = &s->stats[i++];
        memset(o, 0, sizeof(*o));
        snprintf(o->stream, sizeof(o->stream), "%s", gv_stream_name(c->stream));
        snprintf(o->peer, sizeof(o->peer), "%s", c->peer);
        o->rtt_ms = perf.msRTT;
        o->recv_mbps = perf.mbpsRecvRate;
        o->pkt_recv = perf.pktRecvTotal;
        o->pkt_loss = perf.pktRcvLossTotal;
        o->pkt_drop = perf.pktRcvDropTotal;
        o->pkt_retrans = perf.pktRcvRetrans;
        o->bytes_recv = (int64_t)perf.byteRecvTotal;
        if (s->cfg->srt.stats_interval_ms > 0 && now >= c->next_log_mono_us) {
            c->next_log_mono_us = now + (int64_t)s->cfg->srt.stats_interval_ms * 1000;
            gv_log(GV_LOG_INFO, o->stream,
                   "SRT %s: rtt %.1f ms, recv %.2f Mbps, loss %lld, drop %lld, retrans %lld",
                   c->peer, o->rtt_ms, o->recv_mbps, (long long)o->pkt_loss,
                   (long long)o->pkt_drop, (long long)o->pkt_retrans);
        }
    }
    s->n_stats = i;
    pthread_mutex_unlock(&s->stats_lock);
}

/* Closes connections that were kicked, whose demuxer gave up, or that timed out. */
static void check_conns(gv_srt_server_t *s, int64_t now)
{
    const int64_t hs_us = (int64_t)s->cfg->srt.handshake_timeout_ms * 1000;
    const int64_t idle_us = (int64_t)s->cfg->srt.peer_idle_timeout_ms * 1000;
    const int64_t media_us = hs_us > NO_MEDIA_MIN_MS * 1000 ? hs_us : NO_MEDIA_MIN_MS * 1000;
    gv_srt_conn_t *next;
    for (gv_srt_conn_t *c = s->conns; c; c = next) {
        next = c->next;
        const char *why = NULL;
        SRT_SOCKSTATUS ss = srt_getsockstate(c->sock);
        if (__atomic_load_n(&c->kicked, __ATOMIC_ACQUIRE))
            why = "taken over by a newer publisher";
        else if (__atomic_load_n(&c->demux_done, __ATOMIC_ACQUIRE))
            why = c->demux_rc == GV_EPROTO ? "input is not MPEG-TS" : "demuxer stopped";
        else if (ss == SRTS_BROKEN || ss == SRTS_CLOSED || ss == SRTS_NONEXIST)
            why = "connection lost";
        else if (!c->last_byte_mono_us && now - c->accepted_mono_us > hs_us)
            why = "no data within handshake_timeout_ms";
        else if (c->last_byte_mono_us && now - c->last_byte_mono_us > idle_us)
            why = "idle for peer_idle_timeout_ms";
        else if (!__atomic_load_n(&c->units, __ATOMIC_RELAXED) &&
                 now - c->accepted_mono_us > media_us)
            why = "no usable media (H.264/HEVC keyframe)";
        if (why)
            close_conn(s, c, why);
    }
}

static void *srt_main(void *arg)
{
    gv_srt_server_t *s = arg;
    SRT_EPOLL_EVENT ev[MAX_EVENTS];
    int64_t next_stats = gv_mono_us() + STATS_REFRESH_US;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        int n = srt_epoll_uwait(s->eid, ev, MAX_EVENTS, LOOP_TIMEOUT_MS);
        for (int i = 0; i < n; i++) {
            if (ev[i].fd == s->lsn) {
                accept_next(s);
                continue;
            }
            gv_srt_conn_t *c = find_conn(s, ev[i].fd);
            if (!c) {
                srt_epoll_remove_usock(s->eid, ev[i].fd);
                continue;
            }
            const char *why = NULL;
            if (!read_conn(s, c, &why) || (ev[i].events & SRT_EPOLL_ERR))
                close_conn(s, c, why ? why : "connection lost");
        }
        int64_t now = gv_mono_us();
        check_conns(s, now);
        if (now >= next_stats) {
            next_stats = now + STATS_REFRESH_US;
            refresh_stats(s, now);
        }
    }
    while (s->conns)
        close_conn(s, s->conns, "server stopping");
    refresh_stats(s, gv_mono_us());
    return NULL;
}

/* ---- lifecycle ---- */

static int set_opt(SRTSOCKET sock, SRT_SOCKOPT opt, const void *val, int len, const char *name)
{
    if (srt_setsockflag(sock, opt, val, len) == SRT_ERROR) {
        gv_log(GV_LOG_ERROR, "srt", "setting %s: %s", name, srt_getlasterror_str());
        return GV_EIO;
    }
    return 0;
}

static int open_listener(gv_srt_server_t *s)
{
    const gv_listen_t *l = &s->cfg->srt.listen;
    char port[16];
    snprintf(port, sizeof(port), "%d", l->port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(l->host[0] ? l->host : NULL, port, &hints, &ai);
    if (gai != 0 || !ai) {
        gv_log(GV_LOG_ERROR, "srt", "cannot resolve listen address %s: %s", l->host,
               gai_strerror(gai));
        return GV_ECONFIG;
    }
    s->lsn = srt_create_socket();
    int err = GV_EIO;
    if (s->lsn == SRT_INVALID_SOCK)
        goto out;
    int live = SRTT_LIVE, no = 0, yes = 1, payload = 1316;
    int latency = s->cfg->srt.latency_ms, idle = s->cfg->srt.peer_idle_timeout_ms;
    if (set_opt(s->lsn, SRTO_TRANSTYPE, &live, sizeof(live), "SRTO_TRANSTYPE") < 0 ||
        set_opt(s->lsn, SRTO_RCVLATENCY, &latency, sizeof(latency), "SRTO_RCVLATENCY") < 0 ||
        set_opt(s->lsn, SRTO_PAYLOADSIZE, &payload, sizeof(payload), "SRTO_PAYLOADSIZE") < 0 ||
        set_opt(s->lsn, SRTO_PEERIDLETIMEO, &idle, sizeof(idle), "SRTO_PEERIDLETIMEO") < 0 ||
        set_opt(s->lsn, SRTO_RCVSYN, &no, sizeof(no), "SRTO_RCVSYN") < 0 ||
        set_opt(s->lsn, SRTO_SNDSYN, &no, sizeof(no), "SRTO_SNDSYN") < 0 ||
        set_opt(s->lsn, SRTO_ENFORCEDENCRYPTION, &yes, sizeof(yes), "SRTO_ENFORCEDENCRYPTION") < 0)
        goto out;
    if (srt_bind(s->lsn, ai->ai_addr, (int)ai->ai_addrlen) == SRT_ERROR) {
        gv_log(GV_LOG_ERROR, "srt", "cannot bind %s:%d/udp: %s", l->host, l->port,
               srt_getlasterror_str());
        goto out;
    }
    if (srt_listen_callback(s->lsn, listen_cb, s) == SRT_ERROR ||
        srt_listen(s->lsn, s->cfg->srt.max_connections) == SRT_ERROR) {
        gv_log(GV_LOG_ERROR, "srt", "cannot listen: %s", srt_getlasterror_str());
        goto out;
    }
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    if (srt_getsockname(s->lsn, (struct sockaddr *)&ss, &sl) == SRT_ERROR)
        goto out;
    s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    s->eid = srt_epoll_create();
    if (s->eid < 0 || srt_epoll_add_usock(s->eid, s->lsn, &events) == SRT_ERROR)
        goto out;
    srt_epoll_set(s->eid, SRT_EPOLL_ENABLE_EMPTY);
    err = 0;
out:
    freeaddrinfo(ai);
    return err;
}

gv_srt_server_t *gv_srt_server_create(const gv_config_t *cfg, gv_registry_t *reg)
{
    gv_srt_server_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->reg = reg;
    s->lsn = SRT_INVALID_SOCK;
    s->eid = -1;
    s->hs_tokens = 2 * HANDSHAKES_PER_SEC;
    s->hs_last_us = gv_mono_us();
    pthread_mutex_init(&s->hs_lock, NULL);
    pthread_mutex_init(&s->stats_lock, NULL);

    pthread_mutex_lock(&srt_users_lock);
    if (srt_users++ == 0) {
        srt_startup();
        srt_setlogflags(SRT_LOGF_DISABLE_TIME | SRT_LOGF_DISABLE_THREADNAME |
                        SRT_LOGF_DISABLE_SEVERITY | SRT_LOGF_DISABLE_EOL);
        srt_setloghandler(NULL, srt_log_handler);
        /* libsrt's notices are chatty per packet at debug; warnings are what ops need. */
        srt_setloglevel(gv_log_level_current >= GV_LOG_TRACE ? 5 : 4);
    }
    __atomic_store_n(&log_cfg, cfg, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&srt_users_lock);

    if (open_listener(s) < 0)
        goto fail;
    if (pthread_create(&s->thread, NULL, srt_main, s) != 0)
        goto fail;
    s->thread_started = true;
    gv_log(GV_LOG_INFO, "srt", "listening on %s:%d/udp (latency %d ms)", cfg->srt.listen.host,
           s->port, cfg->srt.latency_ms);
    return s;
fail:
    gv_srt_server_destroy(s);
    return NULL;
}

int gv_srt_server_port(const gv_srt_server_t *s)
{
    return s ? s->port : 0;
}

void gv_srt_server_destroy(gv_srt_server_t *s)
{
    if (!s)
        return;
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    if (s->eid >= 0)
        srt_epoll_release(s->eid);
    if (s->lsn != SRT_INVALID_SOCK)
        srt_close(s->lsn);
    pthread_mutex_lock(&srt_users_lock);
    if (--srt_users == 0) {
        __atomic_store_n(&log_cfg, NULL, __ATOMIC_RELEASE);
        srt_cleanup();
    }
    pthread_mutex_unlock(&srt_users_lock);
    pthread_mutex_destroy(&s->hs_lock);
    pthread_mutex_destroy(&s->stats_lock);
    free(s->stats);
    free(s);
}

size_t gv_srt_server_stats(gv_srt_server_t *s, gv_srt_stats_t *out, size_t max)
{
    if (!s || !out)
        return 0;
    pthread_mutex_lock(&s->stats_lock);
    size_t n = s->n_stats < max ? s->n_stats : max;
    memcpy(out, s->stats, n * sizeof(*out));
    pthread_mutex_unlock(&s->stats_lock);
    return n;
}
