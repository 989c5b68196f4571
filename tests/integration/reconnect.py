"""Scenario: a publisher stops (gracefully, then abruptly) and comes back with the same key. The
playlist continues: EXT-X-DISCONTINUITY before the first new segment, MSNs continue, a new
EXT-X-MAP URI, no URI reused, old segments still downloadable while listed, and
EXT-X-DISCONTINUITY-SEQUENCE advances once the discontinuity leaves the window."""

import time

import gvtest

KEY = "recon-key-41c0"
t = gvtest.Test("reconnect", timeout=180)


def segs_after_disc(pl, after_msn):
    return [s for s in pl.complete_segments if s.msn > after_msn]


with t:
    g = t.start_gavel([("demo", KEY)], hls=dict(segment_target_ms=1000, window_segments=5))
    chk = gvtest.RuleChecker(t, g.media_url("demo"), secrets=t.secrets, expect_live=False)
    pub = t.ffmpeg_publish(g.rtmp_url(KEY), name="ffmpeg_a", gop=30)
    _, pl = g.wait_playlist("demo", 3, timeout=20)
    chk.check_playlist(pl)
    a_uris = set(u for s in pl.segments for u in [s.uri, s.map_uri] + [p.uri for p in s.parts]
                 if u)
    a_map = pl.complete_segments[-1].map_uri

    # Graceful stop (ffmpeg sends FCUnpublish/deleteStream and closes).
    pub.stop(gvtest.signal.SIGINT, 5)
    time.sleep(0.6)
    r, pl = g.get_media("demo")
    t.require("playlist still served after the publisher left", pl is not None,
              "status %d" % r.status)
    chk.check_playlist(pl)
    trailing = [s for s in pl.segments if not s.complete]
    t.check("publisher end closes the open segment (no trailing parts)", not trailing,
            "%d parts still open" % sum(len(s.parts) for s in trailing))
    t.check("no EXT-X-ENDLIST after a publisher leaves (stream may come back)", not pl.endlist)
    a_last = pl.last_msn
    a_uris |= set(u for s in pl.segments for u in [s.uri, s.map_uri] + [p.uri for p in s.parts]
                  if u)
    a_listed = [s.uri for s in pl.complete_segments]

    def reconnect(label, name, after_msn, prev_map):
        t0 = gvtest.now()
        p = t.ffmpeg_publish(g.rtmp_url(KEY), name=name, gop=30)
        _, npl = g.wait_playlist("demo", 1, timeout=20,
                                 pred=lambda x: len(segs_after_disc(x, after_msn)) >= 2)
        t.info("%s: 2 new segments listed %.2fs after restart" % (label, gvtest.now() - t0))
        chk.check_playlist(npl)
        new = segs_after_disc(npl, after_msn)
        first = new[0]
        t.check("%s: MSN continues (first new segment is %d)" % (label, after_msn + 1),
                first.msn == after_msn + 1, "first new msn %d" % first.msn)
        t.check("%s: EXT-X-DISCONTINUITY before the first new segment" % label,
                first.discontinuity, "msn %d" % first.msn)
        t.check("%s: no other DISCONTINUITY among new segments" % label,
                not any(s.discontinuity for s in new[1:]))
        t.check("%s: new EXT-X-MAP URI" % label, first.map_uri and first.map_uri != prev_map,
                "old %s new %s" % (prev_map, first.map_uri))
        t.check("%s: EXT-X-MAP tag right at the discontinuity" % label, first.new_map)
        return p, npl, first.map_uri

    pub2, pl, b_map = reconnect("graceful reconnect", "ffmpeg_b", a_last, a_map)
    b_uris = set(u for s in pl.segments if s.msn > a_last
                 for u in [s.uri, s.map_uri] + [p.uri for p in s.parts] if u)
    t.check("no URI of the new publish reuses an old one", not (a_uris & b_uris),
            str(sorted(a_uris & b_uris)[:3]))
    still = [u for u in a_listed if u in [s.uri for s in pl.complete_segments]]
    bad = [u for u in still if t.fetch(g.media_url("demo"), u).status != 200]
    t.check("old publish's segments still 200 while listed (%d)" % len(still), not bad, str(bad))
    gvtest.concat_and_probe(t, chk, pl, "after reconnect")

    # Keep going until the discontinuity slides out of the window.
    def disc_gone(x):
        return x.media_sequence > a_last + 1
    try:
        _, pl = g.wait_playlist("demo", 1, timeout=20, pred=disc_gone)
        chk.check_playlist(pl)
        t.check("EXT-X-DISCONTINUITY-SEQUENCE is 1 once the discontinuity left the window",
                pl.discontinuity_sequence == 1 and not any(s.discontinuity for s in pl.segments),
                "DISCONTINUITY-SEQUENCE %d" % pl.discontinuity_sequence)
    except gvtest.Fatal as e:
        t.fail("window slides past the discontinuity", str(e))

    # Abrupt loss: SIGKILL (TCP closes without any RTMP goodbye), then come back.
    pub2.kill()
    time.sleep(0.6)
    r, pl = g.get_media("demo")
    chk.check_playlist(pl)
    b_last = pl.last_msn
    pub3, pl, c_map = reconnect("abrupt reconnect", "ffmpeg_c", b_last, b_map)
    t.check("abrupt reconnect: the init segment of the new publish is downloadable",
            t.fetch(g.media_url("demo"), c_map).status == 200)
    for _ in range(8):
        time.sleep(0.3)
        _, pl = g.get_media("demo")
        chk.check_playlist(pl, fetch_media=False)
    chk.report()
    pub3.stop()
