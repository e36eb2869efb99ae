#!/usr/bin/env bash
# Runs `maskfill bench next-edit` (issue #24) on the held-out projects of
# scripts/fetch-bench-projects.sh, with the C, Java, TypeScript and TSX ones. Extra args go to the bench (e.g. --json, --model-tasks 20).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MASKFILL_BUILD_DIR:-$root/build}"
args=()
while read -r project; do args+=(--project "$project"); done < <("$root/scripts/fetch-bench-projects.sh" --more-languages)
exec "$build/maskfill" bench next-edit "${args[@]}" "$@"
