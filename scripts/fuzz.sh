#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) into build-fuzz/ (or $MASKFILL_FUZZ_BUILD_DIR)
# and runs each for SECONDS (default 300), growing a working corpus in build-fuzz/fuzz-corpus/
# seeded from tests/fuzz/corpus/. Prints executions per target; exits non-zero on any crash,
# leak, sanitizer report, timeout (a slow input is a denial of service) or out-of-memory, with
# the reproducer in build-fuzz/fuzz-artifacts/. Copy a reproducer into
# tests/fuzz/regressions/TARGET/ so the replay ctest keeps it fixed.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: lsp_messages document_edits safetensors
#                                                      model_config tokenizer
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MASKFILL_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-300}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(lsp_messages document_edits safetensors model_config tokenizer)

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (apt-get install clang)" >&2; exit 1; }
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMASKFILL_FUZZ=ON -DMASKFILL_SANITIZE=ON -DMASKFILL_TORCH=OFF >/dev/null
ninja -C "$build" -j"$(nproc)" "${targets[@]/#/fuzz_}"

dict_for() {
  case "$1" in
    lsp_messages) echo "-dict=$root/tests/fuzz/dicts/lsp.dict" ;;
    safetensors|model_config|tokenizer) echo "-dict=$root/tests/fuzz/dicts/model.dict" ;;
  esac
}

failed=0
summary=""
for target in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$target"
  artifacts="$build/fuzz-artifacts/$target/"
  log="$build/fuzz-logs/$target.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  echo "fuzz: $target for ${seconds}s" >&2
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: bounded memory per input.
  set +e
  "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts" $(dict_for "$target") \
    "$corpus" "$root/tests/fuzz/corpus/$target" >"$log" 2>&1
  status=$?
  set -e
  runs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')"
  corpus_size="$(find "$corpus" -type f | wc -l)"
  if [[ $status -ne 0 ]]; then
    failed=1
    summary+="$(printf '%-15s FAILED after %s executions (exit %d); log %s\n' "$target" "$runs" "$status" "$log")"$'\n'
    grep -E 'ERROR|SUMMARY|fuzzer: |runtime error|Test unit written' "$log" | head -8 >&2
  else
    summary+="$(printf '%-15s %10s executions in %ss, corpus %s inputs\n' "$target" "$runs" "$seconds" "$corpus_size")"$'\n'
  fi
done
echo "== fuzz summary (${seconds}s per target)"
printf '%s' "$summary"
exit $failed
