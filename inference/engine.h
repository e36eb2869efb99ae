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
  double temperature = 0.0;        // Gumbel noise temperature (0 = argmax)
  Remasking remasking = Remasking::LowConfidence;
  uint64_t seed = 0;
  bool stop_at_eos = true;
  // If every mask is filled without EOS, keep adding blocks (prefix KV cache reused) until
  // EOS or gen_length + extend_max tokens.
  int extend_max = 0;
  // Request budget: 0 = unlimited. Checked between denoising steps.
  int max_forwards = 0;
  int max_ms = 0;
};

struct DecodeStats {
  int prompt_tokens = 0;
  int generated_tokens = 0;   // tokens committed after the prompt (before EOS cut)
  int forwards = 0;           // model forward passes (NFE), prefill excluded
  double prefill_ms = 0;
  double decode_ms = 0;
  double tokens_per_forward() const { return forwards ? double(generated_tokens) / forwards : 0; }
};

enum class StopReason { Eos, Length, Cancelled, Budget };

struct DecodeResult {
  std::vector<int32_t> tokens;  // generated ids only (prompt excluded), cut before the first EOS
  std::string text;             // detokenized `tokens`, special tokens skipped
  StopReason stop = StopReason::Length;
  DecodeStats stats;
};

// Returns true when the caller wants the work to stop; polled between denoising steps.
using CancelCheck = std::function<bool()>;

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
};

// Loads an HF snapshot directory (config.json, tokenizer.json, safetensors). Throws
// std::runtime_error with a message naming the problem. Loads the torch plugin on first use.
std::unique_ptr<Engine> load_engine(const std::string& model_dir, const DeviceOptions& device);

// The bundled model directory (models/maskfill-tiny), found relative to the executable or via
// MASKFILL_MODEL_DIR. Empty when not found.
std::string default_model_dir();

}  // namespace maskfill
