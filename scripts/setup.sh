#!/usr/bin/env bash
# Installs everything gavel needs to build, test and run its demo on Debian 12 (run as root).
# Idempotent: skips apt when every package is already present, skips npm when hls.js is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake pkg-config git ca-certificates curl
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libevent-dev libyaml-dev libcjson-dev zlib1g-dev libssl-dev
  libsrt-openssl-dev srt-tools
  ffmpeg
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-x
  nginx libnginx-mod-rtmp
  chromium
  clang libclang-rt-14-dev
  python3 procps iproute2 nftables fonts-dejavu-core
  libcairo2-dev libpango1.0-dev libfontconfig-dev fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji
  libx264-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js: use the machine's if it has one (some images ship a newer one), else Debian's.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Browser-side tooling: hls.js (served by gavel's player page) and playwright-core (browser tests).
if [ ! -f web/node_modules/hls.js/dist/hls.min.js ] || [ ! -d web/node_modules/playwright-core ]; then
  (cd web && npm install --no-audit --no-fund --loglevel=error)
fi
