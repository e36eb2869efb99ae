"""The Python half of scripts/gpu-check.sh (see there). Subcommands:

  parity  --device D   the reference on D against the committed fixtures (logits to their
                       tolerance, generated ids and NFE exactly), then against transformers'
                       LlamaForCausalLM (the fixture snapshot and a larger random config) with
                       a custom 4D block-causal mask, causal and bidirectional. Exit 1 on a
                       mismatch; transformers missing is reported and skipped.
  bench   --device D   an 8B-shape model (Stable-DiffCoder-8B config) with random bf16 weights:
                       ms per 4-token block forward at cached prefix 128/512/2048 against the
                       memory-bandwidth roofline (bytes read / measured copy bandwidth), and the
                       official-style generate_block loop and AR greedy on the same GPU.
                       --shape tiny shrinks everything for a CPU smoke run.
"""
import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from generate_block import generate_autoregressive, generate_block  # noqa: E402
from llama_reference import (BIDIRECTIONAL, BLOCK_CAUSAL, CAUSAL, LlamaConfig,  # noqa: E402
                             LlamaReference, attention_mask, parameter_shapes)
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures", "parity"))

SHAPES = {
    # Stable-DiffCoder-8B (shared reference §1.1)
    "8b": dict(vocab_size=155136, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
               num_attention_heads=32, num_key_value_heads=8, head_dim=128, rope_theta=500000.0,
               rms_norm_eps=1e-6, max_position_embeddings=8192),
    "tiny": dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=16, rope_theta=500000.0,
                 rms_norm_eps=1e-6, max_position_embeddings=4096),
    # The CPU smoke run of the end-to-end steps: tiny, but with the bundled tokenizer's
    # vocabulary and an 8K context, so the 4K-token prompts of the GPU run fit.
    "smoke": dict(vocab_size=6400, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=16, rope_theta=500000.0,
                  rms_norm_eps=1e-6, max_position_embeddings=8192),
}


def say(*args):
    print(*args, flush=True)


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def rel_err(got, want):
    return float((got.float().cpu() - want.float().cpu()).abs().max() / want.float().abs().max())


# ---------------------------------------------------------------- parity


def check_fixtures(device):
    with open(os.path.join(FIXTURES, "cases.json")) as f:
        cases = json.load(f)
    expected, _ = read_safetensors(os.path.join(FIXTURES, cases["logits_file"]))
    models = {name: LlamaReference.load(os.path.join(FIXTURES, name), device=device) for name in cases["models"]}
    failures = 0
    for e in cases["logits"]:
        if e["compute_dtype"] == "float32":
            model = models[e["model"]]
        else:
            model = LlamaReference(models[e["model"]].config, models[e["model"]].w, dtype=torch.bfloat16, device=device)
        err = rel_err(model.forward(e["input_ids"], e["mode"]), expected[e["tensor"]])
        ok = err <= e["tolerance_rel"]
        failures += not ok
        say(f"  logits {e['name']:<36} rel err {err:.2e} (tol {e['tolerance_rel']:.0e}) {'ok' if ok else 'FAIL'}")
    for c in cases["generate"]:
        o = c["options"]
        r = generate_block(models[c["model"]], c["prompt_ids"], gen_length=o["gen_length"], steps=o["steps"],
                           block_length=o["block_length"], temperature=o["temperature"],
                           remasking=o["remasking"], mask_id=o["mask_id"], threshold=o["threshold"],
                           eos_id=o["eos_id"], seed=o["seed"], rng=o["rng"])
        ok = r.ids == c["expected"]["ids"] and r.nfe == c["expected"]["nfe"]
        failures += not ok
        say(f"  generate {c['name']:<34} nfe {r.nfe:>3} {'ok' if ok else 'FAIL ' + str(r.ids)}")
    for c in cases["autoregressive"]:
        r = generate_autoregressive(models[c["model"]], c["prompt_ids"], c["max_new_tokens"], c["eos_id"])
        ok = r.ids == c["expected"]["ids"]
        failures += not ok
        say(f"  autoregressive {c['name']:<28} {'ok' if ok else 'FAIL ' + str(r.ids)}")
    return failures


def hf_additive_mask(mode, length, dtype, device, block_size=4):
    allowed = attention_mask(mode, 0, length, length, block_size, device)
    mask = torch.zeros(length, length, dtype=dtype, device=device)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    return mask[None, None]


def random_snapshot(directory, shape, seed):
    cfg = dict(shape, model_type="llama", architectures=["StableDiffcoderForCausalLM"], bos_token_id=0,
               eos_token_id=2, tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
               hidden_act="silu", mask_token_id=5, block_size=4, torch_dtype="float32")
    c = LlamaConfig.from_dict(cfg)
    g = torch.Generator().manual_seed(seed)
    w = {}
    for name, s in parameter_shapes(c).items():
        t = torch.randn(s, generator=g)
        w[name] = 1.0 + 0.1 * t if name.endswith("norm.weight") else t / s[-1] ** 0.5
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(cfg, f)
    write_safetensors(os.path.join(directory, "model.safetensors"), w, {"format": "pt"})


def check_transformers(device):
    try:
        import transformers
        from transformers import LlamaForCausalLM
    except ImportError as e:
        say(f"  transformers not importable ({e}): skipped")
        return 0
    say(f"  transformers {transformers.__version__}")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "small")
        random_snapshot(small, dict(vocab_size=1000, hidden_size=256, intermediate_size=688,
                                    num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=2,
                                    head_dim=32, rope_theta=500000.0, rms_norm_eps=1e-6,
                                    max_position_embeddings=512), seed=7)
        for label, snapshot in (("fixture tiny-f32", os.path.join(FIXTURES, "tiny-f32")), ("random small", small)):
            ours = LlamaReference.load(snapshot, device=device)
            for impl in ("eager", "sdpa"):
                # transformers 5 renamed torch_dtype to dtype
                dtype_arg = {"dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype": torch.float32}
                try:
                    hf, info = LlamaForCausalLM.from_pretrained(snapshot, attn_implementation=impl,
                                                                output_loading_info=True, **dtype_arg)
                except Exception as e:  # noqa: BLE001 - report any loader failure and go on
                    say(f"  {label} [{impl}]: transformers could not load it: {type(e).__name__}: {e}")
                    failures += 1
                    continue
                bad_keys = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
                if bad_keys:
                    say(f"  {label} [{impl}]: loading info {bad_keys}")
                    failures += 1
                hf = hf.float().to(device).eval()
                g = torch.Generator().manual_seed(11)
                length = 37
                ids = torch.randint(6, ours.config.vocab_size, (length,), generator=g)
                ids[30:] = 5
                for mode in (BLOCK_CAUSAL, CAUSAL, BIDIRECTIONAL):
                    with torch.no_grad():
                        want = ours.forward(ids, mode)
                        out = hf(input_ids=ids[None].to(device),
                                 attention_mask=hf_additive_mask(mode, length, torch.float32, device),
                                 position_ids=torch.arange(length, device=device)[None], use_cache=False)
                    err = rel_err(out.logits[0], want)
                    ok = err <= 1e-4
                    failures += not ok
                    say(f"  {label} [{impl}] {mode:<13} vs LlamaForCausalLM: rel err {err:.2e} {'ok' if ok else 'FAIL'}")
                with torch.no_grad():  # HF's own causal path (no custom mask)
                    out = hf(input_ids=ids[None].to(device), use_cache=False)
                err = rel_err(out.logits[0], ours.forward(ids, CAUSAL))
                failures += err > 1e-4
                say(f"  {label} [{impl}] causal, HF's own mask: rel err {err:.2e} {'ok' if err <= 1e-4 else 'FAIL'}")
    return failures


def cmd_parity(args):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    say(f"parity on {args.device} (torch {torch.__version__})")
    say("fixtures (tests/fixtures/parity) through the reference:")
    failures = check_fixtures(args.device)
    say("reference vs transformers:")
    failures += check_transformers(args.device)
    say(f"parity: {'all ok' if failures == 0 else f'{failures} FAILED'}")
    return 1 if failures else 0


# ---------------------------------------------------------------- bench


def timed_ms(fn, device, repeats, warmup=3):
    """Median wall ms of fn(), synchronizing around each call (CUDA events on CUDA)."""
    for _ in range(warmup):
        fn()
    times = []
    cuda = torch.device(device).type == "cuda"
    for _ in range(repeats):
        if cuda:
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(begin.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def copy_bandwidth(device, nbytes):
    """Device-to-device copy, counting bytes read plus bytes written."""
    src = torch.empty(nbytes // 2, dtype=torch.bfloat16, device=device).normal_()
    dst = torch.empty_like(src)
    ms = timed_ms(lambda: dst.copy_(src), device, repeats=20)
    del src, dst
    return 2 * nbytes / (ms / 1e3)


def random_weights(config, dtype, device, seed):
    torch.manual_seed(seed)
    w = {}
    for name, shape in parameter_shapes(config).items():
        if name.endswith("norm.weight"):
            w[name] = torch.ones(shape, dtype=dtype, device=device)
        else:
            w[name] = torch.empty(shape, dtype=dtype, device=device).normal_(0.0, 1.0 / math.sqrt(shape[-1]))
    return w


def cmd_bench(args):
    device, dtype = args.device, torch.bfloat16
    config = LlamaConfig.from_dict(SHAPES[args.shape])
    cache_sizes = [int(s) for s in args.cache_sizes.split(",")]
    say(f"bench: shape {args.shape} on {device}, bf16, random weights, torch {torch.__version__}")
    if torch.device(device).type == "cuda":
        say(f"  device: {torch.cuda.get_device_name()}")
    t0 = time.perf_counter()
    weights = random_weights(config, dtype, device, seed=1)
    model = LlamaReference(config, weights, dtype=dtype, device=device,
                           attn_impl="sdpa" if hasattr(torch.nn.functional, "scaled_dot_product_attention") else "math")
    sync(device)
    weight_bytes = sum(t.numel() * t.element_size() for t in weights.values())
    say(f"  weights: {weight_bytes / 1e9:.2f} GB ({sum(t.numel() for t in weights.values()) / 1e9:.3f} B params),"
        f" made in {time.perf_counter() - t0:.1f} s, attention {model.attn_impl}")
    bandwidth = copy_bandwidth(device, args.copy_bytes)
    say(f"  measured copy bandwidth (read+write): {bandwidth / 1e12:.3f} TB/s")
    kv_per_token = 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim * 2

    longest = max(cache_sizes)
    cache = model.new_cache(longest + args.gen_length + 8)
    prompt = torch.randint(6, config.vocab_size, (longest,), device=device)
    with torch.no_grad():
        t0 = time.perf_counter()
        model.forward(prompt, BLOCK_CAUSAL, cache, commit=True)
        sync(device)
        say(f"  prefill {longest} tokens (block-causal): {(time.perf_counter() - t0) * 1e3:.1f} ms (first call, incl. warm-up)")
        block = torch.full((4,), 5, dtype=torch.long, device=device)
        say("  4-token block forward (reads the cache, does not append) vs roofline:")
        say(f"    {'cached':>7} {'ms':>8} {'roofline ms':>12} {'of roofline':>12}")
        results = {}
        for size in cache_sizes:
            cache.length = size  # the cache already holds `longest` committed tokens
            ms = timed_ms(lambda: model.forward(block, BLOCK_CAUSAL, cache, commit=False), device, args.repeats)
            roof = (weight_bytes + size * kv_per_token) / bandwidth * 1e3
            results[size] = ms
            say(f"    {size:>7} {ms:>8.2f} {roof:>12.2f} {roof / ms:>11.0%}")
        cache.length = longest
        if len(cache_sizes) > 1:
            say(f"    ratio {max(cache_sizes)}/{min(cache_sizes)}: {results[max(cache_sizes)] / results[min(cache_sizes)]:.2f}")
    loop_prompt = prompt[:args.loop_prompt].tolist()
    for threshold in (None, 0.9):
        sync(device)
        t0 = time.perf_counter()
        r = generate_block(model, loop_prompt, gen_length=args.gen_length, steps=args.gen_length,
                           block_length=4, threshold=threshold, eos_id=None, mask_id=5, rng="torch",
                           seed=0, collect_margins=False)
        sync(device)
        s = time.perf_counter() - t0
        say(f"  official-style generate_block, prompt {len(loop_prompt)}, gen {args.gen_length}, "
            f"threshold {threshold}: {s * 1e3:.0f} ms incl. prefill, NFE {r.nfe}, "
            f"{len(r.ids) / r.nfe:.2f} tokens/forward, {len(r.ids) / s:.1f} tokens/s")
    sync(device)
    t0 = time.perf_counter()
    r = generate_autoregressive(model, loop_prompt, args.gen_length)
    sync(device)
    s = time.perf_counter() - t0
    say(f"  AR greedy, prompt {len(loop_prompt)}, {len(r.ids)} tokens: {s * 1e3:.0f} ms incl. prefill, "
        f"{len(r.ids) / s:.1f} tokens/s")
    return 0


# ---------------------------------------------------------------- snapshot

def cmd_snapshot(args):
    """An HF-layout snapshot of the given shape with random bf16 weights (std 0.02), made on the
    device and written in ~2 GB shards, with the bundled model's tokenizer (ids past its
    vocabulary decode to nothing). For timing the product end to end; never carried."""
    import shutil
    root = os.path.normpath(os.path.join(HERE, "..", ".."))
    bundled = os.path.join(root, "models", "maskfill-tiny")
    os.makedirs(args.out, exist_ok=True)
    shape = dict(SHAPES[args.shape])
    config = {"architectures": ["StableDiffcoderForCausalLM"], "model_type": "llama", "attention_bias": False,
              "mlp_bias": False, "hidden_act": "silu", "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
              "mask_token_id": 5, "block_size": 4, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
              "rope_scaling": None, **shape}
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(bundled, name), os.path.join(args.out, name))
    shapes = parameter_shapes(LlamaConfig(**shape))
    torch.manual_seed(args.seed)
    t0 = time.time()
    shard, shard_bytes, index, files = {}, 0, {}, []

    def flush():
        nonlocal shard, shard_bytes
        if not shard:
            return
        name = f"model-{len(files) + 1:05d}.safetensors"
        write_safetensors(os.path.join(args.out, name), shard, {"format": "pt"})
        for key in shard:
            index[key] = name
        files.append(name)
        shard, shard_bytes = {}, 0

    for name, dims in sorted(shapes.items()):
        if len(dims) >= 2:
            t = (torch.randn(*dims, dtype=torch.bfloat16, device=args.device) * 0.02).cpu()
        else:
            t = torch.ones(*dims, dtype=torch.bfloat16)
        shard[name] = t
        shard_bytes += t.numel() * 2
        if shard_bytes >= 2 << 30:
            flush()
    flush()
    with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": index}, f)
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in files)
    say(f"snapshot: {args.shape} shape, {total / 1e9:.2f} GB in {len(files)} shards, {time.time() - t0:.1f} s -> {args.out}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parity")
    p.add_argument("--device", default="cuda")
    b = sub.add_parser("bench")
    b.add_argument("--device", default="cuda")
    b.add_argument("--shape", choices=sorted(SHAPES), default="8b")
    b.add_argument("--cache-sizes", default="128,512,2048")
    b.add_argument("--gen-length", type=int, default=64)
    b.add_argument("--loop-prompt", type=int, default=512, help="prompt tokens for the generate loops")
    b.add_argument("--repeats", type=int, default=20)
    b.add_argument("--copy-bytes", type=int, default=2 << 30)
    s = sub.add_parser("snapshot")
    s.add_argument("--device", default="cuda")
    s.add_argument("--shape", choices=sorted(SHAPES), default="8b")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with torch.no_grad():
        if args.command == "snapshot":
            return cmd_snapshot(args)
        return cmd_parity(args) if args.command == "parity" else cmd_bench(args)


if __name__ == "__main__":
    sys.exit(main())
