#!/usr/bin/env bash
# Smoke run of the whole training recipe on a tiny slice: corpus (one package, capped), BPE
# tokenizer, AR -> block diffusion -> SFT for a few steps each. Checks that each stage's loss
# decreases and that the written model loads and decodes through `maskfill generate`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${MASKFILL_BUILD_DIR:-$root/build}"
mf="$build/maskfill"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
# The split is by package (a list line); the stdlib is the only package every machine has, so two
# lines of it stand for two packages here, one held out.
cat >"$work/packages.txt" <<'LIST'
libpython3.11-stdlib ext=py under=/usr/lib/python3.11/asyncio/,/usr/lib/python3.11/multiprocessing/ licence=PSF-2.0
libpython3.11-stdlib ext=py under=/usr/lib/python3.11/json/,/usr/lib/python3.11/email/ licence=PSF-2.0 split=validation
LIST
"$mf" train corpus --packages "$work/packages.txt" --out "$work/corpus" 2>&1 | grep "after near dedup"
"$mf" train tokenizer --corpus "$work/corpus" --vocab 600 --out "$work/tokenizer" 2>&1 | tail -1
# Its compression of held-out text, what a vocabulary size is chosen by.
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); assert 1.5 < m['bytes_per_token'] < 6 and m['validation_bytes'] > 0, m" \
  "$work/tokenizer/measured.json"
# The GPU trip's pack (training/pack-corpus.py): a document sample near the asked size, in the
# corpus format the tokenizer reads, and a refusal when one language is above the cap.
corpus_mb=$(python3 -c "import sys,json; print(sum(len(json.loads(l)['text'].encode()) for f in sys.argv[1:] for l in open(f))/1e6)" "$work"/corpus/train-*.jsonl)
half=$(python3 -c "print($corpus_mb / 2)")
python3 "$root/training/pack-corpus.py" "$work/corpus" "$work/pack" --train-mb "$half" --validation-mb 1 --max-share 1 >/dev/null
packed_mb=$(python3 -c "import sys,json; print(sum(len(json.loads(l)['text'].encode()) for f in sys.argv[1:] for l in open(f))/1e6)" "$work"/pack/train-*.jsonl)
python3 -c "import sys; c, p = map(float, sys.argv[1:]); assert 0.2 * c < p < 0.8 * c, (c, p)" "$corpus_mb" "$packed_mb"
grep -q "| train | python |" "$work/pack/pack.md"
"$mf" train tokenizer --corpus "$work/pack" --vocab 300 --out "$work/pack-tokenizer" >/dev/null 2>&1
if python3 "$root/training/pack-corpus.py" "$work/corpus" "$work/pack-capped" --train-mb "$half" --max-share 0.35 \
  >/dev/null 2>"$work/cap.err"; then echo "train-smoke: a one-language pack passed the 35% cap" >&2; exit 1; fi
grep -q "above the 35% cap: python" "$work/cap.err"
echo "pack: $packed_mb of $corpus_mb MB train text"
shape=(--hidden 64 --layers 2 --heads 2 --kv-heads 1 --intermediate 128 --context 256)
common=(--corpus "$work/corpus" --tokenizer "$work/tokenizer" --batch 4 --threads 1 --eval-every 1000 --log-every 1)
"$mf" train ar "${common[@]}" "${shape[@]}" --seq-len 64 --steps 60 --lr 3e-3 --warmup 5 --out "$work/ar" 2>&1 | tail -1
"$mf" train bd "${common[@]}" --seq-len 64 --init "$work/ar/model" --steps 200 --lr 3e-3 --warmup 5 --corruption-warmup 0 \
  --out "$work/bd" 2>&1 | tail -1
# The same stage in bf16 (fp32 master weights in the optimizer), as the GPU run trains.
"$mf" train bd "${common[@]}" --seq-len 64 --init "$work/ar/model" --steps 100 --lr 3e-3 --warmup 5 --corruption-warmup 0 \
  --precision bf16 --out "$work/bd-bf16" 2>&1 | tail -1
grep -q '"precision": "bf16"' "$work/bd-bf16/summary.json" || { cat "$work/bd-bf16/summary.json"; exit 1; }
# SFT windows hold whole samples (instruction + input + response), so they need a longer context.
# The stream carries next-edit samples (the planner's prompts at this model's context) too.
# Synthesised first (as before a GPU run), then loaded by the stage.
synth_log="$("$mf" train sft "${common[@]}" "${shape[@]}" --seq-len 256 --sft-samples 300 --synth-only --out "$work/sft" 2>&1)"
grep -Eq "sft train stream: .* [1-9][0-9]* next-edit samples" <<<"$synth_log" || { grep "stream" <<<"$synth_log"; exit 1; }
sft_log="$("$mf" train sft "${common[@]}" --seq-len 256 --init "$work/bd/model" --steps 20 --lr 1e-3 --warmup 2 \
  --sft-samples 300 --out "$work/sft" 2>&1)"
tail -1 <<<"$sft_log"
grep -q "sft train stream: .*(synthesised before)" <<<"$sft_log" || { grep "stream" <<<"$sft_log"; exit 1; }
# Loss must fall: mean of the first 10 logged steps against the last 10.
for stage in ar bd bd-bf16; do
  python3 - "$work/$stage/log.csv" "$stage" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
first = sum(float(r["loss"]) for r in rows[:10]) / 10
last = sum(float(r["loss"]) for r in rows[-10:]) / 10
print(f"{sys.argv[2]}: loss {first:.3f} -> {last:.3f}")
sys.exit(0 if last < first else 1)
PY
done
# Resume: a finished stage run again does no steps and keeps its model.
resumed="$("$mf" train ar "${common[@]}" "${shape[@]}" --seq-len 64 --steps 60 --out "$work/ar" 2>&1)"
grep -q "resuming at step 60" <<<"$resumed" || { echo "$resumed"; exit 1; }
out="$("$mf" generate --model "$work/sft/model" --prompt "def f(x):" --gen-length 8 --threads 1 2>&1)"
grep -q "block diffusion: prompt" <<<"$out" || { echo "$out"; exit 1; }
# The device command (scripts/gpu-train.sh) at toy scale on the CPU, written outside the checkout,
# then its import (scripts/gpu-import.sh): what comes back fits the transfer limits, the pieces
# join to the models the device wrote (SHA-256 in the logs), every model is measured through the
# editor's pipeline, and a damaged piece is refused. `timeout` only guards against a hang.
dry="$work/dry"; mkdir -p "$dry"
MASKFILL_BUILD_DIR="$build" RUNS="$dry/runs" OUT="$dry/out" CORPUS="$work/pack" \
  DEVICE=cpu BUDGET_S=1200 RESERVE_S=60 AR_S=4 BD_S=4 SFT_S=3 MIN_STEPS=5 BATCH=4 MICRO=2 SEQ=256 CONTEXT=2048 \
  HIDDEN=64 LAYERS=2 HEADS=2 INTER=128 SFT_SAMPLES=100 LOG_EVERY=1 \
  timeout 900 "$root/scripts/gpu-train.sh" >"$dry/train.log" 2>&1 || { tail -20 "$dry/train.log"; exit 1; }
python3 - "$dry/out" <<'PY'
import os, sys
files = os.listdir(sys.argv[1])
assert len(files) <= 8 and all(os.path.getsize(os.path.join(sys.argv[1], f)) < 16_000_000 for f in files), files
for stage in ("bd", "sft", "ar-only"):
    assert f"{stage}.safetensors.part00" in files, (stage, files)
assert "train-logs.tgz" in files, files
PY
IMPORT="$dry/import" BUNDLE_DIR="$dry/bundle" "$root/scripts/gpu-import.sh" "$dry/out" --bundle sft >"$dry/import.md" 2>"$dry/import.log" ||
  { cat "$dry/import.log"; exit 1; }
python3 - "$dry/import/import.json" <<'PY' || { cat "$dry/import.log"; exit 1; }
import json, sys
report = json.load(open(sys.argv[1]))
assert [s["stage"] for s in report["stages"]] == ["bd", "sft", "ar-only"], report["stages"]
for s in report["stages"]:
    assert s["eval"]["single_pass_at_1"] is not None and s["eval"]["multi_pass_at_1"] is not None, s
assert "autoregressive" in report["stages"][2]["eval"]["decoding"], report["stages"][2]["eval"]
assert report["release"]["stage"] == "sft" and report["release"]["inline_feature_ms_p50"] > 0, report["release"]
PY
grep -q "| single-line pass@1 |" "$dry/import.md"
cmp "$dry/import/sft/model/model.safetensors" "$dry/bundle/model.safetensors"
grep -c "model.safetensors" "$dry"/import/{bd,sft,ar-only}/model/model.sha256 >/dev/null
printf 'x' | dd of="$dry/out/sft.safetensors.part00" bs=1 seek=100 conv=notrunc status=none
if IMPORT="$dry/import-damaged" "$root/scripts/gpu-import.sh" "$dry/out" >/dev/null 2>"$dry/damaged.log"; then
  echo "train-smoke: a damaged piece was imported" >&2; exit 1
fi
grep -q "sft's weights do not match the SHA-256" "$dry/damaged.log" || { cat "$dry/damaged.log"; exit 1; }
echo "train smoke: ok"
