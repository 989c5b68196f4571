"""Scenario: HTTP headers a CDN edge depends on. Cache-Control per HLS Appendix B.1 with the
configured target duration (blocking playlist 6x, blocking error 4x, non-blocking 0.5x, media
long/immutable), never no-cache/private on playlists, CORS on every response, gzip round-trip
for playlists with Vary: Accept-Encoding, content types, /metrics, /watch and /assets."""

import re
import time

import gvtest

KEY = "hdr-key-e81f"
t = gvtest.Test("http_headers", timeout=120)


def cc(r):
    return r.header("cache-control", "")


def check_cors(label, r):
    t.check("%s: Access-Control-Allow-Origin: *" % label,
            r.header("access-control-allow-origin") == "*",
            str(r.header("access-control-allow-origin")))


def check_long(label, r):
    ma = gvtest.max_age(cc(r))
    t.check("%s: long-lived Cache-Control (max-age >= 3600 or immutable)" % label,
            (ma is not None and ma >= 3600) or "immutable" in cc(r), repr(cc(r)))
    t.check("%s: no no-cache/no-store/private" % label,
            not re.search(r"no-cache|no-store|private", cc(r)), repr(cc(r)))


with t:
    g = t.start_gavel([("demo", KEY)], hls=dict(part_target_ms=200, segment_target_ms=2000))
    pub = t.ffmpeg_publish(g.rtmp_url(KEY))
    _, pl = g.wait_playlist("demo", 2, timeout=20)
    td = pl.target_duration
    t.check("TARGETDURATION is the configured 2 s", td == 2, str(td))

    # Non-blocking playlist.
    r, pl = g.get_media("demo")
    t.check("media playlist: Content-Type application/vnd.apple.mpegurl",
            (r.header("content-type") or "").split(";")[0].strip().lower() in
            ("application/vnd.apple.mpegurl", "audio/mpegurl"), str(r.header("content-type")))
    ma = gvtest.max_age(cc(r))
    t.check("non-blocking playlist: max-age = 0.5x target (%g)" % (0.5 * td),
            ma is not None and abs(ma - 0.5 * td) <= 0.5, repr(cc(r)))
    t.check("non-blocking playlist: no no-cache/no-store/private",
            not re.search(r"no-cache|no-store|private", cc(r)), repr(cc(r)))
    check_cors("media playlist", r)
    r2 = gvtest.http_get(g.url("/live/demo/index.m3u8"))
    t.check("multivariant: Content-Type application/vnd.apple.mpegurl",
            (r2.header("content-type") or "").split(";")[0].strip().lower() in
            ("application/vnd.apple.mpegurl", "audio/mpegurl"), str(r2.header("content-type")))
    t.check("multivariant: has Cache-Control", bool(cc(r2)), repr(cc(r2)))
    t.info("multivariant Cache-Control: %r" % cc(r2))
    check_cors("multivariant", r2)

    # Blocking playlist, success.
    segs = pl.segments
    nxt = (segs[-1].msn, len(segs[-1].parts)) if not segs[-1].complete else (segs[-1].msn + 1, 0)
    r, _ = g.get_media("demo", "_HLS_msn=%d&_HLS_part=%d" % nxt, timeout=10)
    t.check("blocking playlist: 200", r.status == 200, str(r.status))
    t.check("blocking playlist: max-age = 6x target (%d)" % (6 * td),
            gvtest.max_age(cc(r)) == 6 * td, repr(cc(r)))
    t.check("blocking playlist: no no-cache/no-store/private (defeats CDN collapsing)",
            not re.search(r"no-cache|no-store|private", cc(r)), repr(cc(r)))
    check_cors("blocking playlist", r)
    r, _ = g.get_media("demo", "_HLS_msn=%d" % (pl.last_msn + 1), timeout=10)
    t.check("blocking segment playlist: max-age = 6x target", gvtest.max_age(cc(r)) == 6 * td,
            "%d %r" % (r.status, cc(r)))

    # Blocking playlist, error.
    r, _ = g.get_media("demo", "_HLS_msn=%d" % (pl.last_msn + 50))
    t.check("blocking playlist 400: status", r.status == 400, str(r.status))
    t.check("blocking playlist 400: max-age = 4x target (%d)" % (4 * td),
            gvtest.max_age(cc(r)) == 4 * td, repr(cc(r)))
    check_cors("blocking playlist 400", r)

    # Media resources.
    _, pl = g.get_media("demo")
    seg = pl.complete_segments[-1]
    part = pl.all_parts[-1]
    for label, uri in (("init segment", seg.map_uri), ("segment", seg.uri), ("part", part.uri)):
        r = t.fetch(g.media_url("demo"), uri)
        t.check("%s: 200" % label, r.status == 200, "%s -> %d" % (uri, r.status))
        ct = (r.header("content-type") or "").lower()
        allowed = ("video/mp4",) if label == "init segment" else ("video/mp4", "video/iso.segment")
        t.check("%s: Content-Type %s" % (label, " or ".join(allowed)), ct in allowed, ct)
        t.check("%s: Content-Length matches" % label,
                r.header("content-length") == str(len(r.body)),
                "%s vs %d" % (r.header("content-length"), len(r.body)))
        t.check("%s: not gzipped" % label, r.header("content-encoding") is None,
                str(r.header("content-encoding")))
        check_long(label, r)
        check_cors(label, r)
    hint = [h for h in pl.preload_hints if h.get("TYPE") == "PART"]
    if hint:
        r = t.fetch(g.media_url("demo"), hint[0]["URI"])
        t.check("preload-hinted part: 200 after blocking", r.status == 200, str(r.status))
        check_long("preload-hinted part", r)
        check_cors("preload-hinted part", r)

    # gzip while live: a blocking request for a part answers with gzip and decodes to a playlist.
    _, pl = g.get_media("demo")
    segs = pl.segments
    nxt = (segs[-1].msn, len(segs[-1].parts)) if not segs[-1].complete else (segs[-1].msn + 1, 0)
    r, gpl = g.get_media("demo", "_HLS_msn=%d&_HLS_part=%d" % nxt,
                         headers={"Accept-Encoding": "gzip"}, timeout=10)
    t.check("blocking playlist: gzip when Accept-Encoding: gzip",
            r.header("content-encoding") == "gzip", str(r.header("content-encoding")))
    t.check("blocking playlist: gzipped body decodes to a playlist",
            gpl is not None and gpl.text.startswith("#EXTM3U"), r.text[:40])
    t.check("gzip: Vary names Accept-Encoding",
            "accept-encoding" in (r.header("vary") or "").lower(), str(r.header("vary")))
    t.check("gzip: Content-Length is the compressed size", r.header("content-length") is None or
            int(r.header("content-length")) == len(r.raw_body),
            "%s vs %d" % (r.header("content-length"), len(r.raw_body)))

    # Stop the publisher so the playlist holds still, then compare plain and gzip bodies.
    pub.stop()
    time.sleep(1.0)
    plain = gvtest.http_get(g.media_url("demo"))
    gz = gvtest.http_get(g.media_url("demo"), headers={"Accept-Encoding": "gzip, deflate, br"})
    t.check("plain request: no Content-Encoding", plain.header("content-encoding") is None,
            str(plain.header("content-encoding")))
    t.check("plain request: Vary names Accept-Encoding",
            "accept-encoding" in (plain.header("vary") or "").lower(), str(plain.header("vary")))
    t.check("gzip round-trip: decompressed body equals the plain body",
            gz.header("content-encoding") == "gzip" and gz.body == plain.body,
            "encoding %s, %d vs %d bytes" % (gz.header("content-encoding"), len(gz.body),
                                             len(plain.body)))
    t.check("gzip actually compresses", len(gz.raw_body) < len(plain.body),
            "%d -> %d" % (len(plain.body), len(gz.raw_body)))
    mv = gvtest.http_get(g.url("/live/demo/index.m3u8"), headers={"Accept-Encoding": "gzip"})
    t.check("multivariant: gzip when accepted", mv.header("content-encoding") == "gzip" and
            mv.body.startswith(b"#EXTM3U"), str(mv.header("content-encoding")))

    # Other routes.
    r = gvtest.http_get(g.url("/healthz"))
    t.check("/healthz: 200 ok", r.status == 200 and r.text.strip() == "ok", r.text[:40])
    r = gvtest.http_get(g.url("/metrics"))
    t.check("/metrics: 200", r.status == 200, str(r.status))
    t.check("/metrics: Content-Type text/plain (Prometheus text format)",
            (r.header("content-type") or "").startswith("text/plain"), r.header("content-type"))
    bad = [l for l in r.text.splitlines() if l and not l.startswith("#") and not re.match(
        r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
        r'[-+]?([0-9.eE+-]+|NaN|Inf)( \d+)?$', l)]
    t.check("/metrics: every sample line parses", not bad and r.text.strip() != "", str(bad[:3]))
    t.info("metrics names: %s" % sorted(set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", r.text,
                                                         re.M)))[:20])
    r = gvtest.http_get(g.url("/watch/demo"))
    t.check("/watch/demo: 200 text/html", r.status == 200 and
            (r.header("content-type") or "").startswith("text/html"),
            "%d %s" % (r.status, r.header("content-type")))
    t.check("/watch/demo: uses /assets/hls.min.js", "/assets/hls.min.js" in r.text, r.text[:200])
    r = gvtest.http_get(g.url("/assets/hls.min.js"))
    t.check("/assets/hls.min.js: 200 JavaScript", r.status == 200 and
            "javascript" in (r.header("content-type") or ""),
            "%d %s" % (r.status, r.header("content-type")))
    t.check("/assets/hls.min.js: the real library (> 100 kB)", len(r.body) > 100000,
            "%d bytes" % len(r.body))
    r = gvtest.http_get(g.url("/assets/../../etc/passwd"))
    t.check("/assets path traversal refused", r.status in (400, 403, 404), str(r.status))
    r = gvtest.http_get(g.url("/live/nope/media.m3u8"))
    t.check("unknown stream: 404", r.status == 404, str(r.status))
    check_cors("404", r)
    t.info("404 Cache-Control: %r" % cc(r))
