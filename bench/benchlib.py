"""Shared helpers for gavel's benchmarks: loopback ports, child processes that are always
stopped, server configs (gavel and the nginx-rtmp peer), /proc sampling and table printing.
Python 3 standard library only."""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX_RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def exit_on_sigterm():
    """Turns SIGTERM into SystemExit so every `finally` and context manager stops its children."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_gavel(explicit=None):
    """The gavel binary: --gavel, $GAVEL, or the usual build directories."""
    cands = [explicit, os.environ.get("GAVEL")]
    for d in ("build-bench", "build", "build-release", "build-debug"):
        cands.append(os.path.join(REPO, d, "gavel"))
        cands.append(os.path.join(REPO, d, "app", "gavel"))
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


class Procs:
    """Owns every child process a benchmark starts; stop_all() ends them (each in its own
    process group, TERM then KILL) and is safe to call twice. Use as a context manager."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.items = []  # (name, Popen, logfile)

    def start(self, name, argv, cwd=None, env=None):
        logpath = os.path.join(self.workdir, "%s.log" % name)
        lf = open(logpath, "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT,
                             cwd=cwd, env=env, start_new_session=True)
        self.items.append((name, p, lf))
        return p

    def logtail(self, name, nbytes=2000):
        path = os.path.join(self.workdir, "%s.log" % name)
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - nbytes))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, proc, timeout=5.0):
        for i, (name, p, lf) in enumerate(self.items):
            if p is proc:
                terminate(p, timeout)
                lf.close()
                del self.items[i]
                return

    def stop_all(self):
        while self.items:
            name, p, lf = self.items.pop()
            terminate(p, 5.0)
            lf.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()
        return False


def terminate(p, timeout):
    """TERM the child's process group, then KILL it if it lingers."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout)
    # Children that outlived the leader (nginx workers) still belong to the group.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_tcp(port, timeout, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def http_get(url, timeout=5.0):
    """(status, body bytes); status 0 on a connection error."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, http.client.HTTPException):
        return 0, b""


def media_playlist_url(url, body):
    """If body is a multivariant playlist, the URL of its first variant; else url."""
    if b"#EXT-X-STREAM-INF" not in body:
        return url
    lines = body.decode("utf-8", "replace").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF"):
            for nxt in lines[i + 1:]:
                nxt = nxt.strip()
                if nxt and not nxt.startswith("#"):
                    return urllib.parse.urljoin(url, nxt)
    return url


def wait_playlist(url, timeout, need_media=True, min_segments=0):
    """Waits until url (or, for a multivariant playlist, its first variant) serves a media
    playlist that lists at least one segment (or part) and min_segments complete segments.
    Returns the media playlist URL or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, body = http_get(url, 2.0)
        if st == 200:
            murl = media_playlist_url(url, body)
            if murl != url:
                st, body = http_get(murl, 2.0)
            if st == 200 and body.count(b"#EXTINF") >= min_segments and (
                    not need_media or b"#EXTINF" in body or b"#EXT-X-PART:" in body):
                return murl
        time.sleep(0.25)
    return None


# ---- servers -------------------------------------------------------------------------------

def write_gavel_config(path, http_port, rtmp_port, streams, part_ms=200, seg_ms=2000, window=7,
                       log_level="warn"):
    """streams: list of (name, key)."""
    lines = [
        "http:",
        '  listen: "127.0.0.1:%d"' % http_port,
        "rtmp:",
        '  listen: "127.0.0.1:%d"' % rtmp_port,
        "hls:",
        "  part_target_ms: %d" % part_ms,
        "  segment_target_ms: %d" % seg_ms,
        "  window_segments: %d" % window,
        "log:",
        "  level: %s" % log_level,
        "streams:",
    ]
    for name, key in streams:
        lines.append("  - name: %s" % name)
        lines.append("    key: %s" % key)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def start_gavel(procs, binary, workdir, streams, **kw):
    """Starts gavel; returns (proc, http_port, rtmp_port) or raises RuntimeError."""
    hp, rp = free_port(), free_port()
    cfg = os.path.join(workdir, "gavel.yaml")
    write_gavel_config(cfg, hp, rp, streams, **kw)
    p = procs.start("gavel", [binary, "-c", cfg], cwd=REPO)
    if not (wait_tcp(rp, 10, p) and wait_tcp(hp, 10, p)):
        raise RuntimeError("gavel did not start listening:\n" + procs.logtail("gavel"))
    return p, hp, rp


def gavel_play_url(http_port, name):
    return "http://127.0.0.1:%d/live/%s/index.m3u8" % (http_port, name)


NGINX_CONF = """\
# nginx-rtmp peer for gavel's benchmarks (generated).
daemon off;
master_process on;
worker_processes 1;
{user}
pid {d}/nginx.pid;
error_log {d}/error.log warn;
load_module {module};
events {{ worker_connections 1024; }}
rtmp {{
    server {{
        listen 127.0.0.1:{rtmp_port};
        chunk_size 4096;
        application live {{
            live on;
            record off;
            hls on;
            hls_path {d}/hls;
            hls_fragment {fragment};
            hls_playlist_length {playlist};
        }}
    }}
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {d}/tmp_body;
    proxy_temp_path {d}/tmp_proxy;
    fastcgi_temp_path {d}/tmp_fastcgi;
    uwsgi_temp_path {d}/tmp_uwsgi;
    scgi_temp_path {d}/tmp_scgi;
    types {{
        application/vnd.apple.mpegurl m3u8;
        video/mp2t ts;
        text/html html;
    }}
    server {{
        listen 127.0.0.1:{http_port};
        location /hls/ {{
            alias {d}/hls/;
            add_header Cache-Control no-cache;
            add_header Access-Control-Allow-Origin * always;
        }}
    }}
}}
"""


def start_nginx(procs, workdir, fragment="1s", playlist="4s"):
    """Starts nginx with the RTMP module and HLS output; returns (proc, http_port, rtmp_port)."""
    if not os.path.exists(NGINX_RTMP_MODULE):
        raise RuntimeError("nginx rtmp module missing: apt-get install libnginx-mod-rtmp")
    d = os.path.join(workdir, "nginx")
    os.makedirs(os.path.join(d, "hls"), exist_ok=True)
    hp, rp = free_port(), free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(d=d, module=NGINX_RTMP_MODULE, rtmp_port=rp, http_port=hp,
                                  fragment=fragment, playlist=playlist,
                                  user="user root;" if os.geteuid() == 0 else ""))
    p = procs.start("nginx", ["nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")])
    if not (wait_tcp(rp, 10, p) and wait_tcp(hp, 10, p)):
        raise RuntimeError("nginx did not start:\n" + procs.logtail("nginx"))
    return p, hp, rp


def nginx_play_url(http_port, key):
    return "http://127.0.0.1:%d/hls/%s.m3u8" % (http_port, key)


# ---- SRT ingest (gavel's SRT listener; the ffmpeg SRT -> HLS peer) ---------------------------

def free_udp_port():
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_bound(port):
    """True when some socket is bound to this local UDP port (/proc/net/udp, udp6)."""
    want = ":%04X" % port
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 1 and fields[1].endswith(want):
                        return True
        except OSError:
            continue
    return False


def wait_udp(port, timeout, proc=None):
    """Waits until a UDP listener (SRT binds one socket) holds the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if udp_bound(port):
            return True
        time.sleep(0.1)
    return False


def start_gavel_srt(procs, binary, workdir, streams, srt_latency_ms=120, **kw):
    """Starts gavel with its SRT listener on as well; returns (proc, http_port, rtmp_port,
    srt_port) or raises RuntimeError. kw as for write_gavel_config."""
    hp, rp, sp = free_port(), free_port(), free_udp_port()
    cfg = os.path.join(workdir, "gavel.yaml")
    write_gavel_config(cfg, hp, rp, streams, **kw)
    with open(cfg, "a") as f:
        f.write('srt:\n  listen: "127.0.0.1:%d"\n  latency_ms: %d\n' % (sp, srt_latency_ms))
    p = procs.start("gavel", [binary, "-c", cfg], cwd=REPO)
    if not (wait_tcp(hp, 10, p) and wait_udp(sp, 10, p)):
        raise RuntimeError("gavel did not start listening:\n" + procs.logtail("gavel"))
    return p, hp, rp, sp


def srt_url(port, latency_ms, **params):
    """srt://127.0.0.1:port with ffmpeg's options; ffmpeg's latency is in microseconds."""
    q = ["latency=%d" % (latency_ms * 1000)]
    q += ["%s=%s" % (k, urllib.parse.quote(str(v), safe="/")) for k, v in params.items()]
    return "srt://127.0.0.1:%d?%s" % (port, "&".join(q))


STATIC_NGINX_CONF = """\
# Static HTTP server for the ffmpeg SRT -> HLS peer (generated).
daemon off;
master_process on;
worker_processes 1;
{user}
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {d}/tmp_body;
    proxy_temp_path {d}/tmp_proxy;
    fastcgi_temp_path {d}/tmp_fastcgi;
    uwsgi_temp_path {d}/tmp_uwsgi;
    scgi_temp_path {d}/tmp_scgi;
    types {{
        application/vnd.apple.mpegurl m3u8;
        video/mp4 mp4;
        video/iso.segment m4s;
    }}
    server {{
        listen 127.0.0.1:{http_port};
        location /hls/ {{
            alias {root}/;
            add_header Cache-Control no-cache;
            add_header Access-Control-Allow-Origin * always;
        }}
    }}
}}
"""


def start_static_nginx(procs, workdir, root, name="http"):
    """nginx serving root under /hls/ (no-cache, CORS); returns (proc, http_port)."""
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    hp = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(STATIC_NGINX_CONF.format(d=d, root=root, http_port=hp,
                                         user="user root;" if os.geteuid() == 0 else ""))
    p = procs.start(name, ["nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")])
    if not wait_tcp(hp, 10, p):
        raise RuntimeError("nginx (static) did not start:\n" + procs.logtail(name))
    return p, hp


def start_ffmpeg_srt_hls(procs, workdir, latency_ms=120, hls_time=1, list_size=6):
    """The SRT peer: ffmpeg listening for one SRT publish, remuxing (-c copy) into fMP4 HLS in
    workdir/hls, served by a static nginx. Returns (ffmpeg proc, http_port, srt_port)."""
    hls = os.path.join(workdir, "hls")
    os.makedirs(hls, exist_ok=True)
    sp = free_udp_port()
    argv = ["ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostats",
            "-i", srt_url(sp, latency_ms, mode="listener"),
            "-map", "0", "-c", "copy", "-bsf:a", "aac_adtstoasc",
            "-f", "hls", "-hls_time", str(hls_time),
            "-hls_list_size", str(list_size), "-hls_segment_type", "fmp4",
            "-hls_flags", "delete_segments+temp_file+independent_segments",
            "-hls_fmp4_init_filename", "init.mp4",
            "-hls_segment_filename", os.path.join(hls, "seg%05d.m4s"),
            os.path.join(hls, "live.m3u8")]
    p = procs.start("ffmpeg", argv, cwd=hls)
    if not wait_udp(sp, 10, p):
        raise RuntimeError("ffmpeg SRT listener did not start:\n" + procs.logtail("ffmpeg"))
    _, hp = start_static_nginx(procs, workdir, hls)
    return p, hp, sp


def ffmpeg_hls_play_url(http_port):
    return "http://127.0.0.1:%d/hls/live.m3u8" % http_port


# ---- /proc sampling -------------------------------------------------------------------------

def proc_tree(pid):
    """pid and all its descendants (nginx master + workers)."""
    children = {}
    for ent in os.listdir("/proc"):
        if not ent.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % ent) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(ent))
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        todo.extend(children.get(q, []))
    return out


def cpu_seconds(pids):
    """utime+stime of the given processes, in seconds."""
    return sum(cpu_split(pids))


def cpu_split(pids):
    """(utime, stime) of the given processes, in seconds."""
    user = system = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        user += int(fields[11])  # utime, stime: fields 14 and 15 of stat(5)
        system += int(fields[12])
    return user / CLK_TCK, system / CLK_TCK


def rss_bytes(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/statm" % pid) as f:
                total += int(f.read().split()[1]) * PAGE_SIZE
        except OSError:
            continue
    return total


def pss_bytes(pids):
    """Proportional set size: shared pages split among sharers (fair for nginx's processes)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def system_busy():
    """(busy, total) jiffies of the whole machine, for a saturation check."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals) - idle, sum(vals)


# ---- output ---------------------------------------------------------------------------------

def fmt(v, spec="%.3f"):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return spec % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def print_table(title, header, rows):
    """rows: list of lists of strings; first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    print()
    print(title)
    line = "  ".join(("%-*s" if i == 0 else "%*s") % (widths[i], header[i])
                     for i in range(len(header)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(("%-*s" if i == 0 else "%*s") % (widths[i], r[i]) for i in range(len(r))))
    sys.stdout.flush()


def percentile(sorted_vals, q):
    """Nearest-rank style percentile with linear interpolation; q in [0, 100]."""
    if not sorted_vals:
        return None
    if len(sorted_vals) == 1:
        return sorted_vals[0]
    pos = (len(sorted_vals) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def make_workdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def remove_workdir(path, keep):
    if keep:
        log("kept work dir %s" % path)
    else:
        shutil.rmtree(path, ignore_errors=True)


METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)')


def parse_prometheus(text):
    """[(name, {label: value}, float)] for labelled samples."""
    out = []
    for line in text.splitlines():
        m = METRIC_RE.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        try:
            out.append((m.group(1), labels, float(m.group(3))))
        except ValueError:
            pass
    return out
