"""Scenario: the SRT listener's robustness rules hold against real peers while a good ffmpeg
publisher (H.264 + AAC in MPEG-TS over SRT, stream "good") stays live. With srt.max_connections
4, srt.handshake_timeout_ms 1500 and srt.peer_idle_timeout_ms 2000:
  1. Malformed TS: srt-live-transmit relays random bytes to stream "bad" under its valid key;
     gavel closes that connection saying why ("no usable media" or "input is not MPEG-TS"),
     "bad" never lists a segment (media playlist 404, gavel_stream_last_msn -1) and is no longer
     live once the connection is closed; then a real MPEG-TS publisher on "bad" goes live, so the
     stream is not poisoned. While the garbage flows, a second caller for the live "good" stream
     is refused with 1409 and a malformed stream id with 1400.
  2. Connection limit: the good publisher plus three callers trickling bytes hold the four
     slots; a fifth caller is refused with 1402 ("connection limit reached") and
     srt-live-transmit reports the rejection. The holders then stop sending while keeping their
     sessions alive and are closed after peer_idle_timeout_ms ("idle for
     peer_idle_timeout_ms"); after that a new caller is accepted.
  3. A caller that completes the handshake but never sends a byte (srt-live-transmit dials
     before its input has any) is closed after handshake_timeout_ms ("no data within
     handshake_timeout_ms").
  4. Handshake flood: UDP junk, bare induction packets, 150 handshakes with unknown keys in one
     burst and 16 srt-live-transmit callers with unknown keys at once are all refused (1403
     "unknown publish key", or 1402 "handshake rate limit" once the rate limit engages); gavel
     stays up and afterwards a new ffmpeg publisher still goes live.
Within every step the good stream's playlist keeps gaining parts and its publisher is never
closed; at the end its playlist passes the LL-HLS rule checker and gavel exits 0 on SIGTERM.
(Unknown key, read mode and passphrases are refused in srt_auth.py.)"""

import datetime
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import gvtest
import srt_common

GOOD_KEY = "rob-good-5e71"
BAD_KEY = "rob-bad-0c94"
HOLD_KEYS = ["rob-hold1-a3d0", "rob-hold2-61fe", "rob-hold3-9b27"]
NEXT_KEY = "rob-next-47c8"
SILENT_KEY = "rob-silent-d215"
LATE_KEY = "rob-late-8e03"
MAX_CONN = 4
HS_MS = 1500
IDLE_MS = 2000
NO_MEDIA_S = 10.0  # srt_server.c: "bytes but no media" closes after max(handshake, 10 s)
PART_S = 0.2

t = gvtest.Test("srt_robust", timeout=120)
now = gvtest.now


# ---------------------------------------------------------------------------------------------
# gavel's log


LOG_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z\s+(\w+)\s+\[([^\]]*)\] (.*)$")
CONN_RE = re.compile(r"^SRT publisher (\S+) connected")
CLOSE_RE = re.compile(r"^SRT publisher (\S+) closed: (.*) \((\d+) units\)$")
REFUSED_RE = re.compile(r"^SRT connection refused \((\d+)\): (.*)$")


def log_entries(g):
    """(unix time, level, context, message) for every line of gavel's log."""
    out = []
    for line in g.proc.output().splitlines():
        m = LOG_RE.match(line)
        if m:
            ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            out.append((ts, m.group(2), m.group(3), m.group(4)))
    return out


def srt_conns(g, stream):
    """The SRT publisher connections of `stream` in gavel's log, oldest first: dicts with peer,
    connected (log time), closed (log time or None), why and units."""
    conns = []
    for ts, _, ctx, msg in log_entries(g):
        if ctx != stream:
            continue
        m = CONN_RE.match(msg)
        if m:
            conns.append(dict(peer=m.group(1), connected=ts, closed=None, why=None, units=None))
            continue
        m = CLOSE_RE.match(msg)
        if m:
            for c in conns:
                if c["peer"] == m.group(1) and c["closed"] is None:
                    c.update(closed=ts, why=m.group(2), units=int(m.group(3)))
                    break
    return conns


def n_connected(g):
    """How many SRT publisher connections gavel has accepted so far (any stream)."""
    return sum(1 for _, _, _, msg in log_entries(g) if CONN_RE.match(msg))


def refusals(g):
    """[(peer, code, reason)] of every "SRT connection refused" line."""
    out = []
    for _, _, ctx, msg in log_entries(g):
        m = REFUSED_RE.match(msg)
        if m:
            out.append((ctx, int(m.group(1)), m.group(2)))
    return out


def wait_until(fn, timeout, interval=0.05):
    """Polls fn() until it returns something true; returns that, or the last value."""
    end = now() + timeout
    v = fn()
    while not v and now() < end:
        time.sleep(interval)
        v = fn()
    return v


def srt_conn_count(g):
    """Open SRT publisher connections as /metrics lists them (one RTT gauge each)."""
    return len(re.findall(r"^gavel_srt_rtt_seconds\{", gvtest.metrics_text(g), re.M))


# ---------------------------------------------------------------------------------------------
# Peers


class Slt:
    """srt-live-transmit as an SRT caller relaying whatever this script writes to its stdin
    (file://con). -a:no: a refused or closed connection ends the process instead of redialling;
    -buffering:1: each read is sent at once (by default it batches 10 reads per send).
    feed_interval: write 1316 random bytes that often from a thread (None: never write)."""

    def __init__(self, g, streamid, name, feed_interval=None):
        url = "srt://127.0.0.1:%d?mode=caller&latency=120&streamid=%s" % (g.srt_port, streamid)
        argv = [srt_common.SRT_LIVE_TRANSMIT, "-a:no", "-buffering:1", "-chunk:1316",
                "file://con", url]
        self.proc = gvtest.Proc(name, argv, t.tmp, stdin=subprocess.PIPE)
        t.procs.append(self.proc)
        self.sent = 0
        self.last_write = None  # wall-clock time of the last write (gavel's log is wall-clock)
        self._halt = threading.Event()
        self._th = None
        if feed_interval is not None:
            self._th = threading.Thread(target=self._feed, args=(feed_interval,), daemon=True)
            self._th.start()

    def _feed(self, interval):
        while not self._halt.is_set():
            try:
                self.proc.p.stdin.write(os.urandom(1316))
                self.proc.p.stdin.flush()
            except (OSError, ValueError):
                return
            self.sent += 1316
            self.last_write = time.time()
            self._halt.wait(interval)

    def go_quiet(self):
        """Stops writing but keeps the input open: the SRT session stays up (keepalives) with
        no more data."""
        self._halt.set()
        if self._th:
            self._th.join(2)

    def hang_up(self):
        """Stops feeding and closes its input (srt-live-transmit may still linger: callers stop
        the process when they need it gone)."""
        self._halt.set()
        if self._th:
            self._th.join(2)
        try:
            self.proc.p.stdin.close()
        except (OSError, ValueError):
            pass


# Hand-made SRT caller handshakes (HSv5, as libsrt's caller sends them): an induction, then a
# conclusion carrying an HSREQ extension and the stream id. The listener answers a refused
# conclusion with a handshake whose type is 1000 + the reject reason.
HS_CONCLUSION = 0xFFFFFFFF
HS_INDUCTION = 1
SRT_MAGIC = 0x4A17


def hs_packet(dst_sock, version, ext_flags, isn, hs_type, sock_id, cookie, exts=b""):
    ts = int(time.monotonic() * 1e6) & 0xFFFFFFFF
    hdr = struct.pack(">IIII", 0x80000000, 0, ts, dst_sock)  # control, type 0 = handshake
    cif = struct.pack(">IHHIIIIII", version, 0, ext_flags, isn, 1500, 8192, hs_type, sock_id,
                      cookie)
    # Peer address: four 32-bit words, IPv4 in the first, byte order as libsrt writes it.
    cif += socket.inet_aton("127.0.0.1")[::-1] + bytes(12)
    return hdr + cif + exts


def hs_conclusion_exts(streamid):
    # SRT_CMD_HSREQ: version 1.5.1; TSBPD send+recv, crypt, TLPKTDROP, NAK reports, rexmit flag;
    # 120 ms latency both ways.
    exts = struct.pack(">HHIII", 1, 3, 0x00010501, 0x3F, (120 << 16) | 120)
    flags = 0x1
    if streamid is not None:
        # SRT_CMD_SID: NUL-padded to whole words, each 4-byte word byte-reversed on the wire.
        b = streamid.encode()
        b += bytes(-len(b) % 4)
        exts += struct.pack(">HH", 5, len(b) // 4) + b"".join(b[i:i + 4][::-1]
                                                              for i in range(0, len(b), 4))
        flags |= 0x4  # HS_EXT_CONFIG
    return flags, exts


def parse_hs(data):
    if len(data) < 64 or struct.unpack(">I", data[:4])[0] != 0x80000000:
        return None
    version, _, ext, _, _, _, hs_type, sock_id, cookie = struct.unpack(">IHHIIIIII",
                                                                       data[16:48])
    return dict(version=version, ext=ext, type=hs_type, sock=sock_id, cookie=cookie)


def hs_burst(port, sids, timeout=2.0):
    """Runs one handshake per stream id, each from its own UDP socket: every induction first,
    then every conclusion back to back. Returns [(local port, outcome)] where outcome is
    "accepted", the reject code (int), "no cookie" or None (no answer to the conclusion)."""
    dst = ("127.0.0.1", port)
    hs = []
    for sid in sids:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        hs.append(dict(s=s, sid=sid, id=random.getrandbits(29) + 1,
                       isn=random.getrandbits(31), cookie=None, out=None))

    def collect(pending, on_reply, deadline):
        while pending and now() < deadline:
            ready, _, _ = select.select([h["s"] for h in pending], [], [], 0.05)
            for s in ready:
                h = next(x for x in pending if x["s"] is s)
                try:
                    r = parse_hs(s.recv(4096))
                except OSError:
                    continue
                if r and on_reply(h, r):
                    pending.remove(h)

    def on_induction(h, r):
        if r["type"] == HS_INDUCTION and r["version"] == 5 and r["ext"] == SRT_MAGIC:
            h["cookie"] = r["cookie"]
            return True
        return False

    def on_conclusion(h, r):
        if r["type"] == HS_CONCLUSION:
            h["out"] = "accepted"
        elif 1000 <= r["type"] < 10000:
            h["out"] = r["type"] - 1000
        else:
            return False
        return True

    try:
        for attempt in range(2):  # one resend for an induction lost on a busy socket
            pending = [h for h in hs if h["cookie"] is None]
            for h in pending:
                h["s"].sendto(hs_packet(0, 4, 2, h["isn"], HS_INDUCTION, h["id"], 0), dst)
            collect(pending, on_induction, now() + timeout / 2)
        ready = [h for h in hs if h["cookie"] is not None]
        for h in ready:
            flags, exts = hs_conclusion_exts(h["sid"])
            h["s"].sendto(hs_packet(0, 5, flags, h["isn"], HS_CONCLUSION, h["id"], h["cookie"],
                                    exts), dst)
        collect(list(ready), on_conclusion, now() + timeout)
        return [(h["s"].getsockname()[1], h["out"] if h["cookie"] is not None else "no cookie")
                for h in hs]
    finally:
        for h in hs:
            h["s"].close()


def slt_refused(slt, deadline):
    """srt-live-transmit printed libsrt's rejection notice (before `deadline`) and never
    connected; it is stopped afterwards. srt-live-transmit prints no reason code and does not
    always exit after a rejection (with its input still open), so the code is checked with
    hand-made handshakes and in gavel's log."""
    def notice():
        out = slt.proc.output()
        return "REJECT" in out and "rejection reason" in out
    seen = wait_until(notice, max(0.0, deadline - now()))
    connected = "SRT target connected" in slt.proc.output()
    slt.hang_up()
    slt.proc.stop(signal.SIGINT, 1.0)
    return seen and not connected


def slt_disconnected(slt, timeout=5.0):
    """srt-live-transmit was connected, saw the connection go and ended."""
    slt.proc.wait(timeout)
    out = slt.proc.output()
    return (not slt.proc.alive() and "SRT target connected" in out and
            "SRT target disconnected" in out)


def hs_one(port, sid):
    return hs_burst(port, [sid])[0][1]


def small_pub(g, key, name):
    return srt_common.ffmpeg_publish(t, g.srt_url(srt_common.sid_ac(key)), name=name,
                                     size="320x240", gop=30, extra=["-preset", "ultrafast"])


# ---------------------------------------------------------------------------------------------
# The scenario

with t:
    streams = [("good", GOOD_KEY), ("bad", BAD_KEY), ("next", NEXT_KEY), ("silent", SILENT_KEY),
               ("late", LATE_KEY)] + [("hold%d" % (i + 1), k) for i, k in enumerate(HOLD_KEYS)]
    g = srt_common.start_gavel(t, streams, srt=dict(max_connections=MAX_CONN,
                                                    handshake_timeout_ms=HS_MS,
                                                    peer_idle_timeout_ms=IDLE_MS,
                                                    stats_interval_ms=2000),
                               hls=dict(segment_target_ms=1000, window_segments=6))
    port = g.srt_port
    good = srt_common.ffmpeg_publish(t, g.srt_url(srt_common.sid_ac(GOOD_KEY)),
                                     name="ffmpeg-good", gop=30)
    g.wait_playlist("good", 1, timeout=20)
    watch = gvtest.PlaylistWatch(g, "good")
    time.sleep(0.5)

    def good_step(label, a, b):
        """The good stream kept gaining parts from a to b, without a stall."""
        seen = watch.parts_between(a, b)
        span = b - a
        gaps = [y - x for x, y in zip([a] + seen, seen + [b])]
        t.check("%s: good stream gained parts (>= 60%% of one per 200 ms)" % label,
                len(seen) >= max(2, 0.6 * span / PART_S), "%d new parts in %.1fs" % (len(seen),
                                                                                    span))
        t.check("%s: good stream never stalled (largest gap <= 1.0 s)" % label,
                max(gaps) <= 1.0, "largest gap %.2fs" % max(gaps))

    # 1. Random bytes under a valid key. The demuxer never finds media, so the connection is
    #    closed (no usable media after max(handshake_timeout_ms, 10 s), or "not MPEG-TS").
    s1 = now()
    bad_watch = gvtest.PlaylistWatch(g, "bad", with_metrics=True)
    junk = Slt(g, "live/" + BAD_KEY, "slt-random", feed_interval=0.02)
    c = wait_until(lambda: srt_conns(g, "bad"), 5.0)
    t.require("random bytes: gavel accepted the caller (valid key)", c, junk.proc.tail(5))
    t.require("random bytes: srt-live-transmit is relaying them", junk.proc.alive(),
              junk.proc.tail(5))
    time.sleep(1.5)
    rx = gvtest.metric_value(gvtest.metrics_text(g), "gavel_srt_bytes_received_total", "bad")
    t.check("random bytes reach gavel over SRT (gavel_srt_bytes_received_total{bad} > 0)",
            rx is not None and rx > 0, "%s bytes received, %d written" % (rx, junk.sent))

    # Meanwhile: a second caller for the live good stream, and a malformed stream id.
    out = hs_one(port, srt_common.sid_ac(GOOD_KEY))
    t.check("caller for the stream being published: refused 1409", out == 1409, "got %r" % out)
    out = hs_one(port, "#!::m=publish,u=someone")
    t.check("stream id without a resource: refused 1400", out == 1400, "got %r" % out)
    out = hs_one(port, None)
    t.check("no stream id at all: refused 1400", out == 1400, "got %r" % out)
    ref = refusals(g)
    t.check("log: 1409 says the stream is already being published",
            any(r[1] == 1409 and "already being published" in r[2] for r in ref), str(ref))
    t.check("log: 1400 says the stream id is missing or malformed",
            sum(1 for r in ref if r[1] == 1400 and "malformed stream id" in r[2]) >= 2, str(ref))

    c = wait_until(lambda: [x for x in srt_conns(g, "bad") if x["closed"]], NO_MEDIA_S + 4.0,
                   interval=0.2)
    closed_at = now()
    if t.check("random bytes: gavel closed the connection", c,
               "still open %.1fs after connecting" % (now() - s1)):
        c = c[0]
        dt = c["closed"] - c["connected"]
        t.check("random bytes: closed with a reason (no usable media / not MPEG-TS)",
                c["why"].startswith("no usable media") or c["why"] == "input is not MPEG-TS",
                "closed: %s" % c["why"])
        t.check("random bytes: closed within 10 s + 1.5 s and no media unit taken",
                dt <= NO_MEDIA_S + 1.5 and c["units"] == 0,
                "closed %.2fs after connecting, %d units" % (dt, c["units"]))
        t.info("random bytes: %d bytes written, closed after %.2fs: %s"
               % (junk.sent, dt, c["why"]))
    t.check("random bytes: srt-live-transmit sees its connection closed and ends",
            slt_disconnected(junk), junk.proc.tail(5))
    junk.hang_up()
    time.sleep(0.6)
    bad_watch.stop()
    samples = bad_watch.samples_between(s1, now())
    t.check("random bytes: 'bad' media playlist never served (404 on every poll)",
            samples and all(s[1] == 404 for s in samples) and not bad_watch.first_seen,
            "statuses %s, %d parts seen" % (bad_watch.statuses, len(bad_watch.first_seen)))
    t.check("random bytes: gavel_stream_last_msn{bad} stays -1",
            samples and all(s[3] == -1 for s in samples),
            str(sorted(set(s[3] for s in samples))))
    # gavel_stream_live means "a publisher is attached": the garbage caller was attached until
    # gavel closed it; after that the stream must not look live.
    after = [s for s in samples if s[0] > closed_at + 0.2]
    t.check("random bytes: 'bad' not live once the connection is closed",
            after and all(s[2] == 0 for s in after), str([s[2] for s in after]))

    # Not poisoned: a real MPEG-TS publisher on "bad" goes live.
    badpub = small_pub(g, BAD_KEY, "ffmpeg-bad")
    try:
        _, pl = g.wait_playlist("bad", 1, timeout=15)
        chk = gvtest.RuleChecker(t, g.media_url("bad"), secrets=t.secrets)
        chk.check_playlist(pl, fetch_media=True)
        chk.report("after random bytes, 'bad' with real TS: ")
        t.check("after random bytes: real TS on 'bad' goes live",
                gvtest.metric_value(gvtest.metrics_text(g), "gavel_stream_live", "bad") == 1.0)
    except gvtest.Fatal as e:
        t.fail("after random bytes: real TS on 'bad' lists a segment", str(e))
    badpub.stop(signal.SIGINT, 5)
    t.check("real 'bad' publisher's connection closed by gavel after it hung up",
            wait_until(lambda: len([x for x in srt_conns(g, "bad") if x["closed"]]) == 2, 5.0),
            str(srt_conns(g, "bad")))
    e1 = now()
    good_step("step 1 (malformed TS)", s1, e1)

    # 2. max_connections: good + three holders fill the four slots.
    s2 = now()
    t.check("only the good publisher is connected before the holders",
            wait_until(lambda: srt_conn_count(g) == 1, 3.0), "%d" % srt_conn_count(g))
    holders = []
    for i, key in enumerate(HOLD_KEYS):
        h = Slt(g, "live/" + key, "slt-hold%d" % (i + 1), feed_interval=0.1)
        holders.append(h)
        ok = wait_until(lambda: srt_conns(g, "hold%d" % (i + 1)), 5.0)
        t.check("holder %d accepted (%d of %d connections)" % (i + 1, i + 2, MAX_CONN), ok,
                h.proc.tail(5))
    t.check("/metrics lists %d open SRT connections (good counts as one)" % MAX_CONN,
            wait_until(lambda: srt_conn_count(g) == MAX_CONN, 2.5), "%d" % srt_conn_count(g))
    n_limit = sum(1 for r in refusals(g) if r[1] == 1402 and "connection limit" in r[2])
    over = Slt(g, "live/" + NEXT_KEY, "slt-over-limit")
    t.check("caller beyond max_connections: srt-live-transmit reports the rejection",
            slt_refused(over, now() + 5.0), over.proc.tail(5))
    out = hs_one(port, srt_common.sid_ac(NEXT_KEY))
    t.check("caller beyond max_connections: refused 1402", out == 1402, "got %r" % out)
    n_limit2 = sum(1 for r in refusals(g) if r[1] == 1402 and "connection limit" in r[2])
    t.check("log: 'connection limit reached' for both callers", n_limit2 - n_limit >= 2,
            "%d new lines" % (n_limit2 - n_limit))
    t.check("the refused caller never became a publisher", not srt_conns(g, "next"))
    t.check("holders still connected after the refusals",
            all(h.proc.alive() for h in holders) and
            all(not x["closed"] for i in range(3) for x in srt_conns(g, "hold%d" % (i + 1))))
    # The holders go quiet while keeping their sessions alive: peer_idle_timeout_ms frees the
    # slots.
    for h in holders:
        h.go_quiet()
    gone = wait_until(lambda: all(x["closed"] for i in range(3)
                                  for x in srt_conns(g, "hold%d" % (i + 1))), IDLE_MS / 1e3 + 3)
    if t.check("holders that go quiet are closed by gavel", gone,
               str([srt_conns(g, "hold%d" % (i + 1)) for i in range(3)])):
        for i, h in enumerate(holders):
            c = srt_conns(g, "hold%d" % (i + 1))[0]
            dt = c["closed"] - h.last_write
            t.check("quiet holder %d: closed with 'idle for peer_idle_timeout_ms'" % (i + 1),
                    c["why"] == "idle for peer_idle_timeout_ms", c["why"])
            # The last bytes reach gavel up to the SRT latency (120 ms) after they were written.
            t.check("quiet holder %d: closed at peer_idle_timeout_ms (%.1f s) after its last "
                    "bytes" % (i + 1, IDLE_MS / 1e3),
                    IDLE_MS / 1e3 - 0.1 <= dt <= IDLE_MS / 1e3 + 0.9, "after %.2fs" % dt)
    for h in holders:
        h.hang_up()
    nxt = Slt(g, "live/" + NEXT_KEY, "slt-next", feed_interval=0.1)
    ok = wait_until(lambda: srt_conns(g, "next"), 5.0)
    time.sleep(0.5)
    t.check("slots free again: a new caller is accepted and stays connected",
            ok and nxt.proc.alive() and not srt_conns(g, "next")[0]["closed"], nxt.proc.tail(5))
    for h in holders + [nxt]:
        h.hang_up()
        h.proc.stop(signal.SIGINT, 2.0)
    wait_until(lambda: all(x["closed"] for x in srt_conns(g, "next")), 5.0)
    e2 = now()
    good_step("step 2 (connection limit)", s2, e2)

    # 3. A caller that connects but never sends: srt-live-transmit dials as soon as it starts
    #    (before its input has any bytes), and its input here is a pipe nobody writes to.
    s3 = now()
    silent = Slt(g, "live/" + SILENT_KEY, "slt-silent")
    c = wait_until(lambda: srt_conns(g, "silent"), 5.0)
    t.require("silent caller: handshake completed (gavel logs it connected)", c,
              silent.proc.tail(5))
    c = wait_until(lambda: [x for x in srt_conns(g, "silent") if x["closed"]],
                   HS_MS / 1000.0 + 3.0)
    if t.check("silent caller: closed by gavel", c, "still open"):
        c = c[0]
        dt = c["closed"] - c["connected"]
        t.check("silent caller: reason is 'no data within handshake_timeout_ms'",
                c["why"] == "no data within handshake_timeout_ms", c["why"])
        t.check("silent caller: closed at handshake_timeout_ms (%.1f s)" % (HS_MS / 1000.0),
                HS_MS / 1000.0 - 0.1 <= dt <= HS_MS / 1000.0 + 0.8, "after %.2fs" % dt)
    t.check("silent caller: srt-live-transmit sees its connection closed and ends",
            slt_disconnected(silent), silent.proc.tail(5))
    silent.hang_up()
    e3 = now()
    good_step("step 3 (no data after the handshake)", s3, e3)

    # 4. Handshake flood.
    s4 = now()
    ref0 = len(refusals(g))
    conns0 = n_connected(g)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(1000):  # junk: random sizes and bytes, and bare truncated control headers
        pkt = os.urandom(random.randint(1, 1400)) if i % 4 else struct.pack(
            ">IIII", 0x80000000, 0, i, 0) + os.urandom(i % 40)
        u.sendto(pkt, ("127.0.0.1", port))
    u.close()
    inductions = []
    for i in range(100):  # inductions that are never followed by a conclusion
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(hs_packet(0, 4, 2, i, HS_INDUCTION, 1000 + i, 0), ("127.0.0.1", port))
        inductions.append(s)
    for s in inductions:
        s.close()
    burst = hs_burst(port, ["#!::r=live/no-such-key-%03d,m=publish" % i for i in range(150)])
    slts = [Slt(g, "live/unknown-key-%02d" % i, "slt-flood%02d" % i) for i in range(16)]
    codes = [o for _, o in burst]
    n1403, n1402 = codes.count(1403), codes.count(1402)
    t.info("flood: 150 handshakes answered %d x 1403, %d x 1402, other %s"
           % (n1403, n1402, sorted(set(str(c) for c in codes) - {"1403", "1402"})))
    t.check("flood: every handshake with an unknown key refused (1403 or 1402)",
            n1403 + n1402 == len(burst), "%s" % sorted(set(map(str, codes))))
    t.check("flood: the rate limit engaged (some refused 1402)", n1402 >= 1, "%d" % n1402)
    t.check("flood: keys were checked until it did (some refused 1403)", n1403 >= 1,
            "%d" % n1403)
    end = now() + 5.0
    refused = [slt_refused(p, end) for p in slts]
    t.check("flood: all 16 srt-live-transmit callers report the rejection",
            all(refused), "%d of 16: %s" % (sum(refused), slts[refused.index(False)].proc.tail(3)
                                            if not all(refused) else ""))
    ref = refusals(g)[ref0:]
    by_peer = dict((r[0], r) for r in ref)
    mism = [(p, o) for p, o in burst if isinstance(o, int) and
            (by_peer.get("127.0.0.1:%d" % p) or (None, None))[1] != o]
    t.check("log: every burst refusal logged for its peer with the same code", not mism,
            str(mism[:3]))
    t.check("log: 'handshake rate limit' refusals",
            any(r[1] == 1402 and r[2] == "handshake rate limit" for r in ref))
    t.check("log: 'unknown publish key' refusals",
            any(r[1] == 1403 and r[2] == "unknown publish key" for r in ref))
    conns1 = n_connected(g)
    t.check("flood: nobody got in (no SRT publisher connected during the flood)",
            conns1 == conns0, "%d connected" % (conns1 - conns0))
    t.check("flood: gavel still up (/healthz 200)", g.proc.alive() and
            gvtest.http_get(g.url("/healthz"), timeout=3).status == 200)
    time.sleep(0.5)  # the handshake budget refills at 50 per second
    late = small_pub(g, LATE_KEY, "ffmpeg-late")
    try:
        g.wait_playlist("late", 1, timeout=15)
        t.check("after the flood: a new publisher goes live",
                gvtest.metric_value(gvtest.metrics_text(g), "gavel_stream_live", "late") == 1.0)
    except gvtest.Fatal as e:
        t.fail("after the flood: a new publisher lists a segment", str(e))
    late.stop(signal.SIGINT, 5)
    e4 = now()
    good_step("step 4 (handshake flood)", s4, e4)

    # The good stream never noticed.
    s5 = now()
    srt_common.full_rule_check(t, g, "good", good, 3.0, label="good: ")
    e5 = now()
    good_step("final rule check", s5, e5)
    watch.stop()
    t.check("good stream: every playlist poll answered 200",
            set(watch.statuses) == {200} and not watch.errors,
            "%s %s" % (watch.statuses, watch.errors[:2]))
    t.check("good publisher still running", good.alive(), good.tail(5))
    gc = srt_conns(g, "good")
    t.check("good publisher's SRT connection never closed (one connection, still open)",
            len(gc) == 1 and gc[0]["closed"] is None, str(gc))
    t.check("good stream still live",
            gvtest.metric_value(gvtest.metrics_text(g), "gavel_stream_live", "good") == 1.0)
    rc, dt = g.terminate(signal.SIGTERM, grace=5.0)
    t.check("SIGTERM: gavel exits 0", rc == 0, "rc=%s" % rc)
    t.check("SIGTERM: exit within 2 s", dt <= 2.0, "%.2fs" % dt)
