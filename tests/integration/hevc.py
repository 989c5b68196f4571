"""Scenario: HEVC end to end, over both ingests.
- RTMP: an Enhanced RTMP publisher (ertmp_pub.py: FourCC `hvc1` video tags, as OBS 29.1+ sends
  them; Debian 12's ffmpeg and GStreamer cannot publish HEVC over RTMP) sends a libx265 clip in
  real time, video only.
- SRT: the real ffmpeg encodes libx265 + AAC live and sends MPEG-TS over SRT.
For each: every reload of the media playlist passes the LL-HLS rule checker (parts probed), the
multivariant playlist advertises `hvc1.` with the right resolution, and the concatenated init +
segments probe as 640x360 hevc (plus aac over SRT) with the listed duration and decode cleanly."""

import os
import sys
import time

import gvtest
import srt_common

HERE = os.path.dirname(os.path.abspath(__file__))
RTMP_KEY = "hevc-rtmp-key-51aa"
SRT_KEY = "hevc-srt-key-8c02"
X265 = "keyint=60:min-keyint=60:bframes=0:scenecut=0:aud=1:log-level=error"


def encode_clip(t, seconds):
    """A libx265 clip as MP4 (its hvcC is the sequence header) and as Annex B (the frames)."""
    mp4 = os.path.join(t.tmp, "clip.mp4")
    hevc = os.path.join(t.tmp, "clip.hevc")
    rc, _, err = gvtest.run([gvtest.FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error",
                             "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
                             "-t", str(seconds), "-c:v", "libx265", "-preset", "ultrafast",
                             "-x265-params", X265, "-tag:v", "hvc1", "-pix_fmt", "yuv420p",
                             "-y", mp4], 120)
    t.require("libx265 clip encoded", rc == 0, err[-300:] if err else "")
    rc, _, err = gvtest.run([gvtest.FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error",
                             "-i", mp4, "-c", "copy", "-bsf:v", "hevc_mp4toannexb", "-f", "hevc",
                             "-y", hevc], 60)
    t.require("clip converted to Annex B", rc == 0, err[-300:] if err else "")
    return mp4, hevc


def check_stream(t, g, stream, pub, seconds, audio):
    chk = gvtest.RuleChecker(t, g.media_url(stream), secrets=t.secrets)
    t0 = gvtest.now()
    pl = None
    while gvtest.now() - t0 < seconds:
        if not pub.alive():
            t.fail(stream + ": publisher keeps running", "exited rc=%s:\n%s"
                   % (pub.returncode(), pub.tail(10)))
            break
        r, pl = g.get_media(stream)
        if pl is None:
            t.fail(stream + ": media playlist stays available", "status %d" % r.status)
            break
        chk.check_playlist(pl, fetch_media=True)
        time.sleep(0.2)
    chk.report(stream + ": ")
    gvtest.check_multivariant(t, g, stream, expect_resolution="640x360", video_codec="hvc1",
                              expect_audio=audio)
    r, pl = g.get_media(stream)
    if pl is not None:
        gvtest.concat_and_probe(t, chk, pl, stream + " live window", expect_audio=audio,
                                vcodec="hevc")


t = gvtest.Test("hevc", timeout=170)
with t:
    mp4, hevc = encode_clip(t, 20)
    g = srt_common.start_gavel(t, [("hrtmp", RTMP_KEY), ("hsrt", SRT_KEY)])

    pub = gvtest.Proc("ertmp_pub", [sys.executable, os.path.join(HERE, "ertmp_pub.py"),
                                    "127.0.0.1", str(g.rtmp_port), "live", RTMP_KEY, mp4, hevc,
                                    "30", "1"], t.tmp)
    t.procs.append(pub)
    g.wait_playlist("hrtmp", 1, timeout=15)
    check_stream(t, g, "hrtmp", pub, 8.0, audio=False)
    log = g.proc.output()
    t.check("RTMP: gavel took the hvc1 sequence header", "video config: hevc" in log)
    pub.stop()

    argv = srt_common.ffmpeg_srt_argv(g.srt_url(srt_common.sid_ac(SRT_KEY)))
    i = argv.index("libx264")
    argv[i:i + 5] = ["libx265", "-preset", "ultrafast", "-x265-params",
                     "keyint=60:min-keyint=60:bframes=0:scenecut=0:log-level=error"]
    t.check("SRT publisher argv rewritten for libx265", "-tune" not in argv[i:i + 6], str(argv))
    spub = gvtest.Proc("ffmpeg_srt_hevc", argv, t.tmp)
    t.procs.append(spub)
    g.wait_playlist("hsrt", 1, timeout=20)
    check_stream(t, g, "hsrt", spub, 8.0, audio=True)
    spub.stop()
