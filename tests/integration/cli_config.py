"""Scenario: the command line and config validation. --check-config accepts good files and rejects
bad ones with exactly one `file:line:col: key: message` line naming the right line and key;
-c with a bad file fails the same way; --help and --version exit 0; keys never leak into
error messages."""

import os
import re

import gvtest

t = gvtest.Test("cli_config", timeout=90)

HEAD = """http:
  listen: "127.0.0.1:18080"
rtmp:
  listen: "127.0.0.1:11935"
"""
STREAMS = """streams:
  - name: demo
    key: "k-alpha-1"
"""

FULL = """# every key gavel knows, with a value in range
http:
  listen: "127.0.0.1:18080"
  max_header_bytes: 8192
  max_body_bytes: 65536
  timeout_ms: 30000
  cors_origin: "*"
  player_dir: "web/node_modules/hls.js/dist"
rtmp:
  listen: "127.0.0.1:11935"
  max_connections: 10
  max_message_bytes: 1048576
  max_chunk_size: 65536
  out_chunk_size: 4096
  ack_window: 2500000
  handshake_timeout_ms: 10000
  idle_timeout_ms: 10000
srt:
  listen: "127.0.0.1:19000"
  latency_ms: 120
  max_connections: 10
  peer_idle_timeout_ms: 5000
  handshake_timeout_ms: 5000
  stats_interval_ms: 10000
hls:
  part_target_ms: 200
  segment_target_ms: 2000
  window_segments: 7
ingest:
  on_duplicate: takeover-stale
  stale_ms: 2000
api:
  token: "0123456789abcdef"
log:
  level: info
streams:
  - name: demo
    key: "k-alpha-1"
  - name: second_stream
    key: "k-beta-2"
    passphrase: "0123456789abcdef"
"""

# (label, yaml, expected line, acceptable columns, key that must appear in the key field)
BAD = [
    ("unknown key", HEAD + "  bogus: 1\n" + STREAMS, 5, {3, 10}, "bogus"),
    ("unknown section", HEAD + "bogus_section:\n  a: 1\n" + STREAMS, 5, {1, 3}, "bogus_section"),
    ("wrong type (string for int)", HEAD + "hls:\n  part_target_ms: \"abc\"\n" + STREAMS, 6,
     {3, 19}, "part_target_ms"),
    ("wrong type (list for int)", HEAD + "hls:\n  window_segments: [1, 2]\n" + STREAMS, 6,
     {3, 20}, "window_segments"),
    ("wrong type (mapping for string)", HEAD + "log:\n  level: { a: 1 }\n" + STREAMS, 6,
     {3, 10}, "level"),
    ("bad enum value", HEAD + "ingest:\n  on_duplicate: sometimes\n" + STREAMS, 6, {3, 17},
     "on_duplicate"),
    ("out of range (part_target_ms 10)", HEAD + "hls:\n  part_target_ms: 10\n" + STREAMS, 6,
     {3, 19}, "part_target_ms"),
    ("out of range (window_segments 1000)", HEAD + "hls:\n  window_segments: 1000\n" + STREAMS,
     6, {3, 20}, "window_segments"),
    ("out of range (negative stale_ms)", HEAD + "ingest:\n  stale_ms: -5\n" + STREAMS, 6,
     {3, 13}, "stale_ms"),
    ("bad listen address", "http:\n  listen: \"127.0.0.1:99999\"\n" + STREAMS, 2, {3, 11},
     "listen"),
    ("duplicate stream name", HEAD + STREAMS + "  - name: demo\n    key: \"k-other-2\"\n", 8,
     {3, 5}, "streams"),
    ("duplicate publish key", HEAD + STREAMS + "  - name: other\n    key: \"k-alpha-1\"\n", 8,
     {3, 5}, "streams"),
    ("invalid stream name", HEAD + "streams:\n  - name: \"bad name\"\n    key: \"k1\"\n", 6,
     {5, 11}, "name"),
    ("key with a slash", HEAD + "streams:\n  - name: demo\n    key: \"a/b\"\n", 7, {5, 10},
     "key"),
]


def check_config(path):
    return gvtest.run([t.binary, "--check-config", path], 10)


with t:
    # Good files.
    good = os.path.join(t.tmp, "good.yaml")
    with open(good, "w") as f:
        f.write(HEAD + STREAMS)
    rc, out, err = check_config(good)
    t.check("--check-config minimal valid file exits 0", rc == 0, "rc=%s %s" % (rc, err.strip()))
    full = os.path.join(t.tmp, "full.yaml")
    with open(full, "w") as f:
        f.write(FULL)
    rc, out, err = check_config(full)
    t.check("--check-config accepts every documented key", rc == 0,
            "rc=%s %s" % (rc, err.strip()))
    t.check("--check-config prints no key of a valid file",
            "k-alpha-1" not in err + out.decode(errors="replace"), err)
    for shipped in ("demo.yaml", "production.yaml"):
        path = os.path.join(os.getcwd(), "configs", shipped)
        if os.path.exists(path):
            rc, out, err = check_config(path)
            t.check("--check-config configs/%s exits 0" % shipped, rc == 0,
                    "rc=%s %s" % (rc, err.strip()))

    # Bad files: exact format, line and key.
    for label, text, line, cols, key in BAD:
        path = os.path.join(t.tmp, re.sub(r"[^a-z0-9]+", "_", label) + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        rc, out, err = check_config(path)
        t.check("%s: exits non-zero" % label, rc not in (0, None), "rc=%s" % rc)
        pat = re.compile(r"^%s:(\d+):(\d+): ([^:]+): (.+)$" % re.escape(path))
        hits = [pat.match(l) for l in err.splitlines()]
        hits = [h for h in hits if h]
        if not t.check("%s: one 'file:line:col: key: message' line" % label, len(hits) == 1,
                       "stderr: %r" % err.strip()):
            continue
        h = hits[0]
        t.check("%s: line %d" % (label, line), int(h.group(1)) == line,
                "got %s: %s" % (h.group(1), h.group(0)))
        t.check("%s: column points at the key or value" % label, int(h.group(2)) in cols,
                "got col %s, expected one of %s: %s" % (h.group(2), sorted(cols), h.group(0)))
        t.check("%s: key field names %s" % (label, key), key in h.group(3), h.group(0))
        for secret in ("k-alpha-1", "k-other-2", "a/b"):
            if secret in text:
                t.check("%s: error does not echo the publish key" % label, secret not in err,
                        err.strip())

    syntax = os.path.join(t.tmp, "syntax.yaml")
    with open(syntax, "w") as f:
        f.write("http:\n  listen: \"127.0.0.1:1\"\nhls: { part_target_ms: 200\n" + STREAMS)
    rc, out, err = check_config(syntax)
    t.check("YAML syntax error: exits non-zero", rc not in (0, None), "rc=%s" % rc)
    t.check("YAML syntax error: file:line:col: prefix",
            re.search(r"^%s:\d+:\d+: " % re.escape(syntax), err, re.M) is not None, err.strip())

    nostreams = os.path.join(t.tmp, "nostreams.yaml")
    with open(nostreams, "w") as f:
        f.write(HEAD)
    rc, out, err = check_config(nostreams)
    t.check("no streams: rejected", rc not in (0, None), "rc=%s %s" % (rc, err.strip()))

    missing = os.path.join(t.tmp, "does-not-exist.yaml")
    rc, out, err = check_config(missing)
    t.check("missing file: exits non-zero and names the file", rc not in (0, None) and
            missing in err, "rc=%s %r" % (rc, err.strip()))

    # -c with a bad file: same message, non-zero exit, quickly.
    bad = os.path.join(t.tmp, "unknown_key.yaml")
    t0 = gvtest.now()
    rc, out, err = gvtest.run([t.binary, "-c", bad], 10)
    dt = gvtest.now() - t0
    t.check("-c with an invalid file exits non-zero within 2 s", rc not in (0, None) and dt < 2,
            "rc=%s after %.2fs" % (rc, dt))
    t.check("-c with an invalid file prints the same error line",
            re.search(r"^%s:5:\d+: [a-z]+\.bogus: " % re.escape(bad), err, re.M) is not None,
            err.strip())

    # --help / --version.
    rc, out, err = gvtest.run([t.binary, "--help"], 10)
    text = out.decode(errors="replace") + err
    t.check("--help exits 0", rc == 0, "rc=%s" % rc)
    t.check("--help mentions -c and --check-config", "-c" in text and "--check-config" in text,
            text[:300])
    rc, out, err = gvtest.run([t.binary, "--version"], 10)
    text = out.decode(errors="replace") + err
    t.check("--version exits 0", rc == 0, "rc=%s" % rc)
    t.check("--version prints a x.y.z version", re.search(r"\d+\.\d+\.\d+", text) is not None,
            text[:200])
    rc, out, err = gvtest.run([t.binary, "--no-such-option"], 10)
    t.check("unknown option exits non-zero", rc not in (0, None), "rc=%s" % rc)
