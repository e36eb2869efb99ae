#!/usr/bin/env bash
# The README's test command: setup, build, then every test suite (unit, parity, end-to-end,
# editor clients). Safe to re-run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MASKFILL_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh" --profile test
"$root/scripts/build.sh" -DMASKFILL_TESTS=ON -DMASKFILL_VSIX=ON -DMASKFILL_TRAINER=ON  # ON again after a demo build
echo "== unit tests (ctest)" >&2
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
for suite in "$root"/tests/suites/*.sh; do
  [[ -e "$suite" ]] || continue
  echo "== $(basename "$suite")" >&2
  MASKFILL_BUILD_DIR="$build" "$suite"
done
echo "all tests passed" >&2
