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
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
"$build/maskfill" fill "$root/samples/python/stats.py" --line 5 --col 4 --diff
