#include "inference/torch/torch_engine.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "inference/model_files.h"
#include "inference/safetensors.h"
#include "inference/tokenizer.h"
#include "inference/torch/decode_graphs.h"
#include "inference/torch/decoding.h"
#include "inference/torch/prompt_cache.h"
#include "inference/torch/transformer.h"

namespace maskfill {
namespace {

std::string dtype_label(torch::Dtype dtype) {
  return dtype == torch::kBFloat16 ? "bfloat16" : dtype == torch::kFloat16 ? "float16" : "float32";
}

}  // namespace

// Decoding forwards a 4-token block at a time: a small model's ops are too short to split
// across cores, and OpenMP threads that wait on each other collapse when the editor, the
// compiler or anything else takes a core (measured here: 11 ms per forward on one thread,
// 480 ms on two under load). Only large models get every core.
int default_threads(const ModelConfig& config) {
  const int64_t per_layer = 4 * config.hidden_size * config.hidden_size + 3 * config.hidden_size * config.intermediate_size;
  const int64_t parameters = config.num_hidden_layers * per_layer + 2 * config.vocab_size * config.hidden_size;
  if (parameters < 200'000'000) return 1;
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

namespace {

// Default prompt-cache size: a few long prompts of an 8B model on a GPU (128 KiB per token in
// bf16), thousands of prompts of the bundled model.
constexpr int64_t kDefaultPromptCacheBytes = int64_t(1) << 30;

class TorchEngine;

// Sequences decoded together: one packed forward per step over every active sequence (the
// linear layers see all their tokens at once; attention runs per sequence on its own cache).
class TorchBatch final : public DecodeBatch {
 public:
  TorchBatch(Transformer model, PromptCache& prompt_cache, const ModelFiles& files, const Tokenizer& tokenizer,
             DecodeGraphs* graphs)
      : model_(std::move(model)), prompt_cache_(prompt_cache), files_(files), tokenizer_(tokenizer), graphs_(graphs) {}
  ~TorchBatch() override {
    if (graphs_)
      for (auto& [handle, sequence] : sequences_) graphs_->release(&sequence->cache());
  }

  // Prompts added while no sequence decodes are prefilled together by the next step (the sites of
  // a next-edit plan, a request's candidates): what they share is computed once, the rest packed
  // into as few forwards as the chunk size allows. While others decode, a prompt is prefilled in
  // chunks by the next steps, each packed with their decoding forward, so a long prompt joining
  // costs them a slower step or two instead of a stall for the whole prompt.
  int add(const std::vector<int32_t>& prompt, const DecodeOptions& options, CancelCheck cancel) override {
    torch::NoGradGuard no_grad;
    auto sequence = std::make_unique<DiffusionSequence>(
        files_.config, prompt, options, DiffusionTokens{files_.config.mask_token_id, files_.config.eos_token_id},
        std::move(cancel));
    const int handle = next_handle_++;
    Prefill prefill;
    prefill.ids = sequence->ids();
    prefill.capacity = int64_t(prefill.ids.capacity()) + options.extend_max + 8;
    // "Decoding" = has run a step: the candidates of one request are all added before the first.
    bool others_decoding = false;
    for (const auto& [other, sequence] : sequences_)
      others_decoding = others_decoding || (!sequence->done() && !prefilling_.count(other) && sequence->forwards() > 0);
    prefill.together = !others_decoding;
    sequences_.emplace(handle, std::move(sequence));
    prefilling_.emplace(handle, std::move(prefill));
    return handle;
  }

  int step() override {
    torch::NoGradGuard no_grad;
    const auto device = model_->lm_head->weight.device();
    prefill_together();
    std::vector<DiffusionSequence*> stepping;
    std::vector<ForwardChunk> chunks;
    int prefill_handle = -1;
    for (auto& [handle, sequence] : sequences_) {
      if (!sequence->ready_for_forward()) continue;
      if (prefilling_.count(handle)) {
        if (prefill_handle < 0) prefill_handle = handle;  // one prompt at a time, oldest first
        continue;
      }
      stepping.push_back(sequence.get());
      chunks.push_back(sequence->next_chunk(device));
    }
    const size_t decoding = chunks.size();
    if (prefill_handle >= 0) {
      ForwardChunk chunk = next_prefill_chunk(prefill_handle, decoding > 0);
      if (chunk.ids.defined()) chunks.push_back(chunk);
      else prefill_handle = -1;  // its prompt was all in the cache: it decodes from the next step
    }
    if (chunks.empty()) return active();
    auto t0 = std::chrono::steady_clock::now();
    // A sequence decoded alone replays a captured graph when it can (decode_graphs.h).
    torch::Tensor graphed;
    if (graphs_ && chunks.size() == 1 && decoding == 1 && sequences_.size() == 1) graphed = graphs_->forward(chunks[0]);
    auto logits = graphed.defined() ? std::vector<torch::Tensor>{graphed} : model_->forward_chunks(chunks);
    for (size_t i = 0; i < decoding; ++i) stepping[i]->consume(logits[i]);
    if (prefill_handle >= 0) {
      Prefill& prefill = prefilling_.at(prefill_handle);
      prefill.ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      prefill.done += chunks.back().commit;
      if (prefill.done >= sequences_.at(prefill_handle)->prefill_length()) finish_prefill(prefill_handle);
    }
    return active();
  }

  int active() const override {
    int count = 0;
    for (const auto& [handle, sequence] : sequences_) count += !sequence->done();
    return count;
  }

  bool finished(int handle) const override { return find(handle).done(); }
  std::vector<int32_t> committed(int handle) const override { return find(handle).committed_tokens(); }

  DecodeResult take(int handle) override {
    DecodeResult result = find(handle).result();
    if (!find(handle).done()) result.stop = StopReason::Cancelled;
    if (graphs_) graphs_->release(&sequences_.at(handle)->cache());
    sequences_.erase(handle);
    prefilling_.erase(handle);
    result.text = tokenizer_.decode(result.tokens, /*skip_special_tokens=*/true);
    return result;
  }

 private:
  const DiffusionSequence& find(int handle) const {
    auto it = sequences_.find(handle);
    if (it == sequences_.end()) throw std::invalid_argument("unknown sequence handle " + std::to_string(handle));
    return *it->second;
  }
  Transformer model_;
  PromptCache& prompt_cache_;
  const ModelFiles& files_;
  const Tokenizer& tokenizer_;
  DecodeGraphs* graphs_;
  // A prompt not yet in its sequence's cache: started (the cache looked up) when its first chunk
  // is scheduled, so a later prompt finds an earlier one's K/V.
  struct Prefill {
    std::vector<int64_t> ids;
    int64_t capacity = 0;
    bool started = false;
    bool together = false;  // added while nothing decoded: prefilled with the others added then
    int64_t shared_computed = 0;  // the group's shared prefix, when this prompt computed it
    bool needs_header = false;    // its shared prefix is still to be copied from the group's
    PromptCache::Started cache_start;
    int64_t done = 0;
    double ms = 0;
  };

  void start_prefill(int handle) {
    Prefill& prefill = prefilling_.at(handle);
    DiffusionSequence& sequence = *sequences_.at(handle);
    prefill.cache_start = prompt_cache_.begin(model_, prefill.ids, sequence.prefill_length(), sequence.cache(),
                                              prefill.capacity);
    prefill.done = prefill.cache_start.reused;
    prefill.started = true;
  }

  // The prompts added while nothing decoded, all at once: the block-aligned prefix they all
  // share (a next-edit plan's edit header, the prompt of a request's candidates) is computed
  // once, and every prompt's own rest is packed behind its last piece, into as few forwards as
  // the chunk size allows. A rest copies the shared K/V, layer by layer, in the forward that
  // computes it (ForwardChunk::prefix). The forwards' time is shared out by the tokens each
  // prompt computed, the shared prefix counted as the first prompt's.
  void prefill_together() {
    std::vector<int> group;
    for (const auto& [handle, prefill] : prefilling_)
      if (prefill.together && !prefill.started) group.push_back(handle);
    if (group.empty()) return;
    auto t0 = std::chrono::steady_clock::now();
    const int64_t block = std::max<int64_t>(1, files_.config.block_size);
    const int64_t chunk_tokens = prefill_chunk_tokens(model_->lm_head->weight.device());
    const std::vector<int64_t>& first = prefilling_.at(group.front()).ids;
    const int64_t shared = group.size() > 1 ? shared_prefix(group) : 0;
    KVCache header;
    PromptCache::Started header_start;
    if (shared > 0) header_start = prompt_cache_.begin(model_, first, shared, header, shared);
    int64_t header_done = header_start.reused;
    if (group.size() > 1) pool_caches(group);
    for (int handle : group) {
      start_prefill(handle);
      Prefill& prefill = prefilling_.at(handle);
      if (prefill.done >= shared) continue;
      // Its shared part comes from the header: counted there, copied in by its first chunk.
      sequences_.at(handle)->cache().length = shared;
      prefill.done = prefill.cache_start.reused = shared;
      prefill.needs_header = true;
    }
    std::map<int, int64_t> computed;
    computed[group.front()] = shared - header_done;
    int64_t total = shared - header_done;
    for (;;) {
      std::vector<ForwardChunk> chunks;
      std::vector<int> owners;  // -1: the header
      int64_t tokens = 0;
      if (header_done < shared) {
        tokens = std::min(chunk_tokens, shared - header_done);
        chunks.push_back(prefill_chunk(first, header_done, tokens, header));
        owners.push_back(-1);
      }
      // The rests ride along from the forward that completes the header.
      for (int handle : group) {
        if (header_done + (owners.empty() ? 0 : tokens) < shared) break;
        Prefill& prefill = prefilling_.at(handle);
        const int64_t left = sequences_.at(handle)->prefill_length() - prefill.done;
        if (left <= 0) continue;
        const int64_t room = chunk_tokens - tokens;
        if (room < block) break;
        const int64_t n = std::min(left, room - room % block);
        ForwardChunk chunk = prefill_chunk(prefill.ids, prefill.done, n, sequences_.at(handle)->cache());
        if (prefill.needs_header) {
          chunk.prefix = &header;
          chunk.prefix_tokens = shared;
          prefill.needs_header = false;
        }
        chunks.push_back(std::move(chunk));
        owners.push_back(handle);
        tokens += n;
      }
      if (chunks.empty()) break;
      model_->forward_chunks(chunks);
      for (size_t i = 0; i < owners.size(); ++i) {
        if (owners[i] < 0) {
          header_done += chunks[i].commit;
          continue;
        }
        prefilling_.at(owners[i]).done += chunks[i].commit;
        computed[owners[i]] += chunks[i].commit;
        total += chunks[i].commit;
      }
    }
    if (shared > 0) prompt_cache_.finish(first, shared, header_start, header);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    for (int handle : group) {
      Prefill& prefill = prefilling_.at(handle);
      if (prefill.needs_header)  // nothing of its own to compute: the shared prefix is all of it
        sequences_.at(handle)->cache().assign_prefix(header, shared);
      prefill.shared_computed = handle == group.front() ? shared - header_start.reused : 0;
      prefill.ms = total > 0 ? ms * double(computed[handle]) / double(total) : 0;
      finish_prefill(handle);
    }
  }

  // The group's caches as the rows of one pool, so their batched attention reads the keys in
  // place (KVPool): room for the longest prompt and answer of the group.
  void pool_caches(const std::vector<int>& group) {
    int64_t capacity = 0;
    for (int handle : group) capacity = std::max(capacity, prefilling_.at(handle).capacity);
    auto pool = std::make_shared<const KVPool>(int64_t(group.size()), capacity, files_.config,
                                               model_->lm_head->weight.device(), model_->lm_head->weight.scalar_type());
    for (size_t row = 0; row < group.size(); ++row) KVPool::attach(pool, int64_t(row), sequences_.at(group[row])->cache());
  }

  // The longest block-aligned prefix that every prompt of the group starts with.
  int64_t shared_prefix(const std::vector<int>& group) const {
    const std::vector<int64_t>& first = prefilling_.at(group.front()).ids;
    int64_t shared = sequences_.at(group.front())->prefill_length();
    for (int handle : group) {
      const std::vector<int64_t>& ids = prefilling_.at(handle).ids;
      int64_t same = 0;
      const int64_t limit = std::min(shared, sequences_.at(handle)->prefill_length());
      while (same < limit && ids[size_t(same)] == first[size_t(same)]) ++same;
      shared = same;
    }
    const int64_t block = std::max<int64_t>(1, files_.config.block_size);
    return shared - shared % block;
  }

  // Prompt tokens ids[from, from + n) computed into `cache` and committed.
  ForwardChunk prefill_chunk(const std::vector<int64_t>& ids, int64_t from, int64_t n, KVCache& cache) const {
    ForwardChunk chunk;
    chunk.ids = torch::tensor(std::vector<int64_t>(ids.begin() + from, ids.begin() + from + n), torch::kLong)
                    .to(model_->lm_head->weight.device());
    chunk.cache = &cache;
    chunk.commit = n;
    chunk.logits_from = n;
    return chunk;
  }

  // The next piece of a joining prompt: small while others decode (their step waits for it),
  // the usual prefill chunk otherwise. Undefined when nothing is left to compute.
  ForwardChunk next_prefill_chunk(int handle, bool others_decoding) {
    if (!prefilling_.at(handle).started) start_prefill(handle);
    Prefill& prefill = prefilling_.at(handle);
    DiffusionSequence& sequence = *sequences_.at(handle);
    const auto device = model_->lm_head->weight.device();
    ForwardChunk chunk;
    const int64_t length = sequence.prefill_length();
    if (prefill.done >= length) {
      finish_prefill(handle);
      return chunk;
    }
    const int64_t block = std::max<int64_t>(1, files_.config.block_size);
    int64_t budget = others_decoding ? interleaved_prefill_tokens(device) : prefill_chunk_tokens(device);
    budget = std::max<int64_t>(block, budget - budget % block);
    const int64_t n = std::min(budget, length - prefill.done);
    chunk.ids = torch::tensor(std::vector<int64_t>(prefill.ids.begin() + prefill.done, prefill.ids.begin() + prefill.done + n),
                              torch::kLong).to(device);
    chunk.cache = &sequence.cache();
    chunk.cache->reserve(prefill.capacity, files_.config, device, model_->lm_head->weight.scalar_type());
    chunk.commit = n;
    chunk.logits_from = n;
    return chunk;
  }

  void finish_prefill(int handle) {
    Prefill& prefill = prefilling_.at(handle);
    DiffusionSequence& sequence = *sequences_.at(handle);
    prompt_cache_.finish(prefill.ids, sequence.prefill_length(), prefill.cache_start, sequence.cache());
    sequence.note_prefill(prefill.ms, sequence.prefill_length() - prefill.cache_start.reused + prefill.shared_computed);
    prefilling_.erase(handle);
  }

  std::map<int, std::unique_ptr<DiffusionSequence>> sequences_;
  std::map<int, Prefill> prefilling_;
  int next_handle_ = 1;
};

class TorchEngine final : public Engine {
 public:
  TorchEngine(ModelFiles files, Tokenizer tokenizer, Transformer model, std::string description)
      : files_(std::move(files)), tokenizer_(std::move(tokenizer)), model_(std::move(model)),
        description_(std::move(description)) {
    if (model_->fast_path().cuda_graphs) graphs_ = make_decode_graphs(model_);
  }

  const Tokenizer& tokenizer() const override { return tokenizer_; }
  const ModelConfig& config() const override { return files_.config; }
  const TokenizerConfig& tokenizer_config() const override { return files_.tokenizer_config; }
  std::string description() const override { return description_; }

  DecodeResult generate(const std::vector<int32_t>& prompt, const DecodeOptions& options,
                        const CancelCheck& cancel) override {
    require_diffusion_model();
    if (options.reference_schedule) {
      DecodeResult result = generate_block_diffusion(
          model_, prompt, options, {files_.config.mask_token_id, files_.config.eos_token_id}, cancel);
      result.text = tokenizer_.decode(result.tokens, /*skip_special_tokens=*/true);
      return result;
    }
    return std::move(generate_together(*this, {{prompt, options}}, cancel).front());
  }

  std::unique_ptr<DecodeBatch> start_batch() override {
    require_diffusion_model();
    return std::make_unique<TorchBatch>(model_, prompt_cache_, files_, tokenizer_, graphs_.get());
  }

  DecodeResult generate_autoregressive(const std::vector<int32_t>& prompt, int max_new_tokens,
                                       const CancelCheck& cancel) override {
    DecodeResult result =
        generate_greedy_autoregressive(model_, prompt, max_new_tokens, files_.config.eos_token_id, cancel);
    result.text = tokenizer_.decode(result.tokens, true);
    return result;
  }

  PromptCacheStats prompt_cache_stats() const override { return prompt_cache_.stats(); }
  void set_prompt_cache_limit_mb(int megabytes) override { prompt_cache_.set_limit_bytes(int64_t(megabytes) << 20); }
  void clear_prompt_cache() override { prompt_cache_.clear(); }

 private:
  void require_diffusion_model() const {
    if (files_.config.attention == AttentionMode::Causal)
      throw std::runtime_error("this model is autoregressive (causal attention); block diffusion needs a "
                               "block-causal diffusion model");
  }

  ModelFiles files_;
  Tokenizer tokenizer_;
  Transformer model_;
  std::unique_ptr<DecodeGraphs> graphs_;  // declared after model_: destroyed first
  std::string description_;
  PromptCache prompt_cache_{kDefaultPromptCacheBytes};
};

}  // namespace

std::unique_ptr<Engine> make_torch_engine(const std::string& model_dir, const DeviceOptions& options) {
  ModelFiles files = locate_model_files(model_dir);
  Tokenizer tokenizer = Tokenizer::from_file(files.tokenizer_json_path);
  if (tokenizer.vocab_size() > files.config.vocab_size)
    throw std::runtime_error("tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                             " tokens but the model's vocab_size is " + std::to_string(files.config.vocab_size));
  torch::set_num_threads(options.threads > 0 ? options.threads : default_threads(files.config));
  torch::Device device = resolve_device(options.device);
  keep_freed_buffers_for_reuse();
  torch::Dtype dtype = inference_dtype(options.dtype, files.config, device);

  Transformer model = uninitialized_transformer(files.config, device, dtype);
  model->eval();
  Checkpoint checkpoint = Checkpoint::open(files.safetensors_paths);
  for (const std::string& name : load_weights(model, checkpoint))
    spdlog::warn("model {}: unexpected tensor {} ignored", model_dir, name);
  model->set_fast_path(default_fast_path(device));
  spdlog::info("forward-path switches: {}", model->fast_path().describe());
  std::string name = std::filesystem::path(model_dir).filename().string();
  if (name.empty()) name = std::filesystem::path(model_dir).parent_path().filename().string();
  std::string description = name + " on " + device.str() + "/" + dtype_label(dtype);
  spdlog::info("loaded {}", description);
  return std::make_unique<TorchEngine>(std::move(files), std::move(tokenizer), std::move(model), description);
}

}  // namespace maskfill
