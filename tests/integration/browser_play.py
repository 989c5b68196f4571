"""Scenario (label browser): gavel + an ffmpeg publisher, then headless Chromium plays
/watch/demo with hls.js (browser_play.mjs) for 10 s: no fatal hls.js error, playback advances
>= 8 s, and the live latency hls.js observed is reported."""

import json
import os
import shutil

import gvtest

KEY = "browser-key-c4d2"
HERE = os.path.dirname(os.path.abspath(__file__))
t = gvtest.Test("browser_play", timeout=150)
with t:
    node = shutil.which("node")
    t.require("node is installed", node is not None)
    t.require("chromium is installed", os.path.exists(os.environ.get("GV_CHROMIUM",
                                                                     "/usr/bin/chromium")))
    web = os.path.abspath(os.path.join(HERE, "..", "..", "web", "node_modules", "playwright-core"))
    t.require("playwright-core is installed (scripts/setup.sh)", os.path.isdir(web), web)

    g = t.start_gavel([("demo", KEY)])
    pub = t.ffmpeg_publish(g.rtmp_url(KEY))
    g.wait_playlist("demo", 2, timeout=20)
    shot = os.path.join(t.tmp, "browser.png")
    rc, out, err = gvtest.run([node, os.path.join(HERE, "browser_play.mjs"), g.base, "demo", "10",
                               shot], 120)
    text = out.decode("utf-8", "replace")
    result = {}
    for line in text.splitlines():
        if line.startswith("PASS "):
            t.check("browser: " + line[5:], True)
        elif line.startswith("FAIL "):
            name, _, detail = line[5:].partition(": ")
            t.fail("browser: " + name, detail)
        elif line.startswith("INFO "):
            t.info(line[5:])
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
    t.check("browser script exited 0", rc == 0, "rc=%s\n%s" % (rc, err.strip()[-1500:]))
    if result.get("latencyMedian") is not None:
        t.info("observed live latency: median %.2f s (hls.latency), wall clock %.2f s, "
               "startup %d ms" % (result["latencyMedian"], result.get("wallLatencyLast") or -1,
                                   result.get("startupMs", -1)))
    t.check("publisher ran throughout", pub.alive(), pub.tail(5))
    if os.path.exists(shot):
        t.info("screenshot: %s" % shot)
