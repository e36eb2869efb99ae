// How many tokens to mask and how to decode them: start from the span's estimate, round to whole
// blocks, and let the engine extend block by block (prefix KV cache reused) up to a cap when the
// model fills every mask without EOS. Invoked requests get several candidates.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "inference/engine.h"

namespace maskfill {

struct MaskPlan {
  int estimated_tokens = 16;
  int cap_tokens = 64;  // gen_length + extension never exceeds this (rounded up to a block)
  int block_size = 4;
  std::optional<double> threshold;
  int max_ms = 0;
  std::optional<double> entropy_bound;  // replaces the threshold rule when set (DecodeOptions)
};

int round_up_to_block(int tokens, int block_size);

// Options for candidate `index` (0 = greedy; later ones sample with rising temperature and their
// own seed, so candidates differ).
DecodeOptions decode_options_for(const MaskPlan& plan, int index, uint64_t seed);

}  // namespace maskfill
