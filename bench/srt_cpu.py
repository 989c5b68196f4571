#!/usr/bin/env python3
"""SRT ingest CPU per stream: gavel versus the ffmpeg CLI, same clip, same publishers, same run.

A 720p30 3 Mbps H.264 + AAC MPEG-TS clip is made once (cached). N ffmpeg publishers loop it in
real time with -c copy (no encoding in the measured path) and push it over SRT (live mode,
1316-byte payloads, 120 ms latency):
  - to gavel: one SRT listener, N streams; gavel demuxes the TS and packages LL-HLS (CMAF parts
    and segments) in memory;
  - to the peer: N `ffmpeg -i "srt://127.0.0.1:P?mode=listener" -c copy -bsf:a aac_adtstoasc -f hls
    -hls_segment_type fmp4 -hls_time 1` processes, each writing its playlist and fMP4 segments
    to a tmpfs-backed temp dir (the closest one-process-per-stream equivalent).
Server CPU is utime+stime from /proc/PID/stat over the measurement window, after a warm-up.
Nothing reads the output in either case, so the number is the ingest + packaging cost.

Usage: python3 bench/srt_cpu.py [--streams N] [--seconds S] [--quick] [--gavel PATH] [--keep]
"""

import argparse
import os
import socket
import subprocess
import sys
import time

import benchlib as bl

CACHE = os.path.join(os.environ.get("TMPDIR", "/tmp"), "gavel-bench-cache")


def ensure_clip(seconds=20):
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, "clip_720p30_3M_%ds.ts" % seconds)
    if os.path.exists(path):
        return path
    bl.log("encoding the %d s TS clip once (cached at %s)" % (seconds, path))
    tmp = path + ".part.ts"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
                    "-b:v", "3M", "-maxrate", "3M", "-bufsize", "3M", "-g", "60",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
                    "-f", "mpegts", tmp], check=True, timeout=300)
    os.rename(tmp, path)
    return path


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def publisher_argv(clip, url):
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f", "mpegts", url]


def measure(pids_fn, warmup, seconds):
    time.sleep(warmup)
    pids = pids_fn()
    c0, t0 = bl.cpu_seconds(pids), time.monotonic()
    time.sleep(seconds)
    c1, t1 = bl.cpu_seconds(pids), time.monotonic()
    return (c1 - c0) / (t1 - t0)


def run_gavel(binary, clip, n, warmup, seconds, workdir):
    http_port, srt_port = bl.free_port(), free_udp_port()
    cfg = os.path.join(workdir, "gavel.yaml")
    lines = ['http: { listen: "127.0.0.1:%d" }' % http_port,
             'srt: { listen: "127.0.0.1:%d", latency_ms: 120, stats_interval_ms: 0 }' % srt_port,
             "hls: { part_target_ms: 200, segment_target_ms: 2000, window_segments: 7 }",
             "log: { level: warn }", "streams:"]
    for i in range(n):
        lines.append('  - { name: s%d, key: "bench-srt-key-%d" }' % (i, i))
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    with bl.Procs(workdir) as procs:
        g = procs.start("gavel", [binary, "-c", cfg], cwd=bl.REPO)
        if not bl.wait_tcp(http_port, 10, g):
            raise RuntimeError("gavel did not start:\n" + procs.logtail("gavel"))
        for i in range(n):
            url = ("srt://127.0.0.1:%d?streamid=#!::r=live/bench-srt-key-%d,m=publish"
                   "&pkt_size=1316&latency=120000" % (srt_port, i))
            procs.start("pub_g%d" % i, publisher_argv(clip, url))
        for i in range(n):
            ok = bl.wait_playlist("http://127.0.0.1:%d/live/s%d/media.m3u8" % (http_port, i), 20)
            if not ok:
                raise RuntimeError("gavel stream s%d never got a playlist:\n%s"
                                   % (i, procs.logtail("gavel")))
        cpu = measure(lambda: [g.pid], warmup, seconds)
        if g.poll() is not None:
            raise RuntimeError("gavel exited during the run")
        return cpu


def run_ffmpeg(clip, n, warmup, seconds, workdir):
    with bl.Procs(workdir) as procs:
        listeners = []
        for i in range(n):
            port = free_udp_port()
            out = os.path.join(workdir, "ff%d" % i)
            os.makedirs(out, exist_ok=True)
            argv = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-i", "srt://127.0.0.1:%d?mode=listener&latency=120000" % port,
                    "-c", "copy", "-bsf:a", "aac_adtstoasc", "-f", "hls", "-hls_segment_type",
                    "fmp4", "-hls_time", "1",
                    "-hls_list_size", "7", "-hls_flags", "delete_segments",
                    os.path.join(out, "index.m3u8")]
            listeners.append((procs.start("ff_listener%d" % i, argv), port, out))
        time.sleep(0.5)
        for i, (_, port, _) in enumerate(listeners):
            procs.start("pub_f%d" % i, publisher_argv(clip, "srt://127.0.0.1:%d?pkt_size=1316"
                                                       "&latency=120000" % port))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(
                os.path.exists(os.path.join(out, "index.m3u8")) for _, _, out in listeners):
            time.sleep(0.2)
        cpu = measure(lambda: [p.pid for p, _, _ in listeners], warmup, seconds)
        dead = [i for i, (p, _, _) in enumerate(listeners) if p.poll() is not None]
        if dead:
            raise RuntimeError("ffmpeg listener(s) %s exited:\n%s"
                               % (dead, procs.logtail("ff_listener%d" % dead[0])))
        return cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=4.0)
    ap.add_argument("--quick", action="store_true", help="2 streams, 8 s window")
    ap.add_argument("--gavel", help="gavel binary (default: build-bench/gavel, build/gavel)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir and logs")
    a = ap.parse_args()
    if a.quick:
        a.streams, a.seconds, a.warmup = 2, 8.0, 3.0
    bl.exit_on_sigterm()
    binary = bl.find_gavel(a.gavel)
    clip = ensure_clip()
    workdir = bl.make_workdir("gavel-srt-cpu-")
    try:
        g = None
        if binary:
            bl.log("gavel: %d SRT publishers, %.0f s window" % (a.streams, a.seconds))
            g = run_gavel(binary, clip, a.streams, a.warmup, a.seconds, workdir)
        else:
            bl.log("no gavel binary found: measuring the ffmpeg peer only")
        bl.log("ffmpeg -c copy -f hls fmp4: %d SRT listeners" % a.streams)
        f = run_ffmpeg(clip, a.streams, a.warmup, a.seconds, workdir)
        n = a.streams
        rows = [["gavel (1 process)", bl.fmt(g * 100 if g is not None else None, "%.2f"),
                 bl.fmt(g * 100 / n if g is not None else None, "%.2f")],
                ["ffmpeg CLI (%d processes)" % n, "%.2f" % (f * 100), "%.2f" % (f * 100 / n)],
                ["ratio gavel/ffmpeg", bl.fmt(bl.ratio(g, f), "%.2f"),
                 bl.fmt(bl.ratio(g, f), "%.2f")]]
        bl.print_table("SRT ingest CPU, %d x 720p30 3 Mbps H.264+AAC, %.0f s window"
                       % (n, a.seconds), ["server", "CPU % total", "CPU % per stream"], rows)
    finally:
        bl.remove_workdir(workdir, a.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
