#!/usr/bin/env bash
# Takes back what a device run of scripts/gpu-train.sh returned and measures it here, so the
# session that had the GPU spends its remaining time on the results, not on plumbing.
#   scripts/gpu-import.sh DIR                 assemble and measure every model in DIR
#   scripts/gpu-import.sh DIR --bundle STAGE  then make STAGE (sft, bd, ...) the bundled model
# DIR holds the run's files: STAGE.safetensors.partNN (models in pieces under the transfer limit)
# and train-logs.tgz (each stage's log.csv, summary.json, config, tokenizer and the SHA-256 of its
# weights). For each stage this writes a model folder under $IMPORT (runs/gpu-import/NAME, NAME
# the basename of DIR) and measures, on this CPU, through the editor's own pipeline:
#   - `maskfill eval infill` on the project's eval (single- and multi-line pass@1); the AR-only
#     control is decoded autoregressively (--ar), as the seed's claim compares it;
#   - for the release candidate (sft, else bd): `maskfill bench inline --json` (CPU p50, the
#     issue's 150 ms limit) and the demo's two commands (does the fill print code that parses);
# and writes import.json (every figure, with the trainer's tokens/s and MFU) and import.md (the
# tables for the model card). --bundle copies the chosen model into models/maskfill-tiny (or
# BUNDLE_DIR; its README stays) and redraws the card's loss plots.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
usage() { echo "usage: scripts/gpu-import.sh DIR [--bundle STAGE]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
from="$(cd "$1" && pwd)"; shift
bundle=""
if [[ $# -gt 0 ]]; then [[ "$1" == --bundle && $# -eq 2 ]] || usage; bundle="$2"; fi
build="${MASKFILL_BUILD_DIR:-$root/build}"
mf="$build/maskfill"
[[ -x "$mf" ]] || { echo "gpu-import: no $mf: run scripts/build.sh first" >&2; exit 1; }
[[ -f "$from/train-logs.tgz" ]] || { echo "gpu-import: $from has no train-logs.tgz: not a gpu-train.sh output" >&2; exit 1; }
dest="${IMPORT:-$root/runs/gpu-import/$(basename "$from")}"
mkdir -p "$dest"
tar -xzf "$from/train-logs.tgz" -C "$dest"

# A stage's model: its config and tokenizer from the logs, its weights from the pieces, checked
# against the SHA-256 the device wrote (runs before that check existed have none to compare).
assemble() {
  local stage="$1" model="$dest/$1/model"
  compgen -G "$from/$stage.safetensors.part*" >/dev/null || return 1
  [[ -f "$model/config.json" ]] || { echo "gpu-import: $stage has weights but no config in the logs" >&2; return 1; }
  cat "$from/$stage".safetensors.part* >"$model/model.safetensors"
  if [[ -f "$model/model.sha256" ]]; then
    (cd "$model" && sha256sum --quiet -c model.sha256) ||
      { echo "gpu-import: $stage's weights do not match the SHA-256 written on the device" >&2; exit 1; }
  fi
}
stages=()
for stage in ar bd sft ar-only; do assemble "$stage" && stages+=("$stage"); done
(( ${#stages[@]} )) || { echo "gpu-import: no model pieces in $from" >&2; exit 1; }
echo "gpu-import: models ${stages[*]} in $dest" >&2

tasks=("$root/samples/eval/single-line.jsonl" "$root/samples/eval/multi-line.jsonl")
for stage in "${stages[@]}"; do
  decode=(); [[ "$stage" == ar || "$stage" == ar-only ]] && decode=(--ar)
  "$mf" eval infill --model "$dest/$stage/model" --tasks "${tasks[@]}" "${decode[@]}" --json \
    --report "$dest/$stage/eval-report.jsonl" >"$dest/$stage/eval.json" 2>"$dest/$stage/eval.log" ||
    { echo "gpu-import: the eval of $stage failed: $(tail -1 "$dest/$stage/eval.log")" >&2; rm -f "$dest/$stage/eval.json"; }
done
release=sft; [[ -f "$dest/sft/model/model.safetensors" ]] || release=bd
if [[ -f "$dest/$release/model/model.safetensors" ]]; then
  "$mf" bench inline --model "$dest/$release/model" --json >"$dest/$release/bench-inline.json" 2>"$dest/$release/bench-inline.log" ||
    { echo "gpu-import: the inline bench failed: $(tail -1 "$dest/$release/bench-inline.log")" >&2; rm -f "$dest/$release/bench-inline.json"; }
  # The demo's commands (scripts/demo.sh) with this model; the fill prints only code that parses.
  demo_rc=0
  { "$mf" fill "$root/samples/python/unfinished.py" --model "$dest/$release/model" --line 17 --col 9 --candidates 8 --diff || demo_rc=$?
    "$mf" edit "$root/samples/python/stats.py" --model "$dest/$release/model" --range 4:1-7:1 \
      --instruction "Rename the function mean to average." --diff || true
  } >"$dest/$release/demo.txt" 2>"$dest/$release/demo.log"
  echo "$demo_rc" >"$dest/$release/demo.rc"
fi
python3 "$root/training/import-report.py" "$dest" "$release" "${stages[@]}"

if [[ -n "$bundle" ]]; then
  src="$dest/$bundle/model" target="${BUNDLE_DIR:-$root/models/maskfill-tiny}"
  [[ -f "$src/model.safetensors" ]] || { echo "gpu-import: no $bundle model to bundle" >&2; exit 1; }
  mkdir -p "$target/plots"
  for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do cp "$src/$f" "$target/$f"; done
  if command -v gnuplot >/dev/null; then
    for stage in ar bd sft ar-only; do
      [[ -f "$dest/$stage/log.csv" ]] && "$root/scripts/plot-training.sh" "$target/plots/$stage.png" "$stage" "$dest/$stage"
    done
  else
    echo "gpu-import: the plots are not redrawn (no gnuplot: apt-get install gnuplot-nox)" >&2
  fi
  echo "gpu-import: bundled $bundle into $target; update its README from $dest/import.md" >&2
fi
