#!/usr/bin/env bash
# Checks the code paths written for LibTorch 2.x (scaled_dot_product_attention, the fused RMSNorm,
# the `flash` switch's prompt attention through a real flash kernel, the trainer's fused AdamW)
# on this CPU, which Debian bookworm's LibTorch 1.13 cannot: fetches Debian unstable's LibTorch 2.x
# into deps/libtorch2/ (once, about 190 MB, nothing installed; scripts/fetch-unstable.sh), builds
# tests/torch2/torch2_check.cpp with the sources it checks into build-torch2/, and runs it through
# unstable's own loader and libraries. Not part of scripts/test.sh: it downloads a moving version.
# Run it before a GPU run whenever those files changed. Exit status: the checks'.
#
#   scripts/check-torch2.sh            the kernels' check (about 1 minute once fetched)
#   scripts/check-torch2.sh --parity   also builds the torch tests against LibTorch 2.x and runs
#                                      the parity, switch and decode tests with CUDA's default
#                                      switches and with all of them (about 5 minutes with a warm
#                                      ccache, longer cold)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
parity=0
case "${1:-}" in
  --parity) parity=1 ;;
  "") ;;
  *) echo "check-torch2: unknown option $1 (--parity)" >&2; exit 2 ;;
esac
dest="$root/deps/libtorch2"
[[ -d "$dest/root/usr/include/torch" ]] || "$root/scripts/fetch-unstable.sh" "$dest" libtorch-dev >/dev/null
libs="$dest/root/usr/lib/x86_64-linux-gnu"
# Only LibTorch's own header folders stay: unstable's C library headers must not replace this
# compiler's (the rest moves aside, once).
include="$dest/root/usr/include"
mkdir -p "$dest/root/usr/include.unused"
for path in "$include"/*; do
  case "$(basename "$path")" in ATen|c10|torch|caffe2|kineto) ;; *) mv "$path" "$dest/root/usr/include.unused/" ;; esac
done
# Unstable's libraries need its newer C and C++ libraries: the loader supplies them at run time,
# and the linker is told not to resolve their symbols against this machine's.
link_flags="-Wl,--allow-shlib-undefined -Wl,-rpath-link,$libs:$dest/root/usr/lib"
run() { "$libs/ld-linux-x86-64.so.2" --library-path "$libs:$dest/root/usr/lib:$libs/blas:$libs/lapack:/usr/lib/x86_64-linux-gnu" "$@"; }
out="$root/build-torch2"
mkdir -p "$out"
g++ -std=c++20 -O1 -I"$root" -I"$include" -I"$include/torch/csrc/api/include" \
  "$root/tests/torch2/torch2_check.cpp" "$root/inference/torch/attention_parts.cpp" \
  "$root/inference/torch/torch2_kernels.cpp" -o "$out/torch2_check" -L"$libs" $link_flags -ltorch -ltorch_cpu -lc10
status=0
run "$out/torch2_check" || status=1
((parity)) || exit $status

# The project's torch tests against LibTorch 2.x. Its CMake files look in the system's folders
# first, where bookworm's LibTorch 1.13 lives, so every piece is named: a prefix whose include/
# and lib/ are unstable's, and the Torch and Caffe2 package folders.
prefix="$dest/prefix"
mkdir -p "$prefix"
ln -sfn "$include" "$prefix/include"
ln -sfn "$libs" "$prefix/lib"
TORCH_INSTALL_PREFIX="$prefix" cmake -S "$root" -B "$out/project" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMASKFILL_TESTS=ON -DMASKFILL_TRAINER=ON -DTorch_DIR="$libs/cmake/Torch" -DCaffe2_DIR="$libs/cmake/Caffe2" \
  -DTORCH_LIBRARY="$libs/libtorch.so" -Dc10_LIBRARY="$libs/libc10.so" -DCMAKE_CXX_FLAGS=-Wno-deprecated-declarations \
  -DCMAKE_EXE_LINKER_FLAGS="$link_flags" -DCMAKE_SHARED_LINKER_FLAGS="$link_flags" >"$out/configure.log" 2>&1 ||
  { tail -n 20 "$out/configure.log"; exit 1; }
# (Catch's test listing after the link runs the binary without unstable's loader and complains
# in the log; that does not fail the build.)
ninja -C "$out/project" maskfill_torch_tests >"$out/build.log" 2>&1 || { tail -n 20 "$out/build.log"; exit 1; }
for switches in merged,rope,sdpa,norm,step all; do
  echo "== torch tests with MASKFILL_SWITCHES=$switches"
  MASKFILL_SWITCHES="$switches" run "$out/project/tests/torch/maskfill_torch_tests" '[parity],[switches],[decode]' \
    2>/dev/null | tail -n 2 || status=1
done
exit $status
