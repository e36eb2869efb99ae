#!/usr/bin/env bash
# `maskfill model pull` against a local stand-in for the Hugging Face hub (tests/support/fake_hub.js)
# that serves the bundled model in the hub's layout: the API's file list and tree, resolve URLs,
# LFS files redirected to a second port (the "CDN"), a private, a gated, a corrupted, a broken and
# a stingy repository. Every case prints a line; the suite exits non-zero if any fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
build="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
maskfill="$build/maskfill"
if ! "$maskfill" model --help >/dev/null 2>&1; then
  echo "model-pull: this build has no 'model' command (no libcurl): skipped" >&2
  exit 0
fi
model="$root/models/maskfill-tiny"
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/state"
: >"$tmp/state/requests.log"
exec 3< <(exec node "$root/tests/support/fake_hub.js" "$model" "$tmp/state")
server_pid=$!
read -r hub_port cdn_port <&3 || { echo "model-pull: the fake hub did not start" >&2; exit 1; }
hub="http://127.0.0.1:$hub_port"
echo "model-pull: fake hub on port $hub_port, its CDN on port $cdn_port" >&2

failures=0
fail() { echo "FAIL $1" >&2; failures=$((failures + 1)); }
ok() { echo "ok   $1" >&2; }
check() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }
requests() { cat "$tmp/state/requests.log"; }
count() { grep -c -- "$1" "$tmp/state/requests.log" || true; }
commit_of() { printf 'commit of %s' "$1" | sha1sum | cut -d' ' -f1; }

# pull NAME [args...]: runs the command in a clean environment; stdout to $tmp/out, stderr to $tmp/err.
pull() {
  local rc=0
  env -u HF_TOKEN -u HF_HUB_CACHE HF_HOME="$tmp/home" HF_ENDPOINT="${endpoint:-$hub}" ${token:+HF_TOKEN=$token} \
    timeout 300 "$maskfill" model pull "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  return $rc
}
# No libcurl or C++ library text may reach the user.
clean_errors() { ! grep -qiE 'curl|what\(\)|std::|nlohmann|filesystem error|terminate' "$tmp/err"; }
same_files() {  # same_files DIR: DIR holds the bundled model's files byte for byte
  (cd "$model" && find . -type f | sort) >"$tmp/want"
  (cd "$1" && find -L . -type f ! -path './.cache/*' | sort) >"$tmp/got"
  cmp -s "$tmp/want" "$tmp/got" || return 1
  while read -r f; do cmp -s "$model/$f" "$1/$f" || return 1; done <"$tmp/want"
}

# 1. A plain pull into the hub cache: the snapshot, its links into blobs/, refs/main.
cache="$tmp/home/hub/models--tiny-org--maskfill-tiny"
commit="$(commit_of tiny-org/maskfill-tiny)"
if pull tiny-org/maskfill-tiny; then ok "pull tiny-org/maskfill-tiny exits 0"
else fail "pull tiny-org/maskfill-tiny: $(cat "$tmp/err")"; fi
check "stdout is exactly the snapshot directory" '[[ "$(cat "$tmp/out")" == "$cache/snapshots/$commit" ]]'
check "the snapshot holds the bundled model's files byte for byte" 'same_files "$cache/snapshots/$commit"'
check "snapshot files are relative links into blobs/ named by sha256 or git id" \
  '[[ "$(readlink "$cache/snapshots/$commit/model.safetensors")" == "../../blobs/$(sha256sum <"$model/model.safetensors" | cut -d" " -f1)" &&
     "$(readlink "$cache/snapshots/$commit/plots/sft.png")" == ../../../blobs/* &&
     "$(readlink "$cache/snapshots/$commit/config.json")" == "../../blobs/$(git hash-object "$model/config.json")" ]]'
check "refs/main names the commit" '[[ "$(cat "$cache/refs/main")" == "$commit" ]]'
check "HF_ENDPOINT honoured: the file list came from the fake hub" \
  '[[ $(count "hub GET /api/models/tiny-org/maskfill-tiny/revision/main") -eq 1 ]]'
check "the paginated tree was followed (Link: rel=next)" '[[ $(count "/tree/$commit?recursive=true&cursor=") -ge 2 ]]'
check "LFS files came through the redirect to the CDN port" \
  '[[ $(count "cdn GET /repos/tiny-org/maskfill-tiny/") -eq $(find "$model" -name "*.safetensors" -o -name "*.png" -o -size +150k -type f | sort -u | wc -l) ]]'
check "no progress or log text on stdout (one line)" '[[ $(wc -l <"$tmp/out") -eq 1 ]]'

# 2. The same pull again reuses the cache: the API is asked, no file is downloaded.
before_files=$(count "/resolve/"); before_cdn=$(count "cdn GET")
if pull tiny-org/maskfill-tiny && [[ "$(cat "$tmp/out")" == "$cache/snapshots/$commit" ]] &&
   [[ $(count "/resolve/") -eq $before_files && $(count "cdn GET") -eq $before_cdn ]]
then ok "a second pull reuses the cached snapshot (no file requested again)"
else fail "second pull: rc/out/requests: $(cat "$tmp/out") $(tail -n 3 "$tmp/err")"; fi

# 3. A cache laid out by huggingface_hub (`huggingface-cli download`), built here by hand, is reused.
other="$tmp/hfcli/hub/models--tiny-org--maskfill-tiny"
mkdir -p "$other/blobs" "$other/refs" "$other/snapshots/$commit"
(cd "$model" && find . -type f | sed 's|^\./||') | while read -r f; do
  if [[ "$f" == *.safetensors || "$f" == *.png || $(stat -c %s "$model/$f") -gt 150000 ]]
  then etag="$(sha256sum <"$model/$f" | cut -d' ' -f1)"; else etag="$(git hash-object "$model/$f")"; fi
  cp "$model/$f" "$other/blobs/$etag"
  mkdir -p "$(dirname "$other/snapshots/$commit/$f")"
  up="../.."; d="$(dirname "$f")"; while [[ "$d" != "." ]]; do up="$up/.."; d="$(dirname "$d")"; done
  ln -s "$up/blobs/$etag" "$other/snapshots/$commit/$f"
done
printf '%s' "$commit" >"$other/refs/main"
before_files=$(count "/resolve/"); before_cdn=$(count "cdn GET")
if env -u HF_TOKEN HF_HOME="$tmp/home" HF_HUB_CACHE="$tmp/hfcli/hub" HF_ENDPOINT="$hub" timeout 300 "$maskfill" model pull tiny-org/maskfill-tiny >"$tmp/out" 2>"$tmp/err" &&
   [[ "$(cat "$tmp/out")" == "$other/snapshots/$commit" && $(count "/resolve/") -eq $before_files &&
      $(count "cdn GET") -eq $before_cdn ]]
then ok "a huggingface-cli cache (HF_HUB_CACHE) is reused, nothing downloaded"
else fail "huggingface-cli cache: $(cat "$tmp/out") $(tail -n 3 "$tmp/err")"; fi

# 4. The hub unreachable: the cached snapshot of the revision is used, with a warning.
if endpoint="http://127.0.0.1:9" pull tiny-org/maskfill-tiny && [[ "$(cat "$tmp/out")" == "$cache/snapshots/$commit" ]] &&
   grep -q "cannot connect to 127.0.0.1" "$tmp/err" && grep -q "using the cached snapshot" "$tmp/err"
then ok "hub unreachable: the cached snapshot is printed with a warning"
else fail "offline fallback: $(cat "$tmp/out") $(tail -n 3 "$tmp/err")"; fi

# 5. A network failure with nothing cached: a plain message, exit 1.
if ! endpoint="http://127.0.0.1:9" pull tiny-org/private-tiny && [[ ! -s "$tmp/out" ]] &&
   grep -q "network error: cannot connect to 127.0.0.1" "$tmp/err" && clean_errors
then ok "unreachable hub, nothing cached: 'network error: cannot connect to 127.0.0.1'"
else fail "unreachable hub: $(cat "$tmp/err")"; fi

# 6. Private repository: 401 without a token, the token with it, and never to the CDN.
if ! pull tiny-org/private-tiny && grep -q "needs a token (HTTP 401)" "$tmp/err" && grep -q "HF_TOKEN" "$tmp/err" && clean_errors
then ok "401 without a token says HF_TOKEN is needed: $(head -n 1 "$tmp/err" | cut -c1-110)"
else fail "401: $(cat "$tmp/err")"; fi
if ! token=hf_wrong pull tiny-org/private-tiny && grep -q "refused the token in HF_TOKEN" "$tmp/err" && clean_errors
then ok "401 with a wrong token says the token was refused"
else fail "401 wrong token: $(cat "$tmp/err")"; fi
if token=hf_test_secret pull tiny-org/private-tiny &&
   same_files "$tmp/home/hub/models--tiny-org--private-tiny/snapshots/$(commit_of tiny-org/private-tiny)"
then ok "HF_TOKEN opens the private repository"
else fail "private with token: $(cat "$tmp/err")"; fi
check "the token was sent to the hub (API and resolve)" \
  '[[ $(grep "^hub GET /tiny-org/private-tiny/resolve/" "$tmp/state/requests.log" | grep -c "auth=Bearer hf_test_secret") -gt 0 ]]'
check "the token never reached the redirect host (CDN on another port)" \
  '[[ $(grep "^cdn .*/private-tiny/" "$tmp/state/requests.log" | wc -l) -gt 0 && $(grep "^cdn " "$tmp/state/requests.log" | grep -vc "auth=-$") -eq 0 ]]'

# 7. Gated (403), unknown repository and unknown revision (404), bad input.
if ! pull tiny-org/gated-tiny && grep -q "gated or restricted" "$tmp/err" && grep -q "set HF_TOKEN" "$tmp/err" && clean_errors
then ok "403 gated: says the model is gated and HF_TOKEN is needed"
else fail "403: $(cat "$tmp/err")"; fi
if ! pull tiny-org/no-such-model && grep -q "tiny-org/no-such-model or revision 'main' not found (HTTP 404" "$tmp/err" && clean_errors
then ok "404: repository not found"
else fail "404 repo: $(cat "$tmp/err")"; fi
if ! pull tiny-org/maskfill-tiny --revision v9 && grep -q "revision 'v9' not found in tiny-org/maskfill-tiny" "$tmp/err" && clean_errors
then ok "404: revision not found"
else fail "404 revision: $(cat "$tmp/err")"; fi
rc=0; pull not-a-model-id || rc=$?
if [[ $rc -eq 2 ]] && grep -q "'not-a-model-id' is not a model id: expected ORG/NAME" "$tmp/err"
then ok "a malformed id is refused (exit 2) before any request"
else fail "bad id: rc $rc $(cat "$tmp/err")"; fi

# 8. A corrupted LFS file is refused by name and deleted.
corrupt="$tmp/home/hub/models--tiny-org--corrupt-tiny"
sha="$(sha256sum <"$model/model.safetensors" | cut -d' ' -f1)"
if ! pull tiny-org/corrupt-tiny && grep -q "refused 'model.safetensors': its sha256 is [0-9a-f]*, the hub's is $sha" "$tmp/err" &&
   [[ ! -e "$corrupt/blobs/$sha" && ! -e "$corrupt/blobs/$sha.incomplete" && -z "$(cat "$tmp/out")" ]] && clean_errors
then ok "a corrupted model.safetensors is refused by name, deleted, exit 1"
else fail "corrupt: $(cat "$tmp/err")"; fi
check "no snapshot link to the refused file" \
  '[[ ! -e "$corrupt/snapshots/$(commit_of tiny-org/corrupt-tiny)/model.safetensors" ]]'

# 9. A transfer cut every time fails with the partial file kept; a rerun resumes it with Range.
broken="$tmp/home/hub/models--tiny-org--broken-tiny"
half=$(( $(stat -c %s "$model/model.safetensors") / 2 ))
if ! pull tiny-org/broken-tiny && grep -q "closed during the transfer while downloading 'model.safetensors'" "$tmp/err" &&
   grep -q "run the command again to resume" "$tmp/err" && [[ "$(stat -c %s "$broken/blobs/$sha.incomplete")" == "$half" ]] && clean_errors
then ok "an interrupted transfer fails plainly and keeps $half bytes in blobs/…incomplete"
else fail "interrupted: $(tail -n 3 "$tmp/err")"; fi
check "within the run it retried with Range from the cut" \
  '[[ $(count "cdn GET /repos/tiny-org/broken-tiny/$sha?X-Amz-Signature=fake range=bytes=$half-") -ge 1 ]]'
touch "$tmp/state/heal"
ranged_before=$(count "broken-tiny/$sha?X-Amz-Signature=fake range=bytes=$half-")
if pull tiny-org/broken-tiny && same_files "$(cat "$tmp/out")" &&
   [[ $(count "broken-tiny/$sha?X-Amz-Signature=fake range=bytes=$half-") -eq $((ranged_before + 1)) ]]
then ok "the rerun resumed with 'Range: bytes=$half-' and the snapshot matches"
else fail "resume: $(tail -n 3 "$tmp/err")"; fi

# 10. A server that sends 2 MiB per connection: resumed within one run until complete. More
# ranged requests than the 5 attempts a download gets: only attempts without progress count.
if pull tiny-org/stingy-tiny && same_files "$(cat "$tmp/out")" &&
   [[ $(count "cdn GET /repos/tiny-org/stingy-tiny/$sha?X-Amz-Signature=fake range=bytes=") -ge 6 ]]
then ok "cut every 2 MiB: $(count "stingy-tiny/$sha?X-Amz-Signature=fake range=bytes=") ranged requests in one run, file intact"
else fail "stingy: $(tail -n 3 "$tmp/err")"; fi

# 11. --dir: a plain folder, reused on a rerun through its .cache/huggingface metadata.
if pull tiny-org/maskfill-tiny --dir "$tmp/plain" && [[ "$(cat "$tmp/out")" == "$tmp/plain" ]] && same_files "$tmp/plain" &&
   [[ ! -L "$tmp/plain/model.safetensors" && -f "$tmp/plain/.cache/huggingface/download/model.safetensors.metadata" ]]
then ok "--dir writes plain files and prints the folder"
else fail "--dir: $(cat "$tmp/out") $(tail -n 3 "$tmp/err")"; fi
before_files=$(count "/resolve/")
if pull tiny-org/maskfill-tiny --dir "$tmp/plain" && [[ $(count "/resolve/") -eq $before_files ]]
then ok "--dir rerun downloads nothing"
else fail "--dir rerun: $(tail -n 3 "$tmp/err")"; fi
printf 'changed' >"$tmp/plain/config.json"
if pull tiny-org/maskfill-tiny --dir "$tmp/plain" && cmp -s "$tmp/plain/config.json" "$model/config.json"
then ok "--dir: a file edited since its download is fetched again"
else fail "--dir edited file: $(tail -n 3 "$tmp/err")"; fi

# 12. A disk error is named plainly.
if ! pull tiny-org/maskfill-tiny --dir /dev/null/model && grep -q "disk error: cannot create the folder for /dev/null/model" "$tmp/err" && clean_errors
then ok "$(grep -o "disk error: .*" "$tmp/err" | cut -c1-110)"
else fail "disk error: $(cat "$tmp/err")"; fi

# 13. Progress: on a terminal (a pty from script(1)) stderr shows the bar; stdout stays clean.
rm -rf "$tmp/home/hub/models--tiny-org--stingy-tiny"
TERM=xterm HF_HOME="$tmp/home" HF_ENDPOINT="$hub" \
  script -qec "'$maskfill' model pull tiny-org/stingy-tiny >'$tmp/tty.out'" "$tmp/typescript" >/dev/null </dev/null || true
check "on a terminal a progress bar is drawn on stderr" \
  'grep -qaE "downloading tiny-org/stingy-tiny \(MiB\): [0-9]+/[0-9]+ \([0-9]+%\)" "$tmp/typescript"'
check "…and stdout holds only the directory" \
  '[[ "$(cat "$tmp/tty.out")" == "$tmp/home/hub/models--tiny-org--stingy-tiny/snapshots/$(commit_of tiny-org/stingy-tiny)" ]]'

# 14. The pulled snapshot is a model maskfill loads: a fill with --model DIR.
snapshot="$cache/snapshots/$commit"
if [[ -e "$build/libmaskfill_torch.so" ]]; then
  if timeout 600 "$maskfill" fill "$root/samples/python/unfinished.py" --line 17 --col 9 --device cpu \
       --allow-syntax-errors --model "$snapshot" >"$tmp/fill.out" 2>"$tmp/fill.err" && [[ -s "$tmp/fill.out" ]]
  then ok "maskfill fill --model <pulled snapshot> loads it and fills"
  else fail "fill with the pulled snapshot: $(tail -n 3 "$tmp/fill.err")"; fi
else
  if "$maskfill" tokenize --tokenizer "$snapshot/tokenizer.json" --text 'def f():' >/dev/null 2>"$tmp/tok.err"
  then ok "the pulled tokenizer loads (no torch plugin in this build for a fill)"
  else fail "tokenize with the pulled snapshot: $(cat "$tmp/tok.err")"; fi
fi

echo "model-pull: $(wc -l <"$tmp/state/requests.log") requests served" >&2
[[ $failures -eq 0 ]] || { echo "model-pull: $failures failed" >&2; exit 1; }
echo "model-pull: passed" >&2
