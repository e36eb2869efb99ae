#!/usr/bin/env bash
# Headless Neovim (Debian's) as a real LSP client: tests/e2e/nvim/lsp_sync.lua.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
export MASKFILL_BUILD_DIR="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
command -v nvim >/dev/null || { echo "nvim-lsp: neovim is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
cd "$(mktemp -d)"
timeout 120 nvim --headless -u NONE -c "luafile $root/tests/e2e/nvim/lsp_sync.lua" 2>&1
echo
