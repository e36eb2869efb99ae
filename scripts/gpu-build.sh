#!/usr/bin/env bash
# Builds maskfill on a CUDA machine against the LibTorch that ships with its PyTorch, for
# scripts/gpu-check.sh. That machine has CMake, ninja, a compiler and PyTorch but none of the
# Debian -dev packages and no network, so the few needed (spdlog, fmt, pcre2, tree-sitter,
# nlohmann-json, CLI11, Catch2, OpenSSL's libcrypto, Boost's headers for the language server and
# `maskfill serve`) and the grammar sources travel in .gpudeps/ (made by `scripts/gpu-build.sh --pack`
# on the Debian machine). Builds the binary (`maskfill lsp --device cuda` serves from the GPU),
# the torch plugin and the torch tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
deps="$root/.gpudeps"
if [[ "${1:-}" == "--pack" ]]; then
  rm -rf "$deps"; mkdir -p "$deps/debs" "$deps/root" "$deps/grammars"
  (cd "$deps/debs" && apt-get download nlohmann-json3-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 \
     libpcre2-dev libpcre2-8-0 libtree-sitter-dev libtree-sitter0 libcli11-dev libdtl-dev catch2 pkgconf pkgconf-bin libpkgconf3 \
     libssl-dev libssl3 libboost1.74-dev libboost-system1.74-dev libboost-system1.74.0 \
     prometheus-cpp-dev libprometheus-cpp-core1.0 >/dev/null)
  for f in "$deps"/debs/*.deb; do dpkg -x "$f" "$deps/root"; done
  # What the build does not read stays here, so the trip keeps room for the training corpus
  # (64 MiB in all): Boost's libraries other than the ones its sources include (162 of the 201
  # MB unpacked; the list is every library folder a header of this build's closure lies in, from
  # `ninja -t deps`, checked below against build/ when there is one), static archives the build
  # does not link, manuals and changelogs (the copyright files stay).
  # The last line: small libraries these include under other compilers' configurations, kept so
  # that a different compiler on the device machine finds them too.
  boost_used=(algorithm asio assert beast bind concept config container_hash core date_time detail exception
              intrusive io iterator logic move mp11 mpl numeric optional predef preprocessor range regex smart_ptr
              system type_traits utility
              align container endian function functional integer tuple type_index variant2)
  if [[ -f "$root/build/.ninja_deps" ]]; then
    missing=$(ninja -C "$root/build" -t deps 2>/dev/null | grep -o '/usr/include/boost/[^/ ]*/' | sort -u |
              sed 's|/usr/include/boost/||; s|/$||' | grep -vxF -f <(printf '%s\n' "${boost_used[@]}") || true)
    [[ -z "$missing" ]] || { echo "gpu-build --pack: build/ includes Boost libraries not packed: $missing" >&2; exit 1; }
  fi
  for dir in "$deps/root/usr/include/boost"/*/; do
    name="$(basename "$dir")"
    printf '%s\n' "${boost_used[@]}" | grep -qxF "$name" || rm -rf "$dir"
  done
  rm -rf "$deps/root/usr/share/man"
  find "$deps/root/usr/share/doc" -type f ! -name copyright -delete
  rm -f "$deps"/root/usr/lib/x86_64-linux-gnu/{libcrypto.a,libssl.a,libpcre2-16.a,libpcre2-32.a,libpcre2-posix.a}
  "$root/scripts/fetch-grammars.sh"
  (cd "$root/deps/grammars" && find . \( -path '*src/*' -o -path './typescript/common/*' \) \( -name '*.c' -o -name '*.h' \) -print0 |
     tar --null -cJf "$deps/grammars.tar.xz" -T -)
  (cd "$deps" && tar -cJf root.tar.xz root && rm -rf root debs)
  du -sh "$deps"; exit 0
fi
mkdir -p "$deps/unpacked"
tar -xJf "$deps/root.tar.xz" -C "$deps/unpacked"
mkdir -p "$deps/unpacked/grammars" && tar -xJf "$deps/grammars.tar.xz" -C "$deps/unpacked/grammars"
sysroot="$deps/unpacked/root"
export PKG_CONFIG_PATH="$sysroot/usr/lib/x86_64-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$sysroot"
export LD_LIBRARY_PATH="$sysroot/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
pkg_config="$(command -v pkg-config || true)"
[[ -n "$pkg_config" ]] || pkg_config="$sysroot/usr/bin/pkgconf"
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
build="${MASKFILL_BUILD_DIR:-$root/build-gpu}"
configure() {
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMASKFILL_LSP=ON \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$sysroot/usr;$sysroot/usr/lib/x86_64-linux-gnu/cmake" \
    -DMASKFILL_GRAMMARS_DIR="$deps/unpacked/grammars" -DPKG_CONFIG_EXECUTABLE="$pkg_config" "$@"
}
# Only the targets the GPU check runs: the binary (language server, serve, benches), the torch
# plugin and the torch tests; with --trainer (scripts/gpu-train.sh) not the tests.
targets=(maskfill maskfill_torch maskfill_torch_tests)
[[ "${1:-}" == "--trainer" ]] && targets=(maskfill maskfill_torch)
configure -DMASKFILL_NO_TORCH2_KERNELS=OFF -DMASKFILL_NO_CUDA_GRAPHS=OFF
if ! ninja -C "$build" -j"$(nproc)" "${targets[@]}"; then
  # The CUDA graph runner and the fused kernels (torch2_kernels.cpp) are the parts written
  # against LibTorch 2.x's CUDA API, which no CPU build compiles: without them the rest still
  # builds and runs, so drop them one at a time rather than lose the run.
  echo "gpu-build: build failed; retrying without the CUDA graph runner" >&2
  configure -DMASKFILL_NO_CUDA_GRAPHS=ON
  if ! ninja -C "$build" -j"$(nproc)" "${targets[@]}"; then
    echo "gpu-build: build failed; retrying without the LibTorch 2.x kernels" >&2
    configure -DMASKFILL_NO_TORCH2_KERNELS=ON
    ninja -C "$build" -j"$(nproc)" "${targets[@]}"
  fi
fi
