#!/usr/bin/env python3
"""Server CPU and memory per stream: gavel versus nginx-rtmp, same clip, same run.

A 720p30 3 Mbps H.264 + AAC clip is made once (cached). N ffmpeg publishers loop it in real
time with -c copy (no encoding in the measured path) into gavel (N streams), then, after gavel
is stopped, into nginx-rtmp with HLS (1 s fragments). One reader per stream pulls every media
byte the way a player or CDN edge would: for gavel, LL-HLS blocking playlist reloads and every
part; for nginx, playlist polling and every segment. Server CPU is utime+stime from
/proc/PID/stat over the measurement window (nginx: master + workers); RSS is from
/proc/PID/statm. gavel's RSS is also taken with 1 stream so the per-stream slope can be given,
and gavel's /metrics part-list latency quantiles are reported.
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse

import benchlib as bl

CACHE = os.path.join(os.environ.get("TMPDIR", "/tmp"), "gavel-bench-cache")
MIB = 1024.0 * 1024.0


def ensure_clip(seconds=20):
    """The 720p30 3 Mbps H.264 + AAC FLV clip, made once and cached."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, "clip_720p30_3M_%ds.flv" % seconds)
    if os.path.exists(path):
        return path
    bl.log("encoding the %d s test clip once (cached at %s)" % (seconds, path))
    tmp = path + ".part.flv"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
                    "-pix_fmt", "yuv420p", "-b:v", "3M", "-maxrate", "3M", "-bufsize", "3M",
                    "-g", "60", "-c:a", "aac", "-b:a", "128k", "-f", "flv", tmp],
                   check=True, timeout=600)
    os.replace(tmp, path)
    return path


def publisher_argv(clip, url):
    return ["ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostats", "-re",
            "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f", "flv", url]


# ---- readers ---------------------------------------------------------------------------------

ATTR_URI = re.compile(r'URI="([^"]*)"')


def parse_playlist(text):
    """(media_sequence, [(msn, part_index, uri)], [segment uris], target_duration)."""
    seq, parts, segs, target = 0, [], [], 2.0
    pending_parts = 0
    nseg = 0
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            seq = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            target = float(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PART:"):
            m = ATTR_URI.search(line)
            if m:
                parts.append((seq + nseg, pending_parts, m.group(1)))
                pending_parts += 1
        elif line and not line.startswith("#"):
            segs.append(line)
            nseg += 1
            pending_parts = 0
    return seq, parts, segs, target


class Reader(threading.Thread):
    """Pulls one stream's media over one keep-alive connection until stop is set.
    ll=True: blocking reloads (_HLS_msn/_HLS_part) and every new part; otherwise polls the
    playlist every poll_s and fetches every new segment."""

    def __init__(self, url, ll, stop, poll_s=0.5):
        super().__init__(daemon=True)
        self.url, self.ll, self.stop, self.poll_s = url, ll, stop, poll_s
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = u.hostname, u.port, u.path
        self.bytes = 0
        self.requests = 0
        self.errors = 0
        self.conn = None

    def get(self, path):
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                body = r.read()
                self.requests += 1
                return r.status, body
            except (OSError, http.client.HTTPException):
                self.errors += 1
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if self.stop.is_set():
                    break
                time.sleep(0.2)
        return 0, b""

    def run(self):
        fetched = set()
        order = []
        nxt = None
        while not self.stop.is_set():
            path = self.path
            if self.ll and nxt is not None:
                path += "?_HLS_msn=%d&_HLS_part=%d" % nxt
            st, body = self.get(path)
            if st != 200:
                nxt = None
                self.stop.wait(0.2)
                continue
            try:
                seq, parts, segs, _ = parse_playlist(body.decode("utf-8", "replace"))
            except ValueError:
                self.errors += 1
                self.stop.wait(0.5)
                continue
            if self.ll and parts:
                new = [p[2] for p in parts]
                last = parts[-1]
                nxt = (last[0], last[1] + 1)
            else:
                new = segs
            first_load = not fetched
            todo = [u for u in new if u not in fetched]
            if first_load:
                todo = todo[-3:]  # join at the live edge like a player
            for uri in todo:
                fetched.add(uri)
                order.append(uri)
                full = urllib.parse.urljoin(self.url, uri)
                mst, data = self.get(urllib.parse.urlsplit(full).path)
                if mst == 200:
                    self.bytes += len(data)
                elif mst != 0:
                    self.errors += 1
            for uri in new:
                fetched.add(uri)
            while len(order) > 500:
                fetched.discard(order.pop(0))
            if not (self.ll and parts):
                self.stop.wait(self.poll_s)
        if self.conn is not None:
            self.conn.close()


# ---- measurement -----------------------------------------------------------------------------

def sample_window(pids_fn, seconds, stop_check=None):
    """Samples CPU seconds, RSS (every 1 s) and machine busy over `seconds`.
    Returns dict with cpu_pct, rss_mean, rss_max, busy_pct."""
    pids = pids_fn()
    c0, (b0, t0), w0 = bl.cpu_split(pids), bl.system_busy(), time.monotonic()
    rss, pss = [], []
    end = w0 + seconds
    while time.monotonic() < end:
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        pids = pids_fn()
        rss.append(bl.rss_bytes(pids))
        pss.append(bl.pss_bytes(pids))
        if stop_check and stop_check():
            break
    c1, (b1, t1), w1 = bl.cpu_split(pids), bl.system_busy(), time.monotonic()
    return {"cpu_pct": 100.0 * (sum(c1) - sum(c0)) / (w1 - w0),
            "user_pct": 100.0 * (c1[0] - c0[0]) / (w1 - w0),
            "sys_pct": 100.0 * (c1[1] - c0[1]) / (w1 - w0), "rss_mean": sum(rss) / len(rss),
            "rss_max": max(rss), "rss_end": sum(rss[-5:]) / len(rss[-5:]),
            "pss_mean": sum(pss) / len(pss), "busy_pct": 100.0 * (b1 - b0) / max(1, (t1 - t0)),
            "seconds": w1 - w0}


def rss_now(pids_fn, n=5, gap=0.5):
    vals = []
    for _ in range(n):
        vals.append(bl.rss_bytes(pids_fn()))
        time.sleep(gap)
    return sum(vals) / len(vals)


def start_readers(urls, ll, stop):
    rs = [Reader(u, ll, stop) for u in urls]
    for r in rs:
        r.start()
    return rs


def reader_totals(readers, seconds):
    if not readers:
        return None, None
    mbps = sum(r.bytes for r in readers) * 8 / 1e6 / seconds / len(readers)
    return mbps, sum(r.errors for r in readers)


def run_gavel(args, clip, workdir, binary):
    res = {}
    n = args.streams
    streams = [("s%d" % i, "k%d" % i) for i in range(1, n + 1)]
    sdir = os.path.join(workdir, "gavel")
    os.makedirs(sdir, exist_ok=True)
    stop = threading.Event()
    readers = []
    with bl.Procs(sdir) as procs:
        try:
            srv, hp, rp = bl.start_gavel(procs, binary, sdir, streams, part_ms=200, seg_ms=2000,
                                         window=7)
            pids = lambda: bl.proc_tree(srv.pid)  # noqa: E731
            time.sleep(1.0)
            res["rss_idle"] = rss_now(pids)
            pubs = []

            def publish(i):
                pubs.append(procs.start("pub%d" % i, publisher_argv(
                    clip, "rtmp://127.0.0.1:%d/live/k%d" % (rp, i))))

            publish(1)
            url1 = bl.wait_playlist(bl.gavel_play_url(hp, "s1"), 20)
            if not url1:
                raise RuntimeError("gavel: no playlist for s1 after 20 s\n" +
                                   procs.logtail("gavel", 1500) + procs.logtail("pub1", 500))
            if not args.no_readers:
                readers += start_readers([url1], True, stop)
            bl.log("gavel: 1 stream up; warming %d s" % args.warmup)
            time.sleep(args.warmup)
            res["rss_1"] = rss_now(pids)
            for i in range(2, n + 1):
                publish(i)
            urls = []
            for name, _ in streams[1:]:
                u = bl.wait_playlist(bl.gavel_play_url(hp, name), 20)
                if not u:
                    raise RuntimeError("gavel: no playlist for %s\n%s" % (
                        name, procs.logtail("gavel", 1500)))
                urls.append(u)
            if not args.no_readers:
                readers += start_readers(urls, True, stop)
            bl.log("gavel: %d streams up; warming %d s, measuring %d s" % (
                n, args.warmup, args.duration))
            time.sleep(args.warmup)
            for r in readers:
                r.bytes = 0
                r.errors = 0
            w = sample_window(pids, args.duration, lambda: srv.poll() is not None)
            res.update(w)
            res["rss_n"] = w["rss_mean"]
            res["reader_mbps"], res["reader_errors"] = reader_totals(readers, w["seconds"])
            res["pubs_alive"] = sum(1 for p in pubs if p.poll() is None)
            st, body = bl.http_get("http://127.0.0.1:%d/metrics" % hp)
            res["metrics_status"] = st
            res["metrics"] = body.decode("utf-8", "replace") if st == 200 else ""
            if srv.poll() is not None:
                raise RuntimeError("gavel exited during the run:\n" + procs.logtail("gavel"))
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            res["error"] = str(e)
        finally:
            stop.set()
            for r in readers:
                r.join(12)
    return res


def run_nginx(args, clip, workdir):
    res = {}
    n = args.streams
    sdir = os.path.join(workdir, "nginx")
    os.makedirs(sdir, exist_ok=True)
    stop = threading.Event()
    readers = []
    with bl.Procs(sdir) as procs:
        try:
            srv, hp, rp = bl.start_nginx(procs, sdir, fragment="1s", playlist="4s")
            pids = lambda: bl.proc_tree(srv.pid)  # noqa: E731
            time.sleep(1.0)
            res["rss_idle"] = rss_now(pids)
            pubs = [procs.start("pub%d" % i, publisher_argv(
                clip, "rtmp://127.0.0.1:%d/live/k%d" % (rp, i))) for i in range(1, n + 1)]
            urls = [bl.nginx_play_url(hp, "k%d" % i) for i in range(1, n + 1)]
            for u in urls:
                if not bl.wait_playlist(u, 20):
                    raise RuntimeError("nginx: no playlist at %s\n%s" % (
                        u, procs.logtail("nginx", 1500)))
            if not args.no_readers:
                readers = start_readers(urls, False, stop)
            warm = min(args.warmup, 15)  # 4 s playlist: nginx reaches steady state far sooner
            bl.log("nginx: %d streams up; warming %d s, measuring %d s" % (
                n, warm, args.duration))
            time.sleep(warm)
            for r in readers:
                r.bytes = 0
                r.errors = 0
            w = sample_window(pids, args.duration, lambda: srv.poll() is not None)
            res.update(w)
            res["rss_n"] = w["rss_mean"]
            res["reader_mbps"], res["reader_errors"] = reader_totals(readers, w["seconds"])
            res["pubs_alive"] = sum(1 for p in pubs if p.poll() is None)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            res["error"] = str(e)
        finally:
            stop.set()
            for r in readers:
                r.join(12)
    return res


def part_latency(metrics_text):
    """{quantile: [seconds per stream]} from gavel_part_list_latency_seconds."""
    out = {}
    for name, labels, val in bl.parse_prometheus(metrics_text):
        if name == "gavel_part_list_latency_seconds" and "quantile" in labels:
            out.setdefault(labels["quantile"], []).append(val)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20 s measurement, 15 s warm-ups")
    ap.add_argument("--streams", type=int, default=10)
    ap.add_argument("--duration", type=int, default=60, help="measured seconds per server")
    ap.add_argument("--warmup", type=int, default=45,
                    help="seconds before sampling; gavel's RSS reaches its plateau ~40 s after "
                    "a publish starts (window of 7 x 2 s segments plus retained parts)")
    ap.add_argument("--servers", default="gavel,nginx")
    ap.add_argument("--gavel", help="gavel binary (default: build-bench/gavel or $GAVEL)")
    ap.add_argument("--no-readers", action="store_true", help="publish only, nobody reads")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, configs)")
    ap.add_argument("--json", help="also write raw results to this file")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure both servers this many times, alternating which goes first; "
                    "the ratio reported against the target is the median of the rounds' ratios")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.warmup = 20, 15
    if args.streams < 2:
        ap.error("--streams must be >= 2")
    bl.exit_on_sigterm()

    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    binary = bl.find_gavel(args.gavel)
    if "gavel" in servers and not binary:
        bl.log("gavel binary not found (build it or pass --gavel); measuring the peer only")
        servers.remove("gavel")
    clip = ensure_clip()
    workdir = bl.make_workdir("gavel-cpumem-")
    results = {}
    rounds = []  # per round: {server: cpu % per stream}
    try:
        for rnd in range(max(1, args.rounds)):
            order = servers if rnd % 2 == 0 else list(reversed(servers))
            this = {}
            for s in order:
                if args.rounds > 1:
                    bl.log("round %d/%d: %s" % (rnd + 1, args.rounds, s))
                res = run_gavel(args, clip, workdir, binary) if s == "gavel" else \
                    run_nginx(args, clip, workdir)
                if res.get("error"):
                    bl.log("%s: ERROR %s" % (s, res["error"]))
                elif res.get("cpu_pct") is not None:
                    this[s] = res["cpu_pct"] / args.streams
                if rnd == 0 or res.get("error"):
                    results[s] = res
            rounds.append(this)
    finally:
        bl.remove_workdir(workdir, args.keep)

    n = args.streams
    g = results.get("gavel") if results.get("gavel", {}).get("error") is None else None
    x = results.get("nginx") if results.get("nginx", {}).get("error") is None else None

    def v(d, k, scale=1.0):
        return d[k] * scale if d and d.get(k) is not None else None

    g_cpu, x_cpu = v(g, "cpu_pct"), v(x, "cpu_pct")
    g_ps = g_cpu / n if g_cpu is not None else None
    x_ps = x_cpu / n if x_cpu is not None else None
    slope = None
    if g and g.get("rss_end") is not None and g.get("rss_1") is not None:
        slope = (g["rss_end"] - g["rss_1"]) / (n - 1) / MIB
    rows = [
        ["server CPU, %d streams (%% of one core)" % n, bl.fmt(g_cpu, "%.1f"),
         bl.fmt(x_cpu, "%.1f"), bl.fmt(bl.ratio(g_cpu, x_cpu), "%.2f")],
        ["  of which user / system (%)", "%s / %s" % (bl.fmt(v(g, "user_pct"), "%.1f"),
                                                      bl.fmt(v(g, "sys_pct"), "%.1f")),
         "%s / %s" % (bl.fmt(v(x, "user_pct"), "%.1f"), bl.fmt(v(x, "sys_pct"), "%.1f")), ""],
        ["server CPU per stream (%)", bl.fmt(g_ps, "%.2f"), bl.fmt(x_ps, "%.2f"),
         bl.fmt(bl.ratio(g_ps, x_ps), "%.2f")],
        ["RSS idle (MiB)", bl.fmt(v(g, "rss_idle", 1 / MIB), "%.1f"),
         bl.fmt(v(x, "rss_idle", 1 / MIB), "%.1f"), ""],
        ["RSS at 1 stream (MiB)", bl.fmt(v(g, "rss_1", 1 / MIB), "%.1f"), "", ""],
        ["RSS at %d streams, mean (MiB)" % n, bl.fmt(v(g, "rss_n", 1 / MIB), "%.1f"),
         bl.fmt(v(x, "rss_n", 1 / MIB), "%.1f"),
         bl.fmt(bl.ratio(v(g, "rss_n"), v(x, "rss_n")), "%.2f")],
        ["RSS at %d streams, end of window (MiB)" % n, bl.fmt(v(g, "rss_end", 1 / MIB), "%.1f"),
         bl.fmt(v(x, "rss_end", 1 / MIB), "%.1f"), ""],
        ["RSS at %d streams, max (MiB)" % n, bl.fmt(v(g, "rss_max", 1 / MIB), "%.1f"),
         bl.fmt(v(x, "rss_max", 1 / MIB), "%.1f"), ""],
        ["PSS at %d streams, mean (MiB)" % n, bl.fmt(v(g, "pss_mean", 1 / MIB), "%.1f"),
         bl.fmt(v(x, "pss_mean", 1 / MIB), "%.1f"),
         bl.fmt(bl.ratio(v(g, "pss_mean"), v(x, "pss_mean")), "%.2f")],
        ["RSS slope per stream, 1->%d, end (MiB)" % n, bl.fmt(slope, "%.2f"), "", ""],
        ["reader goodput per stream (Mbit/s)", bl.fmt(v(g, "reader_mbps"), "%.2f"),
         bl.fmt(v(x, "reader_mbps"), "%.2f"), ""],
        ["reader errors", bl.fmt(v(g, "reader_errors"), "%d"),
         bl.fmt(v(x, "reader_errors"), "%d"), ""],
        ["publishers alive at end", bl.fmt(v(g, "pubs_alive"), "%d"),
         bl.fmt(v(x, "pubs_alive"), "%d"), ""],
        ["machine busy during window (%)", bl.fmt(v(g, "busy_pct"), "%.0f"),
         bl.fmt(v(x, "busy_pct"), "%.0f"), ""],
    ]
    bl.print_table("Server CPU and memory: %d publishers of a 720p30 3 Mbps H.264+AAC clip "
                   "(-c copy), %d s window, %s" % (
                       n, args.duration, "no readers" if args.no_readers else
                       "one reader per stream"),
                   ["metric", "gavel", "nginx-rtmp", "gavel/nginx"], rows)
    print("gavel: parts 200 ms, segments 2 s, window 7; nginx-rtmp: 1 worker, hls_fragment 1s, "
          "hls_playlist_length 4s (MPEG-TS files in the temp dir)")
    r = bl.ratio(g_ps, x_ps)
    if args.rounds > 1:
        rrows, ratios = [], []
        for i, d in enumerate(rounds):
            rr = bl.ratio(d.get("gavel"), d.get("nginx"))
            if rr is not None:
                ratios.append(rr)
            rrows.append(["%d (%s first)" % (i + 1, (servers if i % 2 == 0 else
                                                     list(reversed(servers)))[0]),
                          bl.fmt(d.get("gavel"), "%.2f"), bl.fmt(d.get("nginx"), "%.2f"),
                          bl.fmt(rr, "%.2f")])
        bl.print_table("CPU per stream (%% of one core) in each of %d rounds (the table above is "
                       "round 1)" % args.rounds,
                       ["round", "gavel", "nginx-rtmp", "gavel/nginx"], rrows)
        r = bl.percentile(sorted(ratios), 50) if ratios else None
        print("median ratio over %d rounds: %s" % (len(ratios), bl.fmt(r, "%.2f")))
    print("target: CPU ratio gavel/nginx <= 0.7 -> %s" % (
        "n/a" if r is None else ("PASS" if r <= 0.7 else "FAIL")))
    print("target: gavel RSS slope < 16 MiB/stream -> %s" % (
        "n/a" if slope is None else ("PASS" if slope < 16 else "FAIL")))

    if g is not None:
        q = part_latency(g.get("metrics", ""))
        if q:
            prow = []
            for k in sorted(q, key=float):
                vals = sorted(q[k])
                prow.append(["quantile %s" % k, "%.1f" % (1000 * vals[0]),
                             "%.1f" % (1000 * bl.percentile(vals, 50)), "%.1f" % (1000 * vals[-1]),
                             str(len(vals))])
            bl.print_table("gavel part-list latency from /metrics (ms, across streams)",
                           ["quantile", "min", "median", "max", "streams"], prow)
        else:
            print("gavel /metrics: HTTP %s, no gavel_part_list_latency_seconds samples" %
                  g.get("metrics_status"))
    for s in ("gavel", "nginx"):
        if s in results and results[s].get("error"):
            print("%s: not measured: %s" % (s, results[s]["error"].splitlines()[0]))
        elif s not in results:
            print("%s: not measured (not requested or binary missing)" % s)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results, "rounds": rounds}, f,
                      default=str)
    return 1 if any(r.get("error") for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
