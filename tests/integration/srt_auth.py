"""Scenario: SRT admission. A wrong or missing passphrase and an unknown key are refused before
any stream exists (media playlist stays 404, no publish logged); m=request is refused; the stream
id forms "#!::r=live/KEY,m=publish", "#!::m=publish,r=live/KEY,u=USER", "live/KEY" and a bare
KEY each publish a stream; the publish keys and passphrase never appear in gavel's log."""

import time

import gvtest
import srt_common

PASS = "open-sesame-4417"
STREAMS = [("sec", "srt-sec-key-7d21", PASS), ("ac", "srt-ac-key-1f0b"),
           ("acu", "srt-acu-key-88e4"), ("live", "srt-live-key-2b9a"),
           ("bare", "srt-bare-key-c03d")]
t = gvtest.Test("srt_auth", timeout=170)


def short_pub(g, url, name):
    return srt_common.ffmpeg_publish(t, url, name=name, size="320x240", gop=30,
                                     extra=["-preset", "ultrafast"])


with t:
    g = srt_common.start_gavel(t, STREAMS, srt=dict(latency_ms=80))
    key = dict((s[0], s[1]) for s in STREAMS)

    # Refusals: each publisher must fail to connect (ffmpeg exits non-zero quickly).
    bad = [("no passphrase", srt_common.sid_ac(key["sec"]), None),
           ("wrong passphrase", srt_common.sid_ac(key["sec"]), "not-the-passphrase"),
           ("unknown key", srt_common.sid_ac("no-such-key-000"), None),
           ("read mode", "#!::r=live/%s,m=request" % key["ac"], None)]
    for label, sid, pw in bad:
        p = short_pub(g, g.srt_url(sid, passphrase=pw), "refused_" + label.replace(" ", "_"))
        rc = p.wait(15)
        t.check("%s: publisher refused" % label, rc is not None and rc != 0,
                "rc=%s\n%s" % (rc, p.tail(5)))
    r, _ = g.get_media("sec")
    t.check("wrong/missing passphrase produced no stream (404)", r.status == 404,
            "status %d" % r.status)
    r, _ = g.get_media("ac")
    t.check("m=request produced no stream (404)", r.status == 404, "status %d" % r.status)
    log = g.proc.output()
    t.check("no publish started for refused callers", "publish started" not in log,
            [l for l in log.splitlines() if "publish started" in l][:2].__repr__())
    t.check("refusals logged with a reason", "refused (1403)" in log and "refused (1405)" in log)

    # Accepted forms, all at once (small pictures keep two cores comfortable).
    forms = {"sec": (srt_common.sid_ac(key["sec"]), PASS),
             "ac": (srt_common.sid_ac(key["ac"]), None),
             "acu": (srt_common.sid_ac(key["acu"], user="seller-42", order="mr"), None),
             "live": ("live/" + key["live"], None),
             "bare": (key["bare"], None)}
    pubs = {}
    for name, (sid, pw) in forms.items():
        pubs[name] = short_pub(g, g.srt_url(sid, passphrase=pw), "pub_" + name)
    for name in forms:
        try:
            _, pl = g.wait_playlist(name, 1, timeout=25)
            t.check("stream id form '%s' publishes" % name, len(pl.complete_segments) >= 1,
                    "%d segments" % len(pl.complete_segments))
        except gvtest.Fatal as e:
            t.fail("stream id form '%s' publishes" % name, str(e))
    t.check("the u= user is logged", "user seller-42" in g.proc.output())
    for p in pubs.values():
        p.stop()
    time.sleep(0.5)
