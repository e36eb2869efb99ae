// The training objectives of the seed's recipe (Stable-DiffCoder paper, §3–4):
//  - AR: next-token prediction with causal attention and a logit shift.
//  - Block diffusion (block size B, block-causal attention, no logit shift), vectorized: the
//    noisy copy x_t and the clean x_0 are concatenated; noisy block b attends to itself
//    (bidirectionally) and to clean blocks before b; clean blocks are block-causal. Every block
//    of every sequence trains in one forward. The output layer runs only on the masked positions
//    of the noisy half (the clean half is context: its logits would be thrown away).
#pragma once

#include <torch/torch.h>

#include "inference/torch/transformer.h"

namespace maskfill::training {

// Device scalars: reading one (`.item()`) waits for the device, so the trainer reads them only
// when it logs.
struct LossOut {
  torch::Tensor loss;        // scalar to backpropagate
  torch::Tensor token_loss;  // mean cross-entropy per predicted token (for logs, comparable across steps)
  torch::Tensor predicted;   // tokens that contributed
};

LossOut autoregressive_loss(Transformer& model, const torch::Tensor& ids /*[N, L]*/,
                            const torch::Tensor& loss_mask /*[N, L] bool, or undefined = all*/);

struct NoiseSchedule {
  int64_t block = 4;
  double u_max = 1.0;         // corruption warmup cap: rises linearly from 1e-3 to 1
  bool in_warmup = false;     // eq. 10: the 1/u loss weight is dropped during warmup
  bool clip = true;           // training: u_blk = max(u, 1/B) (block-wise clipped schedule, §3.3)
  bool force_mask = true;     // training: at least one masked token per block
  bool stratified = false;    // u of the k-th of n blocks drawn in [k/n, (k+1)/n), shuffled (less variance)
  // The unbiased ELBO estimate for validation: u ~ U(0,1), no clipping, no forced mask, 1/u weight.
  static NoiseSchedule elbo(int64_t block) {
    NoiseSchedule s;
    s.block = block;
    s.clip = false;
    s.force_mask = false;
    s.stratified = true;
    return s;
  }
};

// Masks x0 block-wise: u ~ U(0, u_max) per (sequence, block), clipped u_blk = min(1, max(u, 1/B))
// when `clip`, each maskable token masked with probability u_blk, one forced mask where none was
// drawn when `force_mask`. `maskable` [N, L] bool marks tokens that may be masked (SFT keeps
// prompts clean; undefined = all).
struct NoisedBatch {
  torch::Tensor noisy;     // [N, L] with mask ids
  torch::Tensor masked;    // [N, L] bool
  torch::Tensor weight;    // [N, L] float: 1/u_blk after warmup, 1 during warmup
  torch::Tensor maskable;  // [N, L] bool: the tokens the loss is averaged over (SFT: responses)
  torch::Tensor selected;  // [masked tokens] long: their flat indices, found where the noise was
                           // drawn (the CPU), so the device never waits to learn how many
  NoisedBatch to(torch::Device device) const;
};
NoisedBatch add_block_noise(const torch::Tensor& x0, const torch::Tensor& maskable, const NoiseSchedule& schedule,
                            int64_t mask_id, torch::Generator& generator);

// [2L, 2L] boolean mask for the concatenation [x_t, x_0].
torch::Tensor block_diffusion_training_mask(int64_t length, int64_t block, torch::Device device);

// loss = sum over masked tokens of weight * CE, divided by the number of maskable tokens: the
// ELBO per token (pretraining) or per response token (SFT). The logits are computed only for
// the masked tokens of the noisy half.
LossOut block_diffusion_loss(Transformer& model, const torch::Tensor& x0, const NoisedBatch& noised);

// Final hidden states (after the last RMSNorm), [B, T, hidden]: forward_full without lm_head.
// `positions` are below `max_positions` (passed, not read back from the device).
torch::Tensor hidden_states(Transformer& model, const torch::Tensor& ids, const torch::Tensor& positions,
                            const torch::Tensor& mask, int64_t max_positions);

// A batch tensor on `device`: from pinned memory without waiting on a GPU, as is on a CPU.
torch::Tensor to_device(const torch::Tensor& tensor, torch::Device device);

}  // namespace maskfill::training
