#!/usr/bin/env bash
# Reproduces docs/lookahead.md's decoding tables: `lookahead bench` for
# several (W,N,G) on the default model, greedy, with JSON and SVG output in
# out/bench/. Usage: scripts/bench_lookahead.sh [LIMIT] [N_PREDICT] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-10}; n=${2:-128}; threads=${3:-2}
SHARED="${LOOKAHEAD_SHARED_DIR:-$(pwd)/../shared}"
mkdir -p out/bench
for cfg in 15,5,15 7,4,7 4,3,4 2,3,2 1,2,1; do
  tag=${cfg//,/-}
  build/lookahead bench -m "$SHARED/models/stories260K.gguf" --data "$SHARED/data" --limit "$limit" -n "$n" \
    -t "$threads" --lookahead "$cfg" --out "out/bench/stories260K-$tag.json" --plot "out/bench/stories260K-$tag.svg"
done
