#!/usr/bin/env bash
# Fetches Neovim 0.12 from Debian's unstable distribution into deps/neovim-0.12/ without
# installing it: bookworm ships 0.7.2, and 0.12 is where native inline completion
# (vim.lsp.inline_completion) lives, so the Neovim suites run both. Unstable's packages need a
# newer C library than bookworm's, so its own C library is unpacked beside nvim and the
# wrapper deps/neovim-0.12/bin/nvim runs nvim through that library's dynamic loader.
# apt does the dependency resolution and signature checks with a private state folder (the
# system's package lists and dpkg database are never touched). Safe to re-run: a working
# wrapper is kept. Prints the wrapper's path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/deps/neovim-0.12"
wrapper="$dest/bin/nvim"
want_minor="0.12"

works() { [[ -x "$wrapper" ]] && "$wrapper" --version 2>/dev/null | head -1 | grep -q "NVIM v$want_minor\."; }
if works; then echo "$wrapper"; exit 0; fi

command -v apt-get >/dev/null || { echo "fetch-neovim: apt-get not found (Debian or Ubuntu needed)" >&2; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r "$keyring" ]] || { echo "fetch-neovim: $keyring missing (apt-get install debian-archive-keyring)" >&2; exit 1; }
apt_dir="$dest/apt"
rm -rf "$dest"
mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial} "$dest/root" "$dest/bin"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian sid main" >"$apt_dir/sources.list"
: >"$apt_dir/status"  # an empty dpkg database: the whole dependency closure is downloaded
apt_options=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=/nonexistent
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "Dir::State::status=$apt_dir/status"
  -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o Debug::NoLocking=1 -qq)
echo "fetch-neovim: reading unstable's package list" >&2
apt-get "${apt_options[@]}" update >&2
version="$(apt-cache "${apt_options[@]}" policy neovim | awk '/Candidate:/ {print $2}')"
if [[ "$version" != "$want_minor".* ]]; then
  echo "fetch-neovim: unstable has neovim '$version', not $want_minor.x; the 0.12 runs cannot be set up" >&2
  exit 1
fi
echo "fetch-neovim: downloading neovim $version and its libraries" >&2
apt-get "${apt_options[@]}" -y --no-install-recommends --download-only install "neovim=$version" >&2
for deb in "$apt_dir"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$dest/root"; done
rm -rf "$apt_dir/cache" "$apt_dir/lists"  # about 60 MB of lists and packages, no longer needed
libs="$dest/root/usr/lib/x86_64-linux-gnu"
[[ -x "$libs/ld-linux-x86-64.so.2" && -x "$dest/root/usr/bin/nvim" ]] || {
  echo "fetch-neovim: the unpacked packages lack nvim or the dynamic loader" >&2; exit 1; }
cat >"$wrapper" <<EOF
#!/bin/sh
# Neovim $version from Debian unstable, run through that distribution's own loader and libraries.
export VIMRUNTIME="$dest/root/usr/share/nvim/runtime"
exec "$libs/ld-linux-x86-64.so.2" --library-path "$libs" "$dest/root/usr/bin/nvim" "\$@"
EOF
chmod +x "$wrapper"
works || { echo "fetch-neovim: the unpacked nvim does not start: $("$wrapper" --version 2>&1 | head -2)" >&2; exit 1; }
echo "$wrapper"
