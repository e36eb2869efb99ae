#include "inference/torch/transformer.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <malloc.h>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "inference/safetensors.h"
#include "inference/torch/attention_parts.h"
#include "inference/torch/decode_graphs.h"
#include "inference/torch/torch2_kernels.h"

namespace maskfill {

namespace {
// Set while uninitialized_transformer() builds a model: parameters are allocated on their final
// device and dtype without LibTorch's default initialisation, which for an 8B model would run
// a serial random fill over 32 GB of float32 on the CPU before the checkpoint overwrites it.
thread_local std::optional<torch::TensorOptions> t_allocate_only;

torch::nn::Linear linear(int64_t in, int64_t out) {
  if (!t_allocate_only) return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  torch::nn::Linear layer(torch::nn::LinearOptions(1, 1).bias(false));
  layer->weight.set_data(torch::empty({out, in}, *t_allocate_only));
  layer->options.in_features(in).out_features(out);
  return layer;
}

torch::nn::Embedding embedding(int64_t rows, int64_t dim) {
  if (!t_allocate_only) return torch::nn::Embedding(rows, dim);
  torch::nn::Embedding layer(torch::nn::EmbeddingOptions(1, 1));
  layer->weight.set_data(torch::empty({rows, dim}, *t_allocate_only));
  layer->options.num_embeddings(rows).embedding_dim(dim);
  return layer;
}

torch::Tensor rotate_half(const torch::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}
}  // namespace

std::string FastPath::describe() const {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (on) out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(merged_projections, "merged");
  add(rope_once, "rope");
  add(sdpa, "sdpa");
  add(fused_norm, "norm");
  add(step_on_device, "step");
  add(cuda_graphs, "graphs");
  add(batched_attention, "batch");
  add(prefill_in_parts, "flash");
  return out.empty() ? "none" : out;
}

FastPath parse_fast_path(std::string list) {
  FastPath fast;
  if (list == "none" || list.empty()) return fast;
  if (list == "all") list = "merged,rope,sdpa,norm,step,graphs,batch,flash";
  std::stringstream names(list);
  std::string name;
  while (std::getline(names, name, ',')) {
    if (name == "merged") fast.merged_projections = true;
    else if (name == "rope") fast.rope_once = true;
    else if (name == "sdpa") fast.sdpa = true;
    else if (name == "norm") fast.fused_norm = true;
    else if (name == "step") fast.step_on_device = true;
    else if (name == "graphs") fast.cuda_graphs = true;
    else if (name == "batch") fast.batched_attention = true;
    else if (name == "flash") fast.prefill_in_parts = true;
    else throw std::runtime_error("unknown switch '" + name + "' (merged, rope, sdpa, norm, step, graphs, batch, flash, all, none)");
  }
  return fast;
}

FastPath available_fast_path(FastPath wanted) {
  wanted.sdpa = wanted.sdpa && have_sdpa();
  wanted.fused_norm = wanted.fused_norm && have_fused_rms_norm();
  wanted.cuda_graphs = wanted.cuda_graphs && have_cuda_graphs();
  return wanted;
}

FastPath default_fast_path(torch::Device device) {
  if (const char* env = std::getenv("MASKFILL_SWITCHES"); env && *env) return available_fast_path(parse_fast_path(env));
  return available_fast_path(parse_fast_path(device.is_cuda() ? "merged,rope,sdpa,norm,step" : "batch"));
}

int64_t prefill_chunk_tokens(torch::Device device) { return device.is_cuda() ? 2048 : 256; }
int64_t interleaved_prefill_tokens(torch::Device device) { return device.is_cuda() ? 512 : 128; }

namespace {
std::atomic<bool> g_step_rule_on_device{false};
}  // namespace
void set_step_rule_on_device(bool on) { g_step_rule_on_device = on; }
bool step_rule_on_device() { return g_step_rule_on_device; }

void KVCache::reserve(int64_t capacity, const ModelConfig& config, torch::Device device, torch::Dtype dtype) {
  if (capacity <= this->capacity()) return;
  pool.reset();  // the new storage is this cache's own
  pool_row = -1;
  auto options = torch::TensorOptions().device(device).dtype(dtype);
  int64_t new_capacity = std::max(capacity, 2 * this->capacity());
  for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    auto fresh_k = torch::empty({1, config.num_key_value_heads, new_capacity, config.head_dim}, options);
    auto fresh_v = torch::empty_like(fresh_k);
    if (!keys.empty() && length > 0) {
      fresh_k.narrow(2, 0, length).copy_(keys[layer].narrow(2, 0, length));
      fresh_v.narrow(2, 0, length).copy_(values[layer].narrow(2, 0, length));
    }
    if (keys.size() <= static_cast<size_t>(layer)) {
      keys.push_back(fresh_k);
      values.push_back(fresh_v);
    } else {
      keys[layer] = fresh_k;
      values[layer] = fresh_v;
    }
  }
}

int64_t KVCache::bytes() const {
  int64_t total = 0;
  for (size_t i = 0; i < keys.size(); ++i) total += keys[i].nbytes() + values[i].nbytes();
  return total;
}

KVCache KVCache::copy_prefix(int64_t tokens, int64_t capacity) const {
  KVCache out;
  out.length = tokens;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto shape = keys[i].sizes().vec();
    shape[2] = std::max(capacity, tokens);
    auto k = torch::empty(shape, keys[i].options()), v = torch::empty(shape, values[i].options());
    k.narrow(2, 0, tokens).copy_(keys[i].narrow(2, 0, tokens));
    v.narrow(2, 0, tokens).copy_(values[i].narrow(2, 0, tokens));
    out.keys.push_back(k);
    out.values.push_back(v);
  }
  return out;
}

void KVCache::assign_prefix(const KVCache& source, int64_t tokens) {
  if (tokens > capacity() || tokens > source.length) throw std::invalid_argument("assign_prefix: no room for the prefix");
  for (size_t i = 0; i < keys.size(); ++i) {
    keys[i].narrow(2, 0, tokens).copy_(source.keys[i].narrow(2, 0, tokens));
    values[i].narrow(2, 0, tokens).copy_(source.values[i].narrow(2, 0, tokens));
  }
  length = tokens;
}

KVPool::KVPool(int64_t sequences, int64_t capacity, const ModelConfig& config, torch::Device device,
               torch::Dtype dtype) {
  auto options = torch::TensorOptions().device(device).dtype(dtype);
  for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    keys.push_back(torch::zeros({sequences, config.num_key_value_heads, capacity, config.head_dim}, options));
    values.push_back(torch::zeros_like(keys.back()));
  }
}

void KVPool::attach(const std::shared_ptr<const KVPool>& pool, int64_t row, KVCache& cache) {
  cache = KVCache();
  for (size_t layer = 0; layer < pool->keys.size(); ++layer) {
    cache.keys.push_back(pool->keys[layer].narrow(0, row, 1));
    cache.values.push_back(pool->values[layer].narrow(0, row, 1));
  }
  cache.pool = pool;
  cache.pool_row = row;
}

torch::Tensor attention_mask(AttentionMode mode, int64_t block_size, int64_t query_start, int64_t queries,
                             int64_t keys, torch::Device device) {
  return attention_mask_over(mode, block_size, query_start, queries, 0, keys, device);
}

torch::Tensor attention_mask_over(AttentionMode mode, int64_t block_size, int64_t query_start, int64_t queries,
                                  int64_t key_start, int64_t keys, torch::Device device) {
  auto long_options = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto q = torch::arange(query_start, query_start + queries, long_options).unsqueeze(1);
  auto k = torch::arange(key_start, key_start + keys, long_options).unsqueeze(0);
  switch (mode) {
    case AttentionMode::BlockCausal:
      return k.div(block_size, "floor") <= q.div(block_size, "floor");
    case AttentionMode::Causal:
      return k <= q;
    case AttentionMode::Bidirectional:
      break;
  }
  return torch::ones({queries, keys}, torch::TensorOptions().dtype(torch::kBool).device(device));
}

RopeTables make_rope_tables(const ModelConfig& config, int64_t positions, torch::Device device) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  int64_t dim = config.head_dim;
  auto exponent = torch::arange(0, dim, 2, torch::TensorOptions().dtype(torch::kLong).device(device)).to(torch::kFloat32) / dim;
  auto inv_freq = 1.0 / torch::pow(torch::full({}, config.rope_theta, f32), exponent);
  auto pos = torch::arange(positions, f32);
  auto freqs = torch::outer(pos, inv_freq);
  auto emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos(), emb.sin()};
}

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  if (fused) return fused_rms_norm(x, weight, eps);
  auto x32 = x.to(torch::kFloat32);
  auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, true) + eps);
  return weight * normed.to(x.scalar_type());
}

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : heads(c.num_attention_heads), kv_heads(c.num_key_value_heads), head_dim(c.head_dim),
      mask_reach(c.attention == AttentionMode::BlockCausal ? std::max<int64_t>(1, c.block_size) - 1
                 : c.attention == AttentionMode::Causal    ? 0
                                                           : -1) {
  q_proj = register_module("q_proj", linear(c.hidden_size, heads * head_dim));
  k_proj = register_module("k_proj", linear(c.hidden_size, kv_heads * head_dim));
  v_proj = register_module("v_proj", linear(c.hidden_size, kv_heads * head_dim));
  o_proj = register_module("o_proj", linear(heads * head_dim, c.hidden_size));
}

std::pair<torch::Tensor, torch::Tensor> AttentionImpl::rotated_qk(const torch::Tensor& x, const torch::Tensor& cos,
                                                                  const torch::Tensor& sin, torch::Tensor& v) {
  const int64_t batch = x.size(0), tokens = x.size(1);
  // With rope_once the tables arrive in the compute dtype with sin's first half negated:
  // roll(t, d/2) * sin' == rotate_half(t) * sin bit for bit (negation is exact), one op fewer.
  auto rotate = [&](const torch::Tensor& t) {
    if (fast && fast->rope_once) return t * cos.unsqueeze(1) + torch::roll(t, head_dim / 2, -1) * sin.unsqueeze(1);
    auto c = cos.to(x.scalar_type()).unsqueeze(1), s = sin.to(x.scalar_type()).unsqueeze(1);  // [T, 1, d]
    return t * c + rotate_half(t) * s;
  };
  if (!qkv_weight.defined()) {
    auto q = q_proj(x).view({batch, tokens, heads, head_dim});
    auto k = k_proj(x).view({batch, tokens, kv_heads, head_dim});
    v = v_proj(x).view({batch, tokens, kv_heads, head_dim});
    return {rotate(q), rotate(k)};
  }
  // One matmul for q, k and v, and q and k rotated together.
  auto qkv = torch::linear(x, qkv_weight).view({batch, tokens, heads + 2 * kv_heads, head_dim});
  v = qkv.narrow(2, heads + kv_heads, kv_heads);
  auto rotated = rotate(qkv.narrow(2, 0, heads + kv_heads));
  return {rotated.narrow(2, 0, heads), rotated.narrow(2, heads, kv_heads)};
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& mask, torch::Tensor* cache_k, torch::Tensor* cache_v,
                                     int64_t cache_start) {
  const int64_t batch = x.size(0), tokens = x.size(1);
  torch::Tensor v;
  auto [q, k] = rotated_qk(x, cos, sin, v);
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  v = v.transpose(1, 2);
  if (cache_k) {
    cache_k->narrow(2, cache_start, tokens).copy_(k);
    cache_v->narrow(2, cache_start, tokens).copy_(v);
    k = cache_k->narrow(2, 0, cache_start + tokens);
    v = cache_v->narrow(2, 0, cache_start + tokens);
  }
  auto out = attend(q, k, v, mask);
  return o_proj(out.transpose(1, 2).reshape({batch, tokens, heads * head_dim}));
}

torch::Tensor AttentionImpl::forward_static(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                            const torch::Tensor& positions, const torch::Tensor& mask,
                                            torch::Tensor& cache_k, torch::Tensor& cache_v, int64_t keys) {
  const int64_t tokens = x.size(1);
  torch::Tensor v;
  auto [q, k] = rotated_qk(x, cos, sin, v);
  cache_k.index_copy_(2, positions, k.transpose(1, 2));
  cache_v.index_copy_(2, positions, v.transpose(1, 2));
  auto out = attend(q.transpose(1, 2), cache_k.narrow(2, 0, keys), cache_v.narrow(2, 0, keys), mask);
  return o_proj(out.transpose(1, 2).reshape({1, tokens, heads * head_dim}));
}

namespace {
constexpr int64_t kScoresPerTile = int64_t(1) << 20;
}  // namespace

// A prompt chunk over its own keys, in whole aligned blocks; on CUDA only where the flash kernel
// takes the parts (in float32 the parts' eager scores would cost more than the masked kernel).
bool AttentionImpl::attends_in_parts(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& mask) const {
  if (!fast || !fast->prefill_in_parts || mask_reach < 0 || !mask.defined()) return false;
  const int64_t tokens = q.size(2), block = mask_reach + 1;
  return tokens >= fast->parts_min_tokens && mask.size(0) == tokens && mask.size(1) == tokens &&
         tokens % block == 0 && (k.size(2) - tokens) % block == 0 && (!q.is_cuda() || have_flash_attention(q));
}

torch::Tensor AttentionImpl::attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    const torch::Tensor& mask, bool mask_by_config) const {
  if (mask_by_config && attends_in_parts(q, k, mask))
    return attend_in_parts(q, k, v, mask, mask_reach, 1.0 / std::sqrt(double(head_dim)));
  if (fast && fast->sdpa) return sdpa_attend(q, k, v, mask, 1.0 / std::sqrt(double(head_dim)));
  const int64_t batch = q.size(0), tokens = q.size(2), group = heads / kv_heads, keys = k.size(2);
  // A long prompt's scores ([group * T, L] per KV head) are computed a tile of queries at a time,
  // about a million scores each: buffers that stay in cache and are reused instead of tens of MB
  // allocated, faulted in and streamed per chunk (measured: prefill at 2K tokens 1.3-1.5x faster).
  const int64_t tile = std::max<int64_t>(8, kScoresPerTile / (group * keys));
  if (tokens > tile) {
    std::vector<torch::Tensor> parts;
    for (int64_t first = 0; first < tokens; first += tile) {
      const int64_t n = std::min(tile, tokens - first);
      parts.push_back(attend(q.narrow(2, first, n), k, v, mask.defined() ? mask.narrow(0, first, n) : mask));
    }
    return torch::cat(parts, 2);
  }
  // Grouped-query attention without copying K/V: the `group` query heads that share a KV head
  // are stacked along the query axis, so one matmul per KV head serves them all. HF scales the
  // scores after the matmul; in bf16 scaling q instead rounds differently and changed generated
  // tokens in the bf16 parity test. When the scale is a power of two (head_dim 64: 1/8) scaling
  // q is exact and bit-identical, and much cheaper than a pass over [T, L] scores.
  const double scale = 1.0 / std::sqrt(double(head_dim));
  int exponent = 0;
  const bool scale_is_power_of_two = std::frexp(scale, &exponent) == 0.5;
  auto grouped_q = (scale_is_power_of_two ? q * scale : q).reshape({batch, kv_heads, group * tokens, head_dim});
  auto scores = torch::matmul(grouped_q, k.transpose(-1, -2));
  if (!scale_is_power_of_two) scores.mul_(scale);
  if (mask.defined()) {
    // The mask broadcasts over the KV heads and the query heads sharing each one. A mask over
    // fewer keys than L covers the last keys only (a chunk's own tokens: every earlier key is
    // visible), so a long cache costs no mask work at all.
    const int64_t masked_keys = mask.size(-1);
    auto grouped = scores.view({batch, kv_heads, group, tokens, keys});
    if (masked_keys == keys) {
      scores = grouped.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity())
                   .view({batch, kv_heads, group * tokens, keys});
    } else {
      grouped.narrow(-1, keys - masked_keys, masked_keys)
          .masked_fill_(mask.logical_not(), -std::numeric_limits<float>::infinity());
    }
  }
  // HF upcasts to float32 for the softmax and casts back; LibTorch's softmax on bf16/fp16 input
  // already computes in float32 and rounds once, so the result is the same without the two
  // copies of the score matrix (checked bit for bit on CPU: 2.6M bf16 scores).
  auto probs = torch::softmax(scores, -1);
  return torch::matmul(probs, v).view({batch, heads, tokens, head_dim});
}

namespace {
// Writes a chunk's K/V of this layer into its cache, after its shared prefix (ForwardChunk::prefix).
void store_chunk_kv(const PackedChunks& chunks, size_t i, size_t layer, const torch::Tensor& k, const torch::Tensor& v,
                    int64_t offset) {
  const int64_t n = chunks.tokens[i], start = chunks.starts[i];
  torch::Tensor& cache_k = chunks.caches[i]->keys[layer];
  torch::Tensor& cache_v = chunks.caches[i]->values[layer];
  if (const KVCache* prefix = chunks.prefixes[i]) {
    const int64_t shared = chunks.prefix_tokens[i];
    cache_k.narrow(2, 0, shared).copy_(prefix->keys[layer].narrow(2, 0, shared));
    cache_v.narrow(2, 0, shared).copy_(prefix->values[layer].narrow(2, 0, shared));
  }
  cache_k.narrow(2, start, n).copy_(k.narrow(1, offset, n).unsqueeze(0));
  cache_v.narrow(2, start, n).copy_(v.narrow(1, offset, n).unsqueeze(0));
}
}  // namespace

torch::Tensor AttentionImpl::attend_batched(const torch::Tensor& q_rows, const torch::Tensor& k, const torch::Tensor& v,
                                            const PackedChunks& chunks, size_t layer, const BatchedAttention& batched) {
  const int64_t sequences = int64_t(chunks.tokens.size() - batched.first), queries = batched.queries,
                keys = batched.keys;
  torch::Tensor all_k, all_v;  // [S, kv_heads, keys, d]
  if (batched.pool) {
    // Written into the pool's rows, read from there: the keys past a sequence's own are masked.
    int64_t offset = 0;
    for (size_t chunk = batched.first; chunk < chunks.tokens.size(); ++chunk) {
      store_chunk_kv(chunks, chunk, layer, k, v, offset);
      offset += chunks.tokens[chunk];
    }
    all_k = batched.pool->keys[layer].narrow(2, 0, keys);
    all_v = batched.pool->values[layer].narrow(2, 0, keys);
    if (batched.pool_rows.defined()) {
      all_k = all_k.index_select(0, batched.pool_rows);
      all_v = all_v.index_select(0, batched.pool_rows);
    }
  } else {
    all_k = torch::zeros({sequences, kv_heads, keys, head_dim}, k.options());
    all_v = torch::zeros_like(all_k);
    int64_t offset = 0;
    for (int64_t i = 0; i < sequences; ++i) {
      const size_t chunk = batched.first + size_t(i);
      const int64_t seen = batched.keys_of[size_t(i)];
      store_chunk_kv(chunks, chunk, layer, k, v, offset);
      all_k[i].narrow(1, 0, seen).copy_(chunks.caches[chunk]->keys[layer][0].narrow(1, 0, seen));
      all_v[i].narrow(1, 0, seen).copy_(chunks.caches[chunk]->values[layer][0].narrow(1, 0, seen));
      offset += chunks.tokens[chunk];
    }
  }
  auto rows = q_rows.squeeze(0);  // [N, heads, d]
  if (batched.q_rows.defined()) rows = rows.index_select(0, batched.q_rows);
  auto padded_q = rows.view({sequences, queries, heads, head_dim}).transpose(1, 2).contiguous();
  auto out = attend(padded_q, all_k, all_v, batched.mask);  // [S, heads, queries, d]
  auto flat = out.transpose(1, 2).reshape({sequences * queries, heads * head_dim});
  if (batched.out_rows.defined()) flat = flat.index_select(0, batched.out_rows);
  return flat;
}

torch::Tensor AttentionImpl::forward_packed(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                            const PackedChunks& chunks, size_t layer, const BatchedAttention* batched) {
  torch::Tensor v;
  auto [q_rows, k_rows] = rotated_qk(x, cos, sin, v);  // [1, N, heads, d]
  auto q = q_rows.squeeze(0).transpose(0, 1);             // [heads, N, d]
  auto k = k_rows.squeeze(0).transpose(0, 1);             // [kv, N, d]
  v = v.squeeze(0).transpose(0, 1);
  // One at a time, in order: a chunk's prefix may come from an earlier chunk of this forward.
  const size_t alone = batched ? batched->first : chunks.tokens.size();
  std::vector<torch::Tensor> outputs;
  int64_t offset = 0;
  for (size_t i = 0; i < alone; ++i) {
    const int64_t n = chunks.tokens[i], start = chunks.starts[i];
    store_chunk_kv(chunks, i, layer, k, v, offset);
    auto out = attend(q.narrow(1, offset, n).unsqueeze(0).contiguous(),
                      chunks.caches[i]->keys[layer].narrow(2, 0, start + n),
                      chunks.caches[i]->values[layer].narrow(2, 0, start + n), chunks.masks[i],
                      /*mask_by_config=*/true);  // [1, heads, n, d]
    outputs.push_back(out.squeeze(0).transpose(0, 1).reshape({n, heads * head_dim}));
    offset += n;
  }
  if (batched) {
    const int64_t rest = q_rows.size(1) - offset;
    outputs.push_back(attend_batched(q_rows.narrow(1, offset, rest), k.narrow(1, offset, rest),
                                     v.narrow(1, offset, rest), chunks, layer, *batched));
  }
  return o_proj((outputs.size() == 1 ? outputs[0] : torch::cat(outputs, 0)).unsqueeze(0));
}

MlpImpl::MlpImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", linear(c.hidden_size, c.intermediate_size));
  up_proj = register_module("up_proj", linear(c.hidden_size, c.intermediate_size));
  down_proj = register_module("down_proj", linear(c.intermediate_size, c.hidden_size));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  if (gate_up_weight.defined()) {
    auto gate_up = torch::linear(x, gate_up_weight);
    const int64_t width = gate_up.size(-1) / 2;
    return down_proj(torch::silu(gate_up.narrow(-1, 0, width)) * gate_up.narrow(-1, width, width));
  }
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c) {
  self_attn = register_module("self_attn", Attention(c));
  mlp = register_module("mlp", Mlp(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

LlamaBodyImpl::LlamaBodyImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

TransformerImpl::TransformerImpl(const ModelConfig& c) : config_(c) {
  model = register_module("model", LlamaBody(c));
  lm_head = register_module("lm_head", linear(c.hidden_size, c.vocab_size));
  for (size_t i = 0; i < model->layers->size(); ++i) model->layers[i]->as<DecoderLayerImpl>()->self_attn->fast = &fast_;
}

namespace {
// Concatenates `parts` along rows once and points each part's weight at its rows of the result,
// so the merged copy costs no extra memory and the state dict still names every part.
torch::Tensor merge_rows(const std::vector<torch::nn::Linear>& parts) {
  std::vector<torch::Tensor> weights;
  for (const auto& part : parts) weights.push_back(part->weight.detach());
  auto merged = torch::cat(weights, 0);
  int64_t row = 0;
  for (const auto& part : parts) {
    const int64_t rows = part->weight.size(0);
    part->weight.set_data(merged.narrow(0, row, rows));
    row += rows;
  }
  return merged;
}
}  // namespace

void TransformerImpl::set_fast_path(FastPath wanted) {
  torch::NoGradGuard no_grad;
  fast_ = available_fast_path(wanted);
  for (size_t i = 0; i < model->layers->size(); ++i) {
    auto layer = model->layers[i]->as<DecoderLayerImpl>();
    auto& attention = *layer->self_attn;
    auto& mlp = *layer->mlp;
    if (fast_.merged_projections && !attention.qkv_weight.defined()) {
      attention.qkv_weight = merge_rows({attention.q_proj, attention.k_proj, attention.v_proj});
      mlp.gate_up_weight = merge_rows({mlp.gate_proj, mlp.up_proj});
    } else if (!fast_.merged_projections) {
      attention.qkv_weight = torch::Tensor();  // the parts keep viewing the merged storage: still correct
      mlp.gate_up_weight = torch::Tensor();
    }
    layer->input_layernorm->fused = fast_.fused_norm;
    layer->post_attention_layernorm->fused = fast_.fused_norm;
  }
  model->norm->fused = fast_.fused_norm;
  set_step_rule_on_device(fast_.step_on_device);
}

std::pair<torch::Tensor, torch::Tensor> TransformerImpl::rope_rows(const torch::Tensor& cos, const torch::Tensor& sin,
                                                                   torch::Dtype dtype) const {
  if (!fast_.rope_once) return {cos, sin};
  const int64_t half = cos.size(-1) / 2;
  return {cos.to(dtype), torch::cat({-sin.narrow(-1, 0, half), sin.narrow(-1, half, half)}, -1).to(dtype)};
}

Transformer uninitialized_transformer(const ModelConfig& config, torch::Device device, torch::Dtype dtype) {
  t_allocate_only = torch::TensorOptions().device(device).dtype(dtype);
  try {
    Transformer model(config);
    t_allocate_only.reset();
    model->to(device, dtype);  // the norms' weights (small, initialised to ones)
    return model;
  } catch (...) {
    t_allocate_only.reset();
    throw;
  }
}

const RopeTables& TransformerImpl::rope(int64_t positions, torch::Device device) {
  if (!rope_.cos.defined() || rope_.cos.size(0) < positions || rope_.cos.device() != device) {
    int64_t size = std::max<int64_t>({positions, 2 * (rope_.cos.defined() ? rope_.cos.size(0) : 0), 256});
    rope_ = make_rope_tables(config_, size, device);
  }
  return rope_;
}

torch::Tensor TransformerImpl::run_layers(torch::Tensor hidden, const torch::Tensor& cos, const torch::Tensor& sin,
                                          const torch::Tensor& mask, KVCache* cache, int64_t cache_start) {
  for (size_t i = 0; i < model->layers->size(); ++i) {
    auto layer = model->layers[i]->as<DecoderLayerImpl>();
    torch::Tensor* k = cache ? &cache->keys[i] : nullptr;
    torch::Tensor* v = cache ? &cache->values[i] : nullptr;
    hidden = hidden + layer->self_attn(layer->input_layernorm(hidden), cos, sin, mask, k, v, cache_start);
    hidden = hidden + layer->mlp(layer->post_attention_layernorm(hidden));
  }
  return lm_head(model->norm(hidden));
}

torch::Tensor TransformerImpl::forward_cached(const torch::Tensor& ids, KVCache& cache, const torch::Tensor& mask,
                                              bool commit) {
  const int64_t tokens = ids.size(0), start = cache.length;
  auto weight = lm_head->weight;
  cache.reserve(start + tokens, config_, weight.device(), weight.scalar_type());
  const auto& tables = rope(start + tokens, weight.device());
  auto [cos, sin] = rope_rows(tables.cos.narrow(0, start, tokens), tables.sin.narrow(0, start, tokens),
                              weight.scalar_type());
  auto hidden = model->embed_tokens(ids.unsqueeze(0));
  auto logits = run_layers(hidden, cos, sin, mask, &cache, start);
  if (commit) cache.length = start + tokens;
  return logits.squeeze(0).to(torch::kFloat32);
}

namespace {
// Keys copied per layer at most for a batched attention: the bundled model's 8 sequences of 400
// keys are 0.8 MB; an 8B model's would be tens of MB a layer, where the copy costs more than
// the ops it saves (pooled caches are the fix there, docs/gpu.md).
constexpr int64_t kMaxBatchedKeyBytes = int64_t(8) << 20;
// Longest chunk batched. Decoding steps (a block or two each) and short prefill windows gain:
// 8 sites of the bundled model on this CPU, decoding 25 -> 20 ms, windows of about 22 tokens
// 38.7 -> 35.8 ms. Windows of about 70 tokens lost more to padding and the larger mask than the
// ops saved (67 -> 71 ms).
constexpr int64_t kMaxBatchedQueries = 32;
}  // namespace

namespace {
// The pool every batched chunk's cache is a row of, and which rows in chunk order (undefined
// when they are all the pool's rows in order), or no pool.
std::pair<std::shared_ptr<const KVPool>, torch::Tensor> shared_pool(const std::vector<KVCache*>& caches, size_t first,
                                                                   torch::Device device) {
  if (caches.size() <= first || !caches[first]->pool) return {};
  std::shared_ptr<const KVPool> pool = caches[first]->pool;
  std::vector<int64_t> rows;
  bool all_in_order = int64_t(caches.size() - first) == pool->rows();
  for (size_t i = first; i < caches.size(); ++i) {
    if (caches[i]->pool != pool) return {};
    rows.push_back(caches[i]->pool_row);
    all_in_order = all_in_order && rows.back() == int64_t(i - first);
  }
  if (all_in_order) return {pool, torch::Tensor()};
  return {pool, torch::tensor(rows, torch::kLong).to(device)};
}
}  // namespace

std::optional<BatchedAttention> TransformerImpl::plan_batched_attention(const std::vector<int64_t>& tokens,
                                                                        const std::vector<int64_t>& starts,
                                                                        torch::Device device,
                                                                        const std::vector<KVCache*>& caches) const {
  BatchedAttention batched;
  // Leading long chunks (a header the others' prefix comes from) attend alone.
  batched.first = tokens.size();
  while (batched.first > 0 && tokens[batched.first - 1] >= 1 && tokens[batched.first - 1] <= kMaxBatchedQueries)
    --batched.first;
  for (size_t i = 0; i < batched.first; ++i)
    if (tokens[i] <= kMaxBatchedQueries) return std::nullopt;  // a short chunk among them: not worth the split
  const int64_t sequences = int64_t(tokens.size() - batched.first);
  if (sequences < 2) return std::nullopt;
  for (size_t i = batched.first; i < tokens.size(); ++i) {
    batched.keys_of.push_back(starts[i] + tokens[i]);
    batched.queries = std::max(batched.queries, tokens[i]);
    batched.keys = std::max(batched.keys, starts[i] + tokens[i]);
  }
  const int64_t group = config_.num_attention_heads / std::max<int64_t>(1, config_.num_key_value_heads);
  const int64_t element = lm_head->weight.element_size();
  const int64_t key_bytes = 2 * sequences * batched.keys * config_.num_key_value_heads * config_.head_dim * element;
  // attend() tiles long query runs by their first axis; a batched mask is not cut that way.
  const int64_t tile = std::max<int64_t>(8, kScoresPerTile / (group * batched.keys));
  std::tie(batched.pool, batched.pool_rows) = shared_pool(caches, batched.first, device);
  // Keys read in place cost no copy; gathered ones are copied every layer.
  if ((!batched.pool && key_bytes > kMaxBatchedKeyBytes) || batched.queries > std::min(tile, kMaxBatchedQueries))
    return std::nullopt;
  const int64_t block = std::max<int64_t>(1, config_.block_size), queries = batched.queries, keys = batched.keys;
  std::vector<uint8_t> visible(size_t(sequences * queries * keys), 0);
  std::vector<int64_t> q_rows, out_rows;
  bool full = true;
  int64_t offset = 0;
  for (int64_t i = 0; i < sequences; ++i) {
    const int64_t n = tokens[batched.first + size_t(i)], start = starts[batched.first + size_t(i)];
    full = full && n == queries;
    for (int64_t t = 0; t < queries; ++t) {
      uint8_t* row = visible.data() + (i * queries + t) * keys;
      q_rows.push_back(offset + std::min(t, n - 1));
      if (t >= n) {
        row[0] = 1;  // a padding query: any one key, so its softmax is defined; its row is dropped
        continue;
      }
      out_rows.push_back(i * queries + t);
      const int64_t position = start + t;
      for (int64_t j = 0; j < start + n; ++j) {
        bool see = j < start;  // cached keys: earlier blocks, or this chunk's own first block
        if (!see) {
          switch (config_.attention) {
            case AttentionMode::BlockCausal: see = j / block <= position / block; break;
            case AttentionMode::Causal: see = j <= position; break;
            case AttentionMode::Bidirectional: see = true; break;
          }
        }
        row[j] = see;
      }
    }
    offset += n;
  }
  batched.mask = torch::from_blob(visible.data(), {sequences, 1, 1, queries, keys}, torch::kUInt8)
                     .to(torch::kBool)
                     .to(device);
  if (!full) {
    auto long_options = torch::TensorOptions().dtype(torch::kLong);
    batched.q_rows = torch::tensor(q_rows, long_options).to(device);
    batched.out_rows = torch::tensor(out_rows, long_options).to(device);
  }
  return batched;
}

namespace {
// A chunk's shared prefix is complete in its source, or committed there by an earlier chunk of
// the same forward (written layer by layer before this chunk copies it).
bool prefix_ready(const std::vector<ForwardChunk>& chunks, const ForwardChunk& chunk) {
  if (chunk.prefix_tokens > chunk.cache->length) return false;
  if (chunk.prefix->length >= chunk.prefix_tokens) return true;
  for (const ForwardChunk& earlier : chunks) {
    if (&earlier == &chunk) return false;
    if (earlier.cache == chunk.prefix && earlier.cache->length + earlier.commit >= chunk.prefix_tokens) return true;
  }
  return false;
}
}  // namespace

std::vector<torch::Tensor> TransformerImpl::forward_chunks(std::vector<ForwardChunk>& chunks) {
  auto weight = lm_head->weight;
  const auto device = weight.device();
  const int64_t block = std::max<int64_t>(1, config_.block_size);
  PackedChunks packed;
  std::vector<int64_t>& tokens = packed.tokens;
  std::vector<int64_t>& starts = packed.starts;
  std::vector<torch::Tensor>& masks = packed.masks;
  std::vector<torch::Tensor> ids, cos_parts, sin_parts;
  int64_t furthest = 0;
  for (ForwardChunk& chunk : chunks) {
    const int64_t n = chunk.ids.size(0), start = chunk.cache->length;
    if (chunk.prefix && !prefix_ready(chunks, chunk))
      throw std::invalid_argument("a chunk's shared prefix must be computed before it and end within its cache");
    chunk.cache->reserve(start + n, config_, device, weight.scalar_type());
    tokens.push_back(n);
    starts.push_back(start);
    packed.caches.push_back(chunk.cache);
    packed.prefixes.push_back(chunk.prefix);
    packed.prefix_tokens.push_back(chunk.prefix ? chunk.prefix_tokens : 0);
    ids.push_back(chunk.ids);
    furthest = std::max(furthest, start + n);
    // Every cached key lies in an earlier aligned block (or the chunk's own, for a chunk that
    // starts mid-block), so only a chunk reaching past its first block needs a mask.
    bool all_visible = config_.attention == AttentionMode::Bidirectional ||
                       (config_.attention == AttentionMode::BlockCausal && start / block == (start + n - 1) / block) ||
                       n == 1;
    // Cached keys [0, start) are visible to every query of the chunk (earlier aligned blocks, or
    // the chunk's own first block), so the mask covers the chunk's own keys only.
    masks.push_back(all_visible ? torch::Tensor()
                                : attention_mask_over(config_.attention, block, start, n, start, n, device));
  }
  std::optional<BatchedAttention> batched;
  if (fast_.batched_attention) batched = plan_batched_attention(tokens, starts, device, packed.caches);
  const auto& tables = rope(furthest, device);
  for (size_t i = 0; i < chunks.size(); ++i) {
    cos_parts.push_back(tables.cos.narrow(0, starts[i], tokens[i]));
    sin_parts.push_back(tables.sin.narrow(0, starts[i], tokens[i]));
  }
  auto [cos, sin] = rope_rows(torch::cat(cos_parts, 0), torch::cat(sin_parts, 0), weight.scalar_type());
  auto hidden = model->embed_tokens(torch::cat(ids, 0).unsqueeze(0));
  for (size_t i = 0; i < model->layers->size(); ++i) {
    auto layer = model->layers[i]->as<DecoderLayerImpl>();
    hidden = hidden + layer->self_attn->forward_packed(layer->input_layernorm(hidden), cos, sin, packed, i,
                                                       batched ? &*batched : nullptr);
    hidden = hidden + layer->mlp(layer->post_attention_layernorm(hidden));
  }
  // The output layer only for the positions whose logits are used (a prefill needs none).
  std::vector<torch::Tensor> wanted;
  std::vector<int64_t> wanted_rows;
  int64_t offset = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    int64_t from = std::clamp<int64_t>(chunks[i].logits_from, 0, tokens[i]);
    if (from < tokens[i]) wanted.push_back(hidden.narrow(1, offset + from, tokens[i] - from));
    wanted_rows.push_back(tokens[i] - from);
    offset += tokens[i];
  }
  std::vector<torch::Tensor> logits(chunks.size());
  if (!wanted.empty()) {
    auto all = lm_head(model->norm(torch::cat(wanted, 1))).squeeze(0).to(torch::kFloat32);
    int64_t row = 0;
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (wanted_rows[i] > 0) logits[i] = all.narrow(0, row, wanted_rows[i]);
      row += wanted_rows[i];
    }
  }
  for (size_t i = 0; i < chunks.size(); ++i) chunks[i].cache->length = starts[i] + chunks[i].commit;
  return logits;
}

void TransformerImpl::reserve_rope(torch::Device device) { rope(config_.max_position_embeddings, device); }

torch::Tensor TransformerImpl::forward_static(const torch::Tensor& ids, const torch::Tensor& positions,
                                              const torch::Tensor& mask, KVCache& cache, int64_t keys,
                                              int64_t logits_from) {
  const auto device = lm_head->weight.device();
  const auto& tables = rope(config_.max_position_embeddings, device);
  auto [cos, sin] = rope_rows(tables.cos.index_select(0, positions), tables.sin.index_select(0, positions),
                              lm_head->weight.scalar_type());
  auto hidden = model->embed_tokens(ids.unsqueeze(0));
  for (size_t i = 0; i < model->layers->size(); ++i) {
    auto layer = model->layers[i]->as<DecoderLayerImpl>();
    hidden = hidden + layer->self_attn->forward_static(layer->input_layernorm(hidden), cos, sin, positions, mask,
                                                       cache.keys[i], cache.values[i], keys);
    hidden = hidden + layer->mlp(layer->post_attention_layernorm(hidden));
  }
  const int64_t tokens = ids.size(0);
  return lm_head(model->norm(hidden.narrow(1, logits_from, tokens - logits_from))).squeeze(0).to(torch::kFloat32);
}

torch::Tensor TransformerImpl::forward_full(const torch::Tensor& ids, const torch::Tensor& positions,
                                            const torch::Tensor& mask) {
  auto device = lm_head->weight.device();
  const auto& tables = rope(positions.max().item<int64_t>() + 1, device);
  auto [cos, sin] = rope_rows(tables.cos.index_select(0, positions), tables.sin.index_select(0, positions),
                              lm_head->weight.scalar_type());
  return run_layers(model->embed_tokens(ids), cos, sin, mask, nullptr, 0);
}

namespace {
torch::Dtype torch_dtype_of(DType dtype) {
  switch (dtype) {
    case DType::F32: return torch::kFloat32;
    case DType::BF16: return torch::kBFloat16;
    case DType::F16: return torch::kFloat16;
    case DType::F64: return torch::kFloat64;
    default: throw std::runtime_error(std::string("unsupported weight dtype ") + dtype_name(dtype));
  }
}

std::string shape_string(c10::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}
}  // namespace

std::vector<std::string> load_weights(Transformer& model, const Checkpoint& checkpoint) {
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& item : model->named_parameters()) {
    std::string name = item.key();
    if (name == "lm_head.weight" && model->config().tie_word_embeddings) name = "model.embed_tokens.weight";
    const TensorView* view = checkpoint.find(name);
    if (!view) throw std::runtime_error("checkpoint lacks tensor " + name);
    std::vector<int64_t> shape(view->shape.begin(), view->shape.end());
    if (c10::IntArrayRef(shape) != item.value().sizes())
      throw std::runtime_error("tensor " + name + " has shape " + shape_string(shape) + ", the config implies " +
                               shape_string(item.value().sizes()));
    auto source = torch::from_blob(const_cast<uint8_t*>(view->data), shape,
                                   torch::TensorOptions().dtype(torch_dtype_of(view->dtype)));
    item.value().copy_(source);
    used.insert(name);
  }
  std::vector<std::string> unexpected;
  for (const std::string& name : checkpoint.names())
    if (!used.count(name)) unexpected.push_back(name);
  return unexpected;
}

void save_weights(const Transformer& model, const std::string& path, torch::Dtype dtype) {
  std::vector<torch::Tensor> keep_alive;
  std::vector<TensorToWrite> tensors;
  for (const auto& item : model->named_parameters()) {
    if (item.key() == "lm_head.weight" && model->config().tie_word_embeddings) continue;
    auto cpu = item.value().detach().to(torch::kCPU, dtype).contiguous();
    keep_alive.push_back(cpu);
    DType stored = dtype == torch::kBFloat16 ? DType::BF16 : dtype == torch::kFloat16 ? DType::F16 : DType::F32;
    tensors.push_back({item.key(), stored, cpu.sizes().vec(), cpu.data_ptr(), size_t(cpu.nbytes())});
  }
  write_safetensors(path, tensors, {{"format", "pt"}});
}

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32") return torch::kFloat32;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  if (name == "float16" || name == "fp16") return torch::kFloat16;
  throw std::runtime_error("unknown dtype '" + name + "' (float32, bfloat16, float16)");
}

bool cpu_computes_bf16_natively() {
  // AVX512-BF16 or AMX: oneDNN then runs bf16 matmuls in hardware. Elsewhere bf16 is emulated
  // and slower than float32. /proc/cpuinfo is Linux's own answer; no dependency needed for it.
  static const bool native = [] {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream flags(line);
      std::string flag;
      while (flags >> flag)
        if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
      return false;
    }
    return false;
  }();
  return native;
}

torch::Dtype inference_dtype(const std::string& requested, const ModelConfig& config, torch::Device device) {
  if (requested != "auto") {
    auto dtype = parse_dtype(requested);
    if (device.is_cpu() && dtype == torch::kFloat16)
      throw std::runtime_error("float16 is not supported on CPU by this LibTorch; use float32 or bfloat16");
    return dtype;
  }
  const bool stored_bf16 = config.torch_dtype == "bfloat16";
  // GPUs run the checkpoint's own dtype (bf16 for a float32 one: same range, half the bytes).
  if (device.is_cuda()) return parse_dtype(config.torch_dtype == "float32" ? "bfloat16" : config.torch_dtype);
  // CPUs run a bf16 checkpoint in bf16 where the hardware has it: a 4-token block then costs
  // what a 1-token forward costs (measured on the bundled model: 2.3 vs 2.2 ms; float32 2.1x),
  // which is what lets block diffusion beat autoregression. Elsewhere float32.
  return stored_bf16 && cpu_computes_bf16_natively() ? torch::kBFloat16 : torch::kFloat32;
}

void keep_freed_buffers_for_reuse() {
  // glibc serves blocks above its mmap threshold (128 KiB, adapting up to 32 MiB) with fresh
  // mmaps and returns them on free, so every forward page-faults its activations and scores in
  // again (perf: page faults and zeroing were ~5% of decoding, more of a long prefill). Keep
  // blocks up to 256 MiB in the heap and trim only past 512 MiB free: memory stays at the peak
  // a forward needs, which the next forward needs again.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device("cuda") : torch::Device("cpu");
  torch::Device device(name);
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("device '" + name + "' requested but this LibTorch has no usable CUDA");
  return device;
}

}  // namespace maskfill
