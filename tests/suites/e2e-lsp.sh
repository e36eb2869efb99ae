#!/usr/bin/env bash
# End-to-end LSP test with Microsoft's vscode-jsonrpc client (tests/e2e/lsp_sync.test.js).
set -euo pipefail
here="$(cd "$(dirname "$0")/../e2e" && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
export MASKFILL_BUILD_DIR="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
cd "$here"
if [[ ! -d node_modules/vscode-languageserver-protocol ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node lsp_sync.test.js
# The editing features need the bundled model and the torch plugin. Builds without the plugin
# (the sanitizer build: LibTorch is not instrumented) test the protocol only.
if [[ -e "$MASKFILL_BUILD_DIR/libmaskfill_torch.so" ]]; then
  node features.test.js
  node eval_equals_editor.test.js
  node context.test.js  # cross-file context: workspace index, watched files, hostile trees
else
  echo "e2e-lsp: no torch plugin in $MASKFILL_BUILD_DIR: editing features are tested by the main build" >&2
fi
# Once more with the model behind `maskfill serve`: `maskfill lsp --backend URL` must give the
# same editing features through the HTTP API (tests/serve/with-backend.mjs starts the server).
if [[ -e "$MASKFILL_BUILD_DIR/libmaskfill_torch.so" ]] && "$MASKFILL_BUILD_DIR/maskfill" serve --help >/dev/null 2>&1; then
  echo "e2e-lsp: features again with --backend (maskfill serve)" >&2
  node "$here/../serve/with-backend.mjs" node "$here/features.test.js"
fi
if [[ -e "$MASKFILL_BUILD_DIR/libmaskfill_torch.so" ]] && "$MASKFILL_BUILD_DIR/maskfill" serve --help >/dev/null 2>&1; then
  node "$here/../serve/backend-errors.test.mjs"  # backend down and back: error status, one message, recovery
  node "$here/../serve/generic-backend.test.mjs"  # a server without maskfill's endpoints: text prompts, local tokenizer
fi
