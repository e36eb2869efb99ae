#include "training/torch/objectives.h"

namespace maskfill::training {

namespace F = torch::nn::functional;

LossOut autoregressive_loss(Transformer& model, const torch::Tensor& ids, const torch::Tensor& loss_mask) {
  const int64_t length = ids.size(1);
  auto device = ids.device();
  auto positions = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(device));
  auto mask = attention_mask(AttentionMode::Causal, 1, 0, length, length, device);
  auto logits = model->forward_full(ids, positions, mask).to(torch::kFloat32);
  auto predictions = logits.narrow(1, 0, length - 1).reshape({-1, logits.size(-1)});
  auto targets = ids.narrow(1, 1, length - 1).reshape({-1});
  auto losses = F::cross_entropy(predictions, targets, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  torch::Tensor keep = loss_mask.defined() ? loss_mask.narrow(1, 1, length - 1).reshape({-1}).to(torch::kFloat32)
                                           : torch::ones_like(losses);
  auto count = keep.sum().clamp_min(1);
  auto loss = (losses * keep).sum() / count;
  return {loss, loss.item<double>(), int64_t(keep.sum().item<double>())};
}

NoisedBatch add_block_noise(const torch::Tensor& x0, const torch::Tensor& maskable, const NoiseSchedule& schedule,
                            int64_t mask_id, torch::Generator& generator) {
  const int64_t rows = x0.size(0), length = x0.size(1), B = schedule.block, blocks = length / B;
  auto device = x0.device();
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto can_mask = maskable.defined() ? maskable : torch::ones({rows, length}, f32.dtype(torch::kBool));
  auto u = torch::rand({rows, blocks, 1}, generator, f32) * schedule.u_max;
  auto u_blk = u.clamp(1.0 / double(B), 1.0);  // block-wise clipping: at least 1/B of a block
  auto draws = torch::rand({rows, blocks, B}, generator, f32);
  auto blocked_can = can_mask.view({rows, blocks, B});
  auto masked = (draws < u_blk) & blocked_can;
  // One forced mask in every block that has a maskable token but drew none.
  auto none = masked.any(-1, true).logical_not() & blocked_can.any(-1, true);
  auto scores = draws.masked_fill(blocked_can.logical_not(), 2.0);
  auto forced = torch::zeros_like(masked).scatter_(-1, scores.argmin(-1, true), true) & none;
  masked = (masked | forced).view({rows, length});
  auto weight = schedule.in_warmup ? torch::ones({rows, length}, f32)
                                   : (1.0 / u_blk).expand({rows, blocks, B}).reshape({rows, length});
  auto noisy = x0.masked_fill(masked, mask_id);
  return {noisy, masked, weight};
}

torch::Tensor block_diffusion_training_mask(int64_t length, int64_t block, torch::Device device) {
  auto ids = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(device)).div(block, "floor");
  auto q = ids.unsqueeze(1), k = ids.unsqueeze(0);
  auto noisy_to_noisy = k == q;
  auto noisy_to_clean = k < q;
  auto clean_to_clean = k <= q;
  auto clean_to_noisy = torch::zeros_like(noisy_to_noisy);
  return torch::cat({torch::cat({noisy_to_noisy, noisy_to_clean}, 1), torch::cat({clean_to_noisy, clean_to_clean}, 1)}, 0);
}

LossOut block_diffusion_loss(Transformer& model, const torch::Tensor& x0, const NoisedBatch& noised) {
  const int64_t length = x0.size(1);
  auto device = x0.device();
  const int64_t B = model->config().block_size;
  auto positions = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(device)).repeat({2});
  auto mask = block_diffusion_training_mask(length, B, device);
  auto logits = model->forward_full(torch::cat({noised.noisy, x0}, 1), positions, mask);
  // No logit shift: the logits at a masked position predict that position's own token.
  auto noisy_logits = logits.narrow(1, 0, length).to(torch::kFloat32);
  auto losses = F::cross_entropy(noisy_logits.reshape({-1, noisy_logits.size(-1)}), x0.reshape({-1}),
                                 F::CrossEntropyFuncOptions().reduction(torch::kNone)).view_as(x0.to(torch::kFloat32));
  auto masked = noised.masked.to(torch::kFloat32);
  auto predicted = masked.sum();
  // Normalised by all tokens (LLaDA / BD3-LM style): the weighted sum estimates the ELBO.
  auto loss = (losses * masked * noised.weight).sum() / double(x0.numel());
  auto plain = (losses * masked).sum() / predicted.clamp_min(1);
  return {loss, plain.item<double>(), int64_t(predicted.item<double>())};
}

}  // namespace maskfill::training
