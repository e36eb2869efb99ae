#!/usr/bin/env bash
# Headless Neovim as a real LSP client (Debian's 0.7.2, and 0.12 from deps/neovim-0.12):
# tests/e2e/nvim/lsp_sync.lua.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
export MASKFILL_BUILD_DIR="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
nvim_012="$root/deps/neovim-0.12/bin/nvim"
command -v nvim >/dev/null || { echo "nvim-lsp: neovim is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
[[ -x "$nvim_012" ]] || { echo "nvim-lsp: $nvim_012 missing (scripts/setup.sh fetches it)" >&2; exit 1; }
for nvim in "$(command -v nvim)" "$nvim_012"; do
  echo "nvim-lsp: $("$nvim" --version | head -1)" >&2
  (cd "$(mktemp -d)" && timeout 120 "$nvim" --headless -u NONE -c "luafile $root/tests/e2e/nvim/lsp_sync.lua" 2>&1)
  echo
done
