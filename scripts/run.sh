#!/usr/bin/env bash
# Fresh machine -> generated text: installs packages, builds, and runs
# lookahead decoding on the bundled default model (stories260K).
# Extra arguments are passed to `lookahead run` (e.g. -p "Tom and Lily").
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${LOOKAHEAD_SHARED_DIR:-$(pwd)/../shared}"
scripts/setup.sh
scripts/build.sh
if [ $# -eq 0 ]; then set -- -p "Once upon a time" -n 256 --temp 0; fi
exec build/lookahead run -m "$SHARED/models/stories260K.gguf" "$@"
