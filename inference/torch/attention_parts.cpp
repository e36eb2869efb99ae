#include "inference/torch/attention_parts.h"

#include <limits>
#include <optional>
#include <stdexcept>

#include "inference/torch/torch2_kernels.h"

namespace maskfill {

namespace {

// Attention output of some queries over some keys, and the log-sum-exp of their scaled scores.
struct PartialAttention {
  torch::Tensor out;  // [B, heads, T, d] float32
  torch::Tensor lse;  // [B, heads, T] float32
};

// Float32 scores of the query heads grouped under their KV head: [B, kv_heads, group, T, L].
PartialAttention eager_attention_with_lse(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                          bool causal, double scale) {
  const int64_t batch = q.size(0), heads = q.size(1), tokens = q.size(2), head_dim = q.size(3);
  const int64_t kv_heads = k.size(1), group = heads / kv_heads, keys = k.size(2);
  auto grouped = q.to(torch::kFloat32).reshape({batch, kv_heads, group, tokens, head_dim});
  auto scores = torch::matmul(grouped, k.to(torch::kFloat32).unsqueeze(2).transpose(-1, -2)) * scale;
  if (causal) {
    auto above = torch::ones({tokens, keys}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(1);
    scores.masked_fill_(above, -std::numeric_limits<float>::infinity());
  }
  auto lse = torch::logsumexp(scores, -1);
  auto out = torch::matmul(torch::exp(scores - lse.unsqueeze(-1)), v.to(torch::kFloat32).unsqueeze(2));
  return {out.reshape({batch, heads, tokens, head_dim}), lse.reshape({batch, heads, tokens})};
}

PartialAttention flash_attention_with_lse(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                          bool causal, double scale) {
  const int64_t batch = q.size(0), heads = q.size(1), tokens = q.size(2), head_dim = q.size(3);
  const int64_t kv_heads = k.size(1), group = heads / kv_heads;
  if (!causal) {
    // With every key visible, the queries of the heads sharing a KV head are rows of one head
    // (as sdpa_attend does): no K/V copies.
    auto [out, lse] = flash_attention(q.reshape({batch, kv_heads, group * tokens, head_dim}), k, v, false, scale);
    return {out.reshape({batch, heads, tokens, head_dim}).to(torch::kFloat32),
            lse.narrow(-1, 0, group * tokens).reshape({batch, heads, tokens})};
  }
  // Causally each query row needs its own position, so the chunk's KV heads are repeated (HF's
  // repeat_kv order); only the chunk's own keys, never the cache.
  auto [out, lse] = flash_attention(q, k.repeat_interleave(group, 1), v.repeat_interleave(group, 1), true, scale);
  return {out.to(torch::kFloat32), lse.narrow(-1, 0, tokens)};
}

// q [B, heads, T, d] over k/v [B, kv_heads, L, d] (grouped-query heads h use KV head h / group),
// causal (L == T, query t sees keys [0, t]) or every key visible: the flash kernel where this
// LibTorch and device have one for q's dtype, else eager float32 arithmetic.
PartialAttention attention_with_lse(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    bool causal, double scale) {
  return have_flash_attention(q) ? flash_attention_with_lse(q, k, v, causal, scale)
                                 : eager_attention_with_lse(q, k, v, causal, scale);
}

}  // namespace

torch::Tensor attend_in_parts(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& mask, int64_t reach, double scale) {
  const int64_t batch = q.size(0), heads = q.size(1), tokens = q.size(2), head_dim = q.size(3);
  const int64_t kv_heads = k.size(1), group = heads / kv_heads, cached = k.size(2) - tokens;
  const int64_t block = reach + 1;
  if (reach < 0 || tokens % block || cached % block)
    throw std::invalid_argument("attend_in_parts: the chunk must cover whole aligned blocks of reach + 1 keys");
  auto own_k = k.narrow(2, cached, tokens), own_v = v.narrow(2, cached, tokens);
  const PartialAttention own = attention_with_lse(q, own_k, own_v, /*causal=*/true, scale);
  auto lse = own.lse;
  std::optional<PartialAttention> earlier;
  if (cached > 0) {
    earlier = attention_with_lse(q, k.narrow(2, 0, cached), v.narrow(2, 0, cached), /*causal=*/false, scale);
    lse = torch::logaddexp(lse, earlier->lse);
  }
  // The keys past the diagonal all lie in the query's own aligned block: one [block, block]
  // score tile per block, keeping the mask's entries above the diagonal (in float32 like the
  // flash kernels' scores).
  torch::Tensor past_scores, past_values;
  if (reach > 0) {
    const int64_t blocks = tokens / block;
    auto q_blocks = q.to(torch::kFloat32).reshape({batch, kv_heads, group, blocks, block, head_dim});
    auto k_blocks = own_k.to(torch::kFloat32).reshape({batch, kv_heads, 1, blocks, block, head_dim});
    past_values = own_v.to(torch::kFloat32).reshape({batch, kv_heads, 1, blocks, block, head_dim});
    past_scores = torch::matmul(q_blocks, k_blocks.transpose(-1, -2)) * scale;  // [B, kv, g, blocks, block, block]
    auto in_block = mask.reshape({blocks, block, blocks, block}).diagonal(0, 0, 2).permute({2, 0, 1});
    auto above = torch::ones({block, block}, in_block.options()).triu(1);
    past_scores.masked_fill_(in_block.logical_and(above).logical_not(), -std::numeric_limits<float>::infinity());
    lse = torch::logaddexp(lse, torch::logsumexp(past_scores, -1).reshape({batch, heads, tokens}));
  }
  // Each part's output weighted by its share of the whole softmax: exp(its lse - the total).
  auto out = own.out * torch::exp(own.lse - lse).unsqueeze(-1);
  if (earlier) out.addcmul_(earlier->out, torch::exp(earlier->lse - lse).unsqueeze(-1));
  if (reach > 0) {
    auto weights = torch::exp(past_scores - lse.reshape({batch, kv_heads, group, tokens / block, block, 1}));
    out.add_(torch::matmul(weights, past_values).reshape({batch, heads, tokens, head_dim}));
  }
  return out.to(q.scalar_type());
}

}  // namespace maskfill
