// The small engine API between `infill` / `lsp-server` and the model. No torch types here: this
// header is included widely, and the implementation lives in the torch plugin
// (libmaskfill_torch.so) that `load_engine` dlopens on first use.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace maskfill {

class Tokenizer;
struct ModelConfig;
struct TokenizerConfig;

struct DeviceOptions {
  std::string device = "auto";  // "auto" | "cpu" | "cuda" | "cuda:N"
  std::string dtype = "auto";   // "auto" | "float32" | "bfloat16" | "float16"
  int threads = 0;              // CPU threads for torch; 0 = all cores
};

enum class Remasking { LowConfidence, Random };

// Mirrors the official generate_block arguments (see shared reference, section 4).
struct DecodeOptions {
  int gen_length = 64;             // masked tokens appended to the prompt (multiple of block)
  int block_length = 0;            // 0 = the model's block size (4 for Stable-DiffCoder)
  int steps = 0;                   // total denoising steps; 0 = gen_length (one token per step)
  std::optional<double> threshold; // parallel commit: top-1 plus all masked slots >= threshold
  // Parallel commit by an entropy budget instead (EB-sampler, Ben-Hamu et al. 2025): the most
  // confident masked slots, in order, while their summed entropy minus the largest stays <= this
  // many nats (always at least one). Takes precedence over `threshold`.
  std::optional<double> entropy_bound;
  double temperature = 0.0;        // Gumbel noise temperature (0 = argmax)
  // With temperature > 0: rank and threshold by the probability of the chosen token under the
  // distribution it was sampled from, softmax(logits / temperature), instead of the official
  // loop's softmax(logits). The threshold rule then means what it means for greedy decoding
  // (this token is near-certain under the sampler), so a sampled candidate commits as many
  // tokens per forward as the greedy one instead of one at a time.
  bool sampled_confidence = false;
  Remasking remasking = Remasking::LowConfidence;
  uint64_t seed = 0;
  bool stop_at_eos = true;
  // If every mask is filled without EOS, keep adding blocks (prefix KV cache reused) until
  // EOS or gen_length + extend_max tokens.
  int extend_max = 0;
  // Stop strings (OpenAI `stop`): the text ends before the first one. Whoever drives the batch
  // (generate_together, the serve batcher) watches the committed tokens after every step and
  // ends the sequence as soon as one appears; a rest-of-line completion stops at "\n".
  std::vector<std::string> stop;
  // Stop as soon as a token the answer keeps was committed with a confidence below this (0 = off;
  // the same confidence as DecodeStats::min_confidence). For a caller that shows an answer only
  // when min_confidence reaches a bound: committed tokens never change and the kept run only
  // grows, so the answer could never pass, and a batch stops waiting for it (next-edit sites).
  double stop_below_confidence = 0;
  // Request budget: 0 = unlimited. Checked between denoising steps.
  int max_forwards = 0;
  int max_ms = 0;
  // The official loop's forward schedule: a separate commit pass after every block and one
  // unchunked prefill (parity tests). Off: block k is committed inside block k+1's first
  // forward and the last block is never committed: the same tokens, fewer forwards.
  bool reference_schedule = false;
};

struct DecodeStats {
  int prompt_tokens = 0;
  int prompt_tokens_computed = 0;  // prompt tokens run through the model (the rest came from the prompt cache)
  int generated_tokens = 0;   // tokens committed after the prompt (before EOS cut)
  int forwards = 0;           // model forward passes (NFE), prefill excluded
  double prefill_ms = 0;
  double decode_ms = 0;
  // The lowest step-rule confidence among the kept tokens (the stopping EOS included); 1 when
  // none was committed or the rule ranks by noise (random remasking). Callers gate on it: a
  // suggestion the model was unsure of is better not shown.
  double min_confidence = 1.0;
  double tokens_per_forward() const { return forwards ? double(generated_tokens) / forwards : 0; }
};

enum class StopReason { Eos, Length, Cancelled, Budget, StopString, Unsure };

struct DecodeResult {
  std::vector<int32_t> tokens;  // generated ids only (prompt excluded), cut before the first EOS
  std::string text;             // detokenized `tokens`, special tokens skipped
  StopReason stop = StopReason::Length;
  DecodeStats stats;
};

// Returns true when the caller wants the work to stop; polled between denoising steps.
using CancelCheck = std::function<bool()>;

// The engine's prompt cache: K/V of recent prompts, keyed by token ids and shared by every
// request (documents, candidates, users); a new prompt reuses the longest cached prefix, cut to
// an attention-block boundary.
struct PromptCacheStats {
  int64_t lookups = 0, hits = 0;         // a hit reuses at least one block
  int64_t tokens_reused = 0, tokens_computed = 0;
  int64_t entries = 0, bytes = 0, limit_bytes = 0;
};

// Sequences decoded together: every step() runs ONE model forward over all active sequences
// (each with its own K/V cache, position, options and stopping), so candidates and concurrent
// users share the weight reads. Sequences may join between steps (continuous batching).
// Not thread-safe: one inference thread owns a batch.
class DecodeBatch {
 public:
  virtual ~DecodeBatch() = default;
  // Prefills `prompt` (through the prompt cache) and adds the sequence; returns its handle.
  // Throws std::invalid_argument for options or lengths the model cannot serve.
  virtual int add(const std::vector<int32_t>& prompt, const DecodeOptions& options, CancelCheck cancel = {}) = 0;
  // One forward over every active sequence (cancel checks and budgets are polled first).
  // Returns how many sequences are still active.
  virtual int step() = 0;
  virtual int active() const = 0;
  virtual bool finished(int handle) const = 0;
  // Generated tokens that are final so far (the committed run from the prompt's end up to the
  // first slot still masked, cut before EOS): for streaming and stop strings.
  virtual std::vector<int32_t> committed(int handle) const = 0;
  // Removes the sequence and returns its result (text detokenized); an unfinished one is
  // stopped as Cancelled.
  virtual DecodeResult take(int handle) = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const Tokenizer& tokenizer() const = 0;
  virtual const ModelConfig& config() const = 0;
  // tokenizer_config.json of the loaded model (chat template, BOS/EOS strings, add_bos_token);
  // infill builds FIM and chat prompts from it. The default throws: engines should override.
  virtual const TokenizerConfig& tokenizer_config() const {
    throw std::logic_error(description() + " does not expose its tokenizer_config");
  }
  virtual std::string description() const = 0;  // "maskfill-tiny on cpu/float32", for status
  // Block-diffusion decoding (official generate_block) of `prompt`.
  virtual DecodeResult generate(const std::vector<int32_t>& prompt, const DecodeOptions& options,
                                const CancelCheck& cancel) = 0;
  // Autoregressive greedy baseline on the same weights (causal attention, logit shift).
  virtual DecodeResult generate_autoregressive(const std::vector<int32_t>& prompt, int max_new_tokens,
                                               const CancelCheck& cancel) = 0;
  // A batch of sequences decoded together. The default runs each sequence alone through
  // generate() (for engines that cannot batch, e.g. test fakes).
  virtual std::unique_ptr<DecodeBatch> start_batch();
  // Prompt cache (see PromptCacheStats). Engines without one report zeros.
  virtual PromptCacheStats prompt_cache_stats() const { return {}; }
  virtual void set_prompt_cache_limit_mb(int /*megabytes*/) {}
  virtual void clear_prompt_cache() {}
};

// Decodes several sequences as one batch (one forward per step over all of them); results in
// request order. A sequence stops early at one of its options' stop strings (stop StopString,
// text cut before it, tokens as committed) or through the cancel check.
struct SequenceRequest {
  std::vector<int32_t> prompt;
  DecodeOptions options;
};
std::vector<DecodeResult> generate_together(Engine& engine, const std::vector<SequenceRequest>& requests,
                                            const CancelCheck& cancel);

// Loads an HF snapshot directory (config.json, tokenizer.json, safetensors). Throws
// std::runtime_error with a message naming the problem. Loads the torch plugin on first use.
std::unique_ptr<Engine> load_engine(const std::string& model_dir, const DeviceOptions& device);

// The bundled model directory (models/maskfill-tiny), found relative to the executable or via
// MASKFILL_MODEL_DIR. Empty when not found.
std::string default_model_dir();

}  // namespace maskfill
