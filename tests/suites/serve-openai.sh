#!/usr/bin/env bash
# `maskfill serve` driven by the official openai npm client (tests/serve/openai.test.mjs).
set -euo pipefail
here="$(cd "$(dirname "$0")/../serve" && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
export MASKFILL_BUILD_DIR="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
if [[ ! -x "$MASKFILL_BUILD_DIR/maskfill" ]] || ! "$MASKFILL_BUILD_DIR/maskfill" serve --help >/dev/null 2>&1; then
  echo "serve-openai: $MASKFILL_BUILD_DIR/maskfill has no serve command (MASKFILL_LSP=OFF build)" >&2
  exit 0
fi
if [[ ! -e "$MASKFILL_BUILD_DIR/libmaskfill_torch.so" ]]; then
  echo "serve-openai: no torch plugin in $MASKFILL_BUILD_DIR (sanitizer build): skipped" >&2
  exit 0
fi
cd "$here"
if [[ ! -d node_modules/openai ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node openai.test.mjs
