/* The RTMP listener (ingest.h): accepts TCP connections on the shared libevent loop, runs one
 * rtmp_session per connection, and enforces the connection-level limits: how many connections,
 * one deadline for the whole handshake+connect+publish phase (not re-armed by reads, so a slow
 * trickle cannot hold a slot), and an idle timeout once publishing. A connection that sends bad
 * input gets one log line naming its peer and is closed; nothing else is affected.
 *
 * Sockets are driven by plain events rather than bufferevents: media is the hot path (a
 * publisher's bytes arrive in about a hundred small bursts a second), so each readiness costs
 * one recv() straight into the buffer the session parses, and replies go out with send() at
 * once, arming a write event only when the socket is full. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "ingest/bytes.h"
#include "ingest/ingest.h"
#include "ingest/rtmp_session.h"

/* One recv() per readiness into a buffer shared by all connections (the loop is single
 * threaded and a session consumes everything it is fed): no per-connection input buffer and
 * no FIONREAD probe. Large enough that a busy publisher is drained in one call. */
#define READ_BUF_SIZE (256 * 1024)
/* Replies are small: more than this queued means the peer stopped reading. */
#define MAX_PENDING_OUT (1u << 20)
#define CLOSE_FLUSH_MS 2000 /* how long a final reply may take to drain before we close */

typedef struct conn conn_t;

struct gv_rtmp_server {
    struct event_base *base;
    const gv_config_t *cfg;
    gv_registry_t *reg;
    struct evconnlistener *lis;
    conn_t *conns;
    int n_conns;
    int port;
    uint8_t *rbuf; /* READ_BUF_SIZE bytes, see above */
};

struct conn {
    conn_t *prev, *next;
    gv_rtmp_server_t *srv;
    evutil_socket_t fd;
    gv_rtmp_session_t *sess;
    struct event *rd_ev;    /* persistent; carries the idle timeout once publishing */
    struct event *wr_ev;    /* added only while replies wait for socket space */
    struct event *deadline; /* handshake+connect+publish phase, then the close flush bound */
    struct event *kick_ev;  /* activated (from any thread) when a newer publisher takes over */
    gv_bytes_t out;         /* replies not yet written, from the front */
    bool publishing;
    bool closing; /* flushing a final reply */
    char peer[96];
};

static void conn_free(conn_t *c)
{
    gv_rtmp_server_t *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    /* The session goes first: detaching may race with a kick from another thread, which still
     * needs kick_ev to exist. */
    gv_rtmp_session_destroy(c->sess);
    if (c->rd_ev)
        event_free(c->rd_ev);
    if (c->wr_ev)
        event_free(c->wr_ev);
    if (c->deadline)
        event_free(c->deadline);
    if (c->kick_ev)
        event_free(c->kick_ev);
    if (c->fd >= 0)
        evutil_closesocket(c->fd);
    gv_bytes_free(&c->out);
    free(c);
}

/* One line per closed connection, naming the peer and (when known) the stream. */
static void log_close(conn_t *c, gv_log_level_t level, const char *why)
{
    const char *name = c->sess ? gv_rtmp_session_stream_name(c->sess) : NULL;
    gv_log(level, c->peer, "closing%s%s: %s (%llu bytes in, %llu media units)",
           name ? " stream " : "", name ? name : "", why,
           (unsigned long long)(c->sess ? gv_rtmp_session_bytes_in(c->sess) : 0),
           (unsigned long long)(c->sess ? gv_rtmp_session_units(c->sess) : 0));
}

static void log_socket_error(conn_t *c, int err)
{
    char line[160];
    snprintf(line, sizeof(line), "socket error: %s", evutil_socket_error_to_string(err));
    log_close(c, GV_LOG_WARN, line);
}

/* Writes as much of c->out as the socket takes now; the rest waits for wr_ev. Replies are
 * rare (handshake, command results, acks), so the write event is only armed when needed.
 * Returns 0 or the socket error. */
static int flush_out(conn_t *c)
{
    size_t off = 0;
    while (off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return n < 0 ? errno : EPIPE;
    }
    if (off == c->out.len)
        gv_bytes_reset(&c->out);
    else if (off > 0)
        gv_bytes_consume(&c->out, off);
    bool waiting = c->out.len > 0;
    if (waiting != (event_pending(c->wr_ev, EV_WRITE, NULL) != 0)) {
        if (waiting)
            event_add(c->wr_ev, NULL);
        else
            event_del(c->wr_ev);
    }
    return 0;
}

/* Closes after whatever is queued has been written (bounded by CLOSE_FLUSH_MS). */
static void close_after_flush(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    event_del(c->rd_ev);
    event_del(c->deadline);
    if (c->out.len == 0) {
        conn_free(c);
        return;
    }
    /* The deadline timer is reused to bound the flush. */
    struct timeval tv = {CLOSE_FLUSH_MS / 1000, (CLOSE_FLUSH_MS % 1000) * 1000};
    evtimer_add(c->deadline, &tv);
}

static void start_idle_timeout(conn_t *c)
{
    c->publishing = true;
    event_del(c->deadline);
    int ms = c->srv->cfg->rtmp.idle_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    /* Re-adding a pending persistent event only sets its timeout, which libevent then
     * re-arms after every read. */
    event_add(c->rd_ev, &tv);
}

/* recv() once more right away when a read returned only a little: publishers that leave
 * Nagle on (ffmpeg) send a message's header alone and its body once that header is
 * acknowledged, and the read that drained the header sent that acknowledgement. On loopback
 * the body is then already queued; over a network the extra call finds nothing (EAGAIN) and
 * the body comes with the next readiness as before. */
#define SHORT_READ 64
#define MAX_READS_PER_EVENT 4

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    char line[256];
    if (what & EV_TIMEOUT) {
        snprintf(line, sizeof(line), "no data for %d ms (rtmp.idle_timeout_ms)",
                 c->srv->cfg->rtmp.idle_timeout_ms);
        log_close(c, GV_LOG_WARN, line);
        conn_free(c);
        return;
    }
    int rc = 0, werr = 0;
    for (int round = 0; round < MAX_READS_PER_EVENT; round++) {
        ssize_t n = recv(fd, c->srv->rbuf, READ_BUF_SIZE, 0);
        if (n < 0) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
                return;
            log_socket_error(c, err);
            conn_free(c);
            return;
        }
        if (n == 0) {
            log_close(c, c->publishing ? GV_LOG_INFO : GV_LOG_DEBUG, "closed by peer");
            conn_free(c);
            return;
        }
        rc = gv_rtmp_session_feed(c->sess, c->srv->rbuf, (size_t)n, &c->out);
        werr = c->out.len > 0 ? flush_out(c) : 0;
        if (rc == 0 && werr) {
            log_socket_error(c, werr);
            conn_free(c);
            return;
        }
        if (rc == 0 && !c->publishing &&
            gv_rtmp_session_state(c->sess) == GV_RTMP_STATE_PUBLISHING)
            start_idle_timeout(c);
        if (rc == 0 && c->out.len > MAX_PENDING_OUT) {
            log_close(c, GV_LOG_WARN, "peer is not reading its replies");
            conn_free(c);
            return;
        }
        if (rc != 0 || n > SHORT_READ)
            break;
    }
    if (rc == 0)
        return;
    const char *why = gv_rtmp_session_reason(c->sess);
    if (rc == GV_ECLOSED) {
        log_close(c, GV_LOG_INFO, why[0] ? why : "session ended");
    } else {
        snprintf(line, sizeof(line), "%s [%s]", why[0] ? why : gv_strerror(rc), gv_errname(rc));
        log_close(c, GV_LOG_WARN, line);
    }
    if (werr) /* the final reply cannot be delivered anyway */
        conn_free(c);
    else
        close_after_flush(c);
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    int err = flush_out(c);
    if (err) {
        if (!c->closing) /* a closing connection was logged already */
            log_socket_error(c, err);
        conn_free(c);
        return;
    }
    if (c->closing && c->out.len == 0)
        conn_free(c);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    if (c->closing) { /* the final reply could not be flushed in time */
        conn_free(c);
        return;
    }
    char line[160];
    snprintf(line, sizeof(line),
             "did not start publishing within %d ms "
             "(rtmp.handshake_timeout_ms)",
             c->srv->cfg->rtmp.handshake_timeout_ms);
    log_close(c, GV_LOG_WARN, line);
    conn_free(c);
}

static void kick_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    if (c->closing)
        return; /* already ending (and logged); the flush path frees it */
    log_close(c, GV_LOG_INFO, "taken over by a newer publisher");
    conn_free(c);
}

/* Called by the registry, possibly from another thread, with its lock held: only schedule. */
static void on_kick(void *opaque, const char *reason)
{
    conn_t *c = opaque;
    event_active(c->kick_ev, EV_READ, 0);
}

static void format_peer(const struct sockaddr *sa, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
        snprintf(out, n, "%s:%d", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
        snprintf(out, n, "[%s]:%d", host, port);
    } else {
        snprintf(out, n, "unknown");
    }
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    gv_rtmp_server_t *srv = arg;
    char peer[96];
    format_peer(sa, peer, sizeof(peer));
    if (srv->n_conns >= srv->cfg->rtmp.max_connections) {
        gv_log(GV_LOG_WARN, peer, "refused: %d connections open (rtmp.max_connections)",
               srv->n_conns);
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn_t *c = calloc(1, sizeof(*c));
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    gv_bytes_init(&c->out, 0);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;

    gv_rtmp_session_opts_t o = {
        .cfg = srv->cfg, .reg = srv->reg, .peer = peer, .on_kick = on_kick, .opaque = c};
    c->sess = gv_rtmp_session_create(&o);
    c->rd_ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, read_cb, c);
    c->wr_ev = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, write_cb, c);
    c->deadline = evtimer_new(srv->base, deadline_cb, c);
    c->kick_ev = event_new(srv->base, -1, 0, kick_ev_cb, c);
    if (!c->sess || !c->rd_ev || !c->wr_ev || !c->deadline || !c->kick_ev) {
        gv_log(GV_LOG_ERROR, peer, "out of memory accepting connection");
        conn_free(c);
        return;
    }
    int ms = srv->cfg->rtmp.handshake_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->deadline, &tv);
    event_add(c->rd_ev, NULL);
    gv_log(GV_LOG_DEBUG, peer, "rtmp connection accepted");
}

static void accept_error_cb(struct evconnlistener *lis, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    gv_log(GV_LOG_WARN, "rtmp", "accept failed: %s", evutil_socket_error_to_string(err));
}

gv_rtmp_server_t *gv_rtmp_server_create(struct event_base *base, const gv_config_t *cfg,
                                        gv_registry_t *reg)
{
    gv_rtmp_server_t *srv = calloc(1, sizeof(*srv));
    struct addrinfo *ai = NULL;
    if (!srv)
        return NULL;
    srv->base = base;
    srv->cfg = cfg;
    srv->reg = reg;
    srv->rbuf = malloc(READ_BUF_SIZE);
    if (!srv->rbuf) {
        gv_log(GV_LOG_ERROR, "rtmp", "out of memory");
        goto fail;
    }

    char port[16];
    snprintf(port, sizeof(port), "%d", cfg->rtmp.listen.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    const char *host = cfg->rtmp.listen.host[0] ? cfg->rtmp.listen.host : NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        gv_log(GV_LOG_ERROR, "rtmp", "cannot resolve listen address %s:%s: %s", host ? host : "*",
               port, gai_strerror(gai));
        goto fail;
    }
    srv->lis = evconnlistener_new_bind(
        base, accept_cb, srv, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        128, ai->ai_addr, (int)ai->ai_addrlen);
    if (!srv->lis) {
        gv_log(GV_LOG_ERROR, "rtmp", "cannot listen on %s:%s: %s", host ? host : "*", port,
               strerror(errno));
        goto fail;
    }
    evconnlistener_set_error_cb(srv->lis, accept_error_cb);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evconnlistener_get_fd(srv->lis), (struct sockaddr *)&ss, &sl) == 0)
        srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(ai);
    gv_log(GV_LOG_INFO, "rtmp", "listening on %s:%d", host ? host : "*", srv->port);
    return srv;
fail:
    if (ai)
        freeaddrinfo(ai);
    gv_rtmp_server_destroy(srv);
    return NULL;
}

int gv_rtmp_server_port(const gv_rtmp_server_t *srv)
{
    return srv->port;
}

void gv_rtmp_server_destroy(gv_rtmp_server_t *srv)
{
    if (!srv)
        return;
    if (srv->lis)
        evconnlistener_free(srv->lis);
    while (srv->conns) {
        log_close(srv->conns, GV_LOG_INFO, "server shutting down");
        conn_free(srv->conns);
    }
    free(srv->rbuf);
    free(srv);
}
