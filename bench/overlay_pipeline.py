#!/usr/bin/env python3
"""Overlay pipeline benchmark: gavel's decode -> compose card -> x264 worker against the ffmpeg CLI
doing the same job with drawtext, plus the control-API latencies.

(a) Throughput. One 720p30 clip (testsrc2, 20 s, x264 High + AAC in FLV) is published to gavel
    with `-c copy` and without -re, so ingest is far faster than real time and the worker is
    never idle; the worker's own counters (GET /api/v1/streams/<s>/overlay -> worker) give
    processing fps = frames_out / (last output - first input). The queue holds the whole clip
    (queue_frames 1000), so nothing is dropped. The peer is `ffmpeg -i clip -vf
    drawbox+drawtext x3 -c:v libx264` with the same x264 settings (preset, zerolatency, bitrate,
    GOP = 2 s, no B-frames, scenecut off), -an, -f null; its fps = frames / wall time. Runs
    alternate gavel, ffmpeg, gavel, ...; printed: best of N each, the ratio of every alternated
    pair (min/median/max), and CPU time per frame of each whole process (user+sys; steadier
    than fps on a shared machine). Target: gavel >= 1.1x ffmpeg.
(b) Bid -> first frame showing it. Real-time publish; 100 bids at random phases; for each, the
    server's own record: wall time the frame showing the bid was composed - wall time the API
    accepted the bid (same clock); also client send -> composed, and the frame's own time
    (arrival at ingest = its PROGRAM-DATE-TIME) - bid accepted, i.e. how far into the video
    timeline the bid lands (what a viewer perceives), and gavel's share: that frame's arrival
    -> composed. p50/p95/p99/max; target p99 <= one frame interval (33.3 ms). Run twice: with
    `ffmpeg -re -c copy` as the publisher, and with a paced feed (PacedFlv) that delivers every
    frame on its own tick; ffmpeg -re delivers frames 21/43 ms apart (see PacedFlv), which
    alone puts the wait for the next frame above 33 ms.
(c) Bid -> the part holding it listed. After each bid, blocking playlist requests follow every
    new part; the part holding the bid's frame is the first listed after that frame reached the
    packager (the worker records it). Latency = that response's arrival - bid sent. Target <=
    part target + encoder delay (zerolatency: none) = 200 ms + a frame.

Usage: bench/overlay_pipeline.py [--gavel PATH] [--runs N] [--bids N] [--part-bids N]
                                 [--publisher re,paced] [--skip-throughput] [--skip-latency]
                                 [--json FILE]
Build gavel optimised first (scripts/build.sh or -DCMAKE_BUILD_TYPE=RelWithDebInfo)."""

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import gvtest  # noqa: E402
import overlay_common as oc  # noqa: E402

TOKEN = "bench-token-0c1d2e3f"
KEY = "bench-key-77aa"
PRESET = "veryfast"
BITRATE_K = 3000
FRAMES = 600  # 20 s at 30 fps
# Extra output options for the paced publisher's ffmpeg (e.g. "-tcp_nodelay 1"), for experiments.
PUB_OUT_OPTS = os.environ.get("GV_PUB_OPTS", "").split()


def log(msg):
    print("[overlay bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def pct(vals, q):
    s = sorted(vals)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))
    return s[k]


def make_clip(tmp):
    path = os.path.join(tmp, "clip720.flv")
    log("encoding the 720p30 20 s source clip")
    oc.make_clip(path, seconds=20, size="1280x720", rate=30, gop=60,
                 source="testsrc2=size=1280x720:rate=30", timeout=300,
                 extra=["-b:v", "4000k"])
    return path


def start(ctx, binary, queue_frames, name):
    ov = {"enabled": True, "bitrate_kbps": BITRATE_K, "preset": PRESET,
          "queue_frames": queue_frames}
    g = oc.OverlayGavel(ctx, binary, [("auction", KEY, ov)], TOKEN, name=name)
    g.wait_ready(10)
    return g


def put_lot(g):
    lot = {"id": "42", "title": "1986 Fleer RC Clyde Drexler BGS 8.5 Auto", "currency": "USD",
           "starting_bid": 100, "current_bid": 250, "leader": "drexler_fan_22", "bid_count": 7,
           "state": "live", "ends_at": int(time.time()) + 600, "labels": ["Free shipping"]}
    code, js, _, _, _ = oc.api(g, "PUT", oc.lot_path("auction", "lot"), lot, token=TOKEN)
    if code != 200:
        raise SystemExit("PUT lot failed: %s %s" % (code, js))
    return js["version"]


def worker_stats(g):
    code, js, _, _, _ = oc.api(g, "GET", oc.lot_path("auction", "overlay"), token=TOKEN)
    return js if code == 200 else None


# ---------------------------------------------------------------------------------------------
# (a) throughput


def proc_cpu_s(pid):
    """user + system CPU seconds of a running process (all its threads)."""
    with open("/proc/%d/stat" % pid) as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def gavel_throughput(ctx, binary, clip):
    g = start(ctx, binary, 1000, "gavel_tp")
    try:
        put_lot(g)
        cpu0 = proc_cpu_s(g.proc.pid)
        pub = gvtest.Proc("pub_tp", [gvtest.FFMPEG, "-nostdin", "-v", "error", "-i", clip,
                                     "-c", "copy", "-f", "flv", g.rtmp_url(KEY)], ctx.tmp)
        t0 = time.monotonic()
        last, last_change = -1, time.monotonic()
        st = None
        while time.monotonic() - t0 < 120:
            st = worker_stats(g)
            w = st["worker"]
            if w["frames_out"] != last:
                last, last_change = w["frames_out"], time.monotonic()
            if w["frames_out"] >= FRAMES or time.monotonic() - last_change > 5:
                break
            time.sleep(0.05)
        cpu = proc_cpu_s(g.proc.pid) - cpu0
        pub.stop()
        w = st["worker"]
        span_s = (w["last_out_mono_ms"] - w["first_in_mono_ms"]) / 1000.0
        fps = w["frames_out"] / span_s if span_s > 0 else 0
        return {"fps": fps, "frames": w["frames_out"], "dropped": w["frames_dropped"],
                "cpu_ms": 1000.0 * cpu / max(1, w["frames_out"]),
                "frames_in": w["frames_in"],
                "span_s": span_s, "decode_ms": w["decode_ms"] / max(1, w["frames_decoded"]),
                "compose_ms": w["compose_ms"] / max(1, w["frames_decoded"]),
                "encode_ms": w["encode_ms"] / max(1, w["frames_out"])}
    finally:
        g.proc.stop(grace=5)


def ffmpeg_throughput(ctx, clip):
    font = shutil.which("fc-match") and gvtest.run(["fc-match", "Noto Sans", "-f", "%{file}"],
                                                   10)[1].decode().strip()
    ff = "fontfile=%s:" % font if font else ""
    # A card like gavel's: a translucent box, title, bid and bidder lines.
    vf = ("drawbox=x=24:y=472:w=640:h=200:color=black@0.6:t=fill,"
          "drawtext=%stext='1986 Fleer RC Clyde Drexler BGS 8.5 Auto':x=44:y=492:fontsize=30:"
          "fontcolor=white,"
          "drawtext=%stext='$250.00':x=44:y=552:fontsize=48:fontcolor=0xFFC400,"
          "drawtext=%stext='drexler_fan_22  7 bids':x=44:y=622:fontsize=26:fontcolor=white"
          % (ff, ff, ff))
    argv = [gvtest.FFMPEG, "-nostdin", "-v", "error", "-i", clip, "-vf", vf,
            "-c:v", "libx264", "-preset", PRESET, "-tune", "zerolatency",
            "-b:v", "%dk" % BITRATE_K, "-maxrate", "%dk" % BITRATE_K, "-bufsize",
            "%dk" % BITRATE_K, "-g", "60", "-bf", "0", "-x264-params", "scenecut=0",
            "-an", "-f", "null", "-"]
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc, _, err = gvtest.run(argv, 300)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    dt = time.monotonic() - t0
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if rc != 0:
        raise SystemExit("ffmpeg peer failed: %s" % err[-400:])
    return {"fps": FRAMES / dt, "wall_s": dt, "cpu_ms": 1000.0 * cpu / FRAMES}


# ---------------------------------------------------------------------------------------------
# (b) + (c) API latencies


class PacedFlv:
    """Feeds the clip's FLV tags, looped, to `ffmpeg -i pipe:0 -c copy -f flv rtmp://...`,
    each video tag at its own timestamp (the clock starts at the first tag), so every frame
    leaves on its 33.3 ms tick like a capture-driven encoder's. Two things make
    `ffmpeg -re -i clip -c copy` deliver frames unevenly (measured at gavel's ingest: gaps of
    21/43/43 ms instead of 33): -re checks its clock between 10 ms sleeps, and the muxer's
    interleaver holds each video packet until an audio packet with a later dts is queued,
    so video leaves on the 21.3 ms AAC cadence. Here audio tags are fed AUDIO_LEAD_MS ahead
    of their time so the interleaver never waits for one."""

    AUDIO_LEAD_MS = 40

    def __init__(self, ctx, clip, url):
        data = open(clip, "rb").read()
        hdr_len = struct.unpack(">I", data[5:9])[0]
        self.header = data[:hdr_len + 4]
        self.tags = []  # (ts ms, bytes without the trailing size, is sequence header/metadata)
        pos = hdr_len + 4
        while pos + 11 <= len(data):
            typ = data[pos] & 0x1f
            size = int.from_bytes(data[pos + 1:pos + 4], "big")
            ts = int.from_bytes(data[pos + 4:pos + 7], "big") | (data[pos + 7] << 24)
            body = data[pos + 11:pos + 11 + size]
            setup = typ == 18 or (typ in (8, 9) and len(body) > 1 and body[1] == 0)
            lead = self.AUDIO_LEAD_MS if typ == 8 else 0
            self.tags.append((ts, data[pos:pos + 11 + size], setup, ts - lead))
            pos += 11 + size + 4
        self.tags.sort(key=lambda x: x[3])
        self.loop_ms = max(t[0] for t in self.tags) + 34
        self.proc = gvtest.Proc("pub_paced", [gvtest.FFMPEG, "-nostdin", "-v", "error",
                                              "-fflags", "nobuffer", "-probesize", "32768",
                                              "-analyzeduration", "0", "-f", "flv", "-i",
                                              "pipe:0", "-c", "copy"] + PUB_OUT_OPTS
                                + ["-f", "flv", url],
                                ctx.tmp, stdin=subprocess.PIPE)
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        out = self.proc.p.stdin
        try:
            out.write(self.header)
            t0 = time.monotonic()
            loop = 0
            while not self.stop_ev.is_set():
                for ts, raw, setup, send_at in self.tags:
                    if self.stop_ev.is_set():
                        break
                    if setup and loop > 0:
                        continue
                    t = ts + loop * self.loop_ms
                    wait = t0 + (send_at + loop * self.loop_ms) / 1000.0 - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    b = bytearray(raw)
                    b[4:7] = (t & 0xffffff).to_bytes(3, "big")
                    b[7] = (t >> 24) & 0xff
                    out.write(bytes(b) + struct.pack(">I", len(raw)))
                    out.flush()
                loop += 1
        except (BrokenPipeError, OSError, ValueError):
            pass

    def stop(self):
        self.stop_ev.set()
        self.th.join(timeout=2)
        try:
            self.proc.p.stdin.close()
        except OSError:
            pass
        self.proc.stop()


def next_part(pl):
    segs = pl.segments
    if not segs:
        return None
    last = segs[-1]
    if last.complete:
        return last.msn + 1, 0
    return last.msn, len(last.parts)


def api_latencies(ctx, binary, clip, n_bids, n_part_bids, publisher):
    g = start(ctx, binary, 90, "gavel_lat_" + publisher)
    try:
        if publisher == "paced":
            pub = PacedFlv(ctx, clip, g.rtmp_url(KEY))
        else:
            pub = gvtest.Proc("pub_lat", [gvtest.FFMPEG, "-nostdin", "-v", "error", "-re",
                                          "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f",
                                          "flv", g.rtmp_url(KEY)], ctx.tmp)
        g.wait_playlist("auction", 2, timeout=30)
        put_lot(g)
        time.sleep(1)
        server, client, video, pipe, frames_after = [], [], [], [], []
        amount = 300
        log("(b) %d bids" % n_bids)
        for i in range(n_bids):
            time.sleep(random.uniform(0.05, 0.15))
            amount += 5
            wall_sent = time.time() * 1000.0
            code, js, _, _, _ = oc.api(g, "POST", oc.lot_path("auction", "bids"),
                                       {"lot_id": "42", "amount": amount, "bidder": "b%d" % i},
                                       token=TOKEN)
            if code != 200:
                raise SystemExit("bid failed: %s %s" % (code, js))
            st = oc.wait_shown(g, "auction", TOKEN, js["version"], timeout=5)
            sa = st["last_shown"]
            if sa["version"] != js["version"]:
                continue
            if st.get("version") == js["version"]:
                frames_after.append(st.get("shown_frames_after_update"))
            server.append(sa["wall_ms"] - st["updated_at_ms"])
            client.append(sa["wall_ms"] - wall_sent)
            video.append(sa["frame_arrival_ms"] - st["updated_at_ms"])
            pipe.append(sa["wall_ms"] - sa["frame_arrival_ms"])

        log("(c) %d bids with blocking playlist requests" % n_part_bids)
        part_lat = []
        for i in range(n_part_bids):
            time.sleep(random.uniform(0.1, 0.4))
            _, pl = g.get_media("auction")
            nxt = next_part(pl)
            amount += 5
            wall_sent = time.time() * 1000.0
            code, js, _, _, _ = oc.api(g, "POST", oc.lot_path("auction", "bids"),
                                       {"lot_id": "42", "amount": amount, "bidder": "c%d" % i},
                                       token=TOKEN)
            listed = []  # (wall ms of the response, msn, part)
            t_end = time.monotonic() + 1.5
            while time.monotonic() < t_end and nxt:
                r, pl2 = g.get_media("auction", "_HLS_msn=%d&_HLS_part=%d" % nxt, timeout=10)
                listed.append((time.time() * 1000.0, nxt))
                if not pl2:
                    break
                nxt = next_part(pl2)
            st = oc.wait_shown(g, "auction", TOKEN, js["version"], timeout=5)
            pushed = st["last_shown"].get("pushed_ms")
            if not pushed or st["last_shown"]["version"] != js["version"]:
                continue
            hit = [w for w, _ in listed if w >= pushed]
            if hit:
                # (sent -> listed, that frame's encode: composed -> pushed to the packager,
                #  its whole transcode: arrival at ingest -> pushed)
                part_lat.append((hit[0] - wall_sent, pushed - st["last_shown"]["wall_ms"],
                                 pushed - st["last_shown"]["frame_arrival_ms"]))
        pub.stop()
        metrics = oc.metrics_text(g)
        return server, client, video, pipe, part_lat, metrics, frames_after
    finally:
        g.proc.stop(grace=5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gavel", default=os.environ.get("GAVEL"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bids", type=int, default=300)
    ap.add_argument("--part-bids", type=int, default=60)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--json", help="write the raw latency samples here")
    ap.add_argument("--publisher", default="re,paced",
                    help="(b)/(c) publishers, comma-separated: re (ffmpeg -re, 10 ms paced), "
                         "paced (every tag on its own timestamp)")
    args = ap.parse_args()
    binary = args.gavel
    if not binary:
        for d in ("build-bench", "build", "build-release"):
            p = os.path.join(os.path.dirname(HERE), d, "gavel")
            if os.access(p, os.X_OK):
                binary = p
                break
    if not binary:
        raise SystemExit("no gavel binary: pass --gavel")
    tmp = tempfile.mkdtemp(prefix="gv-ovbench-")
    ctx = types.SimpleNamespace(tmp=tmp)
    try:
        clip = make_clip(tmp)
        print("gavel: %s" % binary)
        print("machine: %d CPUs; clip: 1280x720 30 fps, %d frames; x264 %s zerolatency %d kbps "
              "GOP 60 no B-frames scenecut off" % (os.cpu_count(), FRAMES, PRESET, BITRATE_K))
        if not args.skip_throughput:
            gv_runs, ff_runs = [], []
            for i in range(args.runs):
                log("(a) run %d/%d: gavel" % (i + 1, args.runs))
                gv_runs.append(gavel_throughput(ctx, binary, clip))
                log("(a) run %d/%d: ffmpeg" % (i + 1, args.runs))
                ff_runs.append(ffmpeg_throughput(ctx, clip))
            gbest = max(gv_runs, key=lambda r: r["fps"])
            fbest = max(ff_runs, key=lambda r: r["fps"])
            print("\n(a) throughput, best of %d (fps):" % args.runs)
            print("  gavel overlay worker  %7.1f fps  (%d frames queued, %d out, %d dropped; per "
                  "frame: decode %.2f ms, compose %.2f ms, encode %.2f ms)"
                  % (gbest["fps"], gbest["frames_in"], gbest["frames"], gbest["dropped"],
                     gbest["decode_ms"],
                     gbest["compose_ms"], gbest["encode_ms"]))
            print("  ffmpeg drawtext+x264  %7.1f fps  (%.2f s wall)" % (fbest["fps"],
                                                                       fbest["wall_s"]))
            print("  all runs: gavel %s | ffmpeg %s" % (
                " ".join("%.1f" % r["fps"] for r in gv_runs),
                " ".join("%.1f" % r["fps"] for r in ff_runs)))
            ratios = sorted(g["fps"] / f["fps"] for g, f in zip(gv_runs, ff_runs))
            print("  ratio gavel/ffmpeg: %.2fx best/best (target >= 1.1x); per alternated pair "
                  "min %.2f median %.2f max %.2f" % (gbest["fps"] / fbest["fps"], ratios[0],
                                                     ratios[len(ratios) // 2], ratios[-1]))
            gcpu = statistics.median(r["cpu_ms"] for r in gv_runs)
            fcpu = statistics.median(r["cpu_ms"] for r in ff_runs)
            print("  CPU per frame (median; whole process, user+sys): gavel %.2f ms (all runs %s) "
                  "| ffmpeg %.2f ms (%s); ffmpeg/gavel %.2fx" % (
                      gcpu, " ".join("%.2f" % r["cpu_ms"] for r in gv_runs), fcpu,
                      " ".join("%.2f" % r["cpu_ms"] for r in ff_runs), fcpu / gcpu))
            print("  load average (1 min) at the end: %.2f" % os.getloadavg()[0])
        def q(vals):
            return "p50 %6.1f  p95 %6.1f  p99 %6.1f  max %6.1f ms" % (
                pct(vals, 0.5), pct(vals, 0.95), pct(vals, 0.99),
                max(vals) if vals else float("nan"))
        raw = {}
        for publisher in ([] if args.skip_latency else args.publisher.split(",")):
            server, client, video, pipe, part_lat, metrics, frames_after = api_latencies(
                ctx, binary, clip, args.bids, args.part_bids, publisher)
            raw[publisher] = {"server": server, "client": client, "video": video, "pipe": pipe,
                              "frames_after": frames_after,
                              "part": part_lat}
            print("\n(b) bid -> first frame showing it (%d bids, publisher: %s, load %.2f):"
                  % (len(server), "ffmpeg -re" if publisher == "re" else "paced FLV feed",
                     os.getloadavg()[0]))
            print("  server (accepted -> frame composed):        " + q(server))
            print("  client (sent -> frame composed):            " + q(client))
            print("  video time (frame's arrival/PDT - accepted): " + q(video))
            print("    (what viewers see; negative: the frame had arrived before the bid and was")
            print("     still being decoded when it came)")
            print("  of which in gavel (that frame's arrival -> composed): " + q(pipe))
            print("  target p99 <= 33.3 ms (one frame at 30 fps)")
            counts = {}
            for a in frames_after:
                counts[a] = counts.get(a, 0) + 1
            print("  frames from the update to the frame showing it (gavel's count; 1 = the next "
                  "frame, 0 = the one starting then): %s" % (
                      ", ".join("%s: %d" % (k, counts[k]) for k in sorted(counts, key=str))))
            print("\n(c) bid -> part holding it listed (%d bids, blocking reload):" % len(part_lat))
            lat = [a for a, _, _ in part_lat]
            enc = [e for _, e, _ in part_lat]
            trans = [x for _, _, x in part_lat]
            print("  sent -> listed:                      " + q(lat))
            print("  that frame's encode (composed->pushed): " + q(enc))
            print("  that frame's transcode (arrival->pushed): " + q(trans))
            print("  sent -> listed - encode:             " + q([a - e for a, e, _ in part_lat]))
            print("  sent -> listed - transcode:          " + q([a - x for a, _, x in part_lat])
                  + "  (target <= %d ms part target)" % 200)
            for line in metrics.splitlines():
                if line.startswith("gavel_part_list_latency_seconds{"):
                    print("  packager: " + line)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(raw, fh)
    finally:
        gvtest._kill_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
