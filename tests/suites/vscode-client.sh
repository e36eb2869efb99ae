#!/usr/bin/env bash
# VS Code extension: install pinned deps, typecheck, unit tests, package the .vsix, then drive the
# real `$MASKFILL_BUILD_DIR/maskfill lsp` with the extension's own client options.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export MASKFILL_BUILD_DIR="${MASKFILL_BUILD_DIR:-$root/build}"
cd "$root/editors/vscode"
echo "vscode-client: npm ci" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "vscode-client: README settings table against editors/protocol.json" >&2
node scripts/readme-settings.js --check
echo "vscode-client: typecheck" >&2
npm run -s typecheck
echo "vscode-client: unit tests" >&2
npm test -s
echo "vscode-client: package" >&2
rm -f maskfill.vsix
npm run -s package
[[ -s maskfill.vsix ]] || { echo "vscode-client: maskfill.vsix was not produced" >&2; exit 1; }
python3 -m zipfile -l maskfill.vsix | grep -q 'extension/dist/extension.js' || { echo "vscode-client: vsix lacks the bundle" >&2; exit 1; }
echo "vscode-client: protocol test against $MASKFILL_BUILD_DIR/maskfill lsp" >&2
npm run -s test:protocol
