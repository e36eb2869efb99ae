#!/usr/bin/env bash
# `cmake --install` to a temporary prefix, then the prefix is copied to a new place (nothing may
# depend on where it was installed or on the build or source tree), MASKFILL_* variables are
# cleared, and `lsp`, `fill` and `serve` run from there with the working directory elsewhere.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
build="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
if [[ ! -e "$build/libmaskfill_torch.so" ]] || ! "$build/maskfill" serve --help >/dev/null 2>&1; then
  echo "install: no torch plugin or no serve command in $build: skipped" >&2
  exit 0
fi
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
cmake --install "$build" --prefix "$tmp/stage" >"$tmp/install.log"
mkdir -p "$tmp/elsewhere" "$tmp/work"
cp -a "$tmp/stage" "$tmp/elsewhere/maskfill"
rm -rf "$tmp/stage"
prefix="$tmp/elsewhere/maskfill"
bin="$prefix/bin/maskfill"
for v in $(env | grep -o '^MASKFILL_[A-Z_]*' || true); do unset "$v"; done
echo "install: installed files:" >&2
(cd "$prefix" && find . -type f | sort | sed 's/^/  /') >&2

# The bundled model and the plugin must come from the prefix, not from the source tree.
cd "$tmp/work"
"$bin" --version
cp "$root/samples/python/unfinished.py" "$tmp/work/unfinished.py"
"$bin" fill unfinished.py --line 17 --col 9 --candidates 8 --diff >"$tmp/fill.out"
echo "install: fill from $tmp/work: $(wc -l <"$tmp/fill.out") lines of diff" >&2

"$bin" serve --port 0 --log-level info 2>"$tmp/serve.log" &
server_pid=$!
for _ in $(seq 1 600); do
  grep -q "listening on" "$tmp/serve.log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
  sleep 0.1
done
url="$(grep -o 'listening on http://[^ ]*' "$tmp/serve.log" | head -1 | cut -d' ' -f3)"
[[ -n "$url" ]] || { echo "install: serve did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }
grep -q "loading $prefix/share/maskfill/models/maskfill-tiny" "$tmp/serve.log" ||
  { echo "install: serve did not use the installed model:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
answer="$(node -e '
  fetch(process.argv[1] + "/v1/completions", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "def add(a, b):\n    return ", max_tokens: 8 }) })
    .then(async (r) => { const b = await r.json(); if (r.status !== 200) throw new Error(JSON.stringify(b)); console.log(JSON.stringify(b.choices[0].text)); })
    .catch((e) => { console.error(e); process.exit(1); });' "$url")"
echo "install: serve from the prefix answered $answer" >&2
kill "$server_pid"; wait "$server_pid" || true; server_pid=""

# The language server from the prefix, with the real-client end-to-end test (it reads samples
# from the source tree as a client would; the server gets only the prefix).
if [[ -d "$root/tests/e2e/node_modules/vscode-languageserver-protocol" ]] || (cd "$root/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error); then
  MASKFILL_BUILD_DIR="$prefix/bin" node "$root/tests/e2e/features.test.js"
fi
echo "install: lsp, fill and serve ran from $prefix" >&2
