"""Scenario: the overlay worker across publishes and under overload.

1. A 640x360 clip is published once (no loop) to the overlaid stream "auction" with a lot on
   screen; then a 854x480 clip is published. The playlist gets EXT-X-DISCONTINUITY and a new
   EXT-X-MAP, the new init segment says 854x480 (the encoder was re-opened with a new config),
   the lot card is still burned in after the republish, and everything decodes cleanly.
2. A clip is pushed to "flood" (queue_frames 8) as fast as ffmpeg can send it: the bounded queue
   drops (counted in the worker's counters) rather than growing, the drops skip to the next
   keyframe so the output still decodes without errors, and gavel stays responsive."""

import os
import time

import gvtest
import overlay_common as oc

TOKEN = "it-token-republish-88"
KEY_A = "key-republish-a1"
KEY_F = "key-flood-f1"

t = gvtest.Test("overlay_republish", timeout=190)
with t:
    clip360 = oc.make_clip(os.path.join(t.tmp, "c360.flv"), seconds=6)
    clip480 = oc.make_clip(os.path.join(t.tmp, "c480.flv"), seconds=30, size="854x480")
    g = oc.start_overlay_gavel(t, [("auction", KEY_A, {"enabled": True}),
                                   ("flood", KEY_F, {"enabled": True, "queue_frames": 8})], TOKEN)
    P = oc.lot_path
    lot = {"id": "77", "title": "Vintage watch", "currency": "EUR", "current_bid": 99.5,
           "state": "live"}
    code, js, _, _, _ = oc.api(g, "PUT", P("auction", "lot"), lot, token=TOKEN)
    t.require("PUT lot before any media -> 200", code == 200, "%s %s" % (code, js))

    # ---- 1. republish with a new resolution ----
    pub1 = oc.publish_clip(t, g.rtmp_url(KEY_A), clip360, name="pub360", loop=False)
    g.wait_playlist("auction", 1, timeout=20)
    st = oc.wait_shown(g, "auction", TOKEN, js["version"])
    t.check("lot set before the publish is shown once video flows",
            st["shown_at"] is not None, str(st.get("shown_at")))
    rc = pub1.wait(20)
    t.check("first publisher finished", rc is not None, "rc=%s" % rc)
    time.sleep(0.5)
    pub2 = oc.publish_clip(t, g.rtmp_url(KEY_A), clip480, name="pub480", loop=False)
    t0 = gvtest.now()
    pl = None
    while gvtest.now() - t0 < 25:
        _, pl = g.get_media("auction")
        if pl and any(s.discontinuity for s in pl.complete_segments) and \
                len([s for s in pl.complete_segments if s.discontinuity or
                     s.map_uri != pl.complete_segments[0].map_uri]) >= 2:
            break
        time.sleep(0.2)
    t.require("playlist has a discontinuity after the republish",
              pl is not None and any(s.discontinuity for s in pl.segments),
              "%d segments" % len(pl.segments) if pl else "no playlist")
    maps = []
    for s in pl.segments:
        if s.map_uri and s.map_uri not in maps:
            maps.append(s.map_uri)
    t.check("a new EXT-X-MAP after the republish", len(maps) >= 2, str(maps))
    last = pl.complete_segments[-1]
    base = g.media_url("auction")
    init = t.fetch(base, last.map_uri).body
    seg = t.fetch(base, last.uri).body
    path = os.path.join(t.tmp, "after.mp4")
    with open(path, "wb") as f:
        f.write(init + seg)
    info = gvtest.ffprobe_json(path)
    v = [s for s in info.get("streams", []) if s.get("codec_type") == "video"]
    t.check("output after the republish is 854x480",
            v and v[0].get("width") == 854 and v[0].get("height") == 480,
            str([(s.get("width"), s.get("height")) for s in v]))
    errs = gvtest.decode_errors(path)
    t.check("output after the republish decodes cleanly", errs == "", errs[:300])
    # Card at 480p: 427x133 at (16, 331); check well inside it against the flat grey.
    frames = oc.region_frames(t, init, seg, (30, 345, 380, 100), "card480")
    f = frames[len(frames) // 2] if frames else b""
    changed = sum(1 for p in f if abs(p - 128) > 24)
    t.check("the card is still burned in after the republish", changed > len(f) // 4,
            "%d of %d pixels differ from the grey" % (changed, len(f)))
    code, js, _, _, _ = oc.api(g, "GET", P("auction", "overlay"), token=TOKEN)
    w = js["worker"]
    t.check("encoder re-opened for the new size", w["encoder_opens"] == 2, str(w))
    t.check("no decode or encode errors across publishes",
            w["decode_errors"] == 0 and w["encode_errors"] == 0, str(w))
    pub2.stop()

    # ---- 2. overload: bounded queue, drops to the next keyframe ----
    pubf = oc.publish_clip(t, g.rtmp_url(KEY_F), clip480, name="flood", loop=False,
                           realtime=False)
    rc = pubf.wait(60)
    t.check("flood publisher finished", rc is not None, "rc=%s" % rc)
    t0 = gvtest.now()
    while gvtest.now() - t0 < 20:
        code, js, _, _, _ = oc.api(g, "GET", P("flood", "overlay"), token=TOKEN, timeout=5)
        if code == 200 and js["worker"]["queue_depth"] == 0:
            break
        time.sleep(0.2)
    w = js["worker"]
    t.info("flood worker: %s" % w)
    t.check("overload drops and counts instead of queueing without bound",
            w["frames_dropped"] > 0 and w["frames_in"] + w["frames_dropped"] >= 850,
            "in %d dropped %d" % (w["frames_in"], w["frames_dropped"]))
    t.check("no decode errors after drops (they skip to a keyframe)", w["decode_errors"] == 0,
            str(w))
    r = gvtest.http_get(g.url("/healthz"), timeout=2)
    t.check("gavel responsive during and after the flood", r.status == 200, str(r.status))
    _, pl = g.wait_playlist("flood", 1, timeout=20)
    segs = pl.complete_segments
    if segs:
        base = g.media_url("flood")
        path = os.path.join(t.tmp, "flood.mp4")
        with open(path, "wb") as f:
            f.write(t.fetch(base, segs[0].map_uri).body)
            for s in segs:
                if s.map_uri == segs[0].map_uri:
                    f.write(t.fetch(base, s.uri).body)
        errs = gvtest.decode_errors(path)
        t.check("flood output decodes without errors", errs == "", errs[:300])
