#!/usr/bin/env bash
# `maskfill serve` under attack (issue #23): tests/serve/hostile.mjs drives the real binary with
# the bundled model through every class of hostile input, prints the table (class | cases |
# result | detail) to stderr and the memory figures of a 32 x 4 MB burst as JSON to stdout.
# Bounded: MASKFILL_HOSTILE_BUDGET_S (default 170 s). Needs node; no npm packages.
set -euo pipefail
here="$(cd "$(dirname "$0")/../serve" && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
export MASKFILL_BUILD_DIR="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
command -v node >/dev/null || { echo "serve-hostile: node not found" >&2; exit 1; }
if [[ ! -x "$MASKFILL_BUILD_DIR/maskfill" ]] || ! "$MASKFILL_BUILD_DIR/maskfill" serve --help >/dev/null 2>&1; then
  echo "serve-hostile: $MASKFILL_BUILD_DIR/maskfill has no serve command (MASKFILL_LSP=OFF build)" >&2
  exit 0
fi
if [[ ! -e "$MASKFILL_BUILD_DIR/libmaskfill_torch.so" ]]; then
  echo "serve-hostile: no torch plugin in $MASKFILL_BUILD_DIR (sanitizer build): skipped" >&2
  exit 0
fi
exec node "$here/hostile.mjs" "$@"
