"""Scenario: GStreamer publishes over RTMP with rtmp2sink (H.264 from x264enc, or openh264enc when
GStreamer's ugly plugins are not installed, + AAC through flvmux) for ~10 s; every reload passes
the LL-HLS rule checker and the concatenated init + segments probe as 640x360 h264 + aac. A
second stream publishes video only and must still be packaged."""

import time

import gvtest

KEY = "gst-key-3d9c"
KEY_V = "gst-vonly-a1b2"
t = gvtest.Test("rtmp_gstreamer", timeout=150)
with t:
    enc = gvtest.gst_h264_encoder()
    aac = gvtest.gst_aac_encoder()
    t.require("a GStreamer H.264 encoder is installed (x264enc or openh264enc)", enc is not None)
    t.require("a GStreamer AAC encoder is installed", aac is not None)
    t.info("encoders: %s + %s" % (enc, aac))

    g = t.start_gavel([("demo", KEY), ("vonly", KEY_V)])
    pub = t.gst_publish(g.rtmp_url(KEY), enc, aac, name="gst_av")
    t0 = gvtest.now()
    try:
        _, pl = g.wait_playlist("demo", 1, timeout=20)
    except gvtest.Fatal as e:
        raise gvtest.Fatal("%s\ngst-launch output:\n%s" % (e, pub.tail(20)))
    t.info("first segment %.2fs after gst-launch started" % (gvtest.now() - t0))
    chk = gvtest.RuleChecker(t, g.media_url("demo"), secrets=t.secrets)
    while gvtest.now() - t0 < 11:
        if not pub.alive():
            t.fail("gst-launch keeps publishing", "exited rc=%s\n%s" % (pub.returncode(),
                                                                      pub.tail(15)))
            break
        r, pl = g.get_media("demo")
        if pl is None:
            t.fail("media playlist stays available", "status %d" % r.status)
            break
        chk.check_playlist(pl, fetch_media=True)
        time.sleep(0.3)
    chk.report()
    _, pl = g.get_media("demo")
    gvtest.check_multivariant(t, g, "demo", expect_resolution="640x360")
    gvtest.concat_and_probe(t, chk, pl, "gstreamer a/v")
    rc = pub.stop(gvtest.signal.SIGINT, 5)
    time.sleep(0.5)
    r, pl = g.get_media("demo")
    t.check("playlist still served after gst-launch stopped", r.status == 200, str(r.status))

    # Video only.
    vpub = t.gst_publish(g.rtmp_url(KEY_V), enc, None, name="gst_v")
    try:
        _, vpl = g.wait_playlist("vonly", 2, timeout=20)
        vchk = gvtest.RuleChecker(t, g.media_url("vonly"), secrets=t.secrets)
        vchk.check_playlist(vpl, fetch_media=True)
        vchk.report("video-only: ")
        gvtest.concat_and_probe(t, vchk, vpl, "gstreamer video-only", expect_audio=False)
        r = gvtest.http_get(g.url("/live/vonly/index.m3u8"))
        mv = gvtest.MultivariantPlaylist(r.text)
        codecs = mv.variants[0][0].get("CODECS", "") if mv.variants else ""
        t.check("video-only: CODECS lists avc1 and no mp4a", "avc1." in codecs and
                "mp4a" not in codecs, codecs)
    except gvtest.Fatal as e:
        t.fail("video-only publish is packaged", "%s\n%s" % (e, vpub.tail(10)))
    vpub.stop(gvtest.signal.SIGINT, 5)
