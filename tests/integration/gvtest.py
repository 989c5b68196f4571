"""Shared harness for gavel's integration scenarios (Python 3 standard library only).

Starts the real gavel binary on loopback ports picked at run time, drives it with real peers
(ffmpeg, GStreamer), fetches over HTTP, parses LL-HLS media playlists and checks them against the
rules in docs/llhls.md that can be seen from outside. Everything a test starts runs in its own
process group and is killed on every exit path (try/finally, atexit, signals, parent death).

A scenario looks like:

    t = gvtest.Test("rtmp_ffmpeg")
    with t:
        g = t.start_gavel(streams=[("demo", "s3cret")])
        pub = t.ffmpeg_publish(g.rtmp_url("s3cret"))
        ...
        t.check("name", cond, "detail")
    # exits 0 when every check passed, 1 otherwise
"""

import atexit
import ctypes
import gzip
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe") or "ffprobe"
GST_LAUNCH = shutil.which("gst-launch-1.0") or "gst-launch-1.0"
GST_INSPECT = shutil.which("gst-inspect-1.0") or "gst-inspect-1.0"

_LIVE = []  # every Proc started and not yet reaped, for the atexit/signal cleanup
_LIBC = None


class Fatal(Exception):
    """A step the rest of the scenario depends on failed; stops the scenario."""


class Deadline(Exception):
    """The scenario's own time limit expired (raised from SIGALRM)."""


def _child_setup():
    # New process group so the whole tree can be killed, and die with the harness even if it
    # is SIGKILLed (a CTest timeout), so no publisher or server outlives a run.
    os.setsid()
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    _LIBC = None


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now():
    return time.monotonic()


# ---------------------------------------------------------------------------------------------
# Processes


class Proc:
    """A child process in its own group, with stdout/stderr captured to files."""

    def __init__(self, name, argv, logdir, env=None, stdin=subprocess.DEVNULL):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(logdir, name + ".log")
        self._log = open(self.log_path, "wb")
        self.started = now()
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=self._log, stderr=subprocess.STDOUT,
                                  preexec_fn=_child_setup, env=env, close_fds=True)
        self.pid = self.p.pid
        _LIVE.append(self)

    def alive(self):
        return self.p.poll() is None

    def returncode(self):
        return self.p.poll()

    def wait(self, timeout):
        """Returns the exit code, or None if still running after timeout seconds."""
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, sig):
        if self.alive():
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, sig=signal.SIGINT, grace=3.0):
        """Sends sig, waits up to grace seconds, then SIGKILLs the group. Returns the exit code."""
        if self.alive():
            self.send_signal(sig)
            if self.wait(grace) is None:
                self.kill()
        return self.p.returncode

    def kill(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self in _LIVE:
            _LIVE.remove(self)

    def output(self):
        try:
            self._log.flush()
        except ValueError:
            pass
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, n=30):
        return "\n".join(self.output().splitlines()[-n:])


def _kill_all():
    for p in list(_LIVE):
        # The group too: a process may have forked helpers that share its group.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.p.wait(timeout=2)
        except Exception:
            pass
        if p in _LIVE:
            _LIVE.remove(p)


atexit.register(_kill_all)


def _on_signal(signum, frame):
    _kill_all()
    sys.stderr.write("gvtest: killed by signal %d, stopped every child\n" % signum)
    os._exit(128 + signum)


for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, _on_signal)


def run(argv, timeout, input_bytes=None):
    """Runs a short command to completion. Returns (rc, stdout_bytes, stderr_text)."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if input_bytes is not None else
                         subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=_child_setup)
    holder = Proc.__new__(Proc)
    holder.p, holder.pid, holder.name = p, p.pid, argv[0]
    _LIVE.append(holder)
    try:
        out, err = p.communicate(input=input_bytes, timeout=timeout)
    except subprocess.TimeoutExpired:
        holder.kill()
        return None, b"", "timed out after %ss" % timeout
    finally:
        if holder in _LIVE:
            _LIVE.remove(holder)
    return p.returncode, out, err.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# HTTP


class Resp:
    def __init__(self, status, headers, body, elapsed, raw_body=None):
        self.status = status
        self.headers = headers  # lower-case name -> value (repeated headers joined by ", ")
        self.body = body        # decoded (gunzipped when the server gzipped it)
        self.raw_body = raw_body if raw_body is not None else body
        self.elapsed = elapsed

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return "<HTTP %s %d bytes %.3fs>" % (self.status, len(self.body), self.elapsed)


def http_request(url, headers=None, timeout=15.0, method="GET"):
    """One request on a fresh connection. Never raises on HTTP status; raises OSError on
    connection failure. Gunzips the body if Content-Encoding: gzip (raw_body keeps the wire
    bytes)."""
    u = urllib.parse.urlsplit(url)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    t0 = now()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        raw = r.read()
        hdrs = {}
        for k, v in r.getheaders():
            k = k.lower()
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        elapsed = now() - t0
        body = raw
        if hdrs.get("content-encoding", "").lower() == "gzip":
            body = gzip.decompress(raw)
        return Resp(r.status, hdrs, body, elapsed, raw)
    finally:
        conn.close()


def http_get(url, headers=None, timeout=15.0):
    return http_request(url, headers, timeout)


def metrics_text(g, timeout=3.0):
    """gavel's /metrics body ("" unless 200)."""
    r = http_get(g.url("/metrics"), timeout=timeout)
    return r.text if r.status == 200 else ""


def metric_value(text, name, stream):
    """The value of name{stream="..."} in Prometheus text, or None."""
    m = re.search(r'^%s\{stream="%s"\} (\S+)$' % (re.escape(name), re.escape(stream)), text,
                  re.M)
    return float(m.group(1)) if m else None


class PlaylistWatch:
    """Polls a stream's media playlist on a thread: when each part URI was first seen (a stall
    caused by a bad peer shows up as a gap), the HTTP statuses and, with_metrics, the stream's
    gavel_stream_live / gavel_stream_last_msn at each poll."""

    def __init__(self, g, stream, with_metrics=False):
        self.g, self.stream, self.with_metrics = g, stream, with_metrics
        self.first_seen = {}
        self.statuses = {}
        self.samples = []  # (time, status, live, last_msn)
        self.errors = []
        self._stop = False
        self._th = threading.Thread(target=self._run, daemon=True)
        self._th.start()

    def _run(self):
        while not self._stop:
            try:
                r, pl = self.g.get_media(self.stream, timeout=3)
                at = now()
                self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
                if pl:
                    for p in pl.all_parts:
                        self.first_seen.setdefault(p.uri, at)
                live = msn = None
                if self.with_metrics:
                    text = metrics_text(self.g)
                    live = metric_value(text, "gavel_stream_live", self.stream)
                    msn = metric_value(text, "gavel_stream_last_msn", self.stream)
                self.samples.append((at, r.status, live, msn))
            except OSError as e:
                self.errors.append(repr(e))
            time.sleep(0.1)

    def stop(self):
        self._stop = True
        self._th.join(5)

    def parts_between(self, a, b):
        return sorted(v for v in self.first_seen.values() if a <= v <= b)

    def samples_between(self, a, b):
        return [s for s in self.samples if a <= s[0] <= b]


class AsyncGet:
    """A GET running on a thread (for parked blocking requests); .result() joins it."""

    def __init__(self, url, headers=None, timeout=15.0):
        self.url = url
        self.t0 = now()
        self.resp = None
        self.error = None
        self.done_at = None
        self._th = threading.Thread(target=self._run, args=(url, headers, timeout), daemon=True)
        self._th.start()

    def _run(self, url, headers, timeout):
        try:
            self.resp = http_request(url, headers, timeout)
        except Exception as e:  # noqa: BLE001 - reported to the caller
            self.error = e
        self.done_at = now()

    def done(self):
        return not self._th.is_alive()

    def result(self, timeout):
        self._th.join(timeout)
        if self._th.is_alive():
            raise Fatal("request %s still pending after %.1fs" % (self.url, timeout))
        if self.error:
            raise self.error
        return self.resp


def max_age(cache_control):
    m = re.search(r"(?:^|[,\s])max-age=(\d+)", cache_control or "")
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------------
# Playlist parsing

_ATTR_RE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def parse_attrs(s):
    out = {}
    for m in _ATTR_RE.finditer(s):
        v = m.group(2)
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = v[1:-1]
        out[m.group(1)] = v
    return out


class Part:
    def __init__(self, attrs, line_no):
        self.attrs = attrs
        self.uri = attrs.get("URI")
        self.duration = float(attrs.get("DURATION", "nan"))
        self.independent = attrs.get("INDEPENDENT") == "YES"
        self.gap = attrs.get("GAP") == "YES"
        self.line_no = line_no
        self.msn = None
        self.index = None
        self.map_uri = None
        self.last_of_segment = False


class Segment:
    def __init__(self):
        self.msn = None
        self.uri = None
        self.duration = None
        self.title = ""
        self.parts = []
        self.discontinuity = False
        self.map_uri = None       # EXT-X-MAP in effect for this segment
        self.new_map = False      # an EXT-X-MAP line came right before this segment
        self.pdt = None           # text of EXT-X-PROGRAM-DATE-TIME before this segment
        self.gap = False
        self.complete = False     # has EXTINF + URI (False for the trailing in-progress one)
        self.pre_tags_after_part = []  # DISCONTINUITY/MAP/PDT seen after a PART of this segment


class MediaPlaylist:
    """A parsed media playlist. segments[] holds complete segments and, last, possibly one
    in-progress segment (complete=False) that has only parts."""

    def __init__(self, text):
        self.text = text
        self.lines = [l.rstrip("\r") for l in text.split("\n")]
        self.errors = []
        self.tags = []  # (name, value, line_no) in order
        self.version = None
        self.target_duration = None
        self.media_sequence = 0
        self.has_media_sequence = False
        self.discontinuity_sequence = 0
        self.part_target = None
        self.server_control = None
        self.skip = None
        self.preload_hints = []
        self.rendition_reports = []
        self.endlist = False
        self.segments = []
        self.dateranges = []
        self._parse()

    @property
    def complete_segments(self):
        return [s for s in self.segments if s.complete]

    @property
    def all_parts(self):
        return [p for s in self.segments for p in s.parts]

    @property
    def last_msn(self):
        c = self.complete_segments
        return c[-1].msn if c else None

    def segment_by_msn(self, msn):
        for s in self.segments:
            if s.msn == msn:
                return s
        return None

    def _parse(self):
        if not self.lines or self.lines[0] != "#EXTM3U":
            self.errors.append("first line is not #EXTM3U")
        cur = Segment()
        cur_map = None
        pending_inf = None
        skipped = 0
        seg_list = []
        for i, line in enumerate(self.lines[1:], start=2):
            if not line.strip():
                continue
            if line.startswith("#EXT"):
                name, _, value = line[1:].partition(":")
                self.tags.append((name, value, i))
                if name == "EXT-X-VERSION":
                    self.version = int(value)
                elif name == "EXT-X-TARGETDURATION":
                    self.target_duration = int(value)
                elif name == "EXT-X-MEDIA-SEQUENCE":
                    self.media_sequence = int(value)
                    self.has_media_sequence = True
                elif name == "EXT-X-DISCONTINUITY-SEQUENCE":
                    self.discontinuity_sequence = int(value)
                elif name == "EXT-X-PART-INF":
                    self.part_target = float(parse_attrs(value)["PART-TARGET"])
                elif name == "EXT-X-SERVER-CONTROL":
                    self.server_control = parse_attrs(value)
                elif name == "EXT-X-SKIP":
                    self.skip = parse_attrs(value)
                    skipped = int(self.skip.get("SKIPPED-SEGMENTS", "0"))
                elif name == "EXT-X-PRELOAD-HINT":
                    self.preload_hints.append(parse_attrs(value))
                elif name == "EXT-X-RENDITION-REPORT":
                    self.rendition_reports.append(parse_attrs(value))
                elif name == "EXT-X-ENDLIST":
                    self.endlist = True
                elif name == "EXT-X-DATERANGE":
                    self.dateranges.append(parse_attrs(value))
                elif name == "EXT-X-DISCONTINUITY":
                    if cur.parts:
                        cur.pre_tags_after_part.append(name)
                    cur.discontinuity = True
                elif name == "EXT-X-MAP":
                    if cur.parts:
                        cur.pre_tags_after_part.append(name)
                    cur_map = parse_attrs(value).get("URI")
                    cur.new_map = True
                elif name == "EXT-X-PROGRAM-DATE-TIME":
                    if cur.parts:
                        cur.pre_tags_after_part.append(name)
                    cur.pdt = value
                elif name == "EXT-X-GAP":
                    cur.gap = True
                elif name == "EXT-X-PART":
                    p = Part(parse_attrs(value), i)
                    p.map_uri = cur_map
                    cur.parts.append(p)
                elif name == "EXTINF":
                    dur, _, title = value.partition(",")
                    pending_inf = (float(dur), title)
                continue
            if line.startswith("#"):
                continue
            # A URI line: closes the current segment.
            if pending_inf is None:
                self.errors.append("line %d: URI without EXTINF" % i)
                continue
            cur.uri = line.strip()
            cur.duration, cur.title = pending_inf
            cur.complete = True
            cur.map_uri = cur_map
            seg_list.append(cur)
            pending_inf = None
            cur = Segment()
        if cur.parts or cur.discontinuity or cur.pdt or cur.new_map:
            cur.map_uri = cur_map
            seg_list.append(cur)
        msn = self.media_sequence + skipped
        for s in seg_list:
            s.msn = msn
            for j, p in enumerate(s.parts):
                p.msn, p.index = msn, j
                p.map_uri = s.map_uri if p.map_uri is None else p.map_uri
            if s.complete and s.parts:
                s.parts[-1].last_of_segment = True
            msn += 1
        self.segments = seg_list


class MultivariantPlaylist:
    def __init__(self, text):
        self.text = text
        self.lines = [l.rstrip("\r") for l in text.split("\n")]
        self.variants = []  # (attrs, uri)
        self.media = []
        self.version = None
        pending = None
        for line in self.lines:
            if line.startswith("#EXT-X-STREAM-INF:"):
                pending = parse_attrs(line.split(":", 1)[1])
            elif line.startswith("#EXT-X-MEDIA:"):
                self.media.append(parse_attrs(line.split(":", 1)[1]))
            elif line.startswith("#EXT-X-VERSION:"):
                self.version = int(line.split(":", 1)[1])
            elif line and not line.startswith("#") and pending is not None:
                self.variants.append((pending, line.strip()))
                pending = None


PDT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:?\d{2})$")


def parse_pdt(s):
    """Seconds since the epoch from an ISO-8601 PDT with ms and zone."""
    import datetime
    s2 = s.replace("Z", "+00:00")
    m = re.match(r"^(.*[+-]\d{2})(\d{2})$", s2)
    if m:
        s2 = m.group(1) + ":" + m.group(2)
    return datetime.datetime.fromisoformat(s2).timestamp()


# ---------------------------------------------------------------------------------------------
# Media probing


def video_span(path, timeout=30):
    """Seconds from the first video frame's pts to the end of the last one (ffprobe packets),
    or None when there is no video."""
    import json
    rc, out, err = run([FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "packet=pts_time,duration_time", "-print_format", "json", "-i", path],
                       timeout)
    if rc != 0:
        raise Fatal("ffprobe failed rc=%s: %s" % (rc, err.strip()[:500]))
    pk = [p for p in json.loads(out.decode("utf-8", "replace") or "{}").get("packets", [])
          if p.get("pts_time") not in (None, "N/A")]
    if not pk:
        return None
    pts = [float(p["pts_time"]) for p in pk]
    last = max(range(len(pk)), key=lambda i: pts[i])
    d = pk[last].get("duration_time")
    return pts[last] + (float(d) if d not in (None, "N/A") else 0.0) - min(pts)


def ffprobe_json(data_or_path, extra=None, timeout=30):
    """ffprobe -show_streams -show_format (+extra) on bytes or a file; returns the parsed JSON
    or raises Fatal."""
    import json
    if isinstance(data_or_path, (bytes, bytearray)):
        argv = [FFPROBE, "-v", "error", "-print_format", "json", "-show_streams", "-show_format"]
        argv += (extra or []) + ["-i", "pipe:0"]
        rc, out, err = run(argv, timeout, input_bytes=bytes(data_or_path))
    else:
        argv = [FFPROBE, "-v", "error", "-print_format", "json", "-show_streams", "-show_format"]
        argv += (extra or []) + ["-i", data_or_path]
        rc, out, err = run(argv, timeout)
    if rc != 0:
        raise Fatal("ffprobe failed rc=%s: %s" % (rc, err.strip()[:500]))
    return json.loads(out.decode("utf-8", "replace") or "{}")


def first_video_packet_is_key(init, part, tmpdir):
    """True/False whether the first video sample of init+part is a keyframe; None when the part
    holds no video. Uses a file (fMP4 probing from a pipe is unreliable)."""
    path = os.path.join(tmpdir, "probe_part.mp4")
    with open(path, "wb") as f:
        f.write(init)
        f.write(part)
    rc, out, err = run([FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "packet=flags,pts_time", "-read_intervals", "%+#1", "-of", "csv=p=0",
                        path], 20)
    if rc != 0:
        raise Fatal("ffprobe of part failed: %s" % err.strip()[:300])
    lines = [l for l in out.decode().splitlines() if l.strip()]
    if not lines:
        return None
    return "K" in lines[0].split(",")[-1]


def decode_errors(path, timeout=60):
    """Decodes every frame with ffmpeg; returns ffmpeg's error output ('' when clean)."""
    rc, out, err = run([FFMPEG, "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"],
                       timeout)
    if rc != 0:
        return "rc=%s %s" % (rc, err.strip())
    return err.strip()


# ---------------------------------------------------------------------------------------------
# gavel


def _flow_extra(opts):
    """', k: v, ...' for the keys of opts, to extend a YAML flow mapping ('' when none)."""
    return "".join(", %s: %s" % (k, v) for k, v in (opts or {}).items())


class Gavel:
    def __init__(self, test, binary, streams, hls=None, ingest=None, extra_yaml="", name="gavel",
                 rtmp=True, http_opts=None, rtmp_opts=None):
        self.test = test
        self.http_port = free_port()
        self.rtmp_port = free_port() if rtmp else None
        self.streams = streams
        self.hls = dict(part_target_ms=200, segment_target_ms=2000, window_segments=7)
        self.hls.update(hls or {})
        self.ingest = dict(on_duplicate="takeover-stale", stale_ms=2000)
        self.ingest.update(ingest or {})
        self.config_path = os.path.join(test.tmp, name + ".yaml")
        # http_opts / rtmp_opts: further keys of those sections (e.g. limits), as a dict.
        lines = ['http:    { listen: "127.0.0.1:%d"%s }' % (self.http_port,
                                                           _flow_extra(http_opts))]
        if rtmp:
            lines.append('rtmp:    { listen: "127.0.0.1:%d"%s }' % (self.rtmp_port,
                                                                   _flow_extra(rtmp_opts)))
        lines.append("hls:     { part_target_ms: %d, segment_target_ms: %d, window_segments: %d }"
                     % (self.hls["part_target_ms"], self.hls["segment_target_ms"],
                        self.hls["window_segments"]))
        lines.append("ingest:  { on_duplicate: %s, stale_ms: %d }"
                     % (self.ingest["on_duplicate"], self.ingest["stale_ms"]))
        lines.append("streams:")
        for sname, key in streams:
            lines.append('  - { name: %s, key: "%s" }' % (sname, key))
        text = "\n".join(lines) + "\n" + extra_yaml
        with open(self.config_path, "w") as f:
            f.write(text)
        self.proc = Proc(name, [binary, "-c", self.config_path], test.tmp)
        self.exit_code = None
        self.exit_elapsed = None

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.http_port

    def url(self, path):
        return self.base + path

    def rtmp_url(self, key):
        return "rtmp://127.0.0.1:%d/live/%s" % (self.rtmp_port, key)

    def wait_ready(self, timeout=10.0):
        t0 = now()
        last = None
        while now() - t0 < timeout:
            if not self.proc.alive():
                raise Fatal("gavel exited rc=%s before /healthz answered:\n%s"
                            % (self.proc.returncode(), self.proc.tail(40)))
            try:
                r = http_get(self.url("/healthz"), timeout=2)
                if r.status == 200:
                    return now() - t0
                last = r.status
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise Fatal("gavel /healthz not ready after %.1fs (last: %s)\n%s"
                    % (timeout, last, self.proc.tail(40)))

    def media_url(self, stream, query=""):
        return self.url("/live/%s/media.m3u8%s" % (stream, ("?" + query) if query else ""))

    def get_media(self, stream, query="", timeout=15.0, headers=None):
        r = http_get(self.media_url(stream, query), headers=headers, timeout=timeout)
        return r, (MediaPlaylist(r.text) if r.status == 200 else None)

    def wait_playlist(self, stream, min_segments=1, timeout=20.0, pred=None):
        """Polls the media playlist until it lists min_segments complete segments (and pred(pl)
        holds). Returns (resp, playlist)."""
        t0 = now()
        last = None
        while now() - t0 < timeout:
            if not self.proc.alive():
                raise Fatal("gavel exited rc=%s while waiting for a playlist:\n%s"
                            % (self.proc.returncode(), self.proc.tail(40)))
            try:
                r, pl = self.get_media(stream, timeout=5)
                last = r.status
                if pl and len(pl.complete_segments) >= min_segments and (pred is None or
                                                                         pred(pl)):
                    return r, pl
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise Fatal("media playlist of %s did not reach %d segments in %.0fs (last: %s)"
                    % (stream, min_segments, timeout, last))

    def terminate(self, sig=signal.SIGTERM, grace=5.0):
        """Sends sig and waits; records exit code and how long the exit took."""
        t0 = now()
        self.proc.send_signal(sig)
        rc = self.proc.wait(grace)
        self.exit_elapsed = now() - t0
        if rc is None:
            self.proc.kill()
        self.exit_code = rc
        return rc, self.exit_elapsed


# ---------------------------------------------------------------------------------------------
# Publishers


def ffmpeg_publish_argv(url, duration=None, gop=60, size="640x360", rate=30, audio=True,
                        extra=None):
    argv = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
            "-f", "lavfi", "-i", "testsrc2=size=%s:rate=%d" % (size, rate)]
    if audio:
        argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    if duration is not None:
        argv += ["-t", str(duration)]
    argv += ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", str(gop),
             "-pix_fmt", "yuv420p"]
    if audio:
        argv += ["-c:a", "aac", "-b:a", "96k"]
    argv += extra or []
    argv += ["-f", "flv", url]
    return argv


def gst_h264_encoder():
    """x264enc when GStreamer's ugly plugins are installed, else openh264enc."""
    for name in ("x264enc", "openh264enc"):
        rc, _, _ = run([GST_INSPECT, "--exists", name], 10)
        if rc == 0:
            return name
    return None


def gst_aac_encoder():
    for name in ("avenc_aac", "voaacenc", "fdkaacenc"):
        rc, _, _ = run([GST_INSPECT, "--exists", name], 10)
        if rc == 0:
            return name
    return None


def gst_publish_argv(url, encoder, aac, num_buffers=None, gop=60):
    nb = ("num-buffers=%d " % num_buffers) if num_buffers else ""
    if encoder == "x264enc":
        venc = ("x264enc tune=zerolatency speed-preset=veryfast key-int-max=%d bitrate=1500"
                % gop)
    else:
        venc = "openh264enc gop-size=%d bitrate=1500000 complexity=low" % gop
    p = ("videotestsrc is-live=true pattern=smpte %s! "
         "video/x-raw,width=640,height=360,framerate=30/1,format=I420 ! %s ! "
         "h264parse ! video/x-h264,stream-format=avc,alignment=au ! queue ! mux. "
         % (nb, venc))
    if aac:
        anb = ("num-buffers=%d " % int(num_buffers * 48000 / 30 / 1024)) if num_buffers else ""
        p += ("audiotestsrc is-live=true wave=sine freq=440 samplesperbuffer=1024 %s! "
              "audio/x-raw,rate=48000,channels=2 ! audioconvert ! %s ! aacparse ! queue ! mux. "
              % (anb, aac))
    p += 'flvmux name=mux streamable=true latency=100000000 ! rtmp2sink location="%s"' % url
    return [GST_LAUNCH, "-e", "-q"] + p.split(" ")


# ---------------------------------------------------------------------------------------------
# Test driver


class Test:
    def __init__(self, name, timeout=240):
        self.name = name
        if len(sys.argv) < 2:
            sys.stderr.write("usage: %s /path/to/gavel\n" % sys.argv[0])
            sys.exit(2)
        self.binary = os.path.abspath(sys.argv[1])
        self.args = sys.argv[2:]
        self.timeout = timeout
        self.tmp = tempfile.mkdtemp(prefix="gv-%s-" % name)
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.gavels = []
        self.procs = []
        self.secrets = []
        self.t0 = now()

    # -- lifecycle --
    def __enter__(self):
        def on_alarm(signum, frame):
            raise Deadline("scenario exceeded its own %ds limit" % self.timeout)
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(self.timeout)
        print("== %s (gavel: %s, tmp: %s)" % (self.name, self.binary, self.tmp), flush=True)
        if not os.access(self.binary, os.X_OK):
            self.fail("binary", "%s is not an executable file" % self.binary)
            raise Fatal("no binary")
        return self

    def __exit__(self, et, ev, tb):
        signal.alarm(0)
        if et is not None and not issubclass(et, SystemExit):
            if issubclass(et, (Fatal, Deadline)):
                self.fail("scenario aborted", str(ev))
            else:
                self.fail("scenario raised", "".join(traceback.format_exception(et, ev, tb)))
        self.cleanup()
        self.finish()
        return True

    def cleanup(self):
        for p in self.procs:
            if p.alive():
                p.stop(signal.SIGINT, 2.0)
        for g in self.gavels:
            if g.proc.alive():
                g.proc.stop(signal.SIGTERM, 3.0)
        # Logs must never carry a publish key (checked even on the failure path).
        for g in self.gavels:
            out = g.proc.output()
            for k in self.secrets:
                if k in out:
                    self.fail("publish key absent from %s log" % g.proc.name,
                              "key %r found in gavel's output" % k)
        _kill_all()

    def finish(self):
        dt = now() - self.t0
        if self.failed:
            for g in self.gavels:
                print("---- last lines of %s's log:\n%s" % (g.proc.name, g.proc.tail(40)))
        keep = os.environ.get("GV_TEST_KEEP") or (self.failed and os.environ.get("CI") is None)
        if keep:
            print("logs kept in %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        verdict = "PASS" if not self.failed else "FAIL"
        print("== %s %s in %.1fs" % (verdict, self.name, dt))
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)

    # -- results --
    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("PASS %s%s" % (name, (" (" + detail + ")") if detail else ""), flush=True)
        else:
            self.fail(name, detail)
        return bool(cond)

    def fail(self, name, detail=""):
        self.failed += 1
        self.failures.append(name)
        print("FAIL %s%s" % (name, (": " + detail) if detail else ""), flush=True)

    def info(self, msg):
        print("     %s" % msg, flush=True)

    def require(self, name, cond, detail=""):
        if not self.check(name, cond, detail):
            raise Fatal("required check failed: %s" % name)

    # -- starting things --
    def start_gavel(self, streams, ready_timeout=10.0, **kw):
        for _, key in streams:
            self.secrets.append(key)
        name = "gavel" if not self.gavels else "gavel%d" % (len(self.gavels) + 1)
        g = Gavel(self, self.binary, streams, name=name, **kw)
        self.gavels.append(g)
        dt = g.wait_ready(ready_timeout)
        self.info("gavel up on http %d rtmp %s in %.2fs" % (g.http_port, g.rtmp_port, dt))
        return g

    def ffmpeg_publish(self, url, name=None, **kw):
        name = name or "ffmpeg%d" % (len(self.procs) + 1)
        p = Proc(name, ffmpeg_publish_argv(url, **kw), self.tmp)
        self.procs.append(p)
        return p

    def gst_publish(self, url, encoder, aac, name=None, **kw):
        name = name or "gst%d" % (len(self.procs) + 1)
        env = dict(os.environ)
        env.setdefault("GST_REGISTRY", os.path.join(self.tmp, "gst-registry.bin"))
        p = Proc(name, gst_publish_argv(url, encoder, aac, **kw), self.tmp, env=env)
        self.procs.append(p)
        return p

    def fetch(self, base_url, uri, timeout=10.0):
        return http_get(urllib.parse.urljoin(base_url, uri), timeout=timeout)

    def elapsed(self):
        return now() - self.t0


# ---------------------------------------------------------------------------------------------
# The LL-HLS rule checker


class RuleChecker:
    """Checks media playlists against docs/llhls.md. Call check_playlist() on successive
    reloads of the same playlist; cross-reload rules (constant TARGETDURATION, MSN stability,
    preload hint becoming the next part) use the state it keeps. Results go to test.check()
    aggregated per rule, so a scenario prints one PASS/FAIL line per rule."""

    def __init__(self, test, playlist_url, secrets=(), expect_live=True, probe_parts=True):
        self.t = test
        self.url = playlist_url
        self.secrets = list(secrets)
        self.expect_live = expect_live
        self.probe_parts = probe_parts
        self.results = {}  # rule -> [ok_count, [failure details]]
        self.target_duration = None
        self.uri_msn = {}
        self.prev = None
        self.cache = {}  # uri -> bytes
        self.probed = {}  # part uri -> keyframe flag
        self.pdt_seen = set()
        self.last_error = ""
        self.pl_time = now()
        self.n = 0

    def _r(self, rule, ok, detail=""):
        ent = self.results.setdefault(rule, [0, []])
        if ok:
            ent[0] += 1
        else:
            ent[1].append(detail)
        return ok

    def get(self, uri):
        if uri in self.cache:
            return self.cache[uri]
        r = self.t.fetch(self.url, uri)
        if r.status != 200:
            self.last_error = "HTTP %d after %.3fs, %.2fs after the playlist was fetched" % (
                r.status, r.elapsed, now() - self.pl_time)
            return None
        self.cache[uri] = r.body
        return r.body

    def check_playlist(self, pl, fetch_media=True, fetched_at=None):
        """fetched_at: when pl was received (defaults to now)."""
        self.n += 1
        self.pl_time = fetched_at if fetched_at is not None else now()
        r = self._r
        tag_names = [t[0] for t in pl.tags]
        ctx = "reload %d" % self.n

        r("playlist parses (#EXTM3U first, URIs after EXTINF)", not pl.errors,
          "%s: %s" % (ctx, pl.errors))
        for k in self.secrets:
            r("publish key absent from playlist text", k not in pl.text, "%s: key %r" % (ctx, k))
        r("EXT-X-VERSION present", pl.version is not None, ctx)
        r("EXT-X-TARGETDURATION present", pl.target_duration is not None, ctx)
        if pl.target_duration is None:
            return
        td = pl.target_duration
        if self.target_duration is None:
            self.target_duration = td
        r("EXT-X-TARGETDURATION never changes", td == self.target_duration,
          "%s: was %s now %s" % (ctx, self.target_duration, td))
        single = [n for n in ("EXT-X-VERSION", "EXT-X-TARGETDURATION", "EXT-X-MEDIA-SEQUENCE",
                              "EXT-X-PART-INF", "EXT-X-SERVER-CONTROL", "EXT-X-ENDLIST",
                              "EXT-X-SKIP", "EXT-X-DISCONTINUITY-SEQUENCE")
                  if tag_names.count(n) > 1]
        r("playlist-level tags appear at most once", not single, "%s: %s" % (ctx, single))

        has_map = "EXT-X-MAP" in tag_names
        if has_map:
            r("EXT-X-MAP needs EXT-X-VERSION >= 6", (pl.version or 0) >= 6,
              "%s: version %s" % (ctx, pl.version))
        if pl.skip is not None:
            r("EXT-X-SKIP needs EXT-X-VERSION >= 9", (pl.version or 0) >= 9,
              "%s: version %s" % (ctx, pl.version))
        r("EXT-X-MAP present (fMP4)", has_map, ctx)

        parts = pl.all_parts
        if parts:
            r("EXT-X-PART-INF present when parts exist", pl.part_target is not None, ctx)
        pt = pl.part_target
        sc = pl.server_control
        r("EXT-X-SERVER-CONTROL present", sc is not None, ctx)
        if sc is not None:
            r("CAN-BLOCK-RELOAD=YES", sc.get("CAN-BLOCK-RELOAD") == "YES", "%s: %s" % (ctx, sc))
            if pt is not None:
                phb = float(sc.get("PART-HOLD-BACK", "0"))
                r("PART-HOLD-BACK >= 3x PART-TARGET", phb >= 3 * pt - 1e-9,
                  "%s: PART-HOLD-BACK=%s PART-TARGET=%s" % (ctx, phb, pt))
            csu = sc.get("CAN-SKIP-UNTIL")
            r("CAN-SKIP-UNTIL present", csu is not None, "%s: %s" % (ctx, sc))
            if csu is not None:
                r("CAN-SKIP-UNTIL >= 6x TARGETDURATION", float(csu) >= 6 * td - 1e-9,
                  "%s: CAN-SKIP-UNTIL=%s TD=%d" % (ctx, csu, td))
            if "HOLD-BACK" in sc:
                r("HOLD-BACK >= 3x TARGETDURATION", float(sc["HOLD-BACK"]) >= 3 * td - 1e-9,
                  "%s: HOLD-BACK=%s TD=%d" % (ctx, sc["HOLD-BACK"], td))

        # Segment rules.
        segs = pl.segments
        complete = pl.complete_segments
        r("at least one complete segment listed", len(complete) >= 1, ctx)
        for s in complete:
            r("segment duration rounded <= TARGETDURATION", round(s.duration) <= td,
              "%s: msn %d EXTINF %.3f TD %d" % (ctx, s.msn, s.duration, td))
        for s in segs:
            r("DISCONTINUITY/MAP/PDT come before the first PART of their segment",
              not s.pre_tags_after_part, "%s: msn %d: %s after a part" % (ctx, s.msn,
                                                                          s.pre_tags_after_part))
        first_listed = complete[0].msn if complete else None
        for s in complete:
            if s.pdt is None:
                r("EXT-X-PROGRAM-DATE-TIME on every segment", False,
                  "%s: msn %d has none" % (ctx, s.msn))
            else:
                r("EXT-X-PROGRAM-DATE-TIME on every segment", True)
                r("PDT has ms precision and a zone", bool(PDT_RE.match(s.pdt)),
                  "%s: msn %d: %r" % (ctx, s.msn, s.pdt))
        for a, b in zip(segs, segs[1:]):
            if a.complete and a.pdt and b.pdt and not b.discontinuity and PDT_RE.match(a.pdt) \
                    and PDT_RE.match(b.pdt) and (a.uri, b.pdt) not in self.pdt_seen:
                self.pdt_seen.add((a.uri, b.pdt))
                gap = parse_pdt(b.pdt) - parse_pdt(a.pdt)
                r("PDT advances by the segment duration", abs(gap - a.duration) <= 0.05,
                  "%s: msn %d PDT +%.3f vs EXTINF %.3f" % (ctx, a.msn, gap, a.duration))
        if pl.has_media_sequence is False:
            r("EXT-X-MEDIA-SEQUENCE present", False, ctx)
        for s in complete:
            prev = self.uri_msn.get(s.uri)
            r("a segment URI keeps its MSN across reloads", prev is None or prev == s.msn,
              "%s: %s was msn %s now %s" % (ctx, s.uri, prev, s.msn))
            self.uri_msn[s.uri] = s.msn
        if len(set(s.uri for s in complete)) != len(complete):
            r("segment URIs are unique", False, ctx)
        for s in segs:
            for u in [s.uri, s.map_uri] + [p.uri for p in s.parts]:
                if u:
                    r("URIs carry no query string", "?" not in u, "%s: %s" % (ctx, u))

        # Live window: at least 3 TD of content when the window is full.
        total = sum(s.duration for s in complete)
        if self.prev is not None and len(complete) < len(self.prev.complete_segments) and \
                not pl.skip:
            prev_total = sum(s.duration for s in self.prev.complete_segments)
            r("playlist never shrinks below 3 target durations", total >= 3 * td - 0.5 or
              total >= prev_total, "%s: %.2fs listed" % (ctx, total))

        # Part rules.
        if parts and pt is not None:
            for s in segs:
                for j, p in enumerate(s.parts):
                    r("EXT-X-PART has URI and DURATION", p.uri and p.duration == p.duration,
                      "%s: line %d" % (ctx, p.line_no))
                    r("part duration <= PART-TARGET", p.duration <= pt + 0.0005,
                      "%s: %s DURATION=%.5f PART-TARGET=%.5f" % (ctx, p.uri, p.duration, pt))
                    before_gap = j + 1 < len(s.parts) and s.parts[j + 1].gap
                    exempt = p.independent or p.gap or before_gap or p.last_of_segment
                    in_progress_last = (not s.complete) and j == len(s.parts) - 1
                    if not exempt:
                        ok = p.duration >= 0.85 * pt - 0.0005
                        r("part duration >= 85% of PART-TARGET (non-exempt parts)", ok,
                          "%s: %s DURATION=%.5f PART-TARGET=%.5f%s"
                          % (ctx, p.uri, p.duration, pt,
                             " (last listed part of the open segment)" if in_progress_last
                             else ""))
                if s.complete and s.parts:
                    sp = sum(p.duration for p in s.parts)
                    r("segment EXTINF equals the sum of its parts",
                      abs(sp - s.duration) <= 0.002 * len(s.parts) + 0.001,
                      "%s: msn %d EXTINF %.4f parts %.4f" % (ctx, s.msn, s.duration, sp))
                if s.parts:
                    r("a segment's first part is INDEPENDENT=YES", s.parts[0].independent,
                      "%s: msn %d first part %s" % (ctx, s.msn, s.parts[0].uri))
            # Parts listed for at least the last 3 target durations (or everything there is).
            with_parts = [s for s in segs if s.parts]
            if with_parts:
                idx = segs.index(with_parts[0])
                covered = sum((s.duration if s.complete else sum(p.duration for p in s.parts))
                              for s in segs[idx:])
                whole = sum((s.duration if s.complete else sum(p.duration for p in s.parts))
                            for s in segs)
                r("parts listed for the last 3 target durations",
                  covered >= min(3 * td, whole) - pt - 0.01,
                  "%s: parts cover %.2fs of %.2fs" % (ctx, covered, whole))
            hints = [h for h in pl.preload_hints if h.get("TYPE") == "PART"]
            if not pl.endlist:
                r("EXT-X-PRELOAD-HINT TYPE=PART present while live", len(hints) == 1,
                  "%s: %d hints" % (ctx, len(hints)))
            types = [h.get("TYPE") for h in pl.preload_hints]
            r("at most one EXT-X-PRELOAD-HINT per TYPE", len(types) == len(set(types)),
              "%s: %s" % (ctx, types))
            part_uris = [p.uri for p in parts]
            for h in hints:
                r("PRELOAD-HINT URI is not already a listed part", h.get("URI") not in part_uris,
                  "%s: %s" % (ctx, h.get("URI")))
            # The previous reload's hint must be the part that follows its last part.
            if self.prev is not None:
                prev_hints = [h for h in self.prev.preload_hints if h.get("TYPE") == "PART"]
                prev_parts = self.prev.all_parts
                if prev_hints and prev_parts and prev_parts[-1].uri in part_uris:
                    k = part_uris.index(prev_parts[-1].uri)
                    if k + 1 < len(part_uris):
                        nxt = parts[k + 1]
                        # A publisher change legitimately abandons the hint.
                        if not (nxt.index == 0 and pl.segment_by_msn(nxt.msn).discontinuity):
                            r("PRELOAD-HINT URI becomes the next EXT-X-PART URI",
                              nxt.uri == prev_hints[0].get("URI"),
                              "%s: hinted %s, next part %s"
                              % (ctx, prev_hints[0].get("URI"), nxt.uri))

        if self.expect_live:
            r("no EXT-X-ENDLIST while the publisher is live", not pl.endlist, ctx)

        if fetch_media:
            self._check_media(pl, ctx)
        self.prev = pl

    def _check_media(self, pl, ctx):
        r = self._r
        # Download everything first (parts near the window's tail may legitimately expire a
        # few target durations after they were listed), then compare and probe.
        fetched = {}
        for s in pl.segments:
            for u in [s.map_uri, s.uri if s.complete else None] + [p.uri for p in s.parts]:
                if u and u not in fetched:
                    fetched[u] = (self.get(u), self.last_error)
        for s in pl.segments:
            init = fetched[s.map_uri][0] if s.map_uri else None
            if s.map_uri:
                r("init segment (EXT-X-MAP) downloadable", init is not None,
                  "%s: %s: %s" % (ctx, s.map_uri, fetched[s.map_uri][1]))
            seg_bytes = None
            if s.complete:
                seg_bytes = fetched[s.uri][0]
                r("listed segment downloadable", seg_bytes is not None,
                  "%s: %s: %s" % (ctx, s.uri, fetched[s.uri][1]))
            part_bytes = []
            for p in s.parts:
                b = fetched[p.uri][0]
                r("listed part downloadable", b is not None,
                  "%s: %s: %s" % (ctx, p.uri, fetched[p.uri][1]))
                part_bytes.append(b)
                if b is not None and init is not None and self.probe_parts and \
                        p.uri not in self.probed:
                    key = first_video_packet_is_key(init, b, self.t.tmp)
                    self.probed[p.uri] = key
                    if key is not None:
                        r("INDEPENDENT=YES exactly on parts that start with a keyframe",
                          key == p.independent,
                          "%s: %s INDEPENDENT=%s but first video frame keyframe=%s"
                          % (ctx, p.uri, p.independent, key))
            if s.complete and s.parts and seg_bytes is not None and None not in part_bytes:
                r("segment bytes == its parts' bytes concatenated",
                  seg_bytes == b"".join(part_bytes),
                  "%s: msn %d segment %d bytes, parts %d bytes"
                  % (ctx, s.msn, len(seg_bytes), sum(len(b) for b in part_bytes)))
            if s.complete and seg_bytes is not None and init is not None and \
                    ("seg:" + s.uri) not in self.probed:
                key = first_video_packet_is_key(init, seg_bytes, self.t.tmp)
                self.probed["seg:" + s.uri] = key
                r("segment starts with a keyframe", key is True,
                  "%s: msn %d keyframe=%s" % (ctx, s.msn, key))

    def report(self, prefix=""):
        """One PASS/FAIL line per rule (with the count of observations)."""
        for rule in sorted(self.results):
            ok, bad = self.results[rule]
            if bad:
                more = "" if len(bad) <= 3 else " (+%d more)" % (len(bad) - 3)
                self.t.fail(prefix + rule, "%d/%d failed: %s%s"
                            % (len(bad), ok + len(bad), "; ".join(bad[:3]), more))
            else:
                self.t.check(prefix + rule, True, "%d observations" % ok)
        self.results = {}


def check_multivariant(t, g, stream, expect_resolution=None, video_codec="avc1",
                       expect_audio=True):
    """Fetches and checks /live/<stream>/index.m3u8; returns the parsed playlist or None."""
    r = http_get(g.url("/live/%s/index.m3u8" % stream))
    if not t.check("multivariant playlist 200", r.status == 200, "status %d" % r.status):
        return None
    mv = MultivariantPlaylist(r.text)
    t.check("multivariant starts with #EXTM3U", r.text.startswith("#EXTM3U"), r.text[:40])
    t.check("multivariant has one variant", len(mv.variants) >= 1, r.text)
    for k in t.secrets:
        t.check("publish key absent from multivariant", k not in r.text, k)
    if not mv.variants:
        return mv
    attrs, uri = mv.variants[0]
    for a in ("BANDWIDTH", "AVERAGE-BANDWIDTH", "CODECS", "RESOLUTION", "FRAME-RATE"):
        t.check("EXT-X-STREAM-INF has %s" % a, a in attrs, str(attrs))
    codecs = attrs.get("CODECS", "")
    if expect_audio:
        t.check("CODECS names %s and mp4a" % video_codec,
                video_codec + "." in codecs and "mp4a." in codecs, codecs)
    else:
        t.check("CODECS names %s only" % video_codec,
                codecs.startswith(video_codec + ".") and "," not in codecs, codecs)
    if expect_resolution:
        t.check("RESOLUTION is %s" % expect_resolution, attrs.get("RESOLUTION") ==
                expect_resolution, str(attrs.get("RESOLUTION")))
    fr = attrs.get("FRAME-RATE")
    if fr:
        t.check("FRAME-RATE about 30", abs(float(fr) - 30) < 1, fr)
    media = http_get(urllib.parse.urljoin(g.url("/live/%s/index.m3u8" % stream), uri))
    t.check("variant URI resolves to the media playlist", media.status == 200 and
            "#EXT-X-TARGETDURATION" in media.text, "%s -> %d" % (uri, media.status))
    return mv


def concat_and_probe(t, checker, pl, label, expect_w=640, expect_h=360, expect_audio=True,
                     decode=True, vcodec="h264"):
    """Concatenates the init + complete segments since the last MAP change, ffprobes and decodes
    them, and checks codecs, size and duration."""
    segs = [s for s in pl.complete_segments]
    if not segs:
        t.fail(label + ": segments to probe", "none listed")
        return
    last_map = segs[-1].map_uri
    run_segs = []
    for s in reversed(segs):
        if s.map_uri != last_map:
            break
        run_segs.insert(0, s)
        if s.discontinuity:
            break
    init = checker.get(last_map)
    data = [checker.get(s.uri) for s in run_segs]
    if init is None or None in data:
        t.fail(label + ": download init + segments", "missing bytes")
        return
    path = os.path.join(t.tmp, re.sub(r"[^A-Za-z0-9]+", "_", label) + ".mp4")
    with open(path, "wb") as f:
        f.write(init)
        for d in data:
            f.write(d)
    info = ffprobe_json(path, ["-count_packets"])
    streams = info.get("streams", [])
    v = [s for s in streams if s.get("codec_type") == "video"]
    a = [s for s in streams if s.get("codec_type") == "audio"]
    t.check(label + ": video is " + vcodec, len(v) == 1 and v[0].get("codec_name") == vcodec,
            str([(s.get("codec_type"), s.get("codec_name")) for s in streams]))
    if v:
        t.check(label + ": video is %dx%d" % (expect_w, expect_h),
                v[0].get("width") == expect_w and v[0].get("height") == expect_h,
                "%sx%s" % (v[0].get("width"), v[0].get("height")))
    if expect_audio:
        t.check(label + ": audio is aac 48 kHz", len(a) == 1 and a[0].get("codec_name") == "aac"
                and a[0].get("sample_rate") == "48000",
                str([(s.get("codec_name"), s.get("sample_rate")) for s in a]))
    listed = sum(s.duration for s in run_segs)
    # The video track's own span (first pts to the end of the last frame): segments are cut on
    # video, and audio may legitimately start a little earlier (TS publishers bundle ~0.2 s of
    # audio per PES), which a container-level duration would count in.
    dur = video_span(path) if v else None
    t.check(label + ": probed video duration matches EXTINF sum (+-0.25 s)",
            dur is not None and abs(dur - listed) <= 0.25,
            "probed %s s, listed %.3fs over %d segments" % (
                "%.3f" % dur if dur is not None else "n/a", listed, len(run_segs)))
    if v:
        n = int(v[0].get("nb_read_packets", "0") or 0)
        t.check(label + ": video frame count matches 30 fps (+-3)", abs(n - listed * 30) <= 3,
                "%d frames for %.3fs" % (n, listed))
    if decode:
        errs = decode_errors(path)
        t.check(label + ": decodes without errors", errs == "", errs[:400])
