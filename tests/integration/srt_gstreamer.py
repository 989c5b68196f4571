"""Scenario: GStreamer (x264enc or openh264enc + AAC -> mpegtsmux -> srtsink) publishes over SRT
with an access-control stream id; the playlist passes the LL-HLS rule checker for ~8 s and the
segments probe and decode as 640x360 h264 + aac."""

import gvtest
import srt_common

KEY = "srt-gst-key-5a0c"
t = gvtest.Test("srt_gstreamer", timeout=150)
with t:
    enc = gvtest.gst_h264_encoder()
    aac = gvtest.gst_aac_encoder()
    t.require("a GStreamer H.264 encoder is installed", enc is not None)
    t.require("a GStreamer AAC encoder is installed", aac is not None)
    t.info("using %s + %s" % (enc, aac))
    g = srt_common.start_gavel(t, [("demo", KEY)])
    pub = srt_common.gst_publish(t, g, srt_common.sid_ac(KEY, order="mr"), enc, aac)
    _, pl = g.wait_playlist("demo", 1, timeout=20)
    srt_common.full_rule_check(t, g, "demo", pub, 8.0)
    t.check("gavel logs the SRT publisher", srt_common.log_has(g, "SRT publisher"))
