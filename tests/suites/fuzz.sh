#!/usr/bin/env bash
# libFuzzer targets (framing + JSON-RPC dispatch, document edits vs a reference, safetensors,
# config.json, tokenizer.json): replays every seed and regression input, then fuzzes each target
# for a bounded time (MASKFILL_FUZZ_SECONDS, default 20). Fails on any crash. Longer runs:
# scripts/fuzz.sh SECONDS.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${MASKFILL_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${MASKFILL_FUZZ_SECONDS:-20}"
"$root/scripts/fuzz.sh" "$seconds"
echo "fuzz: replaying seeds and regressions" >&2
ctest --test-dir "$build" -R '^fuzz_replay_' --output-on-failure
