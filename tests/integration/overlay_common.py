"""Helpers shared by the overlay scenarios and bench/overlay_pipeline.py (on top of gvtest).

- start_overlay_gavel(): gavel with per-stream overlay settings and an API token (gvtest's
  Gavel writes streams without overlay keys, so the config is written here).
- make_clip() / publish_clip(): a deterministic source file published with `-c copy`, so the
  bytes gavel receives are known (passthrough checks compare codec config records).
- api(): one control-API request with a JSON body.
- latest_segment_after(), region_frames(): fetch an output segment and decode a rectangle of it
  to luma planes for pixel checks.
"""

import json
import os
import signal
import struct
import time
import urllib.parse
import http.client

import gvtest


class OverlayGavel(gvtest.Gavel):
    """gvtest.Gavel with streams given as (name, key, overlay_dict_or_None) and api.token."""

    def __init__(self, test, binary, streams, token, hls=None, name="gavel", http_extra="",
                 log_level=None):
        self.test = test
        self.http_port = gvtest.free_port()
        self.rtmp_port = gvtest.free_port()
        self.streams = [(s[0], s[1]) for s in streams]
        self.hls = dict(part_target_ms=200, segment_target_ms=2000, window_segments=7)
        self.hls.update(hls or {})
        self.config_path = os.path.join(test.tmp, name + ".yaml")
        lines = ['http:    { listen: "127.0.0.1:%d"%s }' % (self.http_port, http_extra),
                 'rtmp:    { listen: "127.0.0.1:%d" }' % self.rtmp_port,
                 "hls:     { part_target_ms: %d, segment_target_ms: %d, window_segments: %d }"
                 % (self.hls["part_target_ms"], self.hls["segment_target_ms"],
                    self.hls["window_segments"])]
        if token:
            lines.append('api:     { token: "%s" }' % token)
        if log_level:
            lines.append("log:     { level: %s }" % log_level)
        lines.append("streams:")
        for sname, key, ov in streams:
            if ov is None:
                lines.append('  - { name: %s, key: "%s" }' % (sname, key))
            else:
                kv = ", ".join("%s: %s" % (k, json.dumps(v) if isinstance(v, str) else
                                           ("true" if v is True else "false" if v is False
                                            else v)) for k, v in ov.items())
                lines.append('  - { name: %s, key: "%s", overlay: { %s } }' % (sname, key, kv))
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = gvtest.Proc(name, [binary, "-c", self.config_path], test.tmp)
        self.exit_code = None
        self.exit_elapsed = None


def start_overlay_gavel(t, streams, token, ready_timeout=10.0, **kw):
    for s in streams:
        t.secrets.append(s[1])
    if token:
        t.secrets.append(token)
    name = "gavel" if not t.gavels else "gavel%d" % (len(t.gavels) + 1)
    g = OverlayGavel(t, t.binary, streams, token, name=name, **kw)
    t.gavels.append(g)
    dt = g.wait_ready(ready_timeout)
    t.info("gavel up on http %d rtmp %d in %.2fs" % (g.http_port, g.rtmp_port, dt))
    return g


def make_clip(path, seconds=10, size="640x360", rate=30, gop=60, source="gray", timeout=120,
              extra=None):
    """Encodes a clip (H.264 High + AAC in FLV) to path. source "gray" is a flat mid-grey
    picture (pixel checks are exact against it); anything else is used as a lavfi source."""
    if source == "gray":
        vsrc = "color=c=0x808080:size=%s:rate=%d" % (size, rate)
    else:
        vsrc = source
    argv = [gvtest.FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", vsrc,
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
            "-g", str(gop), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"]
    argv += extra or []
    argv += ["-f", "flv", path]
    rc, _, err = gvtest.run(argv, timeout)
    if rc != 0:
        raise gvtest.Fatal("making the clip failed: %s" % err[-500:])
    return path


def publish_clip(t, url, clip, name=None, loop=True, realtime=True):
    argv = [gvtest.FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "warning"]
    if realtime:
        argv += ["-re"]
    if loop:
        argv += ["-stream_loop", "-1"]
    argv += ["-i", clip, "-c", "copy", "-f", "flv", url]
    name = name or "ffmpeg%d" % (len(t.procs) + 1)
    p = gvtest.Proc(name, argv, t.tmp)
    t.procs.append(p)
    return p


def api(g, method, path, body=None, token=None, ctype="application/json", timeout=10.0,
        raw=None):
    """One control-API request. body: a dict/list (JSON-encoded) or a str/bytes sent as is.
    Returns (status, parsed_json_or_None, headers, t_sent, t_done) with monotonic times."""
    headers = {}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        if ctype:
            headers["Content-Type"] = ctype
    conn = http.client.HTTPConnection("127.0.0.1", g.http_port, timeout=timeout)
    t0 = gvtest.now()
    try:
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        raw_body = r.read()
        t1 = gvtest.now()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        try:
            js = json.loads(raw_body.decode("utf-8")) if raw_body else None
        except ValueError:
            js = None
        return r.status, js, hdrs, t0, t1
    finally:
        conn.close()


def lot_path(stream, what):
    return "/api/v1/streams/%s/%s" % (stream, what)


def wait_shown(g, stream, token, version, timeout=10.0):
    """Polls GET .../overlay until shown_at names version (or later). Returns the state."""
    t0 = gvtest.now()
    st = None
    while gvtest.now() - t0 < timeout:
        code, st, _, _, _ = api(g, "GET", lot_path(stream, "overlay"), token=token)
        if code == 200 and st and st.get("last_shown") and \
                st["last_shown"]["version"] >= version:
            return st
        time.sleep(0.02)
    raise gvtest.Fatal("version %d of %s not shown within %.0fs (last state: %s)"
                       % (version, stream, timeout, json.dumps(st)[:400]))


def avcc_of(data):
    """The avcC box payload in an MP4/FLV byte string (FLV: the AVC sequence header record)."""
    i = data.find(b"avcC")
    if i >= 4:
        size = struct.unpack(">I", data[i - 4:i])[0]
        return data[i + 4:i - 4 + size]
    return None


def flv_avc_config(path):
    """The AVCDecoderConfigurationRecord of the first AVC sequence header tag in an FLV file."""
    with open(path, "rb") as f:
        d = f.read()
    if d[:3] != b"FLV":
        return None
    pos = struct.unpack(">I", d[5:9])[0] + 4
    while pos + 11 <= len(d):
        ttype = d[pos] & 0x1f
        size = int.from_bytes(d[pos + 1:pos + 4], "big")
        body = d[pos + 11:pos + 11 + size]
        if ttype == 9 and len(body) > 5 and (body[0] & 0x0f) == 7 and body[1] == 0:
            return body[5:]
        pos += 11 + size + 4
    return None


def segment_after(t, g, stream, wall_s, timeout=20.0):
    """Waits for a complete segment whose PROGRAM-DATE-TIME is at or after wall_s (epoch
    seconds) and returns (init_bytes, segment_bytes, segment)."""
    t0 = gvtest.now()
    while gvtest.now() - t0 < timeout:
        r, pl = g.get_media(stream)
        if pl:
            for s in pl.complete_segments:
                if s.pdt and gvtest.parse_pdt(s.pdt) >= wall_s:
                    base = g.media_url(stream)
                    init = t.fetch(base, s.map_uri)
                    seg = t.fetch(base, s.uri)
                    if init.status == 200 and seg.status == 200:
                        return init.body, seg.body, s
        time.sleep(0.2)
    raise gvtest.Fatal("no segment of %s starting after %.3f within %.0fs" % (stream, wall_s,
                                                                               timeout))


def region_frames(t, init, seg, rect, label="region"):
    """Decodes init+seg and returns the luma of rect=(x, y, w, h) for every frame, as a list of
    bytes objects (w*h each)."""
    x, y, w, h = rect
    path = os.path.join(t.tmp, label + ".mp4")
    with open(path, "wb") as f:
        f.write(init)
        f.write(seg)
    rc, out, err = gvtest.run([gvtest.FFMPEG, "-nostdin", "-v", "error", "-i", path,
                               "-vf", "crop=%d:%d:%d:%d,format=gray" % (w, h, x, y),
                               "-f", "rawvideo", "-"], 60)
    if rc != 0:
        raise gvtest.Fatal("decoding %s failed: %s" % (label, err[-300:]))
    n = w * h
    return [out[i:i + n] for i in range(0, len(out) - n + 1, n)]


def mean(b):
    return sum(b) / float(len(b)) if b else 0.0


def changed_pixels(a, b, threshold=24):
    return sum(1 for p, q in zip(a, b) if abs(p - q) > threshold)


def metrics_text(g):
    return gvtest.metrics_text(g, timeout=15.0)
