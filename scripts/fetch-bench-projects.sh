#!/usr/bin/env bash
# Prints, one per line, the folders of the held-out multi-file projects the benchmarks run on
# (`bench context`, `bench next-edit`): Debian source packages in the corpus's validation split
# (training/packages.txt; the split is a salted hash of the package name, checked with
# training/corpus.cpp's split_for_package), so the bundled model never saw them. Downloads about
# 3.5 MB of .debs once into runs/bench-context/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/runs/bench-context"
packages=(python3-attr python3-pygments golang-github-google-go-cmp-dev golang-github-antonmedv-expr-dev
          librust-csv-dev librust-bat-dev node-browserify node-body-parser libcli11-dev nlohmann-json3-dev)
mkdir -p "$work/debs" "$work/pkgs"
for package in "${packages[@]}"; do
  if [[ ! -d "$work/pkgs/$package" ]]; then
    ls "$work/debs/${package}_"*.deb >/dev/null 2>&1 || (cd "$work/debs" && apt-get download "$package" >&2)
    mkdir -p "$work/pkgs/$package.tmp"
    dpkg-deb -x "$work/debs/${package}_"*.deb "$work/pkgs/$package.tmp"
    mv "$work/pkgs/$package.tmp" "$work/pkgs/$package"
  fi
  echo "$work/pkgs/$package"
done
