"""Scenario: ffmpeg publishes ~10 s of H.264 + AAC as MPEG-TS over SRT with an access-control
stream id; every reload of the media playlist passes the LL-HLS rule checker, the multivariant
playlist is right, the concatenated init + segments probe as 640x360 h264 + aac with the listed
duration and decode cleanly, gavel logs SRT statistics, and when the publisher stops the open
segment closes without EXT-X-ENDLIST."""

import time

import gvtest
import srt_common

KEY = "srt-ffmpeg-key-93f1"
t = gvtest.Test("srt_ffmpeg", timeout=150)
with t:
    g = srt_common.start_gavel(t, [("demo", KEY)], srt=dict(stats_interval_ms=2000))
    pub = srt_common.ffmpeg_publish(t, g.srt_url(srt_common.sid_ac(KEY)))
    t0 = gvtest.now()
    _, pl = g.wait_playlist("demo", 1, timeout=15)
    first_seg = gvtest.now() - t0
    t.check("first segment listed within 6 s of publish start", first_seg <= 6.0,
            "%.2fs" % first_seg)
    pl = srt_common.full_rule_check(t, g, "demo", pub, 9.0)
    log = g.proc.output()
    t.check("gavel logs the SRT publisher", "SRT publisher" in log and "connected" in log)
    t.check("gavel logs SRT statistics (rtt, loss, retrans)",
            "rtt" in log and "retrans" in log, "")

    pub.stop(gvtest.signal.SIGINT, 5)
    time.sleep(1.0)
    r, pl = g.get_media("demo")
    t.require("playlist still served after the publisher left", pl is not None,
              "status %d" % r.status)
    trailing = [s for s in pl.segments if not s.complete]
    t.check("publisher end closes the open segment (no trailing parts)", not trailing,
            "%d parts still open" % sum(len(s.parts) for s in trailing))
    t.check("no EXT-X-ENDLIST after the publisher leaves", not pl.endlist)
    rc, dt = g.terminate(gvtest.signal.SIGTERM, grace=5.0)
    t.check("SIGTERM: gavel exits 0", rc == 0, "rc=%s" % rc)
    t.check("SIGTERM: exit within 2 s", dt <= 2.0, "%.2fs" % dt)
