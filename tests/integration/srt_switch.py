"""Scenario: a seller switches encoders from RTMP to SRT (and back, after the SRT encoder is
killed without a goodbye) with the same key. The
playlist continues: EXT-X-DISCONTINUITY before the first new segment, MSNs continue, a new
EXT-X-MAP, no URI reused, and the rule checker passes across the switches."""

import time

import gvtest
import srt_common

KEY = "srt-switch-key-60aa"
t = gvtest.Test("srt_switch", timeout=200)


def segs_after(pl, msn):
    return [s for s in pl.complete_segments if s.msn > msn]


def uris(pl, after=-1):
    return set(u for s in pl.segments if s.msn is not None and s.msn > after
               for u in [s.uri, s.map_uri] + [p.uri for p in s.parts] if u)


with t:
    # A killed SRT caller sends no goodbye: gavel notices after peer_idle_timeout_ms, and a
    # newcomer takes over once the old publisher has been silent for stale_ms (500 ms here).
    g = srt_common.start_gavel(t, [("demo", KEY)], hls=dict(segment_target_ms=1000,
                                                            window_segments=6),
                               ingest=dict(stale_ms=500))
    chk = gvtest.RuleChecker(t, g.media_url("demo"), secrets=t.secrets, expect_live=False)

    def switch(label, start, stop_prev, prev_map, prev_uris):
        stop_prev()
        time.sleep(0.8)
        _, pl = g.get_media("demo")
        chk.check_playlist(pl)
        p = start()

        def old_last(x):
            # A killed caller's open segment is only closed when the newcomer takes over, so
            # the previous publish ends at its last segment with the previous init segment.
            return max(s.msn for s in x.complete_segments if s.map_uri == prev_map)

        _, npl = g.wait_playlist("demo", 1, timeout=20,
                                 pred=lambda x: any(s.map_uri == prev_map
                                                    for s in x.complete_segments) and
                                 len(segs_after(x, old_last(x))) >= 2)
        chk.check_playlist(npl)
        last = old_last(npl)
        new = segs_after(npl, last)
        t.check("%s: MSN continues" % label, new[0].msn == last + 1,
                "first new %d after %d" % (new[0].msn, last))
        t.check("%s: EXT-X-DISCONTINUITY before the first new segment" % label,
                new[0].discontinuity)
        t.check("%s: no other DISCONTINUITY among new segments" % label,
                not any(s.discontinuity for s in new[1:]))
        t.check("%s: new EXT-X-MAP URI" % label, new[0].map_uri and new[0].map_uri != prev_map,
                "old %s new %s" % (prev_map, new[0].map_uri))
        reused = prev_uris & uris(npl, last)
        t.check("%s: no URI reused" % label, not reused, str(sorted(reused)[:3]))
        gvtest.concat_and_probe(t, chk, npl, label)
        return p, npl

    rtmp = t.ffmpeg_publish(g.rtmp_url(KEY), name="rtmp_a", gop=30)
    _, pl = g.wait_playlist("demo", 2, timeout=20)
    chk.check_playlist(pl)
    a_map = pl.complete_segments[-1].map_uri
    a_uris = uris(pl)

    srt, pl = switch("RTMP -> SRT", lambda: srt_common.ffmpeg_publish(
        t, g.srt_url(srt_common.sid_ac(KEY)), name="srt_b", gop=30),
        lambda: rtmp.stop(gvtest.signal.SIGINT, 5), a_map, a_uris)
    b_map = pl.complete_segments[-1].map_uri
    b_uris = uris(pl)
    # SRT publisher killed abruptly (no goodbye), RTMP comes back.
    rtmp2, pl = switch("SRT (killed) -> RTMP", lambda: t.ffmpeg_publish(
        g.rtmp_url(KEY), name="rtmp_c", gop=30), srt.kill, b_map, b_uris | a_uris)
    for _ in range(5):
        time.sleep(0.3)
        _, pl = g.get_media("demo")
        chk.check_playlist(pl, fetch_media=False)
    chk.report()
    rtmp2.stop()
