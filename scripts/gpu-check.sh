#!/usr/bin/env bash
# GPU check for the inference engine (issue 3, item 8), one script, about 8 minutes at most on
# a CUDA machine with PyTorch 2.x, transformers and 16 cores, and no internet:
#   (a) build maskfill against the PyTorch-bundled LibTorch (in the background, niced),
#   (b) parity on CUDA: the Python reference vs the committed fixtures and vs transformers'
#       LlamaForCausalLM with a custom 4D block-causal mask; the C++ torch tests if built,
#   (c) an 8B-shape model with random bf16 weights: ms per 4-token block forward at cached
#       prefix 128/512/2048 vs the memory-bandwidth roofline, the official-style generate_block
#       loop and AR greedy (Python reference), then `maskfill bench decode --device cuda`.
# Everything is printed, and copied to $OUT/gpu-check.log when $OUT is set. Exit 0 when every
# check that could run passed (steps that cannot run are reported as SKIPPED).
#
# Usage:
#   scripts/gpu-build.sh --pack        HERE first (Debian): packs the build dependencies and
#                                      grammar sources into .gpudeps/ (scripts/gpu-build.sh)
#   scripts/gpu-check.sh               THERE, e.g. through the device tool's `run` (carry
#                                      [".gpudeps"] if it is git-ignored), timeout_s 540
#   scripts/gpu-check.sh --cpu-smoke   anywhere: steps (b) and (c) on CPU with tiny shapes
# Options: --skip-build, --with-build, --budget SECONDS (default 470). The C++ torch tests get
# MASKFILL_TEST_DEVICE=cuda|cpu and MASKFILL_PARITY_FIXTURES in their environment.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-gpu"
budget=470
mode=gpu
skip_build=0
while (($#)); do
  case "$1" in
    --cpu-smoke) mode=cpu; skip_build=1 ;;
    --skip-build) skip_build=1 ;;
    --with-build) skip_build=0 ;;  # after --cpu-smoke: test the build plumbing on CPU
    --budget) budget="$2"; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ -n "${OUT:-}" ]]; then
  mkdir -p "$OUT"
  exec > >(tee -a "$OUT/gpu-check.log") 2>&1
fi
start=$(date +%s)
deadline=$((start + budget))
remaining() { echo $((deadline - $(date +%s))); }
failures=0
summary=()
note() { summary+=("$1"); echo "== $1"; }
section() { echo; echo "==== $1 (t+$(( $(date +%s) - start ))s, $(remaining)s left)"; }

python=""
for candidate in "${PYTHON:-}" python3 /usr/bin/python3; do
  if [[ -n "$candidate" ]] && "$candidate" -c 'import torch' 2>/dev/null; then python="$candidate"; break; fi
done
if [[ -z "$python" ]]; then echo "gpu-check: no python3 with torch" >&2; exit 1; fi
device=cuda; [[ $mode == cpu ]] && device=cpu

section "machine"
date -u
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>/dev/null \
  || echo "nvidia-smi: not available"
nproc; (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
"$python" - <<'EOF'
import sys, torch
print("python", sys.version.split()[0], "| torch", torch.__version__, "| cuda", torch.version.cuda,
      "| cuda available", torch.cuda.is_available())
try:
    import transformers; print("transformers", transformers.__version__)
except ImportError:
    print("transformers: not installed")
EOF
if [[ $device == cuda ]] && ! "$python" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "gpu-check: CUDA is not available to torch; use --cpu-smoke for a CPU run" >&2
  exit 1
fi

# ---------------------------------------------------------------- (a) build, in the background
build_pid=""
if ((skip_build)); then
  note "build: SKIPPED (--skip-build/--cpu-smoke)"
elif [[ ! -x "$root/scripts/gpu-build.sh" ]]; then
  note "build: SKIPPED (no scripts/gpu-build.sh)"
else
  section "(a) scripts/gpu-build.sh against the PyTorch-bundled LibTorch (background, niced)"
  missing=()
  for tool in cmake ninja c++; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  build_timeout=$(( $(remaining) - 230 ))
  ((build_timeout > 300)) && build_timeout=300
  if ((${#missing[@]})); then
    note "build: SKIPPED, missing ${missing[*]}"
  elif ((build_timeout < 60)); then
    note "build: SKIPPED, no time left in the budget"
  else
    mkdir -p "$build"
    echo "build log: $build/build.log (limit ${build_timeout}s)"
    MASKFILL_BUILD_DIR="$build" TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}" \
      timeout "$build_timeout" nice -n 19 "$root/scripts/gpu-build.sh" >"$build/build.log" 2>&1 &
    build_pid=$!
  fi
fi

# ---------------------------------------------------------------- (b) parity (Python)
section "(b) parity: Python reference on $device vs fixtures and transformers"
if timeout $(( $(remaining) > 200 ? 150 : 60 )) "$python" "$root/tests/reference/gpu_check.py" parity --device "$device"; then
  note "python parity: ok"
else
  note "python parity: FAILED (see above)"; failures=$((failures + 1))
fi

built=0
if [[ -n "$build_pid" ]]; then
  section "(a) waiting for the build"
  if wait "$build_pid"; then
    built=1; note "build: ok ($build)"
  else
    note "build: FAILED or timed out (last lines below; full log $build/build.log)"
    tail -n 25 "$build/build.log"
  fi
  [[ -n "${OUT:-}" ]] && cp "$build/build.log" "$OUT/build.log" 2>/dev/null
fi
if ((!built)) && ((skip_build)) && [[ -x "$build/maskfill" ]]; then built=1; note "build: reusing $build"; fi
torch_lib="$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LD_LIBRARY_PATH="$torch_lib:$root/.gpudeps/unpacked/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# ---------------------------------------------------------------- (c) timing (Python reference)
section "(c) 8B-shape timing with the Python reference (random bf16 weights)"
if [[ $device == cuda ]]; then
  bench_args=(--shape 8b)
else
  bench_args=(--shape tiny --cache-sizes 32,128 --gen-length 16 --loop-prompt 40 --repeats 5 --copy-bytes 67108864)
fi
if timeout $(( $(remaining) > 240 ? 180 : $(remaining) / 2 )) "$python" "$root/tests/reference/gpu_check.py" bench --device "$device" "${bench_args[@]}"; then
  note "python 8B-shape timing: done"
else
  note "python 8B-shape timing: FAILED or timed out"; failures=$((failures + 1))
fi

# ---------------------------------------------------------------- C++ parity tests and bench
section "(b) C++ torch tests on $device"
tests_bin="$build/tests/torch/maskfill_torch_tests"
if ((built)) && [[ -x "$tests_bin" ]]; then
  if MASKFILL_TEST_DEVICE=$device MASKFILL_PARITY_FIXTURES="$root/tests/fixtures/parity" \
     timeout $(( $(remaining) > 120 ? 90 : 30 )) "$tests_bin"; then
    note "C++ torch tests ($device): ok"
  else
    note "C++ torch tests ($device): FAILED"; failures=$((failures + 1))
  fi
else
  note "C++ torch tests: SKIPPED (no $tests_bin)"
fi

section "(c) maskfill bench decode --device $device"
if ((built)) && [[ -x "$build/maskfill" ]]; then
  if timeout $(( $(remaining) > 60 ? $(remaining) - 10 : 30 )) "$build/maskfill" bench decode --device "$device"; then
    note "maskfill bench decode: done"
    if [[ $device == cuda ]] && timeout $(( $(remaining) > 60 ? $(remaining) - 5 : 30 )) \
         "$build/maskfill" bench decode --device cuda --dtype bfloat16 --shape 8b --repeats 20; then
      note "maskfill bench decode --shape 8b: done"
    else
      note "maskfill bench decode --shape 8b: FAILED, timed out or skipped"
    fi
  else
    note "maskfill bench decode: FAILED or timed out"; failures=$((failures + 1))
  fi
else
  note "maskfill bench decode: SKIPPED (no $build/maskfill)"
fi

section "summary"
printf '%s\n' "${summary[@]}"
echo "gpu-check finished in $(( $(date +%s) - start ))s with $failures failure(s)"
exit $((failures > 0))
