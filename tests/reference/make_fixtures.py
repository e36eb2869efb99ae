"""Writes tests/fixtures/parity/: tiny random Llama snapshots (F32 and BF16 safetensors), the
expected logits of full forwards, and expected ids/NFE of block diffusion and AR greedy runs,
all computed by this directory's reference from the files as written. Format:
tests/fixtures/parity/README.md. Run through scripts/make-parity-fixtures.sh.

Every generation case is vetted: the prompt is drawn from a seeded stream, and redrawn until
every discrete decision (argmax, top-k rank, threshold test) has a margin that float32 rounding
differences between implementations cannot flip (MIN_LOGIT_MARGIN, MIN_CONFIDENCE_MARGIN), and
until the case shows what it is meant to show (e.g. EOS early). Output is deterministic.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate_block import SplitMix64, generate_autoregressive, generate_block  # noqa: E402
from llama_reference import (BIDIRECTIONAL, BLOCK_CAUSAL, CAUSAL, LlamaReference,  # noqa: E402
                             parameter_shapes)
from safetensors_io import write_safetensors  # noqa: E402

MIN_LOGIT_MARGIN = 2e-3       # logits are O(10); fp32 implementations differ by ~1e-5
MIN_CONFIDENCE_MARGIN = 1e-4  # probabilities; they move by ~1e-6 under the same drift
LOGITS_F32_REL = 1e-4
WEIGHT_SEED = 20240611
BOS, EOS, MASK = 0, 2, 5

CONFIG = {
    "architectures": ["StableDiffcoderForCausalLM"], "model_type": "llama",
    "attention_bias": False, "mlp_bias": False, "hidden_act": "silu",
    "bos_token_id": BOS, "eos_token_id": EOS, "pad_token_id": 1,
    "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64,
    "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 500000.0,
    "rope_scaling": None, "tie_word_embeddings": False, "use_cache": True,
    "mask_token_id": MASK, "block_size": 4,
}


def make_weights(config):
    """Random weights scaled so the tiny model's outputs are varied and decisive: sharper
    attention (RoPE matters), a weak mask-token embedding (masked slots differ by context),
    logits of spread ~3, a zero lm_head row for the mask id (it can never be chosen), and a
    slightly boosted EOS row (EOS appears in some runs)."""
    from llama_reference import LlamaConfig
    c = LlamaConfig.from_dict(config)
    g = torch.Generator().manual_seed(WEIGHT_SEED)
    w = {}
    for name, shape in sorted(parameter_shapes(c).items()):
        t = torch.randn(shape, generator=g)
        if name.endswith("norm.weight"):
            t = 1.0 + 0.1 * t
        else:
            t = t / shape[-1] ** 0.5
        if "q_proj" in name or "k_proj" in name:
            t = t * 3.0
        w[name] = t
    w["model.embed_tokens.weight"][MASK] *= 0.2
    w["lm_head.weight"] *= 3.0
    w["lm_head.weight"][MASK] = 0.0
    w["lm_head.weight"][EOS] *= 1.3
    return w


def write_snapshot(directory, config, weights, dtype, with_head_dim):
    os.makedirs(directory, exist_ok=True)
    cfg = dict(config)
    cfg["torch_dtype"] = "float32" if dtype == torch.float32 else "bfloat16"
    if with_head_dim:
        cfg["head_dim"] = cfg["hidden_size"] // cfg["num_attention_heads"]
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(directory, "model.safetensors"),
                      {k: v.to(dtype) for k, v in weights.items()}, {"format": "pt"})


def draw_prompt(seed, length, eos_at=None):
    """BOS then ordinary tokens (ids 6..63); eos_at puts an EOS inside the prompt."""
    g = torch.Generator().manual_seed(seed)
    ids = [BOS] + torch.randint(6, CONFIG["vocab_size"], (length - 1,), generator=g).tolist()
    if eos_at is not None:
        ids[eos_at] = EOS
    return ids


def margins_ok(m):
    return (m.logit >= MIN_LOGIT_MARGIN and m.confidence >= MIN_CONFIDENCE_MARGIN
            and not m.committed_mask_id)


def find_generate_case(model, spec):
    options = dict(spec["options"])
    for attempt in range(200):
        seed = spec["prompt_seed"] + attempt
        prompt = draw_prompt(seed, spec["prompt_len"], spec.get("eos_in_prompt_at"))
        r = generate_block(model, prompt, mask_id=MASK, rng="splitmix64", **options)
        if margins_ok(r.margins) and spec.get("want", lambda r, o: True)(r, options):
            return prompt, seed, r
    raise RuntimeError(f"no prompt found for case {spec['name']}")


def find_ar_case(model, spec):
    for attempt in range(200):
        seed = spec["prompt_seed"] + attempt
        prompt = draw_prompt(seed, spec["prompt_len"])
        r = generate_autoregressive(model, prompt, spec["max_new_tokens"], spec["eos_id"])
        if r.margins.logit >= MIN_LOGIT_MARGIN and spec.get("want", lambda r: True)(r):
            return prompt, seed, r
    raise RuntimeError(f"no prompt found for case {spec['name']}")


def until_eos(ids):
    return ids[:ids.index(EOS)] if EOS in ids else list(ids)


def opts(gen_length, steps, threshold=None, temperature=0.0, remasking="low_confidence",
         eos_id=EOS, seed=0, block_length=4):
    return {"gen_length": gen_length, "steps": steps, "block_length": block_length,
            "threshold": threshold, "temperature": temperature, "remasking": remasking,
            "eos_id": eos_id, "seed": seed}


def parallel(r, o):  # threshold actually committed several tokens in one forward
    return r.denoise_forwards < len(r.ids)


GENERATE_CASES = [
    # name, model, prompt length, options, extra requirements
    dict(name="bc_lowconf_aligned", model="tiny-f32", prompt_len=8, prompt_seed=100,
         options=opts(16, 16, eos_id=None)),
    dict(name="bc_lowconf_partial_prompt", model="tiny-f32", prompt_len=10, prompt_seed=200,
         options=opts(16, 16, eos_id=None)),
    dict(name="bc_short_prompt_no_prefill", model="tiny-f32", prompt_len=3, prompt_seed=150,
         options=opts(8, 8, eos_id=None)),
    dict(name="bc_two_tokens_per_step", model="tiny-f32", prompt_len=7, prompt_seed=300,
         options=opts(16, 8, eos_id=None)),
    dict(name="bc_threshold", model="tiny-f32", prompt_len=9, prompt_seed=400,
         options=opts(24, 24, threshold=0.35, eos_id=None), want=parallel),
    dict(name="bc_threshold_edge_case_fixed", model="tiny-f32", prompt_len=12, prompt_seed=500,
         options=opts(16, 4, threshold=0.6, eos_id=None),
         want=lambda r, o: r.denoise_forwards > 4),
    dict(name="bc_eos_early", model="tiny-f32", prompt_len=8, prompt_seed=600,
         options=opts(32, 32), want=lambda r, o: r.stopped_at_eos and 4 < len(r.ids) <= 16),
    dict(name="bc_eos_in_prompt_tail", model="tiny-f32", prompt_len=10, prompt_seed=700,
         eos_in_prompt_at=8, options=opts(16, 16),
         want=lambda r, o: len(r.ids) > 2),
    dict(name="bc_long_prompt_70", model="tiny-f32", prompt_len=70, prompt_seed=800,
         options=opts(32, 32, eos_id=None)),
    dict(name="bc_long_prompt_70_threshold", model="tiny-f32", prompt_len=70, prompt_seed=850,
         options=opts(32, 32, threshold=0.35), want=parallel),
    dict(name="bc_temperature_0_7", model="tiny-f32", prompt_len=9, prompt_seed=900,
         options=opts(16, 16, temperature=0.7, eos_id=None, seed=1234),
         want=lambda r, o: len(set(r.ids)) >= 4),
    dict(name="bc_random_remasking", model="tiny-f32", prompt_len=8, prompt_seed=1000,
         options=opts(16, 16, remasking="random", eos_id=None, seed=77)),
    dict(name="bc_random_remasking_temperature_1", model="tiny-f32", prompt_len=11, prompt_seed=1100,
         options=opts(16, 8, temperature=1.0, remasking="random", eos_id=None, seed=99)),
    dict(name="bc_bf16_lowconf_partial_prompt", model="tiny-bf16", prompt_len=9, prompt_seed=1200,
         options=opts(16, 16)),
    dict(name="bc_bf16_threshold", model="tiny-bf16", prompt_len=12, prompt_seed=1300,
         options=opts(24, 24, threshold=0.35), want=parallel),
    dict(name="bc_bf16_long_prompt_70_threshold", model="tiny-bf16", prompt_len=70, prompt_seed=1400,
         options=opts(32, 32, threshold=0.35, eos_id=None), want=parallel),
    dict(name="bc_bf16_lowconf_aligned", model="tiny-bf16", prompt_len=8, prompt_seed=1500,
         options=opts(16, 16, eos_id=None)),
]

AR_CASES = [
    dict(name="ar_greedy", model="tiny-f32", prompt_len=10, prompt_seed=2000, max_new_tokens=24,
         eos_id=None),
    dict(name="ar_greedy_eos", model="tiny-f32", prompt_len=8, prompt_seed=2100, max_new_tokens=32,
         eos_id=EOS, want=lambda r: r.stopped_at_eos),
    dict(name="ar_greedy_long_prompt_70", model="tiny-f32", prompt_len=70, prompt_seed=2200,
         max_new_tokens=16, eos_id=None),
    dict(name="ar_greedy_bf16", model="tiny-bf16", prompt_len=9, prompt_seed=2300, max_new_tokens=16,
         eos_id=EOS),
]

# name, model, mode, ids (seed, length, positions holding the mask id)
LOGITS_CASES = [
    ("block_causal_11", "tiny-f32", BLOCK_CAUSAL, 3000, 11, [8, 9, 10]),
    ("causal_11", "tiny-f32", CAUSAL, 3000, 11, [8, 9, 10]),
    ("bidirectional_11", "tiny-f32", BIDIRECTIONAL, 3000, 11, [8, 9, 10]),
    ("block_causal_70", "tiny-f32", BLOCK_CAUSAL, 3100, 70, [66, 67, 68, 69]),
    ("causal_70", "tiny-f32", CAUSAL, 3100, 70, []),
    ("bf16_block_causal_13", "tiny-bf16", BLOCK_CAUSAL, 3200, 13, [12]),
    ("bf16_causal_13", "tiny-bf16", CAUSAL, 3200, 13, []),
]


def logits_cases(models):
    entries, tensors = [], {}
    for name, model_name, mode, seed, length, masked in LOGITS_CASES:
        ids = draw_prompt(seed, length)
        for pos in masked:
            ids[pos] = MASK
        logits = models[model_name].forward(ids, mode)
        tensors[name] = logits.contiguous()
        entries.append({"name": name, "model": model_name, "mode": mode, "block_size": 4,
                        "input_ids": ids, "tensor": name, "shape": list(logits.shape),
                        "compute_dtype": "float32", "tolerance_rel": LOGITS_F32_REL})
        if model_name == "tiny-bf16":
            entries.append(bf16_compute_entry(entries[-1], models[model_name], ids, mode, logits))
    return entries, tensors


def bf16_compute_entry(f32_entry, model, ids, mode, logits_f32):
    """The same forward computed in bfloat16: its own error against float32 compute sets a
    (4x, floored at 2e-2) tolerance for another bf16 implementation against the same tensor."""
    bf16_model = LlamaReference(model.config, model.w, dtype=torch.bfloat16)
    logits_bf16 = bf16_model.forward(ids, mode)
    err = float((logits_bf16 - logits_f32).abs().max() / logits_f32.abs().max())
    entry = dict(f32_entry)
    entry.update(name=f32_entry["name"] + "_bf16_compute", compute_dtype="bfloat16",
                 tolerance_rel=round(max(2e-2, 4 * err), 4), reference_bf16_error_rel=round(err, 5))
    return entry


def bf16_compute_generation(model, prompt, options, float32_result):
    """The same generation computed in bfloat16. bf16 rounding can flip a decision the float32
    run makes (the tiny model's sharp attention amplifies it), and after a flip the two runs
    diverge for good; so a bf16 implementation is held to these ids only over the leading
    positions where the reference's own bf16 and float32 runs agree."""
    bf16_model = LlamaReference(model.config, model.w, dtype=torch.bfloat16)
    r = generate_block(bf16_model, prompt, mask_id=MASK, rng="splitmix64", **options)
    ids, reference = until_eos(r.ids), until_eos(float32_result.ids)
    agree = 0
    while agree < min(len(ids), len(reference)) and ids[agree] == reference[agree]:
        agree += 1
    return {"ids_until_eos": ids, "agrees_with_float32_for": agree}


def case_margins(m):
    return {"logit": m.logit if m.logit != float("inf") else None,
            "confidence": m.confidence if m.confidence != float("inf") else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="fixture directory to (re)write")
    parser.add_argument("--check", metavar="DIR",
                        help="after writing --out, compare it with DIR (ids exact, floats to 1e-6)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # reproducible reduction order
    write_fixtures(args.out)
    if args.check:
        problems = compare_fixtures(args.check, args.out)
        for p in problems:
            print(f"differs: {p}", file=sys.stderr)
        sys.exit(1 if problems else 0)


def _close(a, b, rel=1e-6):
    if isinstance(a, float) or isinstance(b, float):
        return (a is not None and b is not None and abs(a - b) <= rel * max(1.0, abs(a), abs(b)))
    return a == b


def _compare_json(a, b, where, problems):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            _compare_json(a.get(key), b.get(key), f"{where}.{key}", problems)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _compare_json(x, y, f"{where}[{i}]", problems)
    elif not _close(a, b):
        problems.append(where)


def compare_fixtures(committed, fresh):
    """Differences that matter: any id, option or config change; floats beyond 1e-6 relative
    (other CPUs may round the last bits differently)."""
    from safetensors_io import read_safetensors
    problems = []
    for rel in ("cases.json", "tiny-f32/config.json", "tiny-bf16/config.json"):
        with open(os.path.join(committed, rel)) as f, open(os.path.join(fresh, rel)) as g:
            _compare_json(json.load(f), json.load(g), rel, problems)
    for rel in ("tiny-f32/model.safetensors", "tiny-bf16/model.safetensors", "expected_logits.safetensors"):
        a, _ = read_safetensors(os.path.join(committed, rel))
        b, _ = read_safetensors(os.path.join(fresh, rel))
        if set(a) != set(b):
            problems.append(f"{rel}: tensor names")
            continue
        for name in a:
            x, y = a[name].float(), b[name].float()
            if x.shape != y.shape or float((x - y).abs().max()) > 1e-6 * max(1.0, float(y.abs().max())):
                problems.append(f"{rel}: {name}")
    return problems


def write_fixtures(out):
    os.makedirs(out, exist_ok=True)
    weights = make_weights(CONFIG)
    write_snapshot(os.path.join(out, "tiny-f32"), CONFIG, weights, torch.float32, with_head_dim=False)
    write_snapshot(os.path.join(out, "tiny-bf16"), CONFIG, weights, torch.bfloat16, with_head_dim=True)
    # Expectations come from the files as written (bf16 weights upcast, computed in float32).
    models = {name: LlamaReference.load(os.path.join(out, name)) for name in ("tiny-f32", "tiny-bf16")}

    logits_entries, tensors = logits_cases(models)
    write_safetensors(os.path.join(out, "expected_logits.safetensors"), tensors,
                      {"format": "pt", "generator": "tests/reference/make_fixtures.py"})

    generate = []
    for spec in GENERATE_CASES:
        prompt, seed, r = find_generate_case(models[spec["model"]], spec)
        generate.append({
            "name": spec["name"], "model": spec["model"], "prompt_ids": prompt,
            "options": dict(spec["options"], mask_id=MASK, rng="splitmix64"),
            "expected": {"ids": r.ids, "ids_until_eos": until_eos(r.ids), "nfe": r.nfe,
                         "denoise_forwards": r.denoise_forwards, "commit_forwards": r.commit_forwards,
                         "prefill_forwards": r.prefill_forwards, "stopped_at_eos": r.stopped_at_eos},
            "min_margins": case_margins(r.margins), "prompt_seed": seed})
        if spec["model"] == "tiny-bf16":
            generate[-1]["bf16_compute"] = bf16_compute_generation(models["tiny-bf16"], prompt, spec["options"], r)
        print(f"{spec['name']}: P={len(prompt)} nfe={r.nfe} eos={r.stopped_at_eos} ids={r.ids}")

    autoregressive = []
    for spec in AR_CASES:
        prompt, seed, r = find_ar_case(models[spec["model"]], spec)
        autoregressive.append({
            "name": spec["name"], "model": spec["model"], "prompt_ids": prompt,
            "max_new_tokens": spec["max_new_tokens"], "eos_id": spec["eos_id"],
            "expected": {"ids": r.ids, "ids_until_eos": until_eos(r.ids), "nfe": r.nfe,
                         "stopped_at_eos": r.stopped_at_eos},
            "min_margins": case_margins(r.margins), "prompt_seed": seed})
        print(f"{spec['name']}: P={len(prompt)} eos={r.stopped_at_eos} ids={r.ids}")

    rng = SplitMix64(42)
    u64 = [rng.next_u64() for _ in range(4)]
    rng = SplitMix64(42)
    uniform = [rng.next_uniform() for _ in range(4)]
    cases = {
        "format_version": 1,
        "generator": "scripts/make-parity-fixtures.sh (tests/reference/make_fixtures.py)",
        "models": {"tiny-f32": {"dir": "tiny-f32", "weights_dtype": "F32"},
                   "tiny-bf16": {"dir": "tiny-bf16", "weights_dtype": "BF16"}},
        "logits_file": "expected_logits.safetensors",
        "logits": logits_entries,
        "generate": generate,
        "autoregressive": autoregressive,
        "splitmix64_test_vectors": {"seed": 42, "u64": [str(v) for v in u64],
                                    "uniform": uniform},
    }
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
