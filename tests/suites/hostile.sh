#!/usr/bin/env bash
# Hostile input, session faults and broken model directories against
# $MASKFILL_BUILD_DIR/maskfill (tests/hostile/), then the typing-speed load benchmark
# (tests/load/load.js; prints numbers). Node scripts without npm dependencies.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
export MASKFILL_BUILD_DIR="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
command -v node >/dev/null || { echo "hostile: node not found" >&2; exit 1; }
[[ -x "$MASKFILL_BUILD_DIR/maskfill" ]] || { echo "hostile: $MASKFILL_BUILD_DIR/maskfill not built" >&2; exit 1; }

status=0
cd "$root/tests/hostile"
echo "hostile: protocol input" >&2
node hostile.js || status=1
echo "hostile: session faults" >&2
node faults.js || status=1
echo "hostile: model directory faults" >&2
node model_faults.js || status=1
echo "hostile: typing-speed load" >&2
if [[ "${MASKFILL_HOSTILE_SANITIZED:-}" == 1 ]]; then
  # Under ASan the timings mean nothing; a shorter run still checks every answer and the sync.
  MASKFILL_LOAD_PAIRS=400 node "$root/tests/load/load.js" || status=1
else
  node "$root/tests/load/load.js" || status=1
fi
exit $status
