"""Scenario: the auction overlay end to end. gavel runs with two streams, "auction" (overlay
enabled) and "plain" (no overlay), and an API token; ffmpeg publishes a flat grey clip to both
(-c copy, so the bytes sent are known).

Checks: control-API errors (401 with WWW-Authenticate, 400 naming the field, 404 for an unknown
stream and for a stream without overlay, 405, 413, 415); PUT of a lot makes the card appear in the
decoded output (luma of the card rectangle moves away from the grey it had before); a bid changes
pixels of the card; GET .../overlay reports the frame (pts, wall time) that first showed each
update; EXT-X-DATERANGE tags mark the lot start and the sale; DELETE removes the card; the
overlaid stream keeps its audio and decodes cleanly; the plain stream is passthrough (its avcC is
byte-identical to the publisher's) while the overlaid one carries a re-encoded config; the token
never appears in gavel's log."""

import os
import time

import gvtest
import overlay_common as oc

TOKEN = "it-token-5b0c9e1d2f"
KEY_OV = "key-auction-91af"
KEY_PLAIN = "key-plain-3c77"
W, H = 640, 360
# The card is 640x200 at 720p with a 24 px margin, bottom-left, scaled to the picture height:
# 320x100 at (12, 248) for 360p. The rectangle checked sits inside it with some slack.
CARD = (20, 256, 290, 84)
OUTSIDE = (400, 40, 200, 100)  # top-right: never covered by the card

t = gvtest.Test("overlay_api", timeout=220)
with t:
    clip = oc.make_clip(os.path.join(t.tmp, "grey.flv"), seconds=45)  # no loop point in the run
    src_avcc = oc.flv_avc_config(clip)
    t.require("clip has an AVC sequence header", src_avcc is not None)

    g = oc.start_overlay_gavel(t, [("auction", KEY_OV, {"enabled": True, "bitrate_kbps": 1500}),
                                   ("plain", KEY_PLAIN, None)], TOKEN)
    P = oc.lot_path

    # ---- API errors before any media ----
    code, js, hdrs, _, _ = oc.api(g, "GET", P("auction", "overlay"))
    t.check("401 without a token", code == 401, str(code))
    t.check("401 carries WWW-Authenticate: Bearer",
            hdrs.get("www-authenticate", "").startswith("Bearer"), str(hdrs))
    code, _, _, _, _ = oc.api(g, "GET", P("auction", "overlay"), token="not-the-token")
    t.check("401 with a wrong token", code == 401, str(code))
    code, js, _, _, _ = oc.api(g, "GET", P("nosuch", "overlay"), token=TOKEN)
    t.check("404 for an unknown stream", code == 404 and "unknown stream" in js.get("error", ""),
            "%s %s" % (code, js))
    code, js, _, _, _ = oc.api(g, "PUT", P("plain", "lot"), {"id": "1"}, token=TOKEN)
    t.check("404 for a stream without overlay (and says so)",
            code == 404 and "no overlay" in js.get("error", ""), "%s %s" % (code, js))
    code, js, _, _, _ = oc.api(g, "PUT", P("auction", "lot"), "{\"id\": ", token=TOKEN)
    t.check("400 for malformed JSON", code == 400 and "error" in (js or {}), "%s %s" % (code, js))
    code, js, _, _, _ = oc.api(g, "PUT", P("auction", "lot"),
                               {"id": "7", "title": "x", "currency": "USD",
                                "current_bid": "ten"}, token=TOKEN)
    t.check("400 names the bad field", code == 400 and "current_bid" in js.get("error", ""),
            "%s %s" % (code, js))
    code, _, hdrs, _, _ = oc.api(g, "GET", P("auction", "lot"), token=TOKEN)
    t.check("405 for GET on /lot with Allow", code == 405 and "PUT" in hdrs.get("allow", ""),
            "%s %s" % (code, hdrs.get("allow")))
    code, _, _, _, _ = oc.api(g, "PUT", P("auction", "lot"), "{}", token=TOKEN,
                              ctype="text/plain")
    t.check("415 without a JSON content type", code == 415, str(code))
    big = b"{" + b" " * 70000 + b"}"  # http.max_body_bytes defaults to 65536
    try:
        code, _, _, _, _ = oc.api(g, "PUT", P("auction", "lot"), big, token=TOKEN)
    except OSError as e:
        code = "connection error %s" % e
    t.check("413 for a body over http.max_body_bytes", code == 413, str(code))
    code, js, hdrs, _, _ = oc.api(g, "GET", P("auction", "overlay"), token=TOKEN)
    t.check("GET overlay before any update: version 0, nothing shown",
            code == 200 and js["version"] == 0 and js["lot"] is None and js["shown_at"] is None,
            str(js)[:300])
    t.check("API responses are not cacheable", hdrs.get("cache-control") == "no-store",
            str(hdrs.get("cache-control")))

    # ---- media ----
    pub_ov = oc.publish_clip(t, g.rtmp_url(KEY_OV), clip, name="pub_auction")
    pub_plain = oc.publish_clip(t, g.rtmp_url(KEY_PLAIN), clip, name="pub_plain")
    g.wait_playlist("auction", 2, timeout=30)
    g.wait_playlist("plain", 1, timeout=20)

    init, seg, _ = oc.segment_after(t, g, "auction", 0)
    before = oc.region_frames(t, init, seg, CARD, "before")
    t.require("decoded frames before the lot", len(before) > 10, "%d frames" % len(before))
    ref = before[len(before) // 2]
    t.info("card region before: mean luma %.1f" % oc.mean(ref))

    # ---- PUT a lot ----
    lot = {"id": "42", "title": "1986 Fleer RC Clyde Drexler BGS 8.5 Auto", "currency": "USD",
           "starting_bid": 10, "state": "live", "ends_at": int(time.time()) + 120,
           "labels": ["Free shipping"]}
    code, js, _, _, _ = oc.api(g, "PUT", P("auction", "lot"), lot, token=TOKEN)
    t.require("PUT lot -> 200", code == 200, "%s %s" % (code, js))
    v_put = js["version"]
    st = oc.wait_shown(g, "auction", TOKEN, v_put)
    sa = st.get("shown_at")
    t.check("GET overlay: shown_at has pts and wall time",
            sa is not None and isinstance(sa.get("pts"), (int, float)) and sa.get("wall_ms", 0) > 0,
            str(sa))
    if sa:
        lat = sa["wall_ms"] - st["updated_at_ms"]
        t.check("the lot appeared on a frame composed within 1 s of the PUT", 0 <= lat < 1000,
                "%.1f ms" % lat)
    t.check("GET overlay returns the lot", st["lot"] and st["lot"]["id"] == "42", str(st)[:200])

    init, seg, _ = oc.segment_after(t, g, "auction", sa["frame_arrival_ms"] / 1000.0 + 0.05)
    with_card = oc.region_frames(t, init, seg, CARD, "card")
    outside_ref = oc.region_frames(t, init, seg, OUTSIDE, "outside")
    card_frame = with_card[len(with_card) // 2]
    changed = oc.changed_pixels(ref, card_frame)
    t.check("the card appears in the picture (card rectangle differs from the grey before)",
            changed > len(ref) // 4, "%d of %d pixels changed, mean %.1f -> %.1f"
            % (changed, len(ref), oc.mean(ref), oc.mean(card_frame)))
    out_mean = oc.mean(outside_ref[len(outside_ref) // 2])
    t.check("outside the card the picture is untouched", abs(out_mean - 0x80) < 6 or
            abs(out_mean - 126) < 6, "mean %.1f" % out_mean)

    # ---- a bid ----
    code, js, _, _, _ = oc.api(g, "POST", P("auction", "bids"),
                               {"lot_id": "42", "amount": 250, "bidder": "drexler_fan_22"},
                               token=TOKEN)
    t.require("POST bid -> 200", code == 200, "%s %s" % (code, js))
    t.check("bid applied to the lot", js["lot"]["current_bid"] == 250 and
            js["lot"]["leader"] == "drexler_fan_22" and js["lot"]["bid_count"] == 1,
            str(js["lot"]))
    code, js2, _, _, _ = oc.api(g, "POST", P("auction", "bids"),
                                {"lot_id": "41", "amount": 300, "bidder": "x"}, token=TOKEN)
    t.check("400 for a bid on another lot", code == 400, "%s %s" % (code, js2))
    st = oc.wait_shown(g, "auction", TOKEN, js["version"])
    init, seg, _ = oc.segment_after(t, g, "auction",
                                    st["shown_at"]["frame_arrival_ms"] / 1000.0 + 0.05)
    with_bid = oc.region_frames(t, init, seg, CARD, "bid")
    bid_frame = with_bid[len(with_bid) // 2]
    changed = oc.changed_pixels(card_frame, bid_frame)
    t.check("the bid changes pixels of the card", changed > 100,
            "%d pixels changed by more than 24 levels" % changed)

    # ---- every update reaches the first frame composed after it ----
    afters = []
    for i in range(20):
        time.sleep(0.013 * (i % 5))  # land at different points of the frame interval
        code, jb, _, _, _ = oc.api(g, "POST", P("auction", "bids"),
                                   {"lot_id": "42", "amount": 260 + 10 * i, "bidder": "b%d" % i},
                                   token=TOKEN)
        t.require("POST bid %d -> 200" % i, code == 200, "%s %s" % (code, jb))
        stb = oc.wait_shown(g, "auction", TOKEN, jb["version"])
        if stb.get("shown_at") and stb["version"] == jb["version"]:
            afters.append(stb.get("shown_frames_after_update"))
    t.info("frames between each bid and the frame showing it: %s" % afters)
    t.check("each of 20 bids shown on the frame being composed when it arrived or the next one",
            len(afters) == 20 and all(a in (0, 1) for a in afters), str(afters))

    # ---- sold: daterange for the end of the lot ----
    sold = dict(lot, state="sold", current_bid=250, leader="drexler_fan_22", bid_count=1)
    code, js, _, _, _ = oc.api(g, "PUT", P("auction", "lot"), sold, token=TOKEN)
    t.require("PUT sold lot -> 200", code == 200, "%s %s" % (code, js))
    oc.wait_shown(g, "auction", TOKEN, js["version"])
    t0 = gvtest.now()
    drs = []
    while gvtest.now() - t0 < 10:
        _, pl = g.get_media("auction")
        drs = pl.dateranges if pl else []
        if any(d.get("ID") == "lot-42-end" for d in drs):
            break
        time.sleep(0.2)
    start = [d for d in drs if d.get("ID") == "lot-42-start"]
    end = [d for d in drs if d.get("ID") == "lot-42-end"]
    t.check("EXT-X-DATERANGE for the lot start",
            len(start) == 1 and start[0].get("CLASS") == "com.gavel.lot" and
            start[0].get("X-LOT-ID") == "42" and start[0].get("X-STATE") == "live" and
            "START-DATE" in start[0], str(start))
    t.check("EXT-X-DATERANGE for the sale", len(end) == 1 and end[0].get("X-STATE") == "sold" and
            end[0].get("X-PRICE") == "250.00", str(end))
    if start and end:
        sd = gvtest.parse_pdt(start[0]["START-DATE"])
        ed = gvtest.parse_pdt(end[0]["START-DATE"])
        t.check("sale date range starts after the lot start", ed > sd, "%.3f -> %.3f" % (sd, ed))

    # ---- DELETE hides the card ----
    code, js, _, _, _ = oc.api(g, "DELETE", P("auction", "lot"), token=TOKEN)
    t.require("DELETE lot -> 200", code == 200 and js["visible"] is False, "%s %s" % (code, js))
    st = oc.wait_shown(g, "auction", TOKEN, js["version"])
    init, seg, _ = oc.segment_after(t, g, "auction",
                                    st["shown_at"]["frame_arrival_ms"] / 1000.0 + 0.05)
    gone = oc.region_frames(t, init, seg, CARD, "gone")
    gone_frame = gone[len(gone) // 2]
    changed = oc.changed_pixels(ref, gone_frame)
    t.check("after DELETE the card is gone (region back to the grey)", changed < len(ref) // 100,
            "%d pixels differ from before, mean %.1f" % (changed, oc.mean(gone_frame)))
    code, js, _, _, _ = oc.api(g, "POST", P("auction", "bids"),
                               {"lot_id": "42", "amount": 300, "bidder": "x"}, token=TOKEN)
    t.check("409 for a bid when no lot is shown", code == 409, "%s %s" % (code, js))

    # ---- item image: loaded off the frame path, then on the card ----
    png = os.path.join(t.tmp, "item.png")
    rc, _, err = gvtest.run([gvtest.FFMPEG, "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                             "color=c=red:size=300x300", "-frames:v", "1", png], 30)
    t.require("item image made", rc == 0, err[-200:])
    plain_lot = {"id": "43", "title": "Signed rookie card", "currency": "USD",
                 "current_bid": 5, "state": "live"}
    code, js, _, _, _ = oc.api(g, "PUT", P("auction", "lot"), plain_lot, token=TOKEN)
    st = oc.wait_shown(g, "auction", TOKEN, js["version"])
    init, seg, _ = oc.segment_after(t, g, "auction",
                                    st["shown_at"]["frame_arrival_ms"] / 1000.0 + 0.05)
    no_img = oc.region_frames(t, init, seg, CARD, "noimg")
    code, js, _, _, _ = oc.api(g, "PUT", P("auction", "lot"), dict(plain_lot, image=png),
                               token=TOKEN)
    t.check("PUT lot with an image -> 200", code == 200, "%s %s" % (code, js))
    time.sleep(0.5)  # the loader thread decodes it; the frame path never waits for it
    init, seg, _ = oc.segment_after(t, g, "auction", time.time())
    with_img = oc.region_frames(t, init, seg, CARD, "img")
    changed = oc.changed_pixels(no_img[len(no_img) // 2], with_img[len(with_img) // 2])
    t.check("the item image appears on the card", changed > 500,
            "%d pixels changed by more than 24 levels" % changed)
    oc.api(g, "DELETE", P("auction", "lot"), token=TOKEN)

    # ---- output health, audio, passthrough ----
    _, pl = g.wait_playlist("auction", 3)
    chk = gvtest.RuleChecker(t, g.media_url("auction"), secrets=t.secrets)
    chk.check_playlist(pl, fetch_media=True)
    chk.report("overlaid stream: ")
    gvtest.concat_and_probe(t, chk, pl, "overlaid stream")
    init_plain, _, _ = oc.segment_after(t, g, "plain", 0)
    init_ov, _, _ = oc.segment_after(t, g, "auction", 0)
    t.check("plain stream is passthrough: avcC identical to the publisher's",
            oc.avcc_of(init_plain) == src_avcc,
            "%s vs %s" % ((oc.avcc_of(init_plain) or b"").hex()[:40], src_avcc.hex()[:40]))
    t.check("overlaid stream carries the re-encoded config",
            oc.avcc_of(init_ov) is not None and oc.avcc_of(init_ov) != src_avcc)
    code, js, _, _, _ = oc.api(g, "GET", P("auction", "overlay"), token=TOKEN)
    w = js.get("worker", {})
    t.check("worker counters: frames in and out, no decode errors",
            w.get("frames_out", 0) > 100 and w.get("decode_errors") == 0 and
            w.get("encode_errors") == 0, str(w))
    t.info("worker: %s" % w)
    # overlay.decode_nice (default 10): the decode threads run below the encoder's priority.
    threads = {}
    for tid in os.listdir("/proc/%d/task" % g.proc.pid):
        try:
            with open("/proc/%d/task/%s/stat" % (g.proc.pid, tid)) as fh:
                stat = fh.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        nice = int(stat[stat.rindex(")") + 2:].split()[16])  # field 19 of proc(5)
        threads.setdefault(comm, []).append(nice)
    t.info("threads (name: nice values): %s" % threads)
    t.check("overlay decode thread(s) run at nice 10",
            threads.get("gv-ov-decode") and all(n == 10 for n in threads["gv-ov-decode"]),
            str(threads.get("gv-ov-decode")))
    t.check("overlay encode thread(s) keep the normal priority",
            threads.get("gv-ov-encode") and all(n == 0 for n in threads["gv-ov-encode"]),
            str(threads.get("gv-ov-encode")))
    for p in (pub_ov, pub_plain):
        t.check("%s still publishing" % p.name, p.alive(), p.tail(5))
