#!/usr/bin/env bash
# Configures and builds the release tree in build/ (x86-64-v3, -O3).
# Extra arguments go to CMake (e.g. -DLOOKAHEAD_PORTABLE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build
