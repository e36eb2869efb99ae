#include "infill/mask_length.h"

#include <algorithm>

namespace maskfill {

int round_up_to_block(int tokens, int block_size) {
  block_size = std::max(1, block_size);
  return std::max(1, (tokens + block_size - 1) / block_size) * block_size;
}

DecodeOptions decode_options_for(const MaskPlan& plan, int index, uint64_t seed) {
  int cap = round_up_to_block(plan.cap_tokens, plan.block_size);
  DecodeOptions options;
  options.block_length = plan.block_size;
  options.gen_length = std::min(round_up_to_block(plan.estimated_tokens, plan.block_size), cap);
  options.extend_max = cap - options.gen_length;
  options.threshold = plan.threshold;
  options.entropy_bound = plan.entropy_bound;
  options.max_ms = plan.max_ms;
  options.stop_at_eos = true;
  options.seed = seed + static_cast<uint64_t>(index);
  // Greedy first: the most likely fill. Later candidates explore with Gumbel noise.
  options.temperature = index == 0 ? 0.0 : 0.4 + 0.2 * (index - 1);
  options.sampled_confidence = true;
  return options;
}

}  // namespace maskfill
