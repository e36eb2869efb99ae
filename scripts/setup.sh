#!/usr/bin/env bash
# Installs what is missing from Debian and npm, then fetches the tree-sitter grammars.
# Safe to re-run: installed packages and fetched grammars are skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
packages=(g++ cmake ninja-build pkg-config ccache git ca-certificates
  libtorch-dev libopenblas0-openmp nlohmann-json3-dev libboost-dev libboost-system-dev
  libspdlog-dev libcli11-dev libdtl-dev catch2 prometheus-cpp-dev libcurl4-openssl-dev libtree-sitter-dev libpcre2-dev libssl-dev patch
  neovim tmux nodejs npm python3 clang libclang-rt-14-dev
  emacs-nox elpa-eglot
  chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev)  # tests/suites/vscode-real.sh
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
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Plain libopenblas0 (pthread variant) fights Torch's OpenMP threads; prefer the openmp variant.
if [[ -e /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 ]]; then
  update-alternatives --set libblas.so.3-x86_64-linux-gnu \
    /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 >/dev/null 2>&1 || true
fi
"$root/scripts/fetch-grammars.sh"
