#!/usr/bin/env bash
# Fetches Neovim 0.12 from Debian's unstable distribution into deps/neovim-0.12/ without
# installing it (scripts/fetch-unstable.sh): bookworm ships 0.7.2, and 0.12 is where native
# inline completion (vim.lsp.inline_completion) lives, so the Neovim suites run both. The
# wrapper deps/neovim-0.12/bin/nvim runs nvim through unstable's own dynamic loader and C
# library. Safe to re-run: a working wrapper is kept. Prints the wrapper's path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/deps/neovim-0.12"
wrapper="$dest/bin/nvim"
want_minor="0.12"

works() { [[ -x "$wrapper" ]] && "$wrapper" --version 2>/dev/null | head -1 | grep -q "NVIM v$want_minor\."; }
if works; then echo "$wrapper"; exit 0; fi

version="$("$root/scripts/fetch-unstable.sh" "$dest" neovim "$want_minor.")" || {
  echo "fetch-neovim: the 0.12 runs cannot be set up" >&2; exit 1; }
mkdir -p "$dest/bin"
libs="$dest/root/usr/lib/x86_64-linux-gnu"
[[ -x "$dest/root/usr/bin/nvim" ]] || { echo "fetch-neovim: the unpacked packages lack nvim" >&2; exit 1; }
cat >"$wrapper" <<EOF
#!/bin/sh
# Neovim $version from Debian unstable, run through that distribution's own loader and libraries.
export VIMRUNTIME="$dest/root/usr/share/nvim/runtime"
exec "$libs/ld-linux-x86-64.so.2" --library-path "$libs" "$dest/root/usr/bin/nvim" "\$@"
EOF
chmod +x "$wrapper"
works || { echo "fetch-neovim: the unpacked nvim does not start: $("$wrapper" --version 2>&1 | head -2)" >&2; exit 1; }
echo "$wrapper"
