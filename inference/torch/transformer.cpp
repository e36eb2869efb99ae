#include "inference/torch/transformer.h"

#include <cmath>
#include <stdexcept>

#include "inference/safetensors.h"

namespace maskfill {

namespace {
torch::nn::Linear linear(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

torch::Tensor rotate_half(const torch::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}
}  // namespace

void KVCache::reserve(int64_t capacity, const ModelConfig& config, torch::Device device, torch::Dtype dtype) {
  if (capacity <= this->capacity()) return;
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

torch::Tensor attention_mask(AttentionMode mode, int64_t block_size, int64_t query_start, int64_t queries,
                             int64_t keys, torch::Device device) {
  auto long_options = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto q = torch::arange(query_start, query_start + queries, long_options).unsqueeze(1);
  auto k = torch::arange(0, keys, long_options).unsqueeze(0);
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
  auto x32 = x.to(torch::kFloat32);
  auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, true) + eps);
  return weight * normed.to(x.scalar_type());
}

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : heads(c.num_attention_heads), kv_heads(c.num_key_value_heads), head_dim(c.head_dim) {
  q_proj = register_module("q_proj", linear(c.hidden_size, heads * head_dim));
  k_proj = register_module("k_proj", linear(c.hidden_size, kv_heads * head_dim));
  v_proj = register_module("v_proj", linear(c.hidden_size, kv_heads * head_dim));
  o_proj = register_module("o_proj", linear(heads * head_dim, c.hidden_size));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& mask, torch::Tensor* cache_k, torch::Tensor* cache_v,
                                     int64_t cache_start) {
  const int64_t batch = x.size(0), tokens = x.size(1), group = heads / kv_heads;
  auto q = q_proj(x).view({batch, tokens, heads, head_dim}).transpose(1, 2);
  auto k = k_proj(x).view({batch, tokens, kv_heads, head_dim}).transpose(1, 2);
  auto v = v_proj(x).view({batch, tokens, kv_heads, head_dim}).transpose(1, 2);
  auto c = cos.to(x.scalar_type()), s = sin.to(x.scalar_type());
  q = q * c + rotate_half(q) * s;
  k = k * c + rotate_half(k) * s;
  if (cache_k) {
    cache_k->narrow(2, cache_start, tokens).copy_(k);
    cache_v->narrow(2, cache_start, tokens).copy_(v);
    k = cache_k->narrow(2, 0, cache_start + tokens);
    v = cache_v->narrow(2, 0, cache_start + tokens);
  }
  // Grouped-query attention without copying K/V: the `group` query heads that share a KV head
  // are stacked along the query axis, so one matmul per KV head serves them all.
  auto grouped_q = q.reshape({batch, kv_heads, group * tokens, head_dim});
  auto scores = torch::matmul(grouped_q, k.transpose(-1, -2)) * (1.0 / std::sqrt(double(head_dim)));
  if (mask.defined()) {
    auto grouped_mask = mask.repeat({group, 1});
    scores = scores.masked_fill(grouped_mask.logical_not(), -std::numeric_limits<float>::infinity());
  }
  auto probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
  auto out = torch::matmul(probs, v).view({batch, heads, tokens, head_dim});
  return o_proj(out.transpose(1, 2).reshape({batch, tokens, heads * head_dim}));
}

MlpImpl::MlpImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", linear(c.hidden_size, c.intermediate_size));
  up_proj = register_module("up_proj", linear(c.hidden_size, c.intermediate_size));
  down_proj = register_module("down_proj", linear(c.intermediate_size, c.hidden_size));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c) {
  self_attn = register_module("self_attn", Attention(c));
  mlp = register_module("mlp", Mlp(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

LlamaBodyImpl::LlamaBodyImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

TransformerImpl::TransformerImpl(const ModelConfig& c) : config_(c) {
  model = register_module("model", LlamaBody(c));
  lm_head = register_module("lm_head", linear(c.hidden_size, c.vocab_size));
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
  auto cos = tables.cos.narrow(0, start, tokens), sin = tables.sin.narrow(0, start, tokens);
  auto hidden = model->embed_tokens(ids.unsqueeze(0));
  auto logits = run_layers(hidden, cos, sin, mask, &cache, start);
  if (commit) cache.length = start + tokens;
  return logits.squeeze(0).to(torch::kFloat32);
}

torch::Tensor TransformerImpl::forward_full(const torch::Tensor& ids, const torch::Tensor& positions,
                                            const torch::Tensor& mask) {
  auto device = lm_head->weight.device();
  const auto& tables = rope(positions.max().item<int64_t>() + 1, device);
  auto cos = tables.cos.index_select(0, positions), sin = tables.sin.index_select(0, positions);
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

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device("cuda") : torch::Device("cpu");
  torch::Device device(name);
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("device '" + name + "' requested but this LibTorch has no usable CUDA");
  return device;
}

}  // namespace maskfill
