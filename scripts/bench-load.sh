#!/usr/bin/env bash
# Typing-speed load benchmark: 2,000 didChange + inlineCompletion pairs against
# $MASKFILL_BUILD_DIR/maskfill lsp (default build/); prints cheap-request p50/p99, completions
# computed vs cancelled, RSS before/after. Uses models/maskfill-tiny when present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export MASKFILL_BUILD_DIR="$(cd "${MASKFILL_BUILD_DIR:-$root/build}" && pwd)"
exec node "$root/tests/load/load.js"
