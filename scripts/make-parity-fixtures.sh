#!/usr/bin/env bash
# Regenerates tests/fixtures/parity/ (tiny random Llama snapshots, expected logits, expected
# block-diffusion and AR ids) from the Python reference in tests/reference/. Deterministic.
# Needs python3 with torch and numpy (Debian: python3-torch python3-numpy).
#   scripts/make-parity-fixtures.sh           rewrite the fixtures
#   scripts/make-parity-fixtures.sh --check   regenerate into a temp dir; fail if ids, options
#                                             or configs differ, or floats by more than 1e-6
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/tests/fixtures/parity"
python=""
for candidate in "${PYTHON:-}" python3 /usr/bin/python3; do
  if [[ -n "$candidate" ]] && "$candidate" -c 'import torch, numpy' 2>/dev/null; then
    python="$candidate"; break
  fi
done
if [[ -z "$python" ]]; then
  echo "make-parity-fixtures: no python3 with torch and numpy (Debian: apt-get install python3-torch)" >&2
  exit 1
fi
if [[ "${1:-}" == "--check" ]]; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  if "$python" "$root/tests/reference/make_fixtures.py" --out "$tmp" --check "$dest" >/dev/null; then
    echo "parity fixtures are up to date"
  else
    echo "parity fixtures differ from what tests/reference produces: run scripts/make-parity-fixtures.sh" >&2
    exit 1
  fi
  exit 0
fi
mkdir -p "$dest"
"$python" "$root/tests/reference/make_fixtures.py" --out "$dest"
echo "wrote $dest" >&2
