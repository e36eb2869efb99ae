#!/usr/bin/env bash
# Load test of `maskfill serve` (tests/serve/load.mjs): 8 simulated editors on loopback, batched
# vs one at a time in one run; prints p50/p99, throughput ratio and RSS. Bounded in count and time.
set -euo pipefail
here="$(cd "$(dirname "$0")/../serve" && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
export MASKFILL_BUILD_DIR="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
if ! "$MASKFILL_BUILD_DIR/maskfill" serve --help >/dev/null 2>&1 || [[ ! -e "$MASKFILL_BUILD_DIR/libmaskfill_torch.so" ]]; then
  echo "serve-load: no serve command or no torch plugin in $MASKFILL_BUILD_DIR: skipped" >&2
  exit 0
fi
cd "$here"
if [[ ! -d node_modules/openai ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node load.mjs
