#!/usr/bin/env bash
# Tokenizer parity: maskfill's C++ tokenizer against @huggingface/tokenizers (pinned in
# tests/tokenizer-parity/package.json) on every tests/fixtures/tokenizers/*/tokenizer.json and,
# when present, the bundled model's tokenizer: identical ids and decoded text over hard strings,
# added tokens inside text and real source files.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${MASKFILL_BUILD_DIR:-$root/build}"
command -v node >/dev/null || { echo "tokenizer-parity: node not found" >&2; exit 1; }
[[ -x "$build/maskfill" ]] || { echo "tokenizer-parity: $build/maskfill not built" >&2; exit 1; }
build="$(cd "$build" && pwd)"
cd "$root/tests/tokenizer-parity"
npm ci --no-audit --no-fund --loglevel=error >&2
node parity.mjs "$build/maskfill"
