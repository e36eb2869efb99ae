#!/usr/bin/env bash
# Fetches the tree-sitter grammars from the npm registry at pinned versions into
# deps/grammars/<name>: each package's tarball straight from the registry with curl, checked
# against its pinned sha512 (the registry's `dist.integrity`, in hex for sha512sum), so building
# needs neither Node nor npm. Versions are the newest whose generated parser has LANGUAGE_VERSION 14, the newest ABI
# that Debian bookworm's libtree-sitter 0.20.7 loads. Safe to re-run: present grammars are kept.
# MASKFILL_NPM_REGISTRY points at a mirror.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/deps/grammars"
registry="${MASKFILL_NPM_REGISTRY:-https://registry.npmjs.org}"
mkdir -p "$dest"
grammars=(
  "python tree-sitter-python@0.23.6 c8833dcf4a31288c53edb02d3ce860a1597a8135e59a5221b9eee58854f8a013c5fe585aec76b8750052f3602fea130c459a159c5248f0cea62fe4b05a82c3dc"
  "javascript tree-sitter-javascript@0.23.1 fdb9e16eb4c3f5fad46074138989cf731c87391230d79ec44416ba76acda2b1bd1ff1dcf0b863377e0f5a5920c4baccd836bf76bc059d282bb8c7aac428f5f58"
  "typescript tree-sitter-typescript@0.23.2 7b4e095142b14d3e77ff1dd4ab5cc82f8e43a182957c71f8099ab081984f839a9844e9799d08d5fbce6bb85cc5199c6ef9078555b4533c3467a8bf546d4e1578"
  "c tree-sitter-c@0.23.6 d1dc572b39d5c94034b3a3e336894936cdb217cecee5a2f9dfc03f791ea78c0e68a97dc2def1f8be7c7741d38ac2e51da4a11c15d1ee883a5128b2c203fb63bd"
  "cpp tree-sitter-cpp@0.23.4 a91e6a503ca16798c9e95f3fba6881c689116def3d6c21a672afdd93de3023890df3aa9f755f24d061c850429aa9681cbb8db029a97913decb2a92de556f2c2b"
  "go tree-sitter-go@0.23.4 89068712ce3231afe1328fd9086a8b7c6eb51749a28a750b5357c587e199ade091b4aca514bb6f9fbf7ca1c0998cedabfee9e0359800635b3584f17203091cef"
  "rust tree-sitter-rust@0.23.3 b8b7592752b6e84b894c1309973d65b53960ee72720184e17e8b9782281fe62c4a39ab0e2f9c0dad10a9b964ec97aac370a9592bd517f9a9e714ba8ffe4721c1"
  "java tree-sitter-java@0.23.5 623bbba10d17c7b19c513d359948253cff9b61fbea8cd086771aa28139dec3d9cb1a8208e363cd54fddb1eb61e331b3088244cd32b9b5a6379aa4fb3b20d3330"
)
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for entry in "${grammars[@]}"; do
  read -r name spec sha512 <<<"$entry"
  stamp="$dest/$name/.maskfill-version"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$spec" ]]; then continue; fi
  package="${spec%@*}"; version="${spec#*@}"
  echo "fetching $spec" >&2
  tarball="$tmp/$package-$version.tgz"
  curl -fsSL --retry 3 -o "$tarball" "$registry/$package/-/$package-$version.tgz"
  got="$(sha512sum "$tarball" | cut -d' ' -f1)"
  if [[ "$got" != "$sha512" ]]; then
    echo "error: $spec from $registry has sha512 $got, pinned $sha512" >&2; exit 1
  fi
  rm -rf "$dest/$name"; mkdir -p "$dest/$name"
  tar -xzf "$tarball" -C "$dest/$name" --strip-components=1
  rm -f "$tarball"
  for parser in $(find "$dest/$name" -name parser.c -path '*src*'); do
    abi="$(grep -m1 -o 'LANGUAGE_VERSION [0-9]*' "$parser" | awk '{print $2}')"
    if [[ "$abi" -gt 14 || "$abi" -lt 13 ]]; then
      echo "error: $parser has ABI $abi; Debian's tree-sitter runtime accepts 13-14" >&2; exit 1
    fi
  done
  echo "$spec" > "$stamp"
done
