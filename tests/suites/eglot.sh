#!/usr/bin/env bash
# A generic LSP client: Emacs' eglot (Debian's emacs-nox + elpa-eglot) in batch mode drives
# `$MASKFILL_BUILD_DIR/maskfill lsp` with the bundled tiny model: code actions on a range,
# "Fill selection" and "Edit with instruction" (instruction passed as an argument), each edit
# arriving through workspace/applyEdit and landing in the buffer (tests/e2e/eglot/).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "${MASKFILL_BUILD_DIR:-$root/build}" && pwd)"
command -v emacs >/dev/null || { echo "eglot: emacs is not installed (scripts/setup.sh installs emacs-nox and elpa-eglot)" >&2; exit 1; }
[[ -x "$build/maskfill" ]] || { echo "eglot: $build/maskfill not built" >&2; exit 1; }
if [[ ! -f "$root/models/maskfill-tiny/config.json" || ! -e "$build/libmaskfill_torch.so" ]]; then
  echo "eglot: SKIPPED (needs models/maskfill-tiny and the torch plugin in $build)" >&2
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$root/samples/python/unfinished.py" "$work/unfinished.py"
emacs --version | head -1 >&2
cd "$work"
MASKFILL_BIN="$build/maskfill" MASKFILL_SAMPLE="$work/unfinished.py" MASKFILL_MODEL_DIR="$root/models/maskfill-tiny" \
   timeout 900 emacs --batch -l eglot \
  -l "$root/tests/e2e/eglot/maskfill-eglot-test.el"
