"""The official Stable-DiffCoder generate_block loop (shared reference §4), and the AR greedy
baseline, on top of llama_reference.LlamaReference.

Random numbers (deviation from the official code, which calls torch.rand_like /
torch.rand with torch's global generator): so that C++ can reproduce sampled runs bit for bit,
rng="splitmix64" draws every uniform from a SplitMix64 stream seeded with `seed`:

    state += 0x9E3779B97F4A7C15                      (all arithmetic mod 2**64)
    z = state
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    z = z ^ (z >> 31)                                -> next_u64()
    u = ((z >> 12) + 0.5) * 2**-52                   -> a double strictly inside (0, 1), exact

One stream per generate_block call. Uniforms are drawn only by denoise forwards that run
(k > 0), in this order per forward: if temperature > 0, L*V uniforms for the Gumbel noise, row
major over the block's [L, V] logits (position-major, vocabulary-minor, L = end - start, every
position of the block, masked or not, exactly like rand_like(logits)); then, if
remasking == "random", L uniforms for the confidences (position order). rng="torch" instead uses
a seeded torch.Generator the official way (for the GPU timing loop; not reproducible in C++).

Gumbel-max as the official add_gumbel_noise: in float64,
    score = exp(logits) / (-log(u)) ** temperature ; x0 = argmax(score)
(temperature == 0: x0 = argmax(logits)). Confidence (low_confidence) = softmax(float64(logits))
at x0, i.e. of the raw logits without temperature.
"""
from dataclasses import dataclass, field

import torch

from llama_reference import BLOCK_CAUSAL, CAUSAL

MASK64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def next_uniform(self):
        return ((self.next_u64() >> 12) + 0.5) * 2.0 ** -52

    def uniforms(self, shape, device):
        n = 1
        for s in shape:
            n *= s
        values = [self.next_uniform() for _ in range(n)]
        return torch.tensor(values, dtype=torch.float64, device=device).reshape(shape)


class TorchRng:
    """The official way: torch.rand with a seeded generator (not reproducible outside torch)."""

    def __init__(self, seed, device):
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)

    def uniforms(self, shape, device):
        return torch.rand(shape, dtype=torch.float64, device=device, generator=self.generator)


def split_steps(masks, steps):
    """Official get_num_transfer_tokens for one block: n // S each, first n % S get +1."""
    base, rem = divmod(masks, steps)
    return [base + 1 if i < rem else base for i in range(steps)]


def block_sizes(prompt_len, gen_length, block_length):
    """The official schedule: a prompt-tail partial first block, the last block shortened."""
    sizes = [block_length] * (gen_length // block_length)
    r = prompt_len % block_length
    if r:
        sizes = [block_length - r] + sizes
        sizes[-1] = r
    return sizes


@dataclass
class Margins:
    """Smallest gaps that decided each discrete choice: how far a C++ run's logits may drift
    before a generated id could change. Collected only to vet fixtures."""
    logit: float = float("inf")       # top-1 minus top-2 (log-)score of x0 at masked slots
    confidence: float = float("inf")  # k-th minus (k+1)-th confidence, and |conf - threshold|
    committed_mask_id: bool = False   # a slot committed the mask id itself (degenerate)

    def note_scores(self, scores, masked):
        if masked.any() and scores.shape[-1] > 1:
            top2 = scores[masked].topk(2, dim=-1).values
            self.logit = min(self.logit, float((top2[:, 0] - top2[:, 1]).min()))


@dataclass
class GenerateResult:
    ids: list            # the official return value x[P:]: may end early with an EOS run
    nfe: int             # denoise + commit forwards (prefill excluded)
    denoise_forwards: int
    commit_forwards: int
    prefill_forwards: int
    stopped_at_eos: bool
    margins: Margins = field(default_factory=Margins)


def _transfer_index(logits, x_block, mask_id, k, temperature, remasking, threshold, rng, margins):
    """Official _get_transfer_index (copied from Fast-dLLM get_transfer_index) for one block."""
    masked = x_block == mask_id
    logits64 = logits.to(torch.float64)
    if temperature > 0:
        u = rng.uniforms(tuple(logits.shape), logits.device)
        scores = logits64.exp() / (-torch.log(u)) ** temperature
        if margins is not None:
            margins.note_scores(logits64 - temperature * torch.log(-torch.log(u)), masked)
    else:
        scores = logits64
        if margins is not None:
            margins.note_scores(logits64, masked)
    x0 = scores.argmax(dim=-1)
    if remasking == "low_confidence":
        p = torch.softmax(logits64, dim=-1)
        x0_p = p.gather(-1, x0.unsqueeze(-1)).squeeze(-1)
    elif remasking == "random":
        x0_p = rng.uniforms((x_block.numel(),), logits.device)
    else:
        raise ValueError(f"unknown remasking {remasking!r}")
    x0 = torch.where(masked, x0, x_block)
    confidence = torch.where(masked, x0_p, torch.full_like(x0_p, float("-inf")))
    n_masked = int(masked.sum())
    count = n_masked if threshold is not None else k
    top = torch.topk(confidence, k=count)
    keep = torch.ones(count, dtype=torch.bool, device=logits.device)
    if threshold is not None:
        keep[1:] = top.values[1:] >= threshold  # top-1 always, the rest if conf >= threshold
    transfer = torch.zeros_like(masked)
    transfer[top.indices[keep]] = True
    if margins is not None:
        _note_selection_margins(margins, confidence[masked], k, n_masked, threshold)
        margins.committed_mask_id |= bool((x0[transfer] == mask_id).any())
    return x0, transfer


def _note_selection_margins(margins, masked_confidence, k, n_masked, threshold):
    """Ranks that decided membership, and distances to the threshold."""
    ranked = masked_confidence.sort(descending=True).values.tolist()
    if threshold is None and k < n_masked:
        margins.confidence = min(margins.confidence, ranked[k - 1] - ranked[k])
    if threshold is not None:
        if n_masked > 1:
            margins.confidence = min(margins.confidence, ranked[0] - ranked[1])
        for value in ranked[1:]:
            margins.confidence = min(margins.confidence, abs(value - threshold))


@torch.no_grad()
def generate_block(model, prompt, gen_length=128, steps=128, block_length=4, temperature=0.0,
                   remasking="low_confidence", mask_id=5, threshold=None, eos_id=None,
                   seed=0, rng="splitmix64", collect_margins=True):
    """Block diffusion exactly as the official generate_block (batch 1, shift=False).

    One deliberate difference, the fix maskfill ships: a block whose S scheduled steps leave
    masks (threshold mode with S < #masks) keeps stepping (top-1 + threshold) until it has none.
    The official code leaves such a block masked, uncommitted and unchecked for EOS, and its HF
    DynamicCache then keeps stale K/V of the masked forwards (crop(n) does nothing when the cache
    is shorter than n), so later blocks attend to keys at the wrong positions. That behaviour is
    a bug, not a contract, and is not emulated here (an earlier emulation assumed a cleanly
    cropped cache, which the official cache is not)."""
    B = block_length
    P = len(prompt)
    if gen_length % B:
        raise ValueError("gen_length must be a multiple of block_length")
    nblk = gen_length // B
    if steps % nblk:
        raise ValueError("steps must be a multiple of gen_length / block_length")
    S = steps // nblk
    device = model.device
    gen = SplitMix64(seed) if rng == "splitmix64" else TorchRng(seed, device)
    x = torch.tensor(list(prompt) + [mask_id] * gen_length, dtype=torch.long, device=device)
    cache = model.new_cache(P + gen_length)
    prefill_len = (P // B) * B
    result = GenerateResult(ids=[], nfe=0, denoise_forwards=0, commit_forwards=0,
                            prefill_forwards=0, stopped_at_eos=False)
    margins = result.margins if collect_margins else None
    if prefill_len > 0:
        model.forward(x[:prefill_len], BLOCK_CAUSAL, cache, commit=True)
        result.prefill_forwards = 1
    end = P
    for b, size in enumerate(block_sizes(P, gen_length, B)):
        start = prefill_len if b == 0 else end
        end += size
        # The cache holds exactly [0, start).
        schedule = split_steps(int((x[start:end] == mask_id).sum()), S)
        step = 0
        while True:
            if step < len(schedule):
                k = schedule[step]
            elif step > len(schedule) + 4 * (end - start):
                raise RuntimeError("block never unmasked: the model keeps choosing the mask id")
            else:
                k = 1  # the fix: extra steps (threshold mode only; k is unused there)
            step += 1
            if k > 0:
                logits = model.forward(x[start:end], BLOCK_CAUSAL, cache, commit=False,
                                       position_start=start)
                result.denoise_forwards += 1
                x0, transfer = _transfer_index(logits, x[start:end], mask_id, k, temperature,
                                               remasking, threshold, gen, margins)
                block = x[start:end]
                block[transfer] = x0[transfer]
            if not bool((x[start:end] == mask_id).any()):
                g = max(start, P)
                if eos_id is not None and bool((x[g:end] == eos_id).any()):
                    first = g + int((x[g:end] == eos_id).nonzero()[0])
                    x = x[:end].clone()
                    x[first:] = eos_id
                    result.stopped_at_eos = True
                    result.ids = x[P:].tolist()
                    result.nfe = result.denoise_forwards + result.commit_forwards
                    return result
                model.forward(x[start:end], BLOCK_CAUSAL, cache, commit=True, position_start=start)
                result.commit_forwards += 1
                break
    result.ids = x[P:].tolist()
    result.nfe = result.denoise_forwards + result.commit_forwards
    return result


@dataclass
class ArResult:
    ids: list             # generated ids, including the EOS that stopped it (if any)
    nfe: int              # forwards after the prefill (= len(ids) - 1)
    stopped_at_eos: bool
    margins: Margins = field(default_factory=Margins)


@torch.no_grad()
def generate_autoregressive(model, prompt, max_new_tokens, eos_id=None):
    """Greedy AR baseline on the same weights: causal mask, logit shift (row i predicts i+1)."""
    cache = model.new_cache(len(prompt) + max_new_tokens)
    result = ArResult(ids=[], nfe=0, stopped_at_eos=False)
    logits = model.forward(prompt, CAUSAL, cache, commit=True)
    while True:
        last = logits[-1].double()
        top2 = last.topk(2).values
        result.margins.logit = min(result.margins.logit, float(top2[0] - top2[1]))
        token = int(last.argmax())
        result.ids.append(token)
        if eos_id is not None and token == eos_id:
            result.stopped_at_eos = True
            break
        if len(result.ids) >= max_new_tokens:
            break
        logits = model.forward([token], CAUSAL, cache, commit=True)
        result.nfe += 1
    return result
