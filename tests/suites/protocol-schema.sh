#!/usr/bin/env bash
# The server/client contract (editors/protocol.json): the VS Code extension, the Neovim plugin
# and the built server are checked against it (tests/protocol/check-clients.js). The server's
# own bindings are checked by the unit tests tagged [schema].
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export MASKFILL_BUILD_DIR="${MASKFILL_BUILD_DIR:-$root/build}"
cd "$root/editors/vscode"
if [[ ! -d node_modules/typescript ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run -s build:test >/dev/null
node "$root/tests/protocol/check-clients.js"
