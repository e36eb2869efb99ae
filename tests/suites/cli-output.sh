#!/usr/bin/env bash
# Clean outputs: `maskfill fill FILE ... > out` leaves exactly the new file in `out` (logs and
# progress go to stderr), and `--diff` describes exactly that file. Uses the bundled tiny model.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
build="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
if [[ ! -e "$build/libmaskfill_torch.so" ]]; then
  echo "cli-output: no torch plugin in $build: tested by the main build" >&2
  exit 0
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
sample="$root/samples/python/unfinished.py"
failures=0
fail() { echo "FAIL $1" >&2; failures=$((failures + 1)); }
ok() { echo "ok   $1" >&2; }

# Log at info level so that there is something to keep off stdout.
# --allow-syntax-errors: this suite checks the output's framing, whatever the tiny model writes.
run_fill() { "$build/maskfill" fill "$sample" --line 17 --col 9 --device cpu --allow-syntax-errors "$@"; }
run_fill >"$scratch/out" 2>"$scratch/err" || { cat "$scratch/err" >&2; fail "maskfill fill exited non-zero"; exit 1; }
run_fill --diff >"$scratch/diff" 2>"$scratch/diff.err" || { cat "$scratch/diff.err" >&2; fail "maskfill fill --diff exited non-zero"; exit 1; }

# stdout = lines 1-16 of the file, line 17 up to the cursor, the fill, then the rest of the file.
head -n 16 "$sample" >"$scratch/prefix"
if [[ "$(head -n 16 "$scratch/out")" == "$(cat "$scratch/prefix")" ]]; then ok "stdout starts with the file's first 16 lines"
else fail "stdout does not start with the original file: $(head -c 300 "$scratch/out")"; fi
if [[ "$(head -n 1 "$scratch/out")" == "$(head -n 1 "$sample")" ]]; then ok "first line is the file's first line"
else fail "first line of stdout is '$(head -n 1 "$scratch/out")'"; fi
if [[ "$(tail -n 1 "$scratch/out")" == "    return counts" ]]; then ok "stdout ends with the file's last line"
else fail "stdout ends with '$(tail -n 1 "$scratch/out")'"; fi
if ! cmp -s "$scratch/out" "$sample"; then ok "the fill changed the file ($(wc -c <"$sample") -> $(wc -c <"$scratch/out") bytes)"
else fail "stdout is the unchanged file"; fi
# No log line, progress or ANSI escape on stdout.
if grep -qE '^\[[0-9]{4}-|\[(info|warning|error|debug)\]|loading model|'$'\033' "$scratch/out"; then
  fail "stdout holds log or progress text: $(grep -nE '^\[|loading model' "$scratch/out" | head -3)"
else ok "no log or progress text on stdout"; fi
# The diff applied to the original gives stdout byte for byte (nothing extra on either stream).
cp "$sample" "$scratch/patched.py"
if patch --quiet "$scratch/patched.py" <"$scratch/diff" && cmp -s "$scratch/patched.py" "$scratch/out"; then
  ok "--diff applied to the file gives exactly stdout"
else fail "--diff and the whole-file output disagree"; fi
echo "stderr of the fill: $(wc -l <"$scratch/err") lines" >&2

# A candidate that breaks the syntax is never printed unasked: with one candidate at a point
# where the bundled model's greedy fill does not parse, the command prints nothing and says why;
# with more candidates it prints the best one that parses.
one="$("$build/maskfill" fill "$sample" --line 17 --col 9 --device cpu --candidates 1 2>"$scratch/one.err")" && one_rc=0 || one_rc=$?
if grep -q "adds syntax errors" "$scratch/one.err"; then
  if [[ $one_rc -eq 1 && -z "$one" ]] && grep -q "every candidate (1) adds syntax errors here, so nothing is printed" "$scratch/one.err"
  then ok "a fill whose only candidate breaks the syntax prints nothing and says so"
  else fail "a syntax-breaking fill: rc $one_rc, $(wc -c <<<"$one") bytes on stdout, stderr: $(tail -n 2 "$scratch/one.err")"; fi
else echo "note: the greedy fill parses here; the refusal is covered by the unit test of printable_candidate" >&2; fi
if "$build/maskfill" fill "$sample" --line 17 --col 9 --device cpu --candidates 8 >"$scratch/four" 2>"$scratch/four.err" &&
   ! grep -q "adds syntax errors" "$scratch/four.err"; then ok "with 8 candidates a parseable fill is printed"
else fail "8 candidates: $(tail -n 2 "$scratch/four.err")"; fi

# `maskfill lsp --stdio`, as generic client configurations start language servers: it answers
# initialize over stdio (the default transport), and refuses --stdio with --listen.
lsp_frame() { printf 'Content-Length: %d\r\n\r\n%s' "${#1}" "$1"; }
{ lsp_frame '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
  lsp_frame '{"jsonrpc":"2.0","id":2,"method":"shutdown"}'
  lsp_frame '{"jsonrpc":"2.0","method":"exit"}'; } |
  timeout 120 "$build/maskfill" lsp --stdio >"$scratch/lsp.out" 2>"$scratch/lsp.err" || true
if grep -q '"inlineCompletionProvider"' "$scratch/lsp.out"; then ok "maskfill lsp --stdio answers initialize"
else fail "maskfill lsp --stdio: no initialize result ($(head -c 300 "$scratch/lsp.err"))"; fi
if ! "$build/maskfill" lsp --stdio --listen 127.0.0.1:0 </dev/null >/dev/null 2>"$scratch/both.err" &&
   grep -q 'excludes' "$scratch/both.err"; then ok "--stdio with --listen is refused"
else fail "--stdio with --listen was not refused: $(head -c 300 "$scratch/both.err")"; fi
[[ $failures -eq 0 ]] || exit 1
echo "cli-output: passed" >&2
