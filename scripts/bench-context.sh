#!/usr/bin/env bash
# Runs `maskfill bench context` on the held-out multi-file projects of
# scripts/fetch-bench-projects.sh. Extra args go to the bench (e.g. --json, --typing-sessions 0).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MASKFILL_BUILD_DIR:-$root/build}"
args=()
while read -r project; do args+=(--project "$project"); done < <("$root/scripts/fetch-bench-projects.sh")
exec "$build/maskfill" bench context "${args[@]}" "$@"
