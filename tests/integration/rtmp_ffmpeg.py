"""Scenario: ffmpeg publishes ~12 s over RTMP; every reload of the media playlist passes the LL-HLS
rule checker, the concatenated init + segments probe as 640x360 h264 + aac with the listed
duration, and SIGTERM answers a parked blocking request with EXT-X-ENDLIST and exits 0 within
2 s."""

import time

import gvtest

KEY = "s3cret-ffmpeg-7c1d"
t = gvtest.Test("rtmp_ffmpeg", timeout=150)
with t:
    g = t.start_gavel([("demo", KEY)])
    r = gvtest.http_get(g.url("/healthz"))
    t.check("/healthz 200 ok", r.status == 200 and r.text.strip() == "ok", "%d %r" % (r.status,
                                                                                   r.text[:20]))
    r, _ = g.get_media("demo")
    t.check("media playlist 404 before any publish", r.status == 404, "status %d" % r.status)

    pub = t.ffmpeg_publish(g.rtmp_url(KEY))
    t0 = gvtest.now()
    _, pl = g.wait_playlist("demo", 1, timeout=15)
    first_seg = gvtest.now() - t0
    t.check("first segment listed within 6 s of publish start", first_seg <= 6.0,
            "%.2fs" % first_seg)

    chk = gvtest.RuleChecker(t, g.media_url("demo"), secrets=t.secrets)
    # Phase 1 (~5 s): fast non-blocking polls only, to time part arrivals.
    seen_parts = {}
    baseline = None
    while gvtest.now() - t0 < first_seg + 5.0:
        r, pl = g.get_media("demo")
        if pl is None:
            t.fail("media playlist stays available", "status %d" % r.status)
            break
        ts = gvtest.now()
        if baseline is None:
            baseline = set(p.uri for p in pl.all_parts)
        for p in pl.all_parts:
            if p.uri not in baseline:
                seen_parts.setdefault(p.uri, ts)
        chk.check_playlist(pl, fetch_media=False)
        time.sleep(0.03)
    # Phase 2 (until ~12.5 s of publishing): full rule check of every reload, including media
    # download, part/segment byte equality and ffprobe of each part.
    while gvtest.now() - t0 < 12.5:
        if not pub.alive():
            t.fail("ffmpeg publisher keeps running", "exited rc=%s:\n%s" % (pub.returncode(),
                                                                          pub.tail(10)))
            break
        r, pl = g.get_media("demo")
        if pl is None:
            t.fail("media playlist stays available", "status %d" % r.status)
            break
        chk.check_playlist(pl, fetch_media=True)
        time.sleep(0.2)
    chk.report()

    # Part cadence as seen by a polling client (50 ms resolution, so allow slack).
    times = sorted(seen_parts.values())
    gaps = [b - a for a, b in zip(times, times[1:])]
    steady = list(gaps)
    if steady:
        steady.sort()
        p95 = steady[int(len(steady) * 0.95) - 1]
        t.info("part arrival gaps: median %.3fs p95 %.3fs max %.3fs over %d parts"
               % (steady[len(steady) // 2], p95, steady[-1], len(steady)))
        t.check("new parts appear about every part target (p95 gap <= 2x PART-TARGET)",
                p95 <= 0.4 + 0.06, "p95 %.3fs" % p95)

    r, pl = g.get_media("demo")
    gvtest.check_multivariant(t, g, "demo", expect_resolution="640x360")
    gvtest.concat_and_probe(t, chk, pl, "live window")
    t.check("window holds at most window_segments complete segments",
            len(pl.complete_segments) <= g.hls["window_segments"],
            "%d listed" % len(pl.complete_segments))
    # Graceful shutdown: park a blocking request past the live edge, then SIGTERM.
    last = pl.last_msn
    parked = gvtest.AsyncGet(g.media_url("demo", "_HLS_msn=%d" % (last + 2)), timeout=10)
    time.sleep(0.3)
    t.check("publisher still live at shutdown", pub.alive())
    rc, dt = g.terminate(gvtest.signal.SIGTERM, grace=5.0)
    t.check("SIGTERM: gavel exits 0", rc == 0, "rc=%s" % rc)
    t.check("SIGTERM: exit within 2 s", dt <= 2.0, "%.2fs" % dt)
    try:
        pr = parked.result(5)
        ok = pr.status == 200 and "#EXT-X-ENDLIST" in pr.text
        t.check("parked blocking request answered with EXT-X-ENDLIST on shutdown", ok,
                "status %d, ENDLIST %s" % (pr.status, "#EXT-X-ENDLIST" in pr.text))
        if ok:
            epl = gvtest.MediaPlaylist(pr.text)
            t.check("final playlist has no PRELOAD-HINT", not epl.preload_hints, pr.text[-300:])
            trailing = [s for s in epl.segments if not s.complete]
            t.check("final playlist has no open segment (open parts closed)", not trailing,
                    "%d trailing partial segments" % len(trailing))
    except Exception as e:  # noqa: BLE001
        t.fail("parked blocking request answered with EXT-X-ENDLIST on shutdown", repr(e))
    prc = pub.wait(10)
    t.check("ffmpeg publisher ends once gavel is gone", prc is not None, "still running")
