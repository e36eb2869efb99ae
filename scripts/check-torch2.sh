#!/usr/bin/env bash
# Checks the code paths written for LibTorch 2.x (scaled_dot_product_attention, the fused RMSNorm,
# the `flash` switch's prompt attention through a real flash kernel, the trainer's fused AdamW)
# on this CPU, which Debian bookworm's LibTorch 1.13 cannot: fetches Debian unstable's LibTorch 2.x into deps/libtorch2/
# (once, about 190 MB, nothing installed; scripts/fetch-unstable.sh), builds
# tests/torch2/torch2_check.cpp with the sources it checks into build-torch2/, and runs it through
# unstable's own loader and libraries. Not part of scripts/test.sh: it downloads a moving version.
# Run it before a GPU run whenever those files changed. Exit status: the check's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/deps/libtorch2"
[[ -d "$dest/root/usr/include/torch" ]] || "$root/scripts/fetch-unstable.sh" "$dest" libtorch-dev >/dev/null
libs="$dest/root/usr/lib/x86_64-linux-gnu"
# Only LibTorch's own header folders: unstable's C library headers must not replace this
# compiler's.
include="$dest/include"
mkdir -p "$include"
for folder in ATen c10 torch caffe2; do ln -sfn "$dest/root/usr/include/$folder" "$include/$folder"; done
out="$root/build-torch2"
mkdir -p "$out"
# Unstable's libraries need its newer C and C++ libraries, which the loader below supplies.
g++ -std=c++20 -O1 -I"$root" -I"$include" -I"$include/torch/csrc/api/include" \
  "$root/tests/torch2/torch2_check.cpp" "$root/inference/torch/attention_parts.cpp" \
  "$root/inference/torch/torch2_kernels.cpp" -o "$out/torch2_check" \
  -L"$libs" -Wl,--allow-shlib-undefined -Wl,-rpath-link,"$libs" -ltorch -ltorch_cpu -lc10
exec "$libs/ld-linux-x86-64.so.2" --library-path "$libs:$dest/root/usr/lib:$libs/blas:$libs/lapack" \
  "$out/torch2_check"
