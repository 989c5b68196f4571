"""Scenario: srt-live-transmit relays ffmpeg's real-time TS (read from file://con) to gavel as an
SRT caller with a plain "live/KEY" stream id; the playlist passes the LL-HLS rule checker for
~8 s and the segments probe and decode as 640x360 h264 + aac."""

import gvtest
import srt_common

KEY = "srt-slt-key-c4e2"
t = gvtest.Test("srt_live_transmit", timeout=150)
with t:
    g = srt_common.start_gavel(t, [("demo", KEY)])
    pub = srt_common.slt_relay(t, g, "live/" + KEY)
    _, pl = g.wait_playlist("demo", 1, timeout=20)
    srt_common.full_rule_check(t, g, "demo", pub, 8.0)
