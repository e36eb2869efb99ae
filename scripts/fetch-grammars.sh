#!/usr/bin/env bash
# Fetches the tree-sitter grammars from npm at pinned versions into deps/grammars/<name>.
# Versions are the newest whose generated parser has LANGUAGE_VERSION 14, the newest ABI that
# Debian bookworm's libtree-sitter 0.20.7 loads. Safe to re-run: present grammars are kept.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/deps/grammars"
mkdir -p "$dest"
grammars=(
  "python tree-sitter-python@0.23.6"
  "javascript tree-sitter-javascript@0.23.1"
  "typescript tree-sitter-typescript@0.23.2"
  "c tree-sitter-c@0.23.6"
  "cpp tree-sitter-cpp@0.23.4"
  "go tree-sitter-go@0.23.4"
  "rust tree-sitter-rust@0.23.3"
  "java tree-sitter-java@0.23.5"
)
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for entry in "${grammars[@]}"; do
  read -r name spec <<<"$entry"
  stamp="$dest/$name/.maskfill-version"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$spec" ]]; then continue; fi
  echo "fetching $spec" >&2
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  tarball="$(ls "$tmp"/*.tgz)"
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
