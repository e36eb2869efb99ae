// An engine that decodes autoregressively (greedy, causal attention, logit shift) on another
// engine's weights: the AR baseline runs the same plans through the same pipeline as block
// diffusion, so evals and benchmarks compare decoding and nothing else.
#pragma once

#include "inference/engine.h"

namespace maskfill {

class AutoregressiveEngine final : public Engine {
 public:
  explicit AutoregressiveEngine(Engine& weights) : weights_(weights) {}
  const Tokenizer& tokenizer() const override { return weights_.tokenizer(); }
  const ModelConfig& config() const override { return weights_.config(); }
  const TokenizerConfig& tokenizer_config() const override { return weights_.tokenizer_config(); }
  std::string description() const override { return weights_.description() + " (autoregressive)"; }
  // As many new tokens as the diffusion request could have produced (its blocks plus extension).
  DecodeResult generate(const std::vector<int32_t>& prompt, const DecodeOptions& options,
                        const CancelCheck& cancel) override {
    return weights_.generate_autoregressive(prompt, options.gen_length + options.extend_max, cancel);
  }
  DecodeResult generate_autoregressive(const std::vector<int32_t>& prompt, int max_new_tokens,
                                       const CancelCheck& cancel) override {
    return weights_.generate_autoregressive(prompt, max_new_tokens, cancel);
  }

 private:
  Engine& weights_;
};

}  // namespace maskfill
