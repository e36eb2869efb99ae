#!/usr/bin/env bash
# Trains models/maskfill-tiny with the seed's recipe, every stage resumable (rerun the script
# after an interruption: finished stages are skipped, the running one resumes from its last
# checkpoint). The v2 recipe of scripts/gpu-train.sh on the CPU: the committed tokenizer-v2, the
# v2 shape (384 wide, 4 layers) and every stage at the editor's 1,024 positions, 4 rows a step
# (4,096 tokens, as v1's 16 x 256). At this shape the 2-core machine trains about 950 AR and 420
# block-diffusion tokens a second, so the default budgets take about 5 CPU-hours; override with
# env vars.
#   corpus -> AR (50% SPM FIM) -> block-diffusion CPT -> SFT -> export
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MASKFILL_BUILD_DIR:-$root/build}"
runs="${MASKFILL_RUNS:-$root/runs}"
mf="$build/maskfill"
AR_STEPS="${AR_STEPS:-1200}" BD_STEPS="${BD_STEPS:-900}" SFT_STEPS="${SFT_STEPS:-300}"
BATCH="${BATCH:-4}" SEQ="${SEQ:-1024}"
tokenizer="${TOKENIZER:-$root/models/tokenizer-v2}"
SHAPE=(--hidden "${HIDDEN:-384}" --layers "${LAYERS:-4}" --heads "${HEADS:-6}" --kv-heads 1 --intermediate "${INTER:-896}")
mkdir -p "$runs"
done_stage() { [[ -f "$runs/$1/summary.json" ]]; }

[[ -f "$runs/corpus/manifest.jsonl" ]] || "$mf" train corpus --packages "$root/training/packages.txt" \
  --cache "$runs/corpus-cache" --out "$runs/corpus"  # the v2 corpus: downloads about 800 MB of .debs
done_stage ar || "$mf" train ar --corpus "$runs/corpus" --tokenizer "$tokenizer" --out "$runs/ar" \
  "${SHAPE[@]}" --steps "$AR_STEPS" --batch "$BATCH" --seq-len "$SEQ" --lr 2e-3 --warmup 50
done_stage bd || "$mf" train bd --corpus "$runs/corpus" --tokenizer "$tokenizer" --init "$runs/ar/model" \
  --out "$runs/bd" --steps "$BD_STEPS" --batch "$BATCH" --seq-len "$SEQ" --lr 1e-3 --warmup 30 --corruption-warmup 150
done_stage sft || "$mf" train sft --corpus "$runs/corpus" --tokenizer "$tokenizer" --init "$runs/bd/model" \
  --out "$runs/sft" --steps "$SFT_STEPS" --batch "$BATCH" --seq-len "$SEQ" --lr 3e-4 --warmup 20 --corruption-warmup 0
echo "trained: $runs/sft/model (copy its files to models/maskfill-tiny to bundle it)"
