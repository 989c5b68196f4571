"""Helpers shared by the SRT integration scenarios, on top of gvtest.py: a gavel started with an
srt section and per-stream passphrases, SRT URLs and stream ids in their different forms, and
SRT publishers (ffmpeg, GStreamer srtsink, srt-live-transmit relaying ffmpeg's TS)."""

import os
import shutil
import socket
import time

import gvtest

SRT_LIVE_TRANSMIT = shutil.which("srt-live-transmit") or "srt-live-transmit"


def free_udp_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class SrtGavel(gvtest.Gavel):
    """gvtest.Gavel with an srt section. streams: (name, key) or (name, key, passphrase)."""

    def __init__(self, test, binary, streams, srt=None, hls=None, ingest=None, name="gavel",
                 rtmp=True, srt_host="127.0.0.1", http_host="127.0.0.1", prefix=None):
        # Mirrors gvtest.Gavel.__init__ (which cannot write passphrases), plus the srt section.
        self.test = test
        self.http_port = gvtest.free_port()
        self.rtmp_port = gvtest.free_port() if rtmp else None
        self.srt_host = srt_host
        self.srt_port = free_udp_port("127.0.0.1")
        self.http_host = http_host
        self.streams = [(s[0], s[1]) for s in streams]
        self.hls = dict(part_target_ms=200, segment_target_ms=2000, window_segments=7)
        self.hls.update(hls or {})
        self.ingest = dict(on_duplicate="takeover-stale", stale_ms=2000)
        self.ingest.update(ingest or {})
        self.srt = dict(latency_ms=120, handshake_timeout_ms=5000, peer_idle_timeout_ms=5000,
                        stats_interval_ms=2000, max_connections=16)
        self.srt.update(srt or {})
        self.config_path = os.path.join(test.tmp, name + ".yaml")
        lines = ['http:    { listen: "%s:%d" }' % (http_host, self.http_port)]
        if rtmp:
            lines.append('rtmp:    { listen: "127.0.0.1:%d" }' % self.rtmp_port)
        lines.append('srt:     { listen: "%s:%d", %s }' % (
            srt_host, self.srt_port, ", ".join("%s: %d" % kv for kv in sorted(self.srt.items()))))
        lines.append("hls:     { part_target_ms: %d, segment_target_ms: %d, window_segments: %d }"
                     % (self.hls["part_target_ms"], self.hls["segment_target_ms"],
                        self.hls["window_segments"]))
        lines.append("ingest:  { on_duplicate: %s, stale_ms: %d }"
                     % (self.ingest["on_duplicate"], self.ingest["stale_ms"]))
        lines.append("log:     { level: info }")
        lines.append("streams:")
        for s in streams:
            extra = ', passphrase: "%s"' % s[2] if len(s) > 2 and s[2] else ""
            lines.append('  - { name: %s, key: "%s"%s }' % (s[0], s[1], extra))
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = gvtest.Proc(name, (prefix or []) + [binary, "-c", self.config_path],
                                test.tmp)
        self.exit_code = None
        self.exit_elapsed = None

    @property
    def base(self):
        return "http://%s:%d" % (self.http_host, self.http_port)

    def srt_url(self, streamid=None, passphrase=None, latency_ms=None, host=None):
        q = ["pkt_size=1316"]
        if streamid is not None:
            q.insert(0, "streamid=" + streamid)
        if passphrase:
            q.append("passphrase=" + passphrase)
        if latency_ms is not None:
            q.append("latency=%d" % (latency_ms * 1000))  # ffmpeg's srt latency is in us
        return "srt://%s:%d?%s" % (host or self.srt_host, self.srt_port, "&".join(q))


def start_gavel(t, streams, **kw):
    """Starts an SrtGavel and registers it with the test (cleanup, key-leak checks)."""
    for s in streams:
        t.secrets.extend(x for x in s[1:3] if x)
    name = "gavel" if not t.gavels else "gavel%d" % (len(t.gavels) + 1)
    g = SrtGavel(t, t.binary, streams, name=name, **kw)
    t.gavels.append(g)
    dt = g.wait_ready(10.0)
    t.info("gavel up on http %d srt %d/udp in %.2fs" % (g.http_port, g.srt_port, dt))
    return g


def sid_ac(key, user=None, order="rm"):
    """Access-control stream id; order "rm" puts r first, "mr" puts m first."""
    items = {"r": "r=live/" + key, "m": "m=publish"}
    parts = [items[c] for c in order]
    if user:
        parts.append("u=" + user)
    return "#!::" + ",".join(parts)


def ffmpeg_srt_argv(url, **kw):
    argv = gvtest.ffmpeg_publish_argv(url, **kw)
    assert argv[-3:-1] == ["-f", "flv"]
    argv[-3:-1] = ["-f", "mpegts"]
    return argv


def ffmpeg_publish(t, url, name=None, prefix=None, **kw):
    name = name or "ffmpeg_srt%d" % (len(t.procs) + 1)
    p = gvtest.Proc(name, (prefix or []) + ffmpeg_srt_argv(url, **kw), t.tmp)
    t.procs.append(p)
    return p


def gst_publish(t, g, streamid, encoder, aac, name=None, gop=60):
    """GStreamer: test sources -> x264/openh264 + AAC -> mpegtsmux -> srtsink (caller)."""
    if encoder == "x264enc":
        venc = "x264enc tune=zerolatency speed-preset=veryfast key-int-max=%d bitrate=1500" % gop
    else:
        venc = "openh264enc gop-size=%d bitrate=1500000 complexity=low" % gop
    p = ("videotestsrc is-live=true pattern=smpte ! "
         "video/x-raw,width=640,height=360,framerate=30/1,format=I420 ! %s ! "
         "h264parse ! video/x-h264,stream-format=byte-stream,alignment=au ! queue ! mux. " % venc)
    if aac:
        p += ("audiotestsrc is-live=true wave=sine freq=440 samplesperbuffer=1024 ! "
              "audio/x-raw,rate=48000,channels=2 ! audioconvert ! %s ! aacparse ! "
              "audio/mpeg,stream-format=adts ! queue ! mux. " % aac)
    p += ('mpegtsmux name=mux alignment=7 ! srtsink uri=srt://127.0.0.1:%d?mode=caller '
          'streamid="%s" latency=120 wait-for-connection=false' % (g.srt_port, streamid))
    argv = [gvtest.GST_LAUNCH, "-e", "-q"] + p.split(" ")
    env = dict(os.environ)
    env.setdefault("GST_REGISTRY", os.path.join(t.tmp, "gst-registry.bin"))
    name = name or "gst_srt%d" % (len(t.procs) + 1)
    proc = gvtest.Proc(name, argv, t.tmp, env=env)
    t.procs.append(proc)
    return proc


def slt_relay(t, g, streamid, name=None, gop=60):
    """ffmpeg writes a real-time TS to its stdout; srt-live-transmit reads it from file://con and
    sends it to gavel as an SRT caller (1316-byte chunks)."""
    ff = gvtest.ffmpeg_publish_argv("pipe:1", gop=gop)
    ff[-3:-1] = ["-f", "mpegts"]
    url = "srt://127.0.0.1:%d?mode=caller&streamid=%s" % (g.srt_port, streamid)
    cmd = "%s | %s -q -chunk:1316 file://con '%s'" % (
        " ".join("'%s'" % a for a in ff), SRT_LIVE_TRANSMIT, url)
    name = name or "slt%d" % (len(t.procs) + 1)
    proc = gvtest.Proc(name, ["sh", "-c", cmd], t.tmp)
    t.procs.append(proc)
    return proc


def log_has(g, text):
    return text in g.proc.output()


def full_rule_check(t, g, stream, pub, seconds, label=""):
    """Reloads the media playlist for `seconds`, checking every reload with the LL-HLS rule
    checker (media downloaded and probed), then checks the multivariant playlist and probes /
    decodes the concatenated init + segments. Returns the last playlist."""
    chk = gvtest.RuleChecker(t, g.media_url(stream), secrets=t.secrets)
    t0 = gvtest.now()
    pl = None
    while gvtest.now() - t0 < seconds:
        if not pub.alive():
            t.fail(label + "publisher keeps running", "exited rc=%s:\n%s"
                   % (pub.returncode(), pub.tail(10)))
            break
        r, pl = g.get_media(stream)
        if pl is None:
            t.fail(label + "media playlist stays available", "status %d" % r.status)
            break
        chk.check_playlist(pl, fetch_media=True)
        time.sleep(0.2)
    chk.report(label)
    r, pl = g.get_media(stream)
    if pl is not None:
        gvtest.check_multivariant(t, g, stream, expect_resolution="640x360")
        gvtest.concat_and_probe(t, chk, pl, (label or "") + "live window")
    return pl


class LossyUdpRelay:
    """A userspace stand-in for netem between one SRT caller and gavel on loopback: forwards UDP
    both ways, dropping `loss` of the datagrams and delaying each by `delay_s` (used when the
    kernel has no netem). Callers send to .port; gavel sees the relay as its peer. `host` is the
    address the relay listens on and gavel's address (loopback unless inside a namespace)."""

    def __init__(self, target_port, loss=0.05, delay_s=0.02, seed=1, host="127.0.0.1"):
        import heapq
        import random
        import select
        import threading
        self._heapq, self._select = heapq, select
        self.rng = random.Random(seed)
        self.loss, self.delay = loss, delay_s
        self.target = (host, target_port)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind((host, 0))
        self.port = self.front.getsockname()[1]
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind((host, 0))
        self.client = None
        self.queue = []  # (due, seq, sock, data, addr)
        self.seq = 0
        self.forwarded = self.dropped = 0
        self.stop = False
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.stop:
            now = time.monotonic()
            while self.queue and self.queue[0][0] <= now:
                _, _, sock, data, addr = self._heapq.heappop(self.queue)
                try:
                    sock.sendto(data, addr)
                except OSError:
                    pass
            timeout = 0.005 if not self.queue else max(0.0, min(0.005, self.queue[0][0] - now))
            r, _, _ = self._select.select([self.front, self.back], [], [], timeout)
            for s in r:
                data, addr = s.recvfrom(65536)
                if s is self.front:
                    self.client = addr
                    out, dest = self.back, self.target
                else:
                    if self.client is None:
                        continue
                    out, dest = self.front, self.client
                if self.rng.random() < self.loss:
                    self.dropped += 1
                    continue
                self.forwarded += 1
                self.seq += 1
                self._heapq.heappush(self.queue, (time.monotonic() + self.delay, self.seq, out,
                                                  data, dest))

    def close(self):
        self.stop = True
        self.th.join(2)
        self.front.close()
        self.back.close()
