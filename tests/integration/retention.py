"""Scenario: what stays downloadable, and what a browser needs around it. With a small window
(3 segments of 1 s, 200 ms parts):
  (a) a part that drops out of the playlist stays downloadable, byte for byte, for at least
      3 target durations after it was last listed, then 404s (and stays 404); a segment that
      leaves the window stays downloadable for its duration plus the duration of the longest
      playlist that listed it (RFC 8216bis 6.2.2, and never less than 3 target durations),
      then 404s;
  (b) CORS preflight (OPTIONS) on playlists and media answers 204 with the
      Access-Control-Allow-* headers a browser checks; HEAD answers like GET without a body;
  (c) 404 for unknown streams and part names that never existed (at once, never parked), 400
      for malformed _HLS_msn/_HLS_part/_HLS_skip values not covered by blocking.py.
SIGTERM -> EXT-X-ENDLIST and exit 0 within 2 s is covered by rtmp_ffmpeg.py and srt_ffmpeg.py."""

import re
import signal
import socket
import time
import urllib.parse

import gvtest

KEY = "ret-key-61d0"
TOL = 0.25  # wall clock vs media time (gavel retains on media time), plus polling granularity

t = gvtest.Test("retention", timeout=90)
now = gvtest.now


class Tracked:
    def __init__(self, kind, uri, ref):
        self.kind = kind            # "part" or "segment"
        self.uri = uri
        self.ref = ref              # bytes fetched while listed
        self.last_seen = now()      # last playlist that listed it (time received)
        self.first_absent = None    # first playlist that did not
        self.pl_dur = 0.0           # duration of the longest playlist that listed it
        self.seg_dur = 0.0
        self.fetches = []           # (time, status, same bytes) after it left the playlist
        self.first_404 = None
        self.after_404 = []         # statuses after the first 404

    def done(self):
        return len(self.after_404) >= 2


def playlist_duration(pl):
    return sum(s.duration if s.complete else sum(p.duration for p in s.parts)
               for s in pl.segments)


def raw(port, request, timeout=5.0):
    """Sends one raw request (Connection: close) and returns (status, headers dict, body bytes)
    exactly as they came off the wire."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    data = b""
    try:
        s.sendall(request)
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0] if lines else "")
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return (int(m.group(1)) if m else None), hdrs, body


def path_of(g, uri):
    return urllib.parse.urlsplit(urllib.parse.urljoin(g.media_url("demo"), uri)).path


with t:
    g = t.start_gavel([("demo", KEY)],
                      hls=dict(part_target_ms=200, segment_target_ms=1000, window_segments=3))
    pub = t.ffmpeg_publish(g.rtmp_url(KEY), gop=30)
    _, pl = g.wait_playlist("demo", 3, timeout=25)
    td = pl.target_duration
    t.require("TARGETDURATION is 1 s", td == 1, str(td))

    # ---- (a) retention ------------------------------------------------------------------
    # Track the newest complete segment and its first and last parts from the live edge on, so
    # the moment each leaves the playlist is seen by polling (every 100 ms).
    _, pl = g.get_media("demo")
    got = now()
    newest = pl.complete_segments[-1]
    t.require("the newest complete segment lists its parts", len(newest.parts) >= 2,
              "msn %d: %d parts" % (newest.msn, len(newest.parts)))
    tracked = []
    for kind, uri in (("part", newest.parts[0].uri), ("part", newest.parts[-1].uri),
                      ("segment", newest.uri)):
        r = t.fetch(g.media_url("demo"), uri)
        t.require("listed %s downloadable" % kind, r.status == 200, "%s -> %d" % (uri, r.status))
        tr = Tracked(kind, uri, r.body)
        tr.last_seen = got
        tr.pl_dur = playlist_duration(pl)
        tr.seg_dur = newest.duration
        tracked.append(tr)
    t.info("tracking parts %s, %s and segment %s (msn %d)"
           % (tracked[0].uri, tracked[1].uri, tracked[2].uri, newest.msn))

    t0 = now()
    reloads = 0
    while now() - t0 < 30 and not all(tr.done() for tr in tracked):
        r, pl = g.get_media("demo", timeout=5)
        got = now()
        if pl is None:
            t.fail("media playlist reload", "status %d" % r.status)
            break
        reloads += 1
        listed = set(p.uri for p in pl.all_parts) | set(s.uri for s in pl.complete_segments)
        for tr in tracked:
            if tr.uri in listed:
                if tr.first_absent is not None:
                    t.fail("%s %s listed again after it left the playlist" % (tr.kind, tr.uri))
                tr.last_seen = got
                tr.pl_dur = max(tr.pl_dur, playlist_duration(pl))
                continue
            if tr.first_absent is None:
                tr.first_absent = got
            if tr.done():
                continue
            fr = t.fetch(g.media_url("demo"), tr.uri, timeout=5)
            at = now()
            if tr.first_404 is not None:
                tr.after_404.append(fr.status)
            elif fr.status == 404:
                tr.first_404 = at
            else:
                tr.fetches.append((at, fr.status, fr.body == tr.ref))
        time.sleep(0.1)
    t.info("%d reloads in %.1fs" % (reloads, now() - t0))

    for tr in tracked:
        label = "%s %s" % (tr.kind, tr.uri)
        if not t.check("%s left the playlist" % tr.kind, tr.first_absent is not None, label):
            continue
        if tr.kind == "part":
            keep = 3 * td
            rule = "3 target durations"
        else:
            keep = max(3 * td, tr.seg_dur + tr.pl_dur)
            rule = "its duration + the longest playlist (%.2fs)" % (tr.seg_dur + tr.pl_dur)
        must_until = tr.last_seen + keep - TOL
        bad = [(at - tr.last_seen, st) for at, st, _ in tr.fetches if st != 200]
        t.check("%s: every fetch after it left the playlist answered 200 until it 404ed"
                % tr.kind, not bad, "%s: %s" % (label, bad[:3]))
        t.check("%s: same bytes after it left the playlist" % tr.kind,
                all(same for _, st, same in tr.fetches if st == 200),
                "%s: %d fetches differ" % (label, sum(1 for _, st, same in tr.fetches
                                                      if st == 200 and not same)))
        served = [at for at, st, same in tr.fetches if st == 200 and same]
        last_ok = max(served) - tr.last_seen if served else -1
        t.info("%s: last listed at +0, absent from +%.2fs, last 200 at +%.2fs, 404 at %s"
               % (label, tr.first_absent - tr.last_seen, last_ok,
                  "+%.2fs" % (tr.first_404 - tr.last_seen) if tr.first_404 else "never"))
        t.check("%s: downloadable for at least %s after it left the playlist" % (tr.kind, rule),
                served and max(served) >= must_until and
                (tr.first_404 is None or tr.first_404 >= must_until),
                "%s: 200 until +%.2fs, 404 at %s, needed +%.2fs"
                % (label, last_ok, "+%.2fs" % (tr.first_404 - tr.last_seen)
                   if tr.first_404 else "never", keep - TOL))
        # Then it goes: gavel frees it a bounded time later (nothing is kept forever).
        limit = keep + 3 * td
        t.check("%s: 404 within %.1fs after it left the playlist" % (tr.kind, limit),
                tr.first_404 is not None and tr.first_404 - tr.first_absent <= limit,
                "%s: 404 at %s" % (label, "+%.2fs" % (tr.first_404 - tr.first_absent)
                                   if tr.first_404 else "never"))
        t.check("%s: stays 404 once gone" % tr.kind,
                len(tr.after_404) >= 2 and all(s == 404 for s in tr.after_404),
                "%s: %s" % (label, tr.after_404))

    # ---- (b) CORS preflight and HEAD -----------------------------------------------------
    _, pl = g.get_media("demo")
    part = pl.all_parts[-1]
    cseg = pl.complete_segments[-1]
    targets = [("media playlist", "/live/demo/media.m3u8"),
               ("blocking playlist URL", "/live/demo/media.m3u8?_HLS_msn=%d&_HLS_part=0"
                % (cseg.msn + 1)),
               ("multivariant playlist", "/live/demo/index.m3u8"),
               ("part", path_of(g, part.uri)),
               ("init segment", path_of(g, cseg.map_uri))]
    for label, path in targets:
        st, h, body = raw(g.http_port, (
            "OPTIONS %s HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://buyer.example\r\n"
            "Access-Control-Request-Method: GET\r\n"
            "Access-Control-Request-Headers: range\r\nConnection: close\r\n\r\n"
            % path).encode())
        t.check("OPTIONS %s: 204" % label, st == 204, "status %s" % st)
        aco = h.get("access-control-allow-origin")
        t.check("OPTIONS %s: Access-Control-Allow-Origin * (or the origin)" % label,
                aco in ("*", "https://buyer.example"), str(aco))
        methods = [m.strip().upper() for m in h.get("access-control-allow-methods", "").split(",")]
        t.check("OPTIONS %s: Allow-Methods has GET, HEAD, OPTIONS" % label,
                {"GET", "HEAD", "OPTIONS"} <= set(methods), str(methods))
        allow_h = [x.strip().lower() for x in h.get("access-control-allow-headers", "").split(",")]
        t.check("OPTIONS %s: Allow-Headers covers the requested Range" % label,
                "range" in allow_h or "*" in allow_h, str(allow_h))
        ma = h.get("access-control-max-age", "")
        t.check("OPTIONS %s: Access-Control-Max-Age > 0" % label, ma.isdigit() and int(ma) > 0,
                repr(ma))
        t.check("OPTIONS %s: no body" % label, body == b"" and
                h.get("content-length", "0") == "0", "%d bytes, Content-Length %s"
                % (len(body), h.get("content-length")))
    # A preflight answers at once, even for a blocking URL far ahead (it is not parked).
    r = gvtest.http_request(g.url("/live/demo/media.m3u8?_HLS_msn=%d" % (cseg.msn + 2)),
                            method="OPTIONS", timeout=5,
                            headers={"Origin": "https://buyer.example",
                                     "Access-Control-Request-Method": "GET"})
    t.check("OPTIONS on a blocking playlist URL is answered at once", r.status == 204 and
            r.elapsed < 0.3, "%d after %.3fs" % (r.status, r.elapsed))

    for label, uri in (("part", part.uri), ("segment", cseg.uri), ("init segment",
                                                                     cseg.map_uri)):
        get = t.fetch(g.media_url("demo"), uri)
        st, h, body = raw(g.http_port, ("HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Connection: close\r\n\r\n" % path_of(g, uri)).encode())
        t.check("HEAD %s: 200" % label, st == 200 and get.status == 200,
                "HEAD %s, GET %d" % (st, get.status))
        t.check("HEAD %s: Content-Length equals the GET body" % label,
                h.get("content-length") == str(len(get.body)),
                "%s vs %d" % (h.get("content-length"), len(get.body)))
        t.check("HEAD %s: no body on the wire" % label, body == b"", "%d bytes" % len(body))
        t.check("HEAD %s: same Content-Type and Cache-Control as GET" % label,
                h.get("content-type") == get.header("content-type") and
                h.get("cache-control") == get.header("cache-control"),
                "%s / %s vs %s / %s" % (h.get("content-type"), h.get("cache-control"),
                                        get.header("content-type"), get.header("cache-control")))
        t.check("HEAD %s: Access-Control-Allow-Origin" % label,
                h.get("access-control-allow-origin") == "*",
                str(h.get("access-control-allow-origin")))
    # HEAD then GET on one keep-alive connection (what a CDN edge does): the GET's response
    # must start right after the HEAD's headers.
    ppath = path_of(g, part.uri).encode()
    get = t.fetch(g.media_url("demo"), part.uri)
    st, h, rest = raw(g.http_port, b"HEAD " + ppath + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
                      b"GET " + ppath + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      b"\r\n")
    head2, _, body2 = rest.partition(b"\r\n\r\n")
    t.check("HEAD then GET on one keep-alive connection: the GET gets its own 200 and the bytes",
            st == 200 and head2.startswith(b"HTTP/1.1 200") and body2 == get.body,
            "HEAD %s, then %r..., %d bytes vs %d" % (st, head2[:20], len(body2), len(get.body)))
    st, h, body = raw(g.http_port, b"HEAD /live/demo/media.m3u8 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Connection: close\r\n\r\n")
    t.check("HEAD media playlist: 200, playlist type, no body",
            st == 200 and "mpegurl" in h.get("content-type", "").lower() and body == b"",
            "%s %s %d bytes" % (st, h.get("content-type"), len(body)))
    st, h, body = raw(g.http_port, b"HEAD /live/nope/media.m3u8 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Connection: close\r\n\r\n")
    t.check("HEAD unknown stream: 404, no body", st == 404 and body == b"",
            "%s %d bytes" % (st, len(body)))

    # ---- (c) 404 and 400 -------------------------------------------------------------------
    _, pl = g.get_media("demo")
    cseg = pl.complete_segments[-1]
    part = cseg.parts[0] if cseg.parts else pl.all_parts[-1]
    m = re.match(r"^(p-)([^-]+)(-(\d+)-(\d+)\.m4s)$", part.uri)
    t.require("part names look like p-<instance>-<msn>-<index>.m4s", m is not None, part.uri)
    inst = m.group(2)
    other_inst = "".join("x" if c != "x" else "y" for c in inst)
    n_parts = len(cseg.parts)
    cases = [
        ("unknown stream, real part name", "/live/nope/" + part.uri),
        ("unknown stream, init", "/live/nope/" + cseg.map_uri),
        ("part of another server instance", "/live/demo/p-%s%s" % (other_inst, m.group(3))),
        ("segment of another server instance", "/live/demo/" + cseg.uri.replace(inst,
                                                                                  other_inst)),
        ("part index past a complete segment's last part",
         "/live/demo/p-%s-%d-%d.m4s" % (inst, cseg.msn, n_parts + 3)),
        ("part of a segment before the first one", "/live/demo/p-%s-%d-0.m4s"
         % (inst, pl.complete_segments[0].msn - 1000 if pl.complete_segments[0].msn >= 1000
            else 999999999)),
        ("part name without an index", "/live/demo/p-%s-%d.m4s" % (inst, cseg.msn)),
        ("part name with a sign", "/live/demo/p-%s-+%d-0.m4s" % (inst, cseg.msn)),
        ("segment with the wrong extension", "/live/demo/" + cseg.uri.replace(".m4s", ".ts")),
        ("init of an unknown publish", "/live/demo/" + re.sub(r"-\d+\.mp4$", "-99999.mp4",
                                                                cseg.map_uri)),
    ]
    for label, path in cases:
        r = gvtest.http_get(g.url(path), timeout=5)
        t.check("404 at once: %s" % label, r.status == 404 and r.elapsed < 0.5,
                "%s -> %d after %.3fs" % (path, r.status, r.elapsed))
    last = pl.last_msn
    bad = [
        ("empty _HLS_msn", "_HLS_msn="),
        ("_HLS_msn without a value", "_HLS_msn"),
        ("fractional _HLS_msn", "_HLS_msn=%d.5" % last),
        ("_HLS_msn with a plus sign", "_HLS_msn=%%2B%d" % last),
        ("hex _HLS_msn", "_HLS_msn=0x%x" % last),
        ("_HLS_msn with trailing junk", "_HLS_msn=%dabc" % last),
        ("_HLS_msn with a space", "_HLS_msn=%%20%d" % last),
        ("_HLS_msn beyond 2^53", "_HLS_msn=99999999999999999999"),
        ("non-numeric _HLS_part", "_HLS_msn=%d&_HLS_part=x" % last),
        ("empty _HLS_part", "_HLS_msn=%d&_HLS_part=" % last),
        ("negative _HLS_part", "_HLS_msn=%d&_HLS_part=-1" % last),
        ("repeated _HLS_msn", "_HLS_msn=%d&_HLS_msn=%d" % (last, last)),
        ("repeated _HLS_part", "_HLS_msn=%d&_HLS_part=0&_HLS_part=1" % last),
        ("unknown _HLS_skip value", "_HLS_skip=NO"),
    ]
    for label, q in bad:
        r, _ = g.get_media("demo", q, timeout=5)
        t.check("400 at once: %s" % label, r.status == 400 and r.elapsed < 0.5,
                "?%s -> %d after %.3fs" % (q, r.status, r.elapsed))
    # Control: well-formed directives in any order are accepted.
    r, _ = g.get_media("demo", "_HLS_part=0&_HLS_msn=%d" % last, timeout=5)
    t.check("well-formed _HLS_part before _HLS_msn: 200", r.status == 200, str(r.status))
    r, _ = g.get_media("demo", "_HLS_msn=%d&foo=bar" % last, timeout=5)
    t.check("unknown query parameters are ignored: 200", r.status == 200, str(r.status))

    t.check("publisher still running", pub.alive(), pub.tail(5))
    rc, dt = g.terminate(signal.SIGTERM, grace=5.0)
    t.check("gavel exits 0 on SIGTERM", rc == 0, "rc=%s after %.2fs" % (rc, dt))
