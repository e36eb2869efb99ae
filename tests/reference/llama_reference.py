"""Plain PyTorch Llama forward, the numerical reference for maskfill's C++ transformer.

Same math as Hugging Face LlamaForCausalLM (GQA, RoPE rotate_half with theta from config.json,
RMSNorm computed in float32, SwiGLU, untied lm_head, no biases), batch size 1, plus the three
attention modes Stable-DiffCoder needs and a prefix KV cache that behaves like the official
generate_block's DynamicCache: a denoise forward attends to cache + its block and leaves the
cache as it was (the official code crops it back), a commit forward appends its block.

Works with torch 1.13 (Debian) and 2.x (CUDA machines); no transformers needed.
"""
import json
import math
import os
from dataclasses import dataclass

import torch

from safetensors_io import read_safetensors

BLOCK_CAUSAL, CAUSAL, BIDIRECTIONAL = "block_causal", "causal", "bidirectional"


@dataclass
class LlamaConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rope_theta: float
    rms_norm_eps: float
    max_position_embeddings: int
    bos_token_id: int = 0
    eos_token_id: int = 2
    mask_token_id: int = 5
    block_size: int = 4

    @staticmethod
    def from_dict(d):
        heads = d["num_attention_heads"]
        return LlamaConfig(
            vocab_size=d["vocab_size"], hidden_size=d["hidden_size"],
            intermediate_size=d["intermediate_size"], num_hidden_layers=d["num_hidden_layers"],
            num_attention_heads=heads, num_key_value_heads=d.get("num_key_value_heads", heads),
            head_dim=d.get("head_dim") or d["hidden_size"] // heads,
            rope_theta=float(d.get("rope_theta", 10000.0)), rms_norm_eps=float(d["rms_norm_eps"]),
            max_position_embeddings=d["max_position_embeddings"],
            bos_token_id=d.get("bos_token_id", 0), eos_token_id=d.get("eos_token_id", 2),
            mask_token_id=d.get("mask_token_id", 5), block_size=d.get("block_size", 4))

    @staticmethod
    def from_json(path):
        with open(path) as f:
            return LlamaConfig.from_dict(json.load(f))


def parameter_shapes(c):
    """HF Llama parameter names and shapes implied by a config."""
    q_out, kv_out = c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
    shapes = {"model.embed_tokens.weight": (c.vocab_size, c.hidden_size),
              "model.norm.weight": (c.hidden_size,), "lm_head.weight": (c.vocab_size, c.hidden_size)}
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        shapes.update({
            p + "self_attn.q_proj.weight": (q_out, c.hidden_size),
            p + "self_attn.k_proj.weight": (kv_out, c.hidden_size),
            p + "self_attn.v_proj.weight": (kv_out, c.hidden_size),
            p + "self_attn.o_proj.weight": (c.hidden_size, q_out),
            p + "mlp.gate_proj.weight": (c.intermediate_size, c.hidden_size),
            p + "mlp.up_proj.weight": (c.intermediate_size, c.hidden_size),
            p + "mlp.down_proj.weight": (c.hidden_size, c.intermediate_size),
            p + "input_layernorm.weight": (c.hidden_size,),
            p + "post_attention_layernorm.weight": (c.hidden_size,),
        })
    return shapes


def attention_mask(mode, query_start, queries, keys, block_size=4, device="cpu"):
    """Bool [queries, keys], True = may attend. Queries sit at absolute positions
    [query_start, query_start + queries), keys at [0, keys).

    block_causal: key j visible to query i iff j // B <= i // B (blocks aligned to absolute
    position 0, bidirectional inside a block, causal between blocks) — the official
    _make_block_causal_mask(seq_len, B) rows [query_start, +queries), columns [0, keys)."""
    return mask_from_positions(mode, torch.arange(query_start, query_start + queries, device=device),
                               torch.arange(keys, device=device), block_size)


def mask_from_positions(mode, query_positions, key_positions, block_size=4):
    q, k = query_positions.unsqueeze(1), key_positions.unsqueeze(0)
    if mode == BLOCK_CAUSAL:
        return (k // block_size) <= (q // block_size)
    if mode == CAUSAL:
        return k <= q
    if mode == BIDIRECTIONAL:
        return torch.ones(q.shape[0], k.shape[1], dtype=torch.bool, device=q.device)
    raise ValueError(f"unknown attention mode {mode!r}")


def rope_cos_sin(config, positions):
    """HF Llama default rope: inv_freq in float32, cat(freqs, freqs), cos/sin in float32."""
    dim = config.head_dim
    inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64,
                                                         device=positions.device).float() / dim))
    freqs = positions.float().unsqueeze(1) * inv_freq.unsqueeze(0)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rms_norm(x, weight, eps):
    dtype = x.dtype
    h = x.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return weight * h.to(dtype)


class KVCache:
    """Per-layer K/V [kv_heads, capacity, head_dim]; positions [0, length) are committed.
    A forward writes its block at [length, length + T); only a commit advances `length`, so a
    denoise forward is 'appended then cropped' exactly as in the official loop."""

    def __init__(self, config, capacity, dtype, device):
        shape = (config.num_key_value_heads, capacity, config.head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(config.num_hidden_layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(config.num_hidden_layers)]
        self.length = 0

    @property
    def capacity(self):
        return self.keys[0].shape[1]


class LlamaReference:
    def __init__(self, config, weights, dtype=torch.float32, device="cpu", attn_impl="math"):
        """weights: dict HF name -> tensor (any float dtype; converted to `dtype`).
        attn_impl: "math" (explicit softmax, used for fixtures) or "sdpa" (torch>=2 fused kernel,
        used for GPU timing)."""
        self.config, self.dtype, self.device, self.attn_impl = config, dtype, torch.device(device), attn_impl
        expected = parameter_shapes(config)
        missing = sorted(set(expected) - set(weights))
        unexpected = sorted(set(weights) - set(expected))
        if missing or unexpected:
            raise ValueError(f"missing tensors {missing[:5]}, unexpected tensors {unexpected[:5]}")
        self.w = {}
        for name, shape in expected.items():
            if tuple(weights[name].shape) != shape:
                raise ValueError(f"{name}: shape {tuple(weights[name].shape)}, config implies {shape}")
            self.w[name] = weights[name].to(device=self.device, dtype=dtype)

    @staticmethod
    def load(snapshot_dir, dtype=torch.float32, device="cpu", attn_impl="math"):
        config = LlamaConfig.from_json(os.path.join(snapshot_dir, "config.json"))
        weights, _ = read_safetensors(os.path.join(snapshot_dir, "model.safetensors"))
        return LlamaReference(config, weights, dtype, device, attn_impl)

    def new_cache(self, capacity):
        return KVCache(self.config, capacity, self.dtype, self.device)

    def forward(self, ids, mode, cache=None, commit=False, position_start=None):
        """ids: sequence of ints or LongTensor [T], placed at absolute positions
        [cache.length, cache.length + T) (or [0, T) without cache). Keys are cache[0, length) plus
        this block; the mask is `mode` over those absolute positions. Returns float32 logits
        [T, vocab], unshifted (row i is the model's output at position i).
        position_start (only for the official edge case): the block's absolute position when the
        cache holds fewer than position_start tokens (a skipped block left a gap)."""
        c = self.config
        ids = torch.as_tensor(ids, dtype=torch.long, device=self.device).reshape(-1)
        start = cache.length if cache is not None else 0
        first = start if position_start is None else position_start
        T = ids.numel()
        if cache is not None and start + T > cache.capacity:
            raise ValueError(f"KV cache capacity {cache.capacity} < {start + T}")
        positions = torch.arange(first, first + T, device=self.device)
        cos, sin = rope_cos_sin(c, positions)
        cos, sin = cos.to(self.dtype), sin.to(self.dtype)
        key_positions = torch.cat((torch.arange(start, device=self.device), positions))
        mask = mask_from_positions(mode, positions, key_positions, c.block_size)
        h = self.w["model.embed_tokens.weight"][ids]
        for i in range(c.num_hidden_layers):
            h = self._layer(i, h, cos, sin, mask, cache, start)
        if cache is not None and commit:
            cache.length = start + T
        h = rms_norm(h, self.w["model.norm.weight"], c.rms_norm_eps)
        return (h @ self.w["lm_head.weight"].t()).float()

    def _layer(self, i, h, cos, sin, mask, cache, start):
        c, w, p = self.config, self.w, f"model.layers.{i}."
        T = h.shape[0]
        x = rms_norm(h, w[p + "input_layernorm.weight"], c.rms_norm_eps)
        q = (x @ w[p + "self_attn.q_proj.weight"].t()).view(T, c.num_attention_heads, c.head_dim).transpose(0, 1)
        k = (x @ w[p + "self_attn.k_proj.weight"].t()).view(T, c.num_key_value_heads, c.head_dim).transpose(0, 1)
        v = (x @ w[p + "self_attn.v_proj.weight"].t()).view(T, c.num_key_value_heads, c.head_dim).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            cache.keys[i][:, start:start + T] = k
            cache.values[i][:, start:start + T] = v
            k, v = cache.keys[i][:, :start + T], cache.values[i][:, :start + T]
        attn = self._attention(q, k, v, mask)
        h = h + attn.transpose(0, 1).reshape(T, -1) @ w[p + "self_attn.o_proj.weight"].t()
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], c.rms_norm_eps)
        gate = torch.nn.functional.silu(x @ w[p + "mlp.gate_proj.weight"].t())
        return h + (gate * (x @ w[p + "mlp.up_proj.weight"].t())) @ w[p + "mlp.down_proj.weight"].t()

    def _attention(self, q, k, v, mask):
        """q [heads, T, d]; k, v [kv_heads, S, d]; mask [T, S] bool."""
        group = self.config.num_attention_heads // self.config.num_key_value_heads
        # K/V repeated per query head, as transformers' repeat_kv does whenever a mask is passed
        # (its sdpa path uses enable_gqa only without a mask; the official loop always has one).
        k, v = k.repeat_interleave(group, dim=0), v.repeat_interleave(group, dim=0)
        if self.attn_impl == "sdpa":
            return torch.nn.functional.scaled_dot_product_attention(q[None], k[None], v[None], attn_mask=mask)[0]
        # HF eager: scores in the compute dtype, softmax in float32, cast back.
        scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.config.head_dim))
        scores = scores.masked_fill(~mask, float("-inf"))
        probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        return probs @ v
