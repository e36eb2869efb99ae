// The training objectives of the seed's recipe (Stable-DiffCoder paper, §3–4):
//  - AR: next-token prediction with causal attention and a logit shift.
//  - Block diffusion (block size B, block-causal attention, no logit shift), vectorized: the
//    noisy copy x_t and the clean x_0 are concatenated; noisy block b attends to itself
//    (bidirectionally) and to clean blocks before b; clean blocks are block-causal. Every block
//    of every sequence trains in one forward.
#pragma once

#include <torch/torch.h>

#include "inference/torch/transformer.h"

namespace maskfill::training {

struct LossOut {
  torch::Tensor loss;   // scalar to backpropagate
  double token_loss;    // mean cross-entropy per predicted token (for logs, comparable across steps)
  int64_t predicted;    // tokens that contributed
};

LossOut autoregressive_loss(Transformer& model, const torch::Tensor& ids /*[N, L]*/,
                            const torch::Tensor& loss_mask /*[N, L] bool, or undefined = all*/);

struct NoiseSchedule {
  int64_t block = 4;
  double u_max = 1.0;         // corruption warmup cap: rises linearly from 1e-3 to 1
  bool in_warmup = false;     // eq. 10: the 1/u loss weight is dropped during warmup
};

// Masks x0 block-wise: u ~ U(0, u_max) per (sequence, block), clipped u_blk = min(1, max(u, 1/B)),
// each maskable token masked with probability u_blk, one forced mask where none was drawn.
// `maskable` [N, L] bool marks tokens that may be masked (SFT keeps prompts clean; undefined = all).
struct NoisedBatch {
  torch::Tensor noisy;   // [N, L] with mask ids
  torch::Tensor masked;  // [N, L] bool
  torch::Tensor weight;  // [N, L] float: 1/u_blk after warmup, 1 during warmup
};
NoisedBatch add_block_noise(const torch::Tensor& x0, const torch::Tensor& maskable, const NoiseSchedule& schedule,
                            int64_t mask_id, torch::Generator& generator);

// [2L, 2L] boolean mask for the concatenation [x_t, x_0].
torch::Tensor block_diffusion_training_mask(int64_t length, int64_t block, torch::Device device);

LossOut block_diffusion_loss(Transformer& model, const torch::Tensor& x0, const NoisedBatch& noised);

}  // namespace maskfill::training
