#!/usr/bin/env bash
# Installs what is missing, builds, starts gavel on configs/demo.yaml, publishes a test
# pattern (with a running clock and a tone) over RTMP, runs scripts/demo_backend.sh to drive
# the lot card through the control API, then prints the URL to open. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh

# Own session: Ctrl-C reaches this script only, which then stops gavel once, gracefully.
setsid ./build/gavel -c configs/demo.yaml &
GAVEL=$!
PUB=""
BACKEND=""
WORK=$(mktemp -d)
cleanup() {
  [ -n "$BACKEND" ] && kill "$BACKEND" 2>/dev/null || true
  [ -n "$PUB" ] && kill "$PUB" 2>/dev/null || true
  kill -TERM "$GAVEL" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for _ in $(seq 50); do
  curl -fs http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break
  sleep 0.1
done

ffmpeg -hide_banner -loglevel error -re \
  -f lavfi -i "testsrc2=size=1280x720:rate=30,drawtext=text='%{localtime\:%T}':fontsize=64:fontcolor=white:box=1:boxcolor=black@0.6:x=40:y=40" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000" \
  -c:v libx264 -preset veryfast -tune zerolatency -g 60 -b:v 2500k -pix_fmt yuv420p \
  -c:a aac -b:a 128k -f flv rtmp://127.0.0.1:1935/live/demo-key &
PUB=$!

# An item picture for the card, then the simulated marketplace backend.
ffmpeg -hide_banner -loglevel error -f lavfi -i "mandelbrot=size=320x320" -frames:v 1 \
  "$WORK/item.png" || true
[ -f "$WORK/item.png" ] && export DEMO_IMAGE="$WORK/item.png"
for _ in $(seq 100); do
  curl -fs http://127.0.0.1:8080/live/demo/index.m3u8 >/dev/null 2>&1 && break
  sleep 0.1
done
bash scripts/demo_backend.sh http://127.0.0.1:8080 demo-api-token &
BACKEND=$!

cat <<MSG

  gavel demo is running.
    watch:      http://127.0.0.1:8080/watch/demo
    playlist:   http://127.0.0.1:8080/live/demo/index.m3u8
    metrics:    http://127.0.0.1:8080/metrics
    overlay:    curl -H 'Authorization: Bearer demo-api-token' http://127.0.0.1:8080/api/v1/streams/demo/overlay
    also publish over SRT: srt://127.0.0.1:9000?streamid=live/demo-key
  Press Ctrl-C to stop.

MSG
wait "$PUB"
