#!/usr/bin/env bash
# Node end-to-end tests of `lookahead serve` with the official openai client.
# Installs the npm dependencies if missing, starts the server on a free
# loopback port, runs `node --test`, stops the server (always) and checks it
# exited 0 on SIGTERM.
#
#   tests/server/run.sh            # uses build/lookahead
#   LOOKAHEAD_CLI=path/to/lookahead LOOKAHEAD_SHARED_DIR=... tests/server/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cli=${LOOKAHEAD_CLI:-$root/build/lookahead}
shared=${LOOKAHEAD_SHARED_DIR:-$root/../shared}
[ -x "$cli" ] || { echo "run.sh: no CLI at $cli (build first)" >&2; exit 1; }

cd "$here"
if [ ! -f node_modules/openai/package.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

tmp=$(mktemp -d)
key="test-key-$$"
"$cli" serve -m "$shared/models/stories260K.gguf" --port 0 --api-key "$key" -np 4 \
  --chat-template-file "$shared/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja" \
  >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
cleanup() {
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

for _ in $(seq 200); do
  grep -q "listening on" "$tmp/stdout" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/stderr" >&2; echo "run.sh: server exited" >&2; exit 1; }
  sleep 0.05
done
url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/stdout")
[ -n "$url" ] || { cat "$tmp/stderr" >&2; echo "run.sh: server did not report its port" >&2; exit 1; }

status=0
LOOKAHEAD_BASE_URL="$url/v1" LOOKAHEAD_API_KEY="$key" node --test --test-concurrency=1 test/ || status=$?

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "run.sh: server exited with $rc after SIGTERM" >&2
  cat "$tmp/stderr" >&2
  status=1
fi
[ "$status" -eq 0 ] || tail -n 30 "$tmp/stderr" >&2
exit "$status"
