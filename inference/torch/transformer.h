// The Llama decoder (HF naming, so state dicts load unchanged) with the attention modes
// Stable-DiffCoder needs, and a preallocated KV cache. Torch header: include only from
// inference/torch, training/torch, bench/torch and torch tests.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <vector>

#include "inference/model_files.h"

namespace maskfill {

// Per-layer K/V for positions [0, length); storage grows by doubling so a forward never copies
// the whole cache. A denoise pass writes its block's K/V past `length` without advancing it
// (the "crop" of the reference), a commit pass advances it.
struct KVPool;

struct KVCache {
  std::vector<torch::Tensor> keys, values;  // [1, kv_heads, capacity, head_dim]
  int64_t length = 0;
  // Set while keys/values are row `pool_row` of a pool's tensors (KVPool); growing past the
  // capacity moves the cache out of it.
  std::shared_ptr<const KVPool> pool;
  int64_t pool_row = -1;
  void reserve(int64_t capacity, const ModelConfig& config, torch::Device device, torch::Dtype dtype);
  int64_t capacity() const { return keys.empty() ? 0 : keys[0].size(2); }
  void clear() { length = 0; }
  int64_t bytes() const;
  // A new cache holding a copy of positions [0, tokens) (the rest is free room).
  KVCache copy_prefix(int64_t tokens, int64_t capacity) const;
  // Positions [0, tokens) of `source` copied into this cache's own storage (room for them
  // required), which stays where it is (a pooled cache stays pooled); length becomes `tokens`.
  void assign_prefix(const KVCache& source, int64_t tokens);
};

// The K/V of sequences decoded together, one row each: [S, kv_heads, capacity, head_dim] per
// layer, zeroed once (padding keys must be finite). Each sequence's KVCache views its row, so
// a batched attention reads all their keys where they lie instead of copying them into one
// tensor at every layer (BatchedAttention).
struct KVPool {
  std::vector<torch::Tensor> keys, values;
  KVPool(int64_t sequences, int64_t capacity, const ModelConfig& config, torch::Device device, torch::Dtype dtype);
  int64_t rows() const { return keys.empty() ? 0 : keys[0].size(0); }
  // Makes `cache` (empty) view row `row` of `pool`.
  static void attach(const std::shared_ptr<const KVPool>& pool, int64_t row, KVCache& cache);
};

// One piece of a packed forward: `ids` at absolute positions [cache->length, +T). Keys are the
// cache's committed positions plus the chunk itself, block-causal inside the chunk (positions are
// absolute, so a chunk that starts on a block boundary sees every cached key). The chunk's K/V
// are written after the committed ones; its first `commit` tokens become committed.
struct ForwardChunk {
  torch::Tensor ids;          // [T] int64 on the model's device
  KVCache* cache = nullptr;
  int64_t commit = 0;
  int64_t logits_from = 0;    // logits only for positions [logits_from, T); T = none
  // Keys [0, prefix_tokens) are copied from `prefix`, layer by layer, just before this chunk
  // attends: the edit header that a batch's prompts share, computed by an earlier chunk of the
  // same forward (or already complete), so the header and the windows that attend to it need
  // no separate forwards. The cache's length must already be prefix_tokens.
  const KVCache* prefix = nullptr;
  int64_t prefix_tokens = 0;
};

// The chunks of a packed forward as the attention layers see them.
struct PackedChunks {
  std::vector<int64_t> tokens, starts;
  std::vector<torch::Tensor> masks;  // each over the chunk's own keys; undefined = all visible
  std::vector<KVCache*> caches;
  std::vector<const KVCache*> prefixes;  // ForwardChunk::prefix, or null
  std::vector<int64_t> prefix_tokens;
};

// Boolean [queries, keys] mask, true = may attend. Queries sit at absolute positions
// [query_start, query_start + queries), keys at [0, keys).
torch::Tensor attention_mask(AttentionMode mode, int64_t block_size, int64_t query_start, int64_t queries,
                             int64_t keys, torch::Device device);
// The same over keys at [key_start, key_start + keys) only.
torch::Tensor attention_mask_over(AttentionMode mode, int64_t block_size, int64_t query_start, int64_t queries,
                                  int64_t key_start, int64_t keys, torch::Device device);

// Forward-path switches, each one change to the eager path, so one run can time every change
// against the baseline (`maskfill bench decode --switches`). Defaults: on CUDA
// merged,rope,sdpa,norm,step (verified on an H200: parity 17/17 float32, 4/4 bf16); on CPUs
// `batch` only. `graphs` (until a GPU run has verified the fix of the NaN padding its first run
// found), `flash` and `batch` are opt-in on CUDA until a GPU run has measured them (docs/gpu.md).
// MASKFILL_SWITCHES=none|all|merged,rope,sdpa,norm,step,graphs,batch,flash overrides them for a process.
struct FastPath {
  bool merged_projections = false;  // q/k/v and gate/up as one matmul each (weights concatenated once)
  bool rope_once = false;           // cos/sin in the compute dtype once per forward; q and k rotated together
  bool sdpa = false;                // scaled_dot_product_attention (LibTorch >= 2.0 only)
  bool fused_norm = false;          // at::rms_norm (LibTorch >= 2.4 only)
  bool step_on_device = false;      // the step rule runs where the logits are; only chosen ids cross
  bool cuda_graphs = false;         // decode forwards replayed from CUDA graphs (decode_graphs.h)
  bool batched_attention = false;   // a packed forward's chunks attend as one batch (BatchedAttention)
  bool prefill_in_parts = false;    // "flash": prompt chunks attend in mask-free parts (attention_parts.h)
  // Chunks shorter than this attend as before: a decoding block's few queries gain nothing from
  // the parts and would pay their extra launches.
  int64_t parts_min_tokens = 64;
  std::string describe() const;     // "merged,rope,sdpa" or "none"
};
FastPath parse_fast_path(std::string list);  // "none", "all", or a comma list; throws on unknown
FastPath default_fast_path(torch::Device device);  // MASKFILL_SWITCHES if set, else by device
// What this LibTorch can do: `wanted` minus the switches whose kernels it lacks.
FastPath available_fast_path(FastPath wanted);
// Prompt tokens per prefill forward: 256 on CPUs (measured: attention tiles stay in cache),
// 2048 on GPUs (each forward reads every weight once; longer chunks amortise that read).
int64_t prefill_chunk_tokens(torch::Device device);
// Prompt tokens a joining prompt adds to each decoding step of the others while they decode:
// small enough that their step is not stalled long, large enough to finish in a few steps.
int64_t interleaved_prefill_tokens(torch::Device device);
// Process-wide setting for the step rule (decoding.cpp), which sees logits but not the model.
void set_step_rule_on_device(bool on);
bool step_rule_on_device();

// Rotary tables (HF Llama: inv_freq in fp32, cat(freqs, freqs), rotate_half layout).
struct RopeTables {
  torch::Tensor cos, sin;  // [max_positions, head_dim], float32
};
RopeTables make_rope_tables(const ModelConfig& config, int64_t positions, torch::Device device);

struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
  bool fused = false;
};
TORCH_MODULE(RMSNorm);

// The chunks of one packed forward (the sequences of a decoding step, the windows of a batch's
// prefill) attending as one batch instead of one set of attention ops each: their queries padded
// to the longest chunk, every cache's keys copied into one padded tensor, one mask for all, built
// once per forward. Each sequence's own attention ops cost more than its arithmetic when caches
// are small (8 sequences of the bundled model: about 0.15 ms a sequence a layer on this CPU);
// copying the keys costs bandwidth instead, so it is used only while they are small
// (forward_chunks decides). Padding queries see key 0 only, and their rows are dropped.
struct BatchedAttention {
  torch::Tensor mask;      // [S, 1, 1, queries, keys] bool, true = may attend
  torch::Tensor q_rows;    // [S * queries]: the packed row each padded query takes (undefined: all chunks full)
  torch::Tensor out_rows;  // [N]: the padded output row of each packed token (undefined likewise)
  std::vector<int64_t> keys_of;  // keys each batched chunk attends to (its cache up to and with itself)
  int64_t queries = 0, keys = 0;
  // The chunks before this one attend one at a time: long ones (a shared header computed in
  // the same forward) would pad every query of the batch to their length.
  size_t first = 0;
  // Set when every batched chunk's cache is a row of this pool: its keys are read in place
  // (`pool_rows` picks the rows, undefined when they are all of them in order).
  std::shared_ptr<const KVPool> pool;
  torch::Tensor pool_rows;
};

struct AttentionImpl : torch::nn::Module {
  explicit AttentionImpl(const ModelConfig& config);
  // x [B, T, hidden]; cos/sin [T, head_dim]; mask [T, T_keys] bool or undefined (all allowed).
  // With a cache (B must be 1) keys are cache[0, cache_start) + this block, and this block's K/V
  // are written at cache_start.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, torch::Tensor* cache_k, torch::Tensor* cache_v,
                        int64_t cache_start);
  // Packed form: x [1, N, hidden] holds the chunks' tokens back to back (`tokens` each); chunk i
  // attends to (*caches[i])[0, starts[i]) plus itself, with masks[i] (undefined = all visible).
  torch::Tensor forward_packed(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                               const PackedChunks& chunks, size_t layer, const BatchedAttention* batched = nullptr);
  // The chunks from batched.first on as one batch (BatchedAttention): their attention outputs
  // [their tokens, heads * head_dim], before o_proj. q_rows/k/v hold those chunks' rows only.
  torch::Tensor attend_batched(const torch::Tensor& q_rows, const torch::Tensor& k, const torch::Tensor& v,
                               const PackedChunks& chunks, size_t layer, const BatchedAttention& batched);
  // Static-shape form for CUDA graphs: x [1, T, hidden]; this chunk's K/V are written at
  // `positions` [T] (a device tensor) and attention reads keys [0, keys) of the cache with
  // `mask` [T, keys] (padding keys masked off), so nothing depends on host values.
  torch::Tensor forward_static(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                               const torch::Tensor& positions, const torch::Tensor& mask, torch::Tensor& cache_k,
                               torch::Tensor& cache_v, int64_t keys);
  // Attention of q [B, heads, T, d] over k/v [B, kv_heads, L, d]; mask [T, L] bool, [T, M < L]
  // over the last M keys only (the earlier ones all visible), or undefined.
  // `mask_by_config`: the mask is the model's own (attention_mask_over with the config's mode),
  // so a prompt chunk may attend in parts (FastPath::prefill_in_parts).
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& mask, bool mask_by_config = false) const;
  bool attends_in_parts(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& mask) const;
  // q [B, T, heads, d] and k [B, T, kv_heads, d] (rotary applied) from x [B, T, hidden].
  std::pair<torch::Tensor, torch::Tensor> rotated_qk(const torch::Tensor& x, const torch::Tensor& cos,
                                                     const torch::Tensor& sin, torch::Tensor& v);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  torch::Tensor qkv_weight;  // [q; k; v] rows when merged (the three weights are views into it)
  const FastPath* fast = nullptr;
  int64_t heads, kv_heads, head_dim;
  // How far past its own position the config's mask lets a query see: block - 1 (block-causal),
  // 0 (causal), -1 (bidirectional: no parts).
  int64_t mask_reach;
};
TORCH_MODULE(Attention);

struct MlpImpl : torch::nn::Module {
  explicit MlpImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  torch::Tensor gate_up_weight;  // [gate; up] rows when merged
};
TORCH_MODULE(Mlp);

struct DecoderLayerImpl : torch::nn::Module {
  explicit DecoderLayerImpl(const ModelConfig& config);
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

struct LlamaBodyImpl : torch::nn::Module {
  explicit LlamaBodyImpl(const ModelConfig& config);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers;
  RMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaBody);

// Parameter names are exactly HF's: model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight,
// ..., model.norm.weight, lm_head.weight.
struct TransformerImpl : torch::nn::Module {
  explicit TransformerImpl(const ModelConfig& config);

  // Inference: ids [T] (int64) at absolute positions [cache->length, +T). `mask` as from
  // attention_mask() or undefined when every key is visible. Appends to the cache if `commit`.
  // Returns logits [T, vocab] in float32.
  torch::Tensor forward_cached(const torch::Tensor& ids, KVCache& cache, const torch::Tensor& mask, bool commit);

  // Several sequences in one forward (continuous batching, several candidates, or a block whose
  // predecessor is committed in the same pass): the linear layers run once over all chunks'
  // tokens packed together, attention runs per chunk against its own cache. Returns logits
  // [T - logits_from, vocab] float32 per chunk (undefined when none were asked for).
  // The BatchedAttention of a packed forward's chunks, when it pays (two or more, small caches).
  // `caches`, when given, are the chunks' caches: rows of one pool are read in place.
  std::optional<BatchedAttention> plan_batched_attention(const std::vector<int64_t>& tokens,
                                                         const std::vector<int64_t>& starts, torch::Device device,
                                                         const std::vector<KVCache*>& caches = {}) const;
  std::vector<torch::Tensor> forward_chunks(std::vector<ForwardChunk>& chunks);

  // One chunk in static shapes (what a CUDA graph captures): ids [T] and positions [T] on the
  // device, mask [T, keys] bool (true = attend; keys past the valid ones masked off). Writes the
  // chunk's K/V into `cache` at `positions` (capacity >= keys, never reallocated here) and
  // returns float32 logits for rows [logits_from, T). The cache's length is the caller's.
  // Keys [0, keys) must hold finite values even where masked (they enter probs @ V with weight 0).
  torch::Tensor forward_static(const torch::Tensor& ids, const torch::Tensor& positions, const torch::Tensor& mask,
                               KVCache& cache, int64_t keys, int64_t logits_from);
  // Grows the rotary tables to the model's context now, so no later forward reallocates them.
  void reserve_rope(torch::Device device);

  // Training / full-sequence: ids [B, T], positions [T] (int64), mask [T, T] bool.
  // Returns logits [B, T, vocab] in the module's dtype.
  torch::Tensor forward_full(const torch::Tensor& ids, const torch::Tensor& positions, const torch::Tensor& mask);

  const ModelConfig& config() const { return config_; }

  // Applies forward-path switches (after the weights are loaded and on their device: merging
  // concatenates them where they are). Switches this LibTorch lacks stay off.
  void set_fast_path(FastPath wanted);
  const FastPath& fast_path() const { return fast_; }
  // cos/sin rows (as the attention takes them) for the given positions, in the compute dtype when rope_once is on (sin with
  // its first half negated, for the roll form of rotate_half).
  std::pair<torch::Tensor, torch::Tensor> rope_rows(const torch::Tensor& cos, const torch::Tensor& sin,
                                                    torch::Dtype dtype) const;

  LlamaBody model{nullptr};
  torch::nn::Linear lm_head{nullptr};

 private:
  torch::Tensor run_layers(torch::Tensor hidden, const torch::Tensor& cos, const torch::Tensor& sin,
                           const torch::Tensor& mask, KVCache* cache, int64_t cache_start);
  const RopeTables& rope(int64_t positions, torch::Device device);
  ModelConfig config_;
  RopeTables rope_;
  FastPath fast_;
};
TORCH_MODULE(Transformer);

// A model whose weights are allocated on `device` in `dtype` and left uninitialised, for loading
// a checkpoint into (no CPU-side random fill, no float32 copy of an 8B model in host memory).
Transformer uninitialized_transformer(const ModelConfig& config, torch::Device device, torch::Dtype dtype);

// Copies weights from a checkpoint, checking every expected name and shape; converts dtype.
// Unexpected tensors are returned (the caller logs them); missing or misshapen ones throw.
class Checkpoint;
std::vector<std::string> load_weights(Transformer& model, const Checkpoint& checkpoint);
// Writes the model's parameters as safetensors in `dtype` (HF names).
void save_weights(const Transformer& model, const std::string& path, torch::Dtype dtype);

torch::Dtype parse_dtype(const std::string& name);  // "float32"/"bfloat16"/"float16"
// True when the CPU has bf16 arithmetic (AVX512-BF16 or AMX).
bool cpu_computes_bf16_natively();
// The compute dtype for `requested` ("auto", "float32", "bfloat16", "float16") on `device`.
torch::Dtype inference_dtype(const std::string& requested, const ModelConfig& config, torch::Device device);
// Makes the process keep freed activation buffers for the next forward (glibc mallopt).
void keep_freed_buffers_for_reuse();
torch::Device resolve_device(const std::string& name);

}  // namespace maskfill
