#!/usr/bin/env bash
# The README's main-job command: setup, build, then fill code in a sample file with the
# bundled model. Safe to re-run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MASKFILL_BUILD_DIR:-$root/build}"
if [[ ! -f "$root/models/maskfill-tiny/model.safetensors" ]]; then
  echo "demo: no model is bundled yet (models/maskfill-tiny is missing); nothing to run." >&2
  exit 1
fi
# Only what the demo runs: no test tools, no test targets.
"$root/scripts/setup.sh" --profile demo
"$root/scripts/build.sh" -DMASKFILL_TESTS=OFF -DMASKFILL_VSIX=OFF -DMASKFILL_TRAINER=OFF >&2  # stdout: results only
echo "== maskfill fill: the body of the loop in samples/python/unfinished.py (line 17), bundled tiny model" >&2
# Eight candidates decoded together; the best that parses is shown (the tiny model breaks the
# syntax with most of them). A command that finds none says so rather than printing a broken diff.
"$build/maskfill" fill "$root/samples/python/unfinished.py" --line 17 --col 9 --candidates 8 --diff || true
echo "== maskfill edit: an instruction edit of mean() in samples/python/stats.py" >&2
"$build/maskfill" edit "$root/samples/python/stats.py" --range 4:1-7:1 --instruction "Rename the function mean to average." --diff || true
