#!/usr/bin/env bash
# libFuzzer targets (framing + JSON-RPC dispatch, document edits vs a reference, safetensors,
# config.json, tokenizer.json, serve's HTTP request framing), deterministically: builds them, replays every committed seed
# (tests/fuzz/corpus/TARGET) and regression input (tests/fuzz/regressions/TARGET), then runs each
# target for a fixed number of inputs from a fixed seed (MASKFILL_FUZZ_RUNS, default 2000; 0
# skips it). No random exploration here: open-ended fuzzing is `scripts/fuzz.sh --minutes N`.
# The per-input time limit is 60 s, not scripts/fuzz.sh's 10 s: an input takes milliseconds, and
# on a loaded 2-core machine one once took 14 s, which must not fail the test command.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${MASKFILL_FUZZ_BUILD_DIR:-$root/build-fuzz}"
runs="${MASKFILL_FUZZ_RUNS:-2000}"
"$root/scripts/fuzz.sh" --build-only
cmake "$build" >/dev/null  # picks up regression folders added since the last configure
echo "fuzz: replaying seeds and regressions" >&2
ctest --test-dir "$build" -R '^fuzz_replay_' --output-on-failure
[[ "$runs" -gt 0 ]] || exit 0
for target in lsp_messages document_edits safetensors model_config tokenizer serve_json serve_http; do
  scratch="$(mktemp -d)"  # new inputs land here, never in the committed corpus
  log="$scratch/log"
  set +e
  "$build/fuzz/fuzz_$target" -seed=1 -runs="$runs" -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$scratch/" "$scratch" "$root/tests/fuzz/corpus/$target" >"$log" 2>&1
  status=$?
  set -e
  executed="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)"
  if [[ $status -ne 0 ]]; then
    grep -E 'ERROR|SUMMARY|fuzzer: |runtime error|Test unit written' "$log" | head -8 >&2
    mkdir -p "$root/tests/fuzz/regressions/$target"
    find "$scratch" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) \
      -exec cp {} "$root/tests/fuzz/regressions/$target/" \;
    echo "fuzz: $target failed on its fixed-seed run (seed 1, $runs runs); reproducer copied to tests/fuzz/regressions/$target/" >&2
    rm -rf "$scratch"
    exit 1
  fi
  echo "fuzz: $target: ${executed:-?} executions from seed 1, no findings" >&2
  rm -rf "$scratch"
done
