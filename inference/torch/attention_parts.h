// A prompt chunk's attention in parts that need no mask, merged by their log-sum-exps (the
// `flash` switch). Block-causal masks rule out the flash kernels: SDPA then falls back to the
// memory-efficient kernel over a materialised mask (by the H200 run's 2K and 4K prefill times,
// attention is about a fifth of a 4K prefill; docs/gpu.md). Torch header: include only from
// inference/torch and torch tests.
#pragma once

#include <torch/torch.h>

namespace maskfill {

// Attention of a chunk's T queries q [B, heads, T, d] over k/v [B, kv_heads, L, d]: the first
// L - T keys cached (every one visible), the last T the chunk's own, where `mask` [T, T] says
// which are visible. The mask must show every key up to the query's own and none more than
// `reach` past it (block-causal: the rest of the query's aligned block, reach = block - 1;
// causal: 0). Computed as the cached keys, the chunk's keys causally and the at most `reach`
// keys past the diagonal, merged exactly; returns [B, heads, T, d] in q's dtype.
torch::Tensor attend_in_parts(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& mask, int64_t reach, double scale);

}  // namespace maskfill
