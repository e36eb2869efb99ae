// Samplers on a Transformer: the official Stable-DiffCoder generate_block (block diffusion with a
// prefix KV cache) and an autoregressive greedy baseline.
#pragma once

#include <cstdint>
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
 private:
  uint64_t state_;
};

struct DiffusionTokens {
  int32_t mask_id;
  int32_t eos_id;
};

// `prompt` ids; returns generated ids (prompt excluded, cut before the first EOS) and stats.
// The text field is left empty (the engine detokenizes).
DecodeResult generate_block_diffusion(Transformer& model, const std::vector<int32_t>& prompt,
                                      const DecodeOptions& options, DiffusionTokens tokens,
                                      const CancelCheck& cancel);

DecodeResult generate_greedy_autoregressive(Transformer& model, const std::vector<int32_t>& prompt,
                                            int max_new_tokens, int32_t eos_id, const CancelCheck& cancel);

// Steps committed per step for one block: n masks over `steps` steps, the remainder going to the
// first steps (LLaDA's get_num_transfer_tokens).
std::vector<int> transfer_schedule(int masks, int steps);

}  // namespace maskfill
