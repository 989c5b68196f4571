#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, integration, browser).
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 300 "$@"
