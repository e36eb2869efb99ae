#include "training/torch/objectives.h"

namespace maskfill::training {

namespace F = torch::nn::functional;

torch::Tensor to_device(const torch::Tensor& tensor, torch::Device device) {
  if (!tensor.defined() || tensor.device() == device) return tensor;
  return device.is_cuda() ? tensor.pin_memory().to(device, /*non_blocking=*/true) : tensor.to(device);
}

NoisedBatch NoisedBatch::to(torch::Device device) const {
  return {to_device(noisy, device), to_device(masked, device), to_device(weight, device), to_device(maskable, device),
          to_device(selected, device)};
}

LossOut autoregressive_loss(Transformer& model, const torch::Tensor& ids, const torch::Tensor& loss_mask) {
  const int64_t length = ids.size(1);
  auto device = ids.device();
  auto positions = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(device));
  auto mask = attention_mask(AttentionMode::Causal, 1, 0, length, length, device);
  auto logits = model->lm_head(hidden_states(model, ids, positions, mask, length)).to(torch::kFloat32);
  auto predictions = logits.narrow(1, 0, length - 1).reshape({-1, logits.size(-1)});
  auto targets = ids.narrow(1, 1, length - 1).reshape({-1});
  auto losses = F::cross_entropy(predictions, targets, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  torch::Tensor keep = loss_mask.defined() ? loss_mask.narrow(1, 1, length - 1).reshape({-1}).to(torch::kFloat32)
                                           : torch::ones_like(losses);
  auto count = keep.sum().clamp_min(1);
  auto loss = (losses * keep).sum() / count;
  return {loss, loss.detach(), keep.sum().to(torch::kLong)};
}

NoisedBatch add_block_noise(const torch::Tensor& x0, const torch::Tensor& maskable, const NoiseSchedule& schedule,
                            int64_t mask_id, torch::Generator& generator) {
  const int64_t rows = x0.size(0), length = x0.size(1), B = schedule.block, blocks = length / B;
  auto device = x0.device();
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto can_mask = maskable.defined() ? maskable : torch::ones({rows, length}, f32.dtype(torch::kBool));
  torch::Tensor u;
  if (schedule.stratified) {
    const int64_t n = rows * blocks;
    auto strata = torch::randperm(n, generator, torch::TensorOptions().dtype(torch::kLong).device(device));
    u = ((strata.to(torch::kFloat32) + torch::rand({n}, generator, f32)) / double(n)).view({rows, blocks, 1});
  } else {
    u = torch::rand({rows, blocks, 1}, generator, f32);
  }
  u = u * schedule.u_max;
  // Block-wise clipping (training): at least 1/B of a block. Without it, u > 0 (1/u is finite).
  auto u_blk = schedule.clip ? u.clamp(1.0 / double(B), 1.0) : u.clamp(1e-6, 1.0);
  auto draws = torch::rand({rows, blocks, B}, generator, f32);
  auto blocked_can = can_mask.view({rows, blocks, B});
  auto masked = (draws < u_blk) & blocked_can;
  if (schedule.force_mask) {
    // One forced mask in every block that has a maskable token but drew none.
    auto none = masked.any(-1, true).logical_not() & blocked_can.any(-1, true);
    auto scores = draws.masked_fill(blocked_can.logical_not(), 2.0);
    auto forced = torch::zeros_like(masked).scatter_(-1, scores.argmin(-1, true), true) & none;
    masked = masked | forced;
  }
  masked = masked.view({rows, length});
  auto weight = schedule.in_warmup ? torch::ones({rows, length}, f32)
                                   : (1.0 / u_blk).expand({rows, blocks, B}).reshape({rows, length});
  auto noisy = x0.masked_fill(masked, mask_id);
  return {noisy, masked, weight, can_mask, masked.reshape({-1}).nonzero().squeeze(1)};
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

torch::Tensor hidden_states(Transformer& model, const torch::Tensor& ids, const torch::Tensor& positions,
                            const torch::Tensor& mask, int64_t max_positions) {
  // The same layers as TransformerImpl::forward_full (a test checks lm_head(hidden) == its logits).
  auto device = model->lm_head->weight.device();
  static thread_local RopeTables tables;
  if (!tables.cos.defined() || tables.cos.size(0) < max_positions || tables.cos.device() != device)
    tables = make_rope_tables(model->config(), std::max<int64_t>(max_positions, 256), device);
  // As the model's forward passes them (rope_rows: in the compute dtype once, with the `rope` switch).
  auto [cos, sin] = model->rope_rows(tables.cos.index_select(0, positions), tables.sin.index_select(0, positions),
                                     model->lm_head->weight.scalar_type());
  auto hidden = model->model->embed_tokens(ids);
  for (size_t i = 0; i < model->model->layers->size(); ++i) {
    auto layer = model->model->layers[i]->as<DecoderLayerImpl>();
    hidden = hidden + layer->self_attn(layer->input_layernorm(hidden), cos, sin, mask, nullptr, nullptr, 0);
    hidden = hidden + layer->mlp(layer->post_attention_layernorm(hidden));
  }
  return model->model->norm(hidden);
}

LossOut block_diffusion_loss(Transformer& model, const torch::Tensor& x0, const NoisedBatch& noised) {
  const int64_t length = x0.size(1);
  auto device = x0.device();
  const int64_t B = model->config().block_size;
  auto positions = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(device)).repeat({2});
  auto mask = block_diffusion_training_mask(length, B, device);
  auto hidden = hidden_states(model, torch::cat({noised.noisy, x0}, 1), positions, mask, length);
  // Only the noisy half's masked positions are predicted (no logit shift: each predicts its own
  // token), so only they go through the output layer.
  const torch::Tensor& selected = noised.selected;
  auto noisy_hidden = hidden.narrow(1, 0, length).reshape({-1, hidden.size(-1)}).index_select(0, selected);
  auto logits = model->lm_head(noisy_hidden).to(torch::kFloat32);
  auto targets = x0.reshape({-1}).index_select(0, selected);
  auto weights = noised.weight.reshape({-1}).index_select(0, selected);
  auto losses = F::cross_entropy(logits, targets, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  const int64_t predicted = selected.size(0);
  torch::Tensor maskable = noised.maskable.defined() ? noised.maskable.sum().to(torch::kFloat32).clamp_min(1.0)
                                                     : torch::full({}, double(std::max<int64_t>(1, x0.numel())),
                                                                   losses.options());
  // Normalised by the maskable tokens (LLaDA / BD3-LM style): the weighted sum estimates the ELBO
  // per token (per response token in SFT).
  auto loss = (losses * weights).sum() / maskable;
  auto plain = predicted > 0 ? losses.detach().sum() / double(predicted) : torch::zeros({}, losses.options());
  return {loss, plain, torch::full({}, predicted, torch::kLong)};
}

}  // namespace maskfill::training
