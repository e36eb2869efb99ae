// Samplers on a Transformer: the official Stable-DiffCoder generate_block (block diffusion with a
// prefix KV cache) as a per-sequence state machine that a batch can advance one forward at a
// time, and an autoregressive greedy baseline.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "inference/engine.h"
#include "inference/torch/transformer.h"

namespace maskfill {

// The random source for Gumbel noise and random remasking: splitmix64, uniform doubles in
// (0, 1) from the top 52 bits. Chosen over torch's generator so the Python reference
// (tests/reference) reproduces the exact same numbers; draws happen in row-major order over the
// block's [tokens, vocab] logits, one draw per element, at every denoising step.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();  // in (0, 1)
  // Counter-based view of the same stream: call i (0-based, from now) returns the mix of
  // state + (i + 1) * gamma, so any slice can be computed in parallel (counter_uniforms).
  uint64_t state() const { return state_; }
  void skip(uint64_t calls);
  static constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;
 private:
  uint64_t state_;
};

struct DiffusionTokens {
  int32_t mask_id;
  int32_t eos_id;
};

// One denoising step's choice: which masked slots of the block to commit, and to what.
struct StepChoice {
  std::vector<int64_t> positions;  // offsets inside the block
  std::vector<int64_t> tokens;
  std::vector<double> confidences;  // the rule's confidence of each committed token
};

// The official step rule on one block's logits [n, vocab]: x0 = argmax (Gumbel-noised when
// temperature > 0) over every token but the mask id (committing the mask id would leave the
// slot masked), confidence = softmax(raw logits)[x0]; commit the top-k masked slots, or with a
// threshold the top-1 plus every masked slot whose confidence reaches it.
// The uniforms of calls row * cols + c (c < cols) from `rng`'s current state, for the given
// rows, as float64 [rows.size(0), cols] on rows' device; the same values as uniform().
torch::Tensor counter_uniforms(const SplitMix64& rng, const torch::Tensor& rows, int64_t cols);

// With step_rule_on_device() the rule runs where the logits are (the GPU) and only the chosen
// ids and confidences cross to the host; the same float64 math and the same random stream.
StepChoice choose_tokens(const torch::Tensor& logits, const std::vector<bool>& masked, int k,
                         const DecodeOptions& options, SplitMix64& rng, int32_t mask_id);

// One sequence's generate_block. The owner prefills cache() with the prompt's whole aligned
// blocks [0, prefill_length()), then alternates next_chunk() → forward → consume() until done().
// Blocks are always aligned to absolute positions (block-causal attention is), including
// extension blocks: a partial last block is completed in place before a new one starts.
class DiffusionSequence {
 public:
  DiffusionSequence(const ModelConfig& config, const std::vector<int32_t>& prompt, const DecodeOptions& options,
                    DiffusionTokens tokens, CancelCheck cancel);

  int64_t prefill_length() const { return prefill_len_; }
  const std::vector<int64_t>& ids() const { return x_; }
  KVCache& cache() { return cache_; }
  void set_cache(KVCache cache) { cache_ = std::move(cache); }
  void note_prefill(double ms, int64_t computed_tokens);

  bool done() const { return done_; }
  int forwards() const { return result_.stats.forwards; }
  // Polls cancellation and budgets before a forward; false (and done) when the sequence stops.
  bool ready_for_forward();
  // The chunk this step forwards (ids on `device`, this sequence's cache).
  ForwardChunk next_chunk(torch::Device device);
  // The logits the forward returned for the chunk (undefined for a commit pass).
  void consume(const torch::Tensor& logits);

  // Generated tokens up to the first slot still masked, cut before EOS (streaming, stop strings).
  std::vector<int32_t> committed_tokens() const;
  double kept_min_confidence() const;
  // The result: generated ids (prompt excluded, cut before the first EOS) and stats; text empty.
  DecodeResult result() const;

 private:
  void start_block(int64_t start);
  void block_finished();
  int masks_in_block() const;

  DecodeOptions options_;
  DiffusionTokens special_;
  CancelCheck cancel_;
  int64_t B_, P_, prefill_len_, end_total_;
  int steps_per_block_;
  std::vector<int64_t> x_;
  std::vector<double> confidence_;     // per position of x_ past the prompt: when it was committed
  KVCache cache_;
  SplitMix64 rng_;
  int64_t start_ = 0, end_ = 0;        // the current aligned block [start_, end_)
  int64_t pending_begin_ = -1, pending_end_ = -1;  // finished block not yet in the cache
  bool commit_pass_ = false, finish_after_commit_ = false;
  std::vector<int> schedule_;
  int step_ = 0;
  int64_t extended_ = 0;
  bool done_ = false;
  DecodeResult result_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();  // budgets count from here
  std::chrono::steady_clock::time_point decode_started_ = started_;
};

// Prefills the sequence's cache from scratch: one forward (reference schedule) or chunks of
// `chunk_tokens` along block boundaries.
void prefill_uncached(Transformer& model, DiffusionSequence& sequence, int64_t chunk_tokens = 256);

// Decodes one sequence alone: prefill, then one forward per step until done.
DecodeResult generate_block_diffusion(Transformer& model, const std::vector<int32_t>& prompt,
                                      const DecodeOptions& options, DiffusionTokens tokens,
                                      const CancelCheck& cancel);

DecodeResult generate_greedy_autoregressive(Transformer& model, const std::vector<int32_t>& prompt,
                                            int max_new_tokens, int32_t eos_id, const CancelCheck& cancel);

// Steps committed per step for one block: n masks over `steps` steps, the remainder going to the
// first steps (LLaDA's get_num_transfer_tokens).
std::vector<int> transfer_schedule(int masks, int steps);

}  // namespace maskfill
