#!/usr/bin/env python3
"""Glass-to-glass latency of gavel (LL-HLS) versus a peer (HLS), measured in the same run.

--ingest rtmp (default): published over RTMP; the peer is nginx-rtmp writing HLS.
--ingest srt: the same picture muxed to MPEG-TS and sent over SRT (caller, --srt-latency-ms,
120 ms by default) to gavel's SRT listener; the peer is ffmpeg as the SRT listener remuxing
(-c copy) to 1 s fMP4 HLS in a temp dir that a static nginx serves.

An ffmpeg publisher draws the wall-clock capture time (ms mod 2^32) into every frame as a
black/white block code, encodes with x264 (veryfast, zerolatency, -g 60) and publishes RTMP.
Headless Chromium plays the stream (g2g_player.mjs): for gavel, the product's own player page
/watch/<name>; for nginx-rtmp, a plain hls.js page (g2g.html). A probe injected into the page
(g2g_probe.js) decodes the code of every presented frame and records Date.now() - captured,
plus waiting events, stall time, seeks and hls.js errors. Publisher, browser and servers share
one machine and one clock, so no clock sync is involved.

Before measuring, the decoder is checked on stills: frames with known timestamps are encoded
with the same settings, extracted as PNG, decoded both here and in the browser page, and must
match exactly. Everything started is stopped on exit; all traffic is on 127.0.0.1.
"""

import argparse
import json
import os
import subprocess
import sys

import benchlib as bl

HERE = os.path.dirname(os.path.abspath(__file__))
LAYOUT = {"x0": 16, "y0": 16, "block": 32, "cols": 16, "rows": 3}
STILL_BASE_US = 1234567890123000  # arbitrary epoch-like start for the self-test frames
STILL_FRAMES = 30


def barcode_filtergraph(live, audio):
    """The publisher's filtergraph: testsrc2 720p30 with the capture-time code overlaid.
    live: frames are paced in real time and stamped with RTCTIME; otherwise with a known ramp
    (STILL_BASE_US + n * 33333 us) for the decoder self-test."""
    if live:
        stamp = "realtime,settb=1/1000000,setpts=RTCTIME"
    else:
        stamp = "settb=1/1000000,setpts=%d+N*33333" % STILL_BASE_US
    ms = "mod(floor(T*1000)\\,4294967296)"

    def bit(shift):
        return "mod(floor(%s/pow(2\\,%s))\\,2)" % (ms, shift)

    # Row 0: bit X, row 1: bit X+16, row 2: NOT(row0 XOR row1), row 3: a 0101 ruler (unread).
    lum = ("255*if(lt(Y\\,2)\\,{b_xy}\\,if(lt(Y\\,3)\\,1-mod({b_lo}+{b_hi}\\,2)\\,mod(X\\,2)))"
           .format(b_xy=bit("X+16*Y"), b_lo=bit("X"), b_hi=bit("X+16")))
    cols, block = LAYOUT["cols"], LAYOUT["block"]
    parts = [
        "testsrc2=s=1280x720:r=30,%s,split[bg][src]" % stamp,
        "[src]crop=%d:4:0:0,format=gray,geq=lum='%s',scale=%d:%d:flags=neighbor,"
        "format=yuv420p[code]" % (cols, lum, cols * block, 4 * block),
        "[bg][code]overlay=%d:%d,setpts=PTS-STARTPTS,format=yuv420p[v]"
        % (LAYOUT["x0"], LAYOUT["y0"]),
    ]
    if audio:
        parts.append("sine=frequency=440:sample_rate=48000%s[a]" % (",arealtime" if live else ""))
    return ";\n".join(parts) + "\n"


def encoder_args(bitrate_k, audio, gop=60):
    a = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
         "-b:v", "%dk" % bitrate_k, "-maxrate", "%dk" % bitrate_k, "-bufsize", "%dk" % bitrate_k,
         "-g", str(gop)]
    if audio:
        a += ["-c:a", "aac", "-b:a", "96k", "-ar", "48000"]
    return a


def publisher_argv(workdir, url, bitrate_k, audio, gop=60, fmt="flv", out_opts=()):
    fg = os.path.join(workdir, "publisher_fg.txt")
    with open(fg, "w") as f:
        f.write(barcode_filtergraph(True, audio))
    argv = ["ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostats",
            "-filter_complex_script", fg, "-map", "[v]"]
    if audio:
        argv += ["-map", "[a]"]
    if fmt == "mpegts":
        # One SRT payload = 7 TS packets; flush after every packet (the mux default with a
        # protocol that sets no minimum packet size) so a frame's tail is not held back.
        argv += encoder_args(bitrate_k, audio, gop) + ["-f", "mpegts", "-flush_packets", "1"]
        return argv + list(out_opts) + [url]
    return argv + encoder_args(bitrate_k, audio, gop) + ["-f", fmt, url]


def run_player(opts, timeout, logpath=None):
    """Runs g2g_player.mjs (node + Chromium) in its own process group, so a timeout or an
    interrupt takes the browser down with it. Returns the page's result dict."""
    argv = ["node", os.path.join(HERE, "g2g_player.mjs"), json.dumps(opts)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        bl.terminate(p, 5.0)
        return {"done": False, "error": "player timed out"}
    finally:
        if p.poll() is None:
            bl.terminate(p, 5.0)
    err = err.decode("utf-8", "replace").strip()
    if logpath:
        with open(logpath, "w") as f:
            f.write(err + "\n")
    if err:
        for line in err.splitlines()[-15:]:
            bl.log("player: " + line)
    try:
        return json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"done": False, "error": "player printed no result (rc %d)" % p.returncode}


def expected_value(n):
    return ((STILL_BASE_US + n * 33333) // 1000) % (1 << 32)


def py_decode(frame, width):
    """Decodes the code from one gray 8-bit frame (same rule as g2g_probe.js)."""
    L = LAYOUT
    half = L["block"] // 4
    bits = []
    for r in range(L["rows"]):
        row = []
        for c in range(L["cols"]):
            cx = L["x0"] + c * L["block"] + L["block"] // 2
            cy = L["y0"] + r * L["block"] + L["block"] // 2
            s = 0
            for y in range(cy - half, cy + half):
                base = y * width
                s += sum(frame[base + cx - half:base + cx + half])
            row.append(1 if s / (4 * half * half) > 128 else 0)
        bits.append(row)
    for c in range(L["cols"]):
        if bits[2][c] != 1 - (bits[0][c] ^ bits[1][c]):
            return None
    lo = sum(b << i for i, b in enumerate(bits[0]))
    hi = sum(b << i for i, b in enumerate(bits[1]))
    return hi << 16 | lo


def selftest(workdir, bitrate_k):
    """Encodes frames with known capture times using the live encoder settings, then decodes
    them here (raw frames) and in the browser (PNG stills). Returns (ok, message)."""
    fg = os.path.join(workdir, "still_fg.txt")
    with open(fg, "w") as f:
        f.write(barcode_filtergraph(False, False))
    clip = os.path.join(workdir, "still.mp4")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-filter_complex_script",
                    fg, "-map", "[v]", "-frames:v", str(STILL_FRAMES)]
                   + encoder_args(bitrate_k, False) + [clip], check=True, timeout=120)
    raw = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", clip, "-f",
                          "rawvideo", "-pix_fmt", "gray", "-"], stdout=subprocess.PIPE,
                         check=True, timeout=120).stdout
    fsize = 1280 * 720
    nframes = len(raw) // fsize
    bad = []
    for n in range(nframes):
        got = py_decode(raw[n * fsize:(n + 1) * fsize], 1280)
        if got != expected_value(n):
            bad.append((n, got, expected_value(n)))
    if nframes != STILL_FRAMES or bad:
        return False, "python decode: %d frames, mismatches %s" % (nframes, bad[:5])
    stills_dir = os.path.join(workdir, "stills")
    os.makedirs(stills_dir, exist_ok=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", clip,
                    os.path.join(stills_dir, "f%03d.png")], check=True, timeout=120)
    names = sorted(os.listdir(stills_dir))
    res = run_player({"origin": "http://127.0.0.1:9", "mode": "still", "stillsDir": stills_dir,
                      "stills": names, "layout": LAYOUT, "timeoutMs": 60000}, 120)
    if not res.get("done") or res.get("error"):
        return False, "browser decode failed: %s" % res.get("error")
    bad = []
    for i, st in enumerate(res["stills"]):
        if st["value"] != expected_value(i):
            bad.append((i, st["value"], expected_value(i)))
    if len(res["stills"]) != nframes or bad:
        return False, "browser decode: %d stills, mismatches %s" % (len(res["stills"]), bad[:5])
    return True, "%d x264 frames at %d kbps decoded exactly (python and browser)" % (
        nframes, bitrate_k)


def measure(server, args, workdir, gavel_bin):
    """One server: start it, publish, play, measure, stop. Returns a result dict."""
    res = {"server": server}
    sdir = os.path.join(workdir, server)
    os.makedirs(sdir, exist_ok=True)
    with bl.Procs(sdir) as procs:
        try:
            srt = args.ingest == "srt"
            if server == "gavel" and srt:
                srv, hp, rp, sp = bl.start_gavel_srt(
                    procs, gavel_bin, sdir, [("s1", "k1")], srt_latency_ms=args.srt_latency_ms,
                    part_ms=args.part_ms, seg_ms=args.segment_ms, window=7,
                    log_level=args.gavel_log_level)
                url = bl.gavel_play_url(hp, "s1")
                page = "http://127.0.0.1:%d/watch/s1" % hp
                hls_config = json.loads(args.hlsjs_gavel)
                pub_url = bl.srt_url(sp, args.srt_latency_ms, pkt_size=1316)
                # ffmpeg 5.1 does not percent-decode URL options: the streamid goes as an
                # option (-srt_streamid; -streamid is an ffmpeg CLI option of its own).
                pub_extra = ["-srt_streamid", args.srt_streamid]
            elif server == "gavel":
                srv, hp, rp = bl.start_gavel(procs, gavel_bin, sdir, [("s1", "k1")],
                                             part_ms=args.part_ms, seg_ms=args.segment_ms,
                                             window=7, log_level=args.gavel_log_level)
                url = bl.gavel_play_url(hp, "s1")
                page = "http://127.0.0.1:%d/watch/s1" % hp
                hls_config = json.loads(args.hlsjs_gavel)
            elif server == "ffmpeg":
                srv, hp, sp = bl.start_ffmpeg_srt_hls(procs, sdir, args.srt_latency_ms,
                                                      hls_time=args.peer_hls_time,
                                                      list_size=args.peer_list_size)
                url = bl.ffmpeg_hls_play_url(hp)
                page = None
                hls_config = dict({"maxLiveSyncPlaybackRate": args.catchup},
                                  **json.loads(args.hlsjs_nginx))
                pub_url = bl.srt_url(sp, args.srt_latency_ms, pkt_size=1316)
            else:
                srv, hp, rp = bl.start_nginx(procs, sdir, fragment="1s", playlist="4s")
                url = bl.nginx_play_url(hp, "k1")
                page = None
                hls_config = dict({"maxLiveSyncPlaybackRate": args.catchup},
                                  **json.loads(args.hlsjs_nginx))
            if not srt:
                pub_url = "rtmp://127.0.0.1:%d/live/k1" % rp
            if server != "gavel" or not srt:
                pub_extra = []
            if srt and args.pes_payload_size is not None:
                pub_extra = ["-pes_payload_size", str(args.pes_payload_size)] + pub_extra
            pub = procs.start("publisher", publisher_argv(
                sdir, pub_url, args.bitrate, not args.no_audio, args.gop,
                "mpegts" if srt else "flv", pub_extra))
            # Join an established stream, as viewers do: hls.js treats media sequence 0 as
            # "no segment yet" for blocking reloads, which slows a join during the first segment.
            if not bl.wait_playlist(url, 30, min_segments=args.join_segments):
                raise RuntimeError(
                    "no playlist with %d segments at %s after 30 s (publisher %s)\n%s\n%s" % (
                        args.join_segments, url, "running" if pub.poll() is None else "exited",
                        procs.logtail("publisher", 800), procs.logtail(server, 1500)))
            bl.log("%s: playlist up at %s; playing %ds (+%ds warm-up)" % (
                server, url, args.duration, args.warmup))
            origin = "http://127.0.0.1:%d" % hp
            out = run_player({"origin": origin, "pageUrl": page, "src": url,
                              "lowLatency": server == "gavel",
                              "warmupMs": args.warmup * 1000, "durationMs": args.duration * 1000,
                              "layout": LAYOUT, "hlsConfig": hls_config},
                             args.warmup + args.duration + 90,
                             os.path.join(sdir, "player.log"))
            if srv.poll() is not None:
                raise RuntimeError("%s exited during the run:\n%s" % (
                    server, procs.logtail(server, 1500)))
            if not out.get("done") or out.get("error"):
                raise RuntimeError("player: %s (hls.js errors: %s)" % (
                    out.get("error"), (out.get("hlsErrors") or [])[:5]))
            res.update(out)
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            res["error"] = str(e)
    return res


def summarize(r):
    s = sorted(x / 1000.0 for x in r.get("samples", []))
    lat = [x for x in r.get("hlsLatency", []) if isinstance(x, (int, float))]
    return {
        "p50": bl.percentile(s, 50), "p95": bl.percentile(s, 95),
        "mean": sum(s) / len(s) if s else None, "min": s[0] if s else None,
        "max": s[-1] if s else None, "n": len(s),
        "fail": r.get("decodeFailures"), "frames": r.get("frames"),
        "waiting": r.get("waiting"), "errors": len(r.get("hlsErrors") or []),
        "wwait": (r.get("win") or {}).get("waiting"),
        "wstall": (r.get("win") or {}).get("stallMs"),
        "wseeks": (r.get("win") or {}).get("seeks"),
        "werrors": len((r.get("win") or {}).get("errors") or []),
        "dropped": r.get("dropped"),
        "hlslat": sum(lat) / len(lat) if lat else None,
        "target": (r.get("targetLatency") or [None])[-1],
        "rate": max(r.get("playbackRates") or [None]) if r.get("playbackRates") else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 s warm-up + 10 s measurement")
    ap.add_argument("--warmup", type=int, default=5, help="seconds after the first decoded frame")
    ap.add_argument("--duration", type=int, default=60, help="measured seconds per server")
    ap.add_argument("--ingest", choices=("rtmp", "srt"), default="rtmp",
                    help="rtmp: gavel vs nginx-rtmp; srt: gavel vs ffmpeg (SRT listener -> "
                    "fMP4 HLS)")
    ap.add_argument("--servers", help="comma list: gavel,nginx (rtmp) or gavel,ffmpeg (srt)")
    ap.add_argument("--srt-latency-ms", type=int, default=120,
                    help="SRT latency of the publisher, gavel and the ffmpeg peer")
    ap.add_argument("--srt-streamid", default="#!::r=live/k1,m=publish",
                    help="streamid the SRT publisher sends to gavel")
    ap.add_argument("--pes-payload-size", type=int, metavar="BYTES",
                    help="SRT publisher: ffmpeg mpegts -pes_payload_size (default: ffmpeg's, "
                    "2930, which bundles ~11 AAC frames per PES)")
    ap.add_argument("--peer-hls-time", type=int, default=1, help="ffmpeg peer: -hls_time")
    ap.add_argument("--peer-list-size", type=int, default=6, help="ffmpeg peer: -hls_list_size")
    ap.add_argument("--gavel", help="gavel binary (default: build-bench/gavel or $GAVEL)")
    ap.add_argument("--bitrate", type=int, default=2500, help="publisher video kbps")
    ap.add_argument("--gop", type=int, help="publisher keyframe interval in frames (default 60; "
                    "30 with --ingest srt, so the ffmpeg peer can cut the 1 s segments it is "
                    "configured for)")
    ap.add_argument("--part-ms", type=int, default=200)
    ap.add_argument("--segment-ms", type=int, default=2000)
    ap.add_argument("--join-segments", type=int, default=2,
                    help="start the player once the playlist lists this many segments")
    ap.add_argument("--catchup", type=float, default=1.5, metavar="RATE",
                    help="hls.js maxLiveSyncPlaybackRate of the peer's page (gavel's page sets "
                    "its own; override it with --hlsjs-gavel)")
    ap.add_argument("--hlsjs-gavel", default="{}", metavar="JSON",
                    help="hls.js config merged over the one of gavel's player page, e.g. "
                    "'{\"liveSyncDuration\":1,\"liveMaxLatencyDuration\":2}'")
    ap.add_argument("--hlsjs-nginx", "--hlsjs-peer", dest="hlsjs_nginx", default="{}",
                    metavar="JSON", help="extra hls.js config for the peer (nginx-rtmp or ffmpeg)")
    ap.add_argument("--gavel-log-level", default="warn", help="gavel's log level (see --keep)")
    ap.add_argument("--no-audio", action="store_true", help="publish video only")
    ap.add_argument("--skip-selftest", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, configs)")
    ap.add_argument("--json", help="also write raw results to this file")
    args = ap.parse_args()
    if args.quick:
        args.warmup, args.duration = 3, 10
    if args.gop is None:
        args.gop = 30 if args.ingest == "srt" else 60
    bl.exit_on_sigterm()

    peer = "nginx" if args.ingest == "rtmp" else "ffmpeg"
    if args.servers is None:
        args.servers = "gavel," + peer
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if any(s not in ("gavel", peer) for s in servers):
        ap.error("--ingest %s measures gavel and %s" % (args.ingest, peer))
    gavel_bin = bl.find_gavel(args.gavel)
    if "gavel" in servers and not gavel_bin:
        bl.log("gavel binary not found (build it or pass --gavel); measuring the peer only")
        servers.remove("gavel")

    workdir = bl.make_workdir("gavel-g2g-")
    results = {}
    try:
        if not args.skip_selftest:
            ok, msg = selftest(workdir, args.bitrate)
            bl.log("decoder self-test: %s" % msg)
            if not ok:
                print("decoder self-test FAILED: %s" % msg)
                return 2
        for s in servers:
            results[s] = measure(s, args, workdir, gavel_bin)
            if results[s].get("error"):
                bl.log("%s: ERROR %s" % (s, results[s]["error"]))
    finally:
        bl.remove_workdir(workdir, args.keep)

    sums = {s: summarize(results[s]) if s in results and not results[s].get("error") else None
            for s in ("gavel", peer)}
    g, n = sums["gavel"], sums[peer]

    def cell(d, k, spec):
        return bl.fmt(d[k] if d else None, spec)

    rows = []
    for key, label, spec in (("p50", "latency p50 (s)", "%.3f"), ("p95", "latency p95 (s)", "%.3f"),
                             ("mean", "latency mean (s)", "%.3f"),
                             ("min", "latency min (s)", "%.3f"),
                             ("max", "latency max (s)", "%.3f"),
                             ("hlslat", "hls.js latency estimate (s)", "%.3f"),
                             ("target", "hls.js target latency at end (s)", "%.3f"),
                             ("rate", "max playbackRate seen", "%.2f"),
                             ("n", "frames measured", "%d"),
                             ("fail", "barcode decode failures", "%d"),
                             ("waiting", "'waiting' events (incl. start)", "%d"),
                             ("wwait", "stalls ('waiting') while measuring", "%d"),
                             ("wstall", "stalled time while measuring (ms)", "%d"),
                             ("wseeks", "seeks (jumps) while measuring", "%d"),
                             ("werrors", "hls.js errors while measuring", "%d"),
                             ("dropped", "dropped video frames", "%d"),
                             ("errors", "hls.js errors (any)", "%d")):
        r = bl.ratio(g[key] if g else None, n[key] if n else None) if key in (
            "p50", "p95", "mean") else None
        rows.append([label, cell(g, key, spec), cell(n, key, spec), bl.fmt(r, "%.2f")])
    title = ("Glass-to-glass latency, %s720p30 x264 %d kbps -g %d%s, hls.js %s, %ds after %ds "
             "warm-up" % ("SRT in (latency %d ms), " % args.srt_latency_ms if peer == "ffmpeg"
                          else "", args.bitrate, args.gop, "" if args.no_audio else " + AAC",
                json.load(open(os.path.join(bl.REPO, "web/node_modules/hls.js/package.json")))
                ["version"], args.duration, args.warmup))
    if peer == "nginx":
        header = ["metric", "gavel (LL-HLS)", "nginx-rtmp (HLS)", "gavel/nginx"]
    else:
        header = ["metric", "gavel (LL-HLS)", "ffmpeg SRT->fMP4 HLS", "gavel/ffmpeg"]
    bl.print_table(title, header, rows)
    pc = (results.get("gavel") or {}).get("playerConfig")
    print("gavel: part %d ms, segment %d ms, player page /watch/s1, its hls.js config: %s" % (
        args.part_ms, args.segment_ms,
        ", ".join("%s=%s" % kv for kv in sorted(pc.items()) if kv[1] is not None) if pc else "?"))
    if peer == "nginx":
        print("nginx-rtmp: hls_fragment 1s, hls_playlist_length 4s, plain hls.js page, "
              "lowLatencyMode=false, maxLiveSyncPlaybackRate=%g" % args.catchup)
    else:
        print("SRT: publisher (caller) and both listeners latency %d ms; gavel streamid %s" % (
            args.srt_latency_ms, args.srt_streamid))
        print("ffmpeg: SRT listener, -c copy -f hls -hls_time %d -hls_segment_type fmp4 "
              "-hls_list_size %d, static nginx; plain hls.js page, lowLatencyMode=false, "
              "maxLiveSyncPlaybackRate=%g" % (args.peer_hls_time, args.peer_list_size,
                                              args.catchup))
    for s in ("gavel", peer):
        extra = getattr(args, "hlsjs_" + ("gavel" if s == "gavel" else "nginx"))
        if json.loads(extra):
            print("%s extra hls.js config: %s" % (s, extra))
    goal = 1.0 if peer == "nginx" else 1.2
    print("target: gavel p50 < %.1f s -> %s" % (goal,
        "n/a" if not g or g["p50"] is None else ("PASS" if g["p50"] < goal else "FAIL")))
    for s in ("gavel", peer):
        r = results.get(s) or {}
        for label, errs in (("all", r.get("hlsErrors") or []),
                            ("while measuring", (r.get("win") or {}).get("errors") or [])):
            if errs:
                kinds = {}
                for e in errs:
                    kinds[e] = kinds.get(e, 0) + 1
                print("%s hls.js errors (%s): %s" % (
                    s, label, ", ".join("%s x%d" % kv for kv in kinds.items())))
    print("machine load average (1/5/15 min) at the end: %.2f %.2f %.2f" % os.getloadavg())
    for s in ("gavel", peer):
        if s in results and results[s].get("error"):
            print("%s: not measured: %s" % (s, results[s]["error"].splitlines()[0]))
        elif s not in results:
            print("%s: not measured (not requested or binary missing)" % s)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": sums, "raw": results}, f)
    return 1 if any(r.get("error") for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
