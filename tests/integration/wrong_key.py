"""Scenario: publishing with a wrong key is refused (ffmpeg exits non-zero, nothing is
packaged), near-miss keys are refused too, and neither the right nor the wrong key ever shows
up in gavel's log, playlists, URLs or /metrics."""

import time

import gvtest

KEY = "right-key-5f2e9a"
WRONG = ["wrong-key-77d1", KEY[:-1], KEY + "x", KEY.upper()]
t = gvtest.Test("wrong_key", timeout=120)
with t:
    g = t.start_gavel([("demo", KEY)])
    t.secrets.extend(WRONG)
    for i, wk in enumerate(WRONG):
        p = t.ffmpeg_publish(g.rtmp_url(wk), name="ffmpeg_wrong%d" % i, duration=20)
        t0 = gvtest.now()
        rc = p.wait(12)
        dt = gvtest.now() - t0
        t.check("wrong key %d refused: ffmpeg exits non-zero" % i, rc not in (0, None),
                "rc=%s after %.1fs\n%s" % (rc, dt, p.tail(5)))
        if rc is None:
            p.kill()
        r, _ = g.get_media("demo")
        t.check("wrong key %d: no media playlist" % i, r.status == 404, "status %d" % r.status)

    # An empty key and a wrong application name.
    p = t.ffmpeg_publish("rtmp://127.0.0.1:%d/live/" % g.rtmp_port, name="ffmpeg_empty",
                         duration=20)
    rc = p.wait(12)
    t.check("empty key refused", rc not in (0, None), "rc=%s" % rc)
    if rc is None:
        p.kill()
    time.sleep(0.5)

    r, _ = g.get_media("demo")
    t.check("after refused publishes: media playlist still 404", r.status == 404,
            "status %d" % r.status)
    t.check("gavel still serving after refused publishers", g.proc.alive() and
            gvtest.http_get(g.url("/healthz")).status == 200)

    # Now the right key works, and the key is nowhere to be seen.
    pub = t.ffmpeg_publish(g.rtmp_url(KEY), name="ffmpeg_right")
    _, pl = g.wait_playlist("demo", 1, timeout=15)
    t.check("right key accepted after refusals", pl is not None)
    texts = {"media.m3u8": pl.text}
    r = gvtest.http_get(g.url("/live/demo/index.m3u8"))
    texts["index.m3u8"] = r.text
    r = gvtest.http_get(g.url("/metrics"))
    texts["/metrics"] = r.text
    r = gvtest.http_get(g.url("/watch/demo"))
    texts["/watch/demo"] = r.text
    for name, text in texts.items():
        leaked = [k for k in t.secrets if k in text]
        t.check("no publish key in %s" % name, not leaked, str(leaked))
    # A resource URL built from the key must not resolve.
    for path in ("/live/%s/media.m3u8" % KEY, "/live/%s/index.m3u8" % KEY, "/watch/%s" % KEY):
        r = gvtest.http_get(g.url(path))
        t.check("key is not a playback name (%s -> 404)" % path.replace(KEY, "<key>"),
                r.status == 404, "status %d" % r.status)
    pub.stop()
    time.sleep(0.5)
    # The application name is not part of the contract: report what happens, don't judge.
    p = t.ffmpeg_publish("rtmp://127.0.0.1:%d/other/%s" % (g.rtmp_port, KEY), name="ffmpeg_app",
                         duration=20)
    rc = p.wait(4)
    t.info("publish to app 'other' with the right key: %s"
           % ("accepted (still publishing after 4 s)" if rc is None else "refused, rc=%s" % rc))
    if rc is None:
        p.kill()
    # Logs are checked for every key (right and wrong) by the harness at cleanup.
