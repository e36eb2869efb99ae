#!/usr/bin/env bash
# Trains models/maskfill-tiny with the seed's recipe, every stage resumable (rerun the script
# after an interruption: finished stages are skipped, the running one resumes from its last
# checkpoint). Budgets are set for about 2-3 CPU-hours on 2 cores; override with env vars.
#   corpus -> BPE tokenizer -> AR (50% SPM FIM) -> block-diffusion CPT -> SFT -> export
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MASKFILL_BUILD_DIR:-$root/build}"
runs="${MASKFILL_RUNS:-$root/runs}"
mf="$build/maskfill"
AR_STEPS="${AR_STEPS:-1200}" BD_STEPS="${BD_STEPS:-900}" SFT_STEPS="${SFT_STEPS:-300}"
# SFT windows hold whole samples (an edit's instruction, input and rewrite), so SFT trains at the
# editor's 1,024 tokens with 4 rows (the same tokens a step as 16 x 256).
BATCH="${BATCH:-16}" SEQ="${SEQ:-256}" VOCAB="${VOCAB:-6144}"
SHAPE=(--hidden "${HIDDEN:-256}" --layers "${LAYERS:-4}" --heads 4 --kv-heads 2 --intermediate "${INTER:-688}")
mkdir -p "$runs"
done_stage() { [[ -f "$runs/$1/summary.json" ]]; }

[[ -f "$runs/corpus/manifest.jsonl" ]] || "$mf" train corpus --packages "$root/training/packages.txt" \
  --cache "$runs/corpus-cache" --out "$runs/corpus"  # the v2 corpus: downloads about 800 MB of .debs
[[ -f "$runs/tokenizer/tokenizer.json" ]] || "$mf" train tokenizer --corpus "$runs/corpus" --vocab "$VOCAB" --out "$runs/tokenizer"
done_stage ar || "$mf" train ar --corpus "$runs/corpus" --tokenizer "$runs/tokenizer" --out "$runs/ar" \
  "${SHAPE[@]}" --steps "$AR_STEPS" --batch "$BATCH" --seq-len "$SEQ" --lr 2e-3 --warmup 50
done_stage bd || "$mf" train bd --corpus "$runs/corpus" --tokenizer "$runs/tokenizer" --init "$runs/ar/model" \
  --out "$runs/bd" --steps "$BD_STEPS" --batch "$BATCH" --seq-len "$SEQ" --lr 1e-3 --warmup 30 --corruption-warmup 150
done_stage sft || "$mf" train sft --corpus "$runs/corpus" --tokenizer "$runs/tokenizer" --init "$runs/bd/model" \
  --out "$runs/sft" --steps "$SFT_STEPS" --batch "${SFT_BATCH:-4}" --seq-len "${SFT_SEQ:-1024}" --lr 3e-4 --warmup 20 --corruption-warmup 0
echo "trained: $runs/sft/model (copy to models/maskfill-tiny with scripts/ship-tiny.sh)"
