#!/usr/bin/env bash
# ASan+UBSan build (build-asan/, or $MASKFILL_ASAN_BUILD_DIR) of everything but the torch plugin
# (LibTorch is not instrumented), then: the unit tests (ctest), the end-to-end LSP test and the
# hostile-input suite against the instrumented `maskfill lsp`. Any sanitizer report from any
# process fails the suite: reports are collected through log_path, so a server crash that a
# client script would only see as a closed pipe is still caught and printed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${MASKFILL_ASAN_BUILD_DIR:-$root/build-asan}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMASKFILL_SANITIZE=ON -DMASKFILL_TORCH=OFF >/dev/null
ninja -C "$build" -j"$(nproc)"

reports="$build/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"

status=0
echo "sanitizers: unit tests" >&2
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" || status=1
echo "sanitizers: end-to-end LSP test" >&2
MASKFILL_BUILD_DIR="$build" "$root/tests/suites/e2e-lsp.sh" || status=1
echo "sanitizers: hostile input" >&2
MASKFILL_BUILD_DIR="$build" MASKFILL_HOSTILE_SANITIZED=1 "$root/tests/suites/hostile.sh" || status=1

if compgen -G "$reports/*" >/dev/null; then
  echo "sanitizers: reports found:" >&2
  for report in "$reports"/*; do
    echo "---- $report" >&2
    # Frames only, without the long template arguments, so the log stays readable.
    grep -E 'ERROR|SUMMARY|runtime error|^    #[0-9]+ .* in |freed by|allocated by' "$report" | grep -vE ' in (std::|__gnu_cxx::|nlohmann::)' |
      head -30 | cut -c1-240 >&2
  done
  status=1
fi
[[ $status -eq 0 ]] && echo "sanitizers: all clean" >&2
exit $status
