#!/usr/bin/env bash
# Neovim plugin, headless, on Debian's Neovim 0.7.2 and on 0.12 (deps/neovim-0.12, fetched by
# scripts/setup.sh from Debian's unstable distribution):
#  0. compat_spec.lua: the version decisions (0.11 vim.lsp.config/start, client:method(), vim.uv,
#     new str_utfindex; the 0.12 native inline path) with stubbed `vim` APIs;
#  1. client_spec.lua: the plugin's logic against a scripted fake server (debounce, cancellation,
#     its own ghost text, accept, cycling, fill, edit, code action, checkhealth);
#  2. native_spec.lua (0.12): vim.lsp.enable alone, commands without setup(), root_markers,
#     native ghost text with Tab / next word / next line, checkhealth;
#  3. next_edit_spec.lua: next-edit suggestions against the fake server (request after an edit,
#     extmarks, jump/apply as one undo step, dismiss, stale answers, feedback, switched off);
#  4. real_server_spec.lua: the plugin against the real `$MASKFILL_BUILD_DIR/maskfill lsp`
#     (attach, status, checkhealth; ghost text/accept/fill/edit when the bundled model exists);
#  5. next_edit_real_spec.lua: a rename answered by the real maskfill/nextEdits (shape), drawn,
#     applied, dismissed, counted in maskfill/status, undone (bundled model; else SKIP).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${MASKFILL_BUILD_DIR:-$root/build}"
nvim_012="$root/deps/neovim-0.12/bin/nvim"
command -v nvim >/dev/null || { echo "nvim-client: nvim not found (scripts/setup.sh installs it)" >&2; exit 1; }
[[ -x "$nvim_012" ]] || { echo "nvim-client: $nvim_012 missing (scripts/setup.sh fetches it)" >&2; exit 1; }
command -v node >/dev/null || { echo "nvim-client: node not found (the fake server needs it)" >&2; exit 1; }
[[ -x "$build/maskfill" ]] || { echo "nvim-client: $build/maskfill not built" >&2; exit 1; }

run_spec() {
  local nvim="$1" spec="$2"
  echo "nvim-client: $spec on $("$nvim" --version | head -1)" >&2
  # cd to a scratch dir so the server's root_dir is not the repo; $HOME kept for the tmp files only.
  (cd "$(mktemp -d)" && timeout 600 "$nvim" --headless -u NONE -i NONE -n \
    --cmd "set rtp+=$root/editors/nvim" -c "luafile $root/editors/nvim/tests/$spec") </dev/null
}

for nvim in "$(command -v nvim)" "$nvim_012"; do
  run_spec "$nvim" compat_spec.lua  # 0.7 / 0.10 / 0.11 / 0.12 decisions against stub vim APIs
  FAKE_NO_MODEL= run_spec "$nvim" client_spec.lua
  run_spec "$nvim" native_spec.lua  # skipped below 0.12
  run_spec "$nvim" next_edit_spec.lua
  PATH="$build:$PATH" run_spec "$nvim" real_server_spec.lua
  PATH="$build:$PATH" run_spec "$nvim" next_edit_real_spec.lua
done
if [[ ! -f "$root/models/maskfill-tiny/config.json" ]]; then
  echo "nvim-client: model tests SKIPPED (no models/maskfill-tiny/config.json)" >&2
fi
