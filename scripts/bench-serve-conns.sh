#!/usr/bin/env bash
# Connection-flood benchmark of `maskfill serve` (tests/serve/conns.mjs), loopback only; prints
# JSON: (a) a keyed completion's p99 while 1,000 sockets trickle a byte every 3 s, against its
# idle p99 (goal: ratio <= 2); (b) 10,000 idle connections held, then keyed requests (goal: no
# 503). Not part of the test command: the numbers depend on the machine. Sizes:
# MASKFILL_BENCH_TRICKLERS, MASKFILL_BENCH_TRICKLE_MS, MASKFILL_BENCH_IDLE, MASKFILL_BENCH_SAMPLES.
#
#   MASKFILL_BUILD_DIR=build scripts/bench-serve-conns.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export MASKFILL_BUILD_DIR="$(cd "${MASKFILL_BUILD_DIR:-$root/build}" && pwd)"
if ! "$MASKFILL_BUILD_DIR/maskfill" serve --help >/dev/null 2>&1 || [[ ! -e "$MASKFILL_BUILD_DIR/libmaskfill_torch.so" ]]; then
  echo "bench-serve-conns: no serve command or no torch plugin in $MASKFILL_BUILD_DIR" >&2
  exit 1
fi
# Each connection is a descriptor on both ends (the server raises its own limit to the hard one).
idle="${MASKFILL_BENCH_IDLE:-10000}"
ulimit -n "$(ulimit -Hn)"
if [[ "$(ulimit -n)" != unlimited && "$(ulimit -n)" -lt $((idle + 1024)) ]]; then
  echo "bench-serve-conns: ulimit -Hn $(ulimit -Hn) is too low for $idle idle connections (MASKFILL_BENCH_IDLE)" >&2
  exit 1
fi
cd "$root/tests/serve"
[[ -d node_modules/openai ]] || npm ci --no-audit --no-fund --loglevel=error
exec node conns.mjs
