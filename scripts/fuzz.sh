#!/usr/bin/env bash
# Open-ended fuzzing (not part of scripts/test.sh, which only replays committed inputs).
# Builds the libFuzzer targets (clang, ASan+UBSan) into build-fuzz/ (or $MASKFILL_FUZZ_BUILD_DIR)
# and runs each for the given time, growing a working corpus in build-fuzz/fuzz-corpus/ seeded
# from tests/fuzz/corpus/. Prints executions per target; exits non-zero on any crash, leak,
# sanitizer report, timeout (a slow input is a denial of service) or out-of-memory. Every
# reproducer is copied into tests/fuzz/regressions/TARGET/ so that the replay test of
# scripts/test.sh keeps it fixed: commit it with the fix.
#
#   scripts/fuzz.sh [--minutes N | SECONDS] [--build-only] [--no-build] [--seed N] [TARGET...]
#   targets: lsp_messages document_edits safetensors model_config tokenizer serve_json serve_http (default: all)
#
# Default: 5 minutes per target. --seed fixes libFuzzer's seed (default: random, printed in the log).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MASKFILL_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds=300
build_only=0
no_build=0
seed=""
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) seconds=$(( $2 * 60 )); shift 2 ;;
    --minutes=*) seconds=$(( ${1#--minutes=} * 60 )); shift ;;
    --seconds) seconds="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --no-build) no_build=1; shift ;;
    --seed) seed="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9]*) seconds="$1"; shift ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all_targets=(lsp_messages document_edits safetensors model_config tokenizer serve_json serve_http)
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $target "* ]] || { echo "fuzz: unknown target $target (${all_targets[*]})" >&2; exit 2; }
done

if [[ $no_build -eq 0 ]]; then
  command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (apt-get install clang)" >&2; exit 1; }
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMASKFILL_FUZZ=ON -DMASKFILL_SANITIZE=ON -DMASKFILL_TORCH=OFF >/dev/null
  ninja -C "$build" -j"$(nproc)" "${targets[@]/#/fuzz_}" >&2
fi
[[ $build_only -eq 0 ]] || exit 0

dict_for() {
  case "$1" in
    lsp_messages) echo "-dict=$root/tests/fuzz/dicts/lsp.dict" ;;
    safetensors|model_config|tokenizer) echo "-dict=$root/tests/fuzz/dicts/model.dict" ;;
    serve_json) echo "-dict=$root/tests/fuzz/dicts/serve.dict" ;;
    serve_http) echo "-dict=$root/tests/fuzz/dicts/http.dict" ;;
  esac
}

failed=0
summary=""
for target in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$target"
  artifacts="$build/fuzz-artifacts/$target/"
  log="$build/fuzz-logs/$target.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  echo "fuzz: $target for ${seconds}s (log $log)" >&2
  before="$(find "$artifacts" -type f | sort)"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: bounded memory per input.
  set +e
  "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts" ${seed:+-seed=$seed} $(dict_for "$target") \
    "$corpus" "$root/tests/fuzz/corpus/$target" >"$log" 2>&1
  status=$?
  set -e
  runs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)"
  used_seed="$(grep -oE 'Seed: [0-9]+' "$log" | head -1 | grep -oE '[0-9]+' || true)"
  corpus_size="$(find "$corpus" -type f | wc -l)"
  # Every new reproducer becomes a regression input (the replay test then fails until fixed).
  new_findings=()
  while IFS= read -r artifact; do
    [[ -n "$artifact" ]] || continue
    mkdir -p "$root/tests/fuzz/regressions/$target"
    cp "$artifact" "$root/tests/fuzz/regressions/$target/"
    new_findings+=("tests/fuzz/regressions/$target/$(basename "$artifact")")
  done < <(comm -13 <(printf '%s\n' "$before") <(find "$artifacts" -type f | sort))
  if [[ $status -ne 0 ]]; then
    failed=1
    summary+="$(printf '%-15s FAILED after %s executions (exit %d, seed %s); log %s' "$target" "${runs:-?}" "$status" "${used_seed:-?}" "$log")"$'\n'
    grep -E 'ERROR|SUMMARY|fuzzer: |runtime error|Test unit written' "$log" | head -8 >&2
  else
    summary+="$(printf '%-15s %10s executions in %ss (seed %s), corpus %s inputs' "$target" "${runs:-?}" "$seconds" "${used_seed:-?}" "$corpus_size")"$'\n'
  fi
  for finding in "${new_findings[@]}"; do
    summary+="  new regression input: $finding (commit it with the fix)"$'\n'
  done
done
echo "== fuzz summary (${seconds}s per target)"
printf '%s' "$summary"
exit $failed
