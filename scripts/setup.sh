#!/usr/bin/env bash
# Installs what is missing from Debian and npm, then fetches the tree-sitter grammars.
# Safe to re-run: installed packages and fetched grammars are skipped.
#   --profile demo   what building and running maskfill needs (scripts/demo.sh)
#   --profile test   that plus the test tools: editors (and Neovim 0.12 into deps/), browsers,
#                    clang (scripts/test.sh; default)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
profile=test
while (($#)); do
  case "$1" in
    --profile) profile="${2:-}"; shift 2 ;;
    *) echo "setup: unknown argument $1 (use --profile demo|test)" >&2; exit 2 ;;
  esac
done
# Build and run: the compiler, the libraries, and curl for the pinned grammars (no Node: the
# grammars' tarballs come straight from the npm registry, scripts/fetch-grammars.sh).
packages=(g++ cmake ninja-build pkg-config ccache git ca-certificates curl
  libtorch-dev libopenblas0-openmp nlohmann-json3-dev libboost-dev libboost-system-dev
  libspdlog-dev libcli11-dev libdtl-dev prometheus-cpp-dev libcurl4-openssl-dev libtree-sitter-dev libpcre2-dev libssl-dev patch)
case "$profile" in
  demo) ;;
  test) packages+=(nodejs npm  # the LSP, serve and editor suites' clients; the .vsix
          catch2 neovim tmux python3 clang libclang-rt-14-dev  # unit tests, nvim suites, fuzzers
          emacs-nox elpa-eglot                                          # tests/suites/eglot.sh
          chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev  # tests/suites/vscode-real.sh
          debootstrap) ;;                                               # tests/suites/package.sh
  *) echo "setup: unknown profile '$profile' (demo or test)" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from outside Debian (nvm, nodesource): accept them if they run.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=(); [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  # apt's progress goes to stderr: the demo's stdout carries only its results.
  "${sudo_cmd[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
# Plain libopenblas0 (pthread variant) fights Torch's OpenMP threads; prefer the openmp variant.
if [[ -e /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 ]]; then
  update-alternatives --set libblas.so.3-x86_64-linux-gnu \
    /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 >/dev/null 2>&1 || true
fi
"$root/scripts/fetch-grammars.sh"
# Neovim 0.12 beside Debian's 0.7.2: the Neovim suites run both (native inline completion).
if [[ "$profile" == test ]]; then "$root/scripts/fetch-neovim.sh" >/dev/null; fi
