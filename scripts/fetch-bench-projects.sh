#!/usr/bin/env bash
# Prints, one per line, the folders of the held-out multi-file projects the benchmarks run on
# (`bench context`, `bench next-edit`): Debian source packages in the corpus's validation split
# (training/packages.txt; the split is a salted hash of the package name, checked with
# training/corpus.cpp's split_for_package), so the bundled model never saw them. Downloads about
# 3.5 MB of .debs once into runs/bench-context/.
#
# --more-languages adds six projects for the languages the set above barely has (C, Java,
# TypeScript, TSX), about 5 MB more. None is in training/packages.txt, so the corpus never held
# them: uwsgi-src (C), bsh-src (BeanShell, Java; its sources are a tarball in the package),
# ceph-mgr-dashboard (the Angular front end's shared folder, TypeScript) and, from npm at pinned
# versions, the sources of @tanstack/react-query, @tanstack/react-router and react-aria-components
# (React components, hooks and tests, TSX).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/runs/bench-context"
packages=(python3-attr python3-pygments golang-github-google-go-cmp-dev golang-github-antonmedv-expr-dev
          librust-csv-dev librust-bat-dev node-browserify node-body-parser libcli11-dev nlohmann-json3-dev)
mkdir -p "$work/debs" "$work/pkgs"

# Downloads and unpacks a package once; prints its folder.
unpack() {
  local package="$1"
  if [[ ! -d "$work/pkgs/$package" ]]; then
    ls "$work/debs/${package}_"*.deb >/dev/null 2>&1 || (cd "$work/debs" && apt-get download "$package" >&2)
    rm -rf "$work/pkgs/$package.tmp"
    mkdir -p "$work/pkgs/$package.tmp"
    dpkg-deb -x "$work/debs/${package}_"*.deb "$work/pkgs/$package.tmp"
    # A package that ships its sources as a tarball (bsh-src) is unpacked one level further.
    # (Only where it has usr/src: find fails on a missing folder, and pipefail would end the script.)
    if [[ -d "$work/pkgs/$package.tmp/usr/src" ]]; then
      find "$work/pkgs/$package.tmp/usr/src" -name '*.tar.gz' | while read -r tarball; do
        tar -xzf "$tarball" -C "$(dirname "$tarball")" && rm "$tarball"
      done
    fi
    mv "$work/pkgs/$package.tmp" "$work/pkgs/$package"
  fi
  echo "$work/pkgs/$package"
}

for package in "${packages[@]}"; do unpack "$package"; done
# Downloads and unpacks an npm package once (npm pack: no install, no scripts run); prints its folder.
unpack_npm() {
  local spec="$1" folder="$work/pkgs/npm-${1//[@\/]/-}"
  if [[ ! -d "$folder" ]]; then
    command -v npm >/dev/null || { echo "fetch-bench-projects: npm is needed for $spec (scripts/setup.sh)" >&2; exit 1; }
    rm -rf "$folder.tmp" && mkdir -p "$folder.tmp"
    local tarball
    tarball="$(cd "$work/debs" && npm pack --json "$spec" 2>/dev/null | sed -n 's/.*"filename": "\(.*\)".*/\1/p')"
    tar -xzf "$work/debs/$tarball" -C "$folder.tmp"
    mv "$folder.tmp" "$folder"
  fi
  echo "$folder"
}

if [[ "${1:-}" == "--more-languages" ]]; then
  echo "$(unpack uwsgi-src)/usr/src/uwsgi"
  echo "$(unpack bsh-src)/usr/src/bsh-src"
  echo "$(unpack ceph-mgr-dashboard)/usr/share/ceph/mgr/dashboard/frontend/src/app/shared"
  echo "$(unpack_npm @tanstack/react-query@5.59.0)/package/src"
  echo "$(unpack_npm @tanstack/react-router@1.58.3)/package/src"
  echo "$(unpack_npm react-aria-components@1.4.0)/package/src"
fi
