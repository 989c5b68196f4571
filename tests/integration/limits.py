"""Scenario: the RTMP and HTTP limits from the config are enforced, and bad peers do not disturb
a good publisher. With rtmp.max_connections 3 and one good ffmpeg publisher live:
  - connections beyond the limit are closed at accept, and the slots come back once the
    holders are gone;
  - rtmp.handshake_timeout_ms closes a connection that sends nothing, half a handshake, a slow
    trickle (the deadline covers the whole phase, reads do not re-arm it) or a full handshake
    but never publishes;
  - garbage instead of C0 is closed at once;
  - a chunk header declaring a message longer than rtmp.max_message_bytes is closed at once,
    while exactly max_message_bytes is accepted (the connection waits for the body);
  - rtmp.idle_timeout_ms drops a publisher whose encoder freezes (SIGSTOP) after publishing;
  - rtmp.max_chunk_size refuses a larger Set Chunk Size and accepts the limit itself;
  - http.max_header_bytes / http.max_body_bytes refuse oversized requests, smaller ones pass,
    and http.timeout_ms lets go of a client that stops half way through its request.
Throughout, the good stream's playlist keeps gaining parts, and gavel logs every refusal."""

import os
import re
import signal
import socket
import struct
import threading
import time

import gvtest

GOOD_KEY = "lim-good-4b1d"
IDLE_KEY = "lim-idle-9c2e"
MAX_CONN = 3
HS_MS = 2000
IDLE_MS = 2000
MAX_MSG = 1 << 20
MAX_CHUNK = 1 << 16
HTTP_TIMEOUT_MS = 1000
MAX_HDR = 2048
MAX_BODY = 4096

t = gvtest.Test("limits", timeout=90)
now = gvtest.now


def stream_metric(g, name, stream):
    return gvtest.metric_value(gvtest.metrics_text(g), name, stream)


class RawConn:
    """A raw TCP connection to gavel's RTMP port; a reader thread records what arrives and when
    the server closes it (EOF or reset)."""

    def __init__(self, port, label):
        self.label = label
        self.t0 = now()
        self.closed_at = None
        self.data = bytearray()
        self.cond = threading.Condition()
        self._stop = False
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.settimeout(0.1)
        self._th = threading.Thread(target=self._read, daemon=True)
        self._th.start()

    def _read(self):
        while not self._stop:
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                b = b""
            with self.cond:
                if not b:
                    self.closed_at = now()
                    self.cond.notify_all()
                    return
                self.data += b
                self.cond.notify_all()

    def send(self, b):
        try:
            self.sock.sendall(b)
            return True
        except OSError:
            return False

    def wait_bytes(self, n, timeout):
        end = now() + timeout
        with self.cond:
            while len(self.data) < n and self.closed_at is None and now() < end:
                self.cond.wait(end - now())
            return len(self.data) >= n

    def wait_closed(self, timeout):
        """Seconds from connect to the server's close, or None if still open after timeout."""
        end = now() + timeout
        with self.cond:
            while self.closed_at is None and now() < end:
                self.cond.wait(max(0.0, end - now()))
            return None if self.closed_at is None else self.closed_at - self.t0

    def is_open(self):
        return self.closed_at is None

    def close(self):
        self._stop = True
        try:
            self.sock.close()
        except OSError:
            pass


def c0c1():
    # C0 version 3; C1: time, four zero bytes (plain handshake), random.
    return b"\x03" + struct.pack(">II", 0, 0) + os.urandom(1528)


def handshake(c):
    """Completes the plain handshake on c; True when S0S1S2 arrived and C2 was sent."""
    if not c.send(c0c1()) or not c.wait_bytes(1 + 1536 + 1536, 3.0):
        return False
    s1 = bytes(c.data[1:1 + 1536])
    return c.send(s1)


def chunk_header_fmt0(csid, length, msg_type, stream_id=0, ts=0):
    return (bytes([csid & 0x3f]) + ts.to_bytes(3, "big") + length.to_bytes(3, "big") +
            bytes([msg_type]) + struct.pack("<I", stream_id))


def raw_http(port, data, timeout=3.0):
    """Sends raw bytes to the HTTP port; returns (status or None, elapsed, closed_without_reply).
    A reset while sending counts as closed."""
    t0 = now()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    resp = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            pass
        while b"\r\n" not in resp:
            try:
                b = s.recv(4096)
            except (socket.timeout, OSError):
                break
            if not b:
                break
            resp += b
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    return (int(m.group(1)) if m else None), now() - t0, not resp


def let_go(*cs):
    """Closes our side and gives gavel a moment to notice, so the slots are free again."""
    for c in cs:
        c.close()
    time.sleep(0.3)


def check_closed_at_timeout(label, c, limit_s):
    dt = c.wait_closed(limit_s + 2.0)
    t.check("%s: closed by rtmp.handshake_timeout_ms (%.1f s)" % (label, limit_s),
            dt is not None and limit_s - 0.15 <= dt <= limit_s + 1.0,
            "closed after %s" % ("%.2fs" % dt if dt is not None else "never (still open)"))


with t:
    g = t.start_gavel([("good", GOOD_KEY), ("idle", IDLE_KEY)],
                      hls=dict(part_target_ms=200, segment_target_ms=1000, window_segments=3),
                      rtmp_opts=dict(max_connections=MAX_CONN, handshake_timeout_ms=HS_MS,
                                     idle_timeout_ms=IDLE_MS, max_message_bytes=MAX_MSG,
                                     max_chunk_size=MAX_CHUNK),
                      http_opts=dict(max_header_bytes=MAX_HDR, max_body_bytes=MAX_BODY,
                                     timeout_ms=HTTP_TIMEOUT_MS))
    good = t.ffmpeg_publish(g.rtmp_url(GOOD_KEY), name="ffmpeg-good", gop=30)
    g.wait_playlist("good", 1, timeout=20)
    watch = gvtest.PlaylistWatch(g, "good")
    t_start = now()
    port = g.rtmp_port
    conns = []

    # 1. rtmp.max_connections: the good publisher holds one slot; two silent connections take
    #    the rest; further connections are closed at accept.
    holders = [RawConn(port, "holder%d" % i) for i in range(MAX_CONN - 1)]
    conns += holders
    time.sleep(0.5)
    t.check("connections up to max_connections are accepted (still open after 0.5 s)",
            all(c.is_open() for c in holders), str([c.is_open() for c in holders]))
    extra = []
    for i in range(3):
        c = RawConn(port, "extra%d" % i)
        conns.append(c)
        c.send(c0c1())  # a real client would start the handshake; it must get no answer
        extra.append(c)
    for i, c in enumerate(extra):
        dt = c.wait_closed(1.5)
        t.check("connection %d beyond max_connections closed promptly" % (MAX_CONN + 1 + i),
                dt is not None and dt < 0.5,
                "closed after %s" % ("%.3fs" % dt if dt is not None else "never"))
        t.check("connection beyond max_connections got no handshake reply (%d)" % i,
                len(c.data) == 0, "%d bytes received" % len(c.data))
    # The silent holders are themselves closed by the handshake deadline (they sent nothing).
    for i, c in enumerate(holders):
        check_closed_at_timeout("silent connection %d (sent nothing)" % i, c, HS_MS / 1000.0)
    time.sleep(0.2)

    # 2. Slots are free again: the handshake deadline in its other shapes, two at a time.
    half = RawConn(port, "half")
    trickle = RawConn(port, "trickle")
    conns += [half, trickle]
    half.send(c0c1()[:700])
    stop_trickle = threading.Event()

    def trickle_bytes():
        data = c0c1()
        i = 0
        while not stop_trickle.is_set() and i < len(data) and trickle.is_open():
            if not trickle.send(data[i:i + 1]):
                break
            i += 1
            time.sleep(0.1)

    th = threading.Thread(target=trickle_bytes, daemon=True)
    th.start()
    time.sleep(0.5)
    t.check("freed slots accept new connections again",
            half.is_open() and trickle.is_open(), "half %s, trickle %s"
            % (half.is_open(), trickle.is_open()))
    check_closed_at_timeout("half a handshake", half, HS_MS / 1000.0)
    check_closed_at_timeout("slow trickle, 1 byte per 100 ms (reads do not re-arm)", trickle,
                            HS_MS / 1000.0)
    stop_trickle.set()
    th.join(2)

    # 3. Full handshake but no publish; and garbage instead of C0.
    nopub = RawConn(port, "nopub")
    conns.append(nopub)
    t.check("plain handshake completes (S0 S1 S2 received)", handshake(nopub),
            "%d bytes received" % len(nopub.data))
    junk = RawConn(port, "junk")
    conns.append(junk)
    junk.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(2000))
    dt = junk.wait_closed(1.5)
    t.check("garbage instead of a handshake: closed at once", dt is not None and dt < 0.5,
            "closed after %s" % ("%.3fs" % dt if dt is not None else "never"))
    t.check("garbage instead of a handshake: no handshake reply", len(junk.data) == 0,
            "%d bytes" % len(junk.data))
    check_closed_at_timeout("handshake done, never publishes", nopub, HS_MS / 1000.0)

    # 4. rtmp.max_message_bytes: a header declaring more is refused at once; exactly the limit
    #    is accepted and the connection waits for the body.
    big = RawConn(port, "huge")
    over = RawConn(port, "over")
    conns += [big, over]
    ok1 = handshake(big)
    ok2 = handshake(over)
    t.check("handshakes before the oversize messages", ok1 and ok2, "%s %s" % (ok1, ok2))
    ts = now()
    big.send(chunk_header_fmt0(3, 0xFFFFFF, 9, 1) + os.urandom(128))
    over.send(chunk_header_fmt0(3, MAX_MSG + 1, 20) + b"\x02\x00\x07connect")
    for label, c in (("16 MiB video message", big), ("max_message_bytes + 1", over)):
        dt = c.wait_closed(1.5)
        t.check("%s declared: closed at once" % label,
                dt is not None and c.closed_at - ts < 0.5,
                "closed %s" % ("%.3fs after the header" % (c.closed_at - ts)
                               if dt is not None else "never"))
    at = RawConn(port, "at-limit")
    conns.append(at)
    t.check("handshake before the max_message_bytes message", handshake(at))
    at.send(chunk_header_fmt0(3, MAX_MSG, 20) + b"\x02\x00\x07connect")
    dt = at.wait_closed(0.7)
    t.check("a message of exactly max_message_bytes is accepted (still open after 0.7 s)",
            dt is None, "still open" if dt is None else "closed after %.3fs" % dt)
    let_go(at)

    # rtmp.max_chunk_size: a Set Chunk Size above it is refused, the limit itself accepted.
    cs_over = RawConn(port, "chunk-over")
    cs_at = RawConn(port, "chunk-at")
    conns += [cs_over, cs_at]
    ok1 = handshake(cs_over)
    ok2 = handshake(cs_at)
    t.check("handshakes before Set Chunk Size", ok1 and ok2, "%s %s" % (ok1, ok2))
    ts = now()
    cs_over.send(chunk_header_fmt0(2, 4, 1) + struct.pack(">I", MAX_CHUNK + 1))
    cs_at.send(chunk_header_fmt0(2, 4, 1) + struct.pack(">I", MAX_CHUNK))
    dt = cs_over.wait_closed(1.5)
    t.check("Set Chunk Size above rtmp.max_chunk_size: closed at once",
            dt is not None and cs_over.closed_at - ts < 0.5,
            "closed %s" % ("%.3fs after the message" % (cs_over.closed_at - ts)
                           if dt is not None else "never"))
    dt = cs_at.wait_closed(0.7)
    t.check("Set Chunk Size of exactly rtmp.max_chunk_size: accepted (still open after 0.7 s)",
            dt is None, "still open" if dt is None else "closed after %.3fs" % dt)
    let_go(cs_over, cs_at)

    # 5. rtmp.idle_timeout_ms: a second publisher whose encoder freezes after publishing.
    idle = t.ffmpeg_publish(g.rtmp_url(IDLE_KEY), name="ffmpeg-idle", gop=30)
    g.wait_playlist("idle", 1, timeout=20)
    t.check("second publisher live", stream_metric(g, "gavel_stream_live", "idle") == 1.0,
            str(stream_metric(g, "gavel_stream_live", "idle")))
    idle.send_signal(signal.SIGSTOP)
    t_stop = now()
    dropped = None
    while now() - t_stop < IDLE_MS / 1000.0 + 3.0:
        if stream_metric(g, "gavel_stream_live", "idle") == 0.0:
            dropped = now() - t_stop
            break
        time.sleep(0.05)
    t.check("frozen publisher dropped by rtmp.idle_timeout_ms (%.1f s)" % (IDLE_MS / 1000.0),
            dropped is not None and IDLE_MS / 1000.0 - 0.3 <= dropped <= IDLE_MS / 1000.0 + 1.0,
            "dropped after %s" % ("%.2fs" % dropped if dropped is not None else "never"))
    idle.send_signal(signal.SIGCONT)
    idle.kill()

    # 6. HTTP limits.
    hp = g.http_port
    ok_hdr = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (MAX_HDR // 2) + \
        b"\r\nConnection: close\r\n\r\n"
    st, dt, _ = raw_http(hp, ok_hdr)
    t.check("headers under http.max_header_bytes: 200", st == 200, "status %s" % st)
    big_hdr = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (MAX_HDR * 2) + \
        b"\r\nConnection: close\r\n\r\n"
    st, dt, closed = raw_http(hp, big_hdr)
    t.check("headers over http.max_header_bytes: 400/413/431 or closed, never served",
            st in (400, 413, 431) or (st is None and closed), "status %s after %.3fs" % (st, dt))
    t.info("oversized headers answered with %s" % st)
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + \
        b"".join(b"X-H%d: v\r\n" % i for i in range(MAX_HDR // 8)) + b"Connection: close\r\n\r\n"
    st, dt, closed = raw_http(hp, many)
    t.check("many small headers over http.max_header_bytes: refused",
            st in (400, 413, 431) or (st is None and closed), "status %s" % st)
    body = b"x" * (MAX_BODY // 2)
    st, dt, _ = raw_http(hp, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n" % len(body) + body)
    t.check("body under http.max_body_bytes: served (200)", st == 200, "status %s" % st)
    st, dt, closed = raw_http(hp, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                              b"Connection: close\r\n\r\n" % (MAX_BODY * 4))
    t.check("Content-Length over http.max_body_bytes: 413 without waiting for the body",
            st == 413 and dt < 1.0, "status %s after %.3fs" % (st, dt))
    body = b"y" * (MAX_BODY * 2)
    st, dt, closed = raw_http(hp, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                              b"Connection: close\r\n\r\n" % len(body) + body)
    t.check("body over http.max_body_bytes sent: 413 or closed, never served",
            st == 413 or (st is None and closed), "status %s after %.3fs" % (st, dt))
    st, dt, closed = raw_http(hp, b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                              b"chunked\r\nConnection: close\r\n\r\n%x\r\n" % (MAX_BODY * 2) +
                              b"z" * (MAX_BODY * 2) + b"\r\n0\r\n\r\n")
    t.check("chunked body over http.max_body_bytes: 413 or closed, never served",
            st == 413 or (st is None and closed), "status %s after %.3fs" % (st, dt))

    # http.timeout_ms: a client that stops half way through its request line is let go.
    s = socket.create_connection(("127.0.0.1", hp), timeout=5)
    s.sendall(b"GET /heal")
    t0 = now()
    try:
        got = s.recv(4096)
    except OSError:
        got = b""
    dt = now() - t0
    s.close()
    t.check("half a request: connection closed by http.timeout_ms (%.1f s)"
            % (HTTP_TIMEOUT_MS / 1000.0), HTTP_TIMEOUT_MS / 1000.0 - 0.1 <= dt <=
            HTTP_TIMEOUT_MS / 1000.0 + 1.5, "closed after %.2fs (%d bytes: %r)"
            % (dt, len(got), got[:40]))

    # 7. The good stream never noticed.
    time.sleep(0.6)
    t_end = now()
    watch.stop()
    for c in conns:
        c.close()
    seen = watch.parts_between(t_start, t_end)
    gaps = [b - a for a, b in zip(seen, seen[1:])]
    span = t_end - t_start
    t.info("good stream: %d new parts over %.1fs, largest gap %.3fs, playlist statuses %s"
           % (len(seen), span, max(gaps) if gaps else -1, watch.statuses))
    t.check("good stream: new parts kept coming (>= 70% of one per 200 ms)",
            len(seen) >= 0.7 * span / 0.2, "%d parts in %.1fs" % (len(seen), span))
    t.check("good stream: no stall (largest gap between new parts <= 1.0 s)",
            gaps and max(gaps) <= 1.0, "largest gap %.3fs" % (max(gaps) if gaps else -1))
    t.check("good stream: every playlist poll answered 200",
            set(watch.statuses) == {200} and not watch.errors,
            "%s %s" % (watch.statuses, watch.errors[:2]))
    t.check("good publisher still running", good.alive(), good.tail(5))
    t.check("good stream still live", stream_metric(g, "gavel_stream_live", "good") == 1.0)
    t.check("gavel alive", g.proc.alive(), "rc=%s" % g.proc.returncode())
    r = gvtest.http_get(g.url("/healthz"), timeout=3)
    t.check("/healthz still 200", r.status == 200, str(r.status))

    # 8. Every refusal is logged (one line naming the limit).
    log = g.proc.output()
    n_refused = len(re.findall(r"refused: \d+ connections open \(rtmp\.max_connections\)", log))
    t.check("log: max_connections refusals", n_refused >= 3, "%d lines" % n_refused)
    n_hs = len(re.findall(r"rtmp\.handshake_timeout_ms", log))
    t.check("log: handshake deadline closes (2 silent, half, trickle, no publish)", n_hs >= 5,
            "%d lines" % n_hs)
    t.check("log: idle timeout close", "rtmp.idle_timeout_ms" in log)
    t.check("log: oversize messages refused (ETOOBIG)", len(re.findall(r"ETOOBIG", log)) >= 2,
            "%d lines" % len(re.findall(r"ETOOBIG", log)))
    t.check("log: garbage handshake named", "handshake: not RTMP" in log)
    good_closes = [l for l in log.splitlines() if "closing stream good" in l]
    t.check("log: the good publisher's connection was never closed", not good_closes,
            "; ".join(good_closes[:2]))
    rc, dt = g.terminate(signal.SIGTERM, grace=5.0)
    t.check("gavel exits 0 on SIGTERM", rc == 0, "rc=%s" % rc)
