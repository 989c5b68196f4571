"""Scenario: LL-HLS request semantics. Blocking reload for the next part and the next segment
returns only once it is published (timed); 400 for directives out of range; preload-hinted parts
block and then arrive whole; never-hinted names and unknown streams 404; delta updates carry
EXT-X-SKIP once the window is longer than CAN-SKIP-UNTIL; 503 when a request is held longer
than 3 target durations after the publisher stopped."""

import re
import time

import gvtest

KEY = "blk-key-93ab"
PART_MS = 200
t = gvtest.Test("blocking", timeout=150)


def next_part_of(pl):
    """(msn, part index) of the part that follows the last one listed."""
    segs = pl.segments
    last = segs[-1]
    if not last.complete:
        return last.msn, len(last.parts)
    return last.msn + 1, 0


def has_part(pl, msn, idx):
    s = pl.segment_by_msn(msn)
    if s is not None and idx < len(s.parts):
        return True
    # "Part index past the last part of M means part 0 of M+1".
    if s is not None and s.complete and idx >= len(s.parts):
        n = pl.segment_by_msn(msn + 1)
        return n is not None and len(n.parts) >= 1
    return False


with t:
    g = t.start_gavel([("demo", KEY)], hls=dict(part_target_ms=PART_MS, segment_target_ms=1000,
                                                 window_segments=10))
    pub = t.ffmpeg_publish(g.rtmp_url(KEY), gop=30)
    _, pl = g.wait_playlist("demo", 2, timeout=20)
    td = pl.target_duration
    t.info("TARGETDURATION %d, PART-TARGET %s" % (td, pl.part_target))
    chk = gvtest.RuleChecker(t, g.media_url("demo"), secrets=t.secrets, probe_parts=False)
    chk.check_playlist(pl, fetch_media=False)

    # 1. Chained part-blocking reloads, as an LL-HLS client does.
    elapsed = []
    not_contained = []
    cur = pl
    for i in range(20):
        msn, idx = next_part_of(cur)
        r, npl = g.get_media("demo", "_HLS_msn=%d&_HLS_part=%d" % (msn, idx), timeout=10)
        if r.status != 200 or npl is None:
            t.fail("blocking part reload returns 200", "msn %d part %d -> %d %r"
                   % (msn, idx, r.status, r.text[:200]))
            break
        elapsed.append(r.elapsed)
        if not has_part(npl, msn, idx):
            not_contained.append("msn %d part %d after %.3fs" % (msn, idx, r.elapsed))
        chk.check_playlist(npl, fetch_media=False)
        cur = npl
    if elapsed:
        t.check("blocking part reload: response contains the requested part", not not_contained,
                "; ".join(not_contained[:3]))
        blocked = [e for e in elapsed if e > 0.03]
        t.check("blocking part reload: requests for the next part are held (most > 30 ms)",
                len(blocked) >= len(elapsed) // 2, "elapsed: %s"
                % ", ".join("%.3f" % e for e in elapsed))
        t.check("blocking part reload: each returns within 1.5x PART-TARGET + 100 ms",
                max(elapsed) <= 1.5 * PART_MS / 1000.0 + 0.1,
                "max %.3fs; all: %s" % (max(elapsed), ", ".join("%.3f" % e for e in elapsed)))
        t.info("part reload waits: median %.3fs max %.3fs over %d"
               % (sorted(elapsed)[len(elapsed) // 2], max(elapsed), len(elapsed)))

    # 2. Blocking on the next whole segment.
    _, pl = g.get_media("demo")
    want = pl.last_msn + 1
    r, npl = g.get_media("demo", "_HLS_msn=%d" % want, timeout=10)
    ok = r.status == 200 and npl is not None and npl.last_msn is not None and \
        npl.last_msn >= want
    t.check("blocking segment reload returns once segment M is complete", ok,
            "status %d last_msn %s want %d" % (r.status, npl.last_msn if npl else None, want))
    t.check("blocking segment reload returns within 1.5x TARGETDURATION + 0.2 s",
            r.elapsed <= 1.5 * td + 0.2, "%.3fs" % r.elapsed)
    if npl:
        chk.check_playlist(npl, fetch_media=False)

    # 3. Requests that must be refused with 400 right away.
    _, pl = g.get_media("demo")
    last = pl.last_msn
    cases = [
        ("_HLS_msn beyond last MSN + 2", "_HLS_msn=%d" % (last + 3)),
        ("_HLS_msn far in the future", "_HLS_msn=%d" % (last + 1000)),
        ("_HLS_part without _HLS_msn", "_HLS_part=0"),
        ("_HLS_part beyond the advance part limit", "_HLS_msn=%d&_HLS_part=100" % (last + 1)),
        ("_HLS_msn not a number", "_HLS_msn=abc"),
        ("_HLS_msn negative", "_HLS_msn=-1"),
    ]
    for label, q in cases:
        r, _ = g.get_media("demo", q, timeout=10)
        t.check("400 for %s" % label, r.status == 400 and r.elapsed < 0.5,
                "?%s -> %d after %.3fs" % (q, r.status, r.elapsed))
    # last + 2 is allowed: it waits (two segments at most), then succeeds.
    r, npl = g.get_media("demo", "_HLS_msn=%d" % (last + 2), timeout=10)
    t.check("_HLS_msn = last MSN + 2 is accepted and held until it exists",
            r.status == 200 and npl is not None and npl.last_msn >= last + 2,
            "status %d after %.3fs" % (r.status, r.elapsed))

    # 4. Preload hint: the request blocks until the part is complete, then returns all of it.
    hint_waits = []
    for i in range(6):
        _, pl = g.get_media("demo")
        hints = [h for h in pl.preload_hints if h.get("TYPE") == "PART"]
        if not t.check("preload hint listed (iteration %d)" % i, len(hints) == 1,
                       str(pl.preload_hints)):
            break
        uri = hints[0]["URI"]
        r = t.fetch(g.media_url("demo"), uri, timeout=10)
        hint_waits.append(r.elapsed)
        if not t.check("preload-hinted part returns 200", r.status == 200,
                       "%s -> %d" % (uri, r.status)):
            continue
        cl = r.header("content-length")
        t.check("preload-hinted part: Content-Length matches the bytes", cl is None or
                int(cl) == len(r.body), "%s vs %d" % (cl, len(r.body)))
        # The same URI, listed now, must give the same bytes.
        _, pl2 = g.get_media("demo", "_HLS_msn=%d&_HLS_part=%d" % next_part_of(pl), timeout=10)
        listed = pl2 is not None and uri in [p.uri for p in pl2.all_parts]
        t.check("hinted URI is later listed as EXT-X-PART", listed, uri)
        again = t.fetch(g.media_url("demo"), uri)
        t.check("hinted part bytes equal the listed part's bytes", again.body == r.body,
                "%d vs %d bytes" % (len(again.body), len(r.body)))
        time.sleep(0.07 * i)
    if hint_waits:
        t.check("preload hint requests are held until the part exists (some > 30 ms)",
                any(w > 0.03 for w in hint_waits), ", ".join("%.3f" % w for w in hint_waits))
        t.check("preload hint requests return within 1.5x PART-TARGET + 100 ms",
                max(hint_waits) <= 1.5 * PART_MS / 1000.0 + 0.1,
                ", ".join("%.3f" % w for w in hint_waits))

    # 5. Names that were never hinted, and unknown streams: 404 at once, never held.
    _, pl = g.get_media("demo")
    hint = [h for h in pl.preload_hints if h.get("TYPE") == "PART"]
    if hint:
        u = hint[0]["URI"]
        stem_end = u.rfind(".") if "." in u else len(u)
        m = list(re.finditer(r"\d+", u[:stem_end]))
        if m:
            last_num = m[-1]
            far = u[:last_num.start()] + str(int(last_num.group()) + 1000) + u[last_num.end():]
            r = t.fetch(g.media_url("demo"), far)
            t.check("never-hinted future part name -> 404 without waiting",
                    r.status == 404 and r.elapsed < 0.5, "%s -> %d after %.3fs"
                    % (far, r.status, r.elapsed))
            if len(m) >= 2:
                n2 = m[-2]
                far2 = u[:n2.start()] + str(int(n2.group()) + 1000) + u[n2.end():]
                r = t.fetch(g.media_url("demo"), far2)
                t.check("never-hinted future segment's part -> 404 without waiting",
                        r.status == 404 and r.elapsed < 0.5, "%s -> %d after %.3fs"
                        % (far2, r.status, r.elapsed))
    for path in ("/live/demo/nonexistent.m4s", "/live/demo/nonexistent.mp4",
                 "/live/demo/../../etc/passwd", "/live/demo/%2e%2e%2fetc%2fpasswd",
                 "/live/nope/media.m3u8", "/live/nope/index.m3u8",
                 "/live/nope/media.m3u8?_HLS_msn=5&_HLS_part=0", "/live/nope/init.mp4",
                 "/watch/nope", "/nothing-here"):
        r = gvtest.http_get(g.url(path), timeout=5)
        t.check("unknown resource %s -> 404 at once" % path,
                r.status in ((404, 400) if ".." in path or "%2e" in path else (404,))
                and r.elapsed < 0.5, "%d after %.3fs" % (r.status, r.elapsed))

    # 6. Delta updates once the playlist is longer than CAN-SKIP-UNTIL.
    csu = float(pl.server_control.get("CAN-SKIP-UNTIL", "0")) if pl.server_control else 0
    t.check("CAN-SKIP-UNTIL advertised", csu > 0, str(pl.server_control))

    def long_enough(p):
        return sum(s.duration for s in p.complete_segments) > csu + 2 * td

    try:
        _, full = g.wait_playlist("demo", 1, timeout=30, pred=long_enough)
    except gvtest.Fatal as e:
        t.fail("playlist grows past CAN-SKIP-UNTIL + 2 TD (window_segments 10)", str(e))
        full = None
    if full is not None and csu > 0:
        dchk = gvtest.RuleChecker(t, g.media_url("demo"), secrets=t.secrets, probe_parts=False)
        for mode in ("YES", "v2"):
            _, full = g.get_media("demo")
            r, dpl = g.get_media("demo", "_HLS_skip=%s" % mode)
            if not t.check("_HLS_skip=%s -> 200" % mode, r.status == 200, "%d" % r.status):
                continue
            t.check("_HLS_skip=%s: EXT-X-SKIP present" % mode, dpl.skip is not None,
                    r.text[:400])
            if dpl.skip is None:
                continue
            n = int(dpl.skip.get("SKIPPED-SEGMENTS", "0"))
            t.check("_HLS_skip=%s: SKIPPED-SEGMENTS > 0" % mode, n > 0, str(dpl.skip))
            t.check("_HLS_skip=%s: EXT-X-VERSION >= 9" % mode, (dpl.version or 0) >= 9,
                    str(dpl.version))
            listed = sum(s.duration for s in dpl.complete_segments) + \
                sum(p.duration for s in dpl.segments if not s.complete for p in s.parts)
            t.check("_HLS_skip=%s: only segments older than CAN-SKIP-UNTIL are skipped" % mode,
                    listed >= csu - td, "%.2fs left listed, CAN-SKIP-UNTIL %.1f" % (listed, csu))
            # The listed tail must match the full playlist for the MSNs both contain.
            mism = []
            for s in dpl.complete_segments:
                f = full.segment_by_msn(s.msn)
                if f is not None and f.complete and f.uri != s.uri:
                    mism.append("msn %d: %s vs %s" % (s.msn, s.uri, f.uri))
            t.check("_HLS_skip=%s: segments keep their MSN and URI" % mode, not mism,
                    "; ".join(mism[:3]))
            t.check("_HLS_skip=%s: MEDIA-SEQUENCE unchanged by skipping" % mode,
                    abs(dpl.media_sequence - full.media_sequence) <= 1,
                    "delta %d full %d" % (dpl.media_sequence, full.media_sequence))
            if mode == "v2":
                t.check("_HLS_skip=v2 carries RECENTLY-REMOVED-DATERANGES",
                        "RECENTLY-REMOVED-DATERANGES" in dpl.skip, str(dpl.skip))
            dchk.check_playlist(dpl, fetch_media=False)
        # Delta + blocking together.
        msn, idx = next_part_of(full)
        r, dpl = g.get_media("demo", "_HLS_msn=%d&_HLS_part=%d&_HLS_skip=YES" % (msn, idx),
                             timeout=10)
        t.check("blocking + _HLS_skip=YES returns a delta playlist with the part",
                r.status == 200 and dpl is not None and dpl.skip is not None and
                has_part(dpl, msn, idx), "status %d" % r.status)
        dchk.report("delta: ")

    chk.report()

    # 7. 503 when held longer than 3 target durations: the publisher is gone.
    pub.kill()
    time.sleep(0.8)
    _, pl = g.get_media("demo")
    if pl is not None:
        want = pl.last_msn + 1
        r, _ = g.get_media("demo", "_HLS_msn=%d" % want, timeout=3 * td + 5)
        t.check("held request without new media -> 503", r.status == 503,
                "status %d after %.2fs" % (r.status, r.elapsed))
        t.check("503 comes after about 3 target durations (3TD-0.3 .. 3TD+1 s)",
                3 * td - 0.3 <= r.elapsed <= 3 * td + 1.0, "%.2fs, TD %d" % (r.elapsed, td))
        r, _ = g.get_media("demo", "_HLS_msn=%d&_HLS_part=0" % want, timeout=3 * td + 5)
        t.check("held part request without new media -> 503", r.status == 503,
                "status %d after %.2fs" % (r.status, r.elapsed))
        r, pl2 = g.get_media("demo")
        t.check("non-blocking playlist still served after the publisher left",
                r.status == 200 and pl2 is not None, "status %d" % r.status)
