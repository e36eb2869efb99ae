#include "training/torch/optimizer.h"

#include "inference/torch/torch2_kernels.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace maskfill::training {

MultiTensorAdamW::MultiTensorAdamW(const std::vector<Param>& params, Options options) : options_(options) {
  torch::NoGradGuard no_grad;
  for (const Param& param : params) {
    auto group = std::find_if(groups_.begin(), groups_.end(),
                              [&](const GroupState& g) { return g.weight_decay == param.weight_decay; });
    if (group == groups_.end()) {
      groups_.emplace_back();
      groups_.back().weight_decay = param.weight_decay;
      group = std::prev(groups_.end());
    }
    order_.emplace_back(size_t(group - groups_.begin()), group->params.size());
    // Without master weights the parameter is its own master (taken at each step: loading a
    // checkpoint or moving the model may give it new storage).
    torch::Tensor master =
        options_.master_weights ? param.tensor.detach().to(torch::kFloat32).clone() : torch::Tensor();
    group->exp_avg.push_back(torch::zeros_like(options_.master_weights ? master : param.tensor, torch::kFloat32));
    group->exp_avg_sq.push_back(torch::zeros_like(group->exp_avg.back()));
    group->masters.push_back(std::move(master));
    group->params.push_back(param.tensor);
  }
}

namespace {
// Whether every parameter being stepped lives on a CUDA device (the fused kernel's case).
template <typename Live>
bool live_on_cuda(const std::vector<Live>& live) {
  for (const Live& group : live)
    for (const torch::Tensor& master : group.masters)
      if (!master.is_cuda()) return false;
  return true;
}
}  // namespace

void MultiTensorAdamW::zero_grad() {
  for (GroupState& group : groups_)
    for (torch::Tensor& param : group.params)
      if (param.grad().defined()) param.mutable_grad() = torch::Tensor();
}

torch::Tensor MultiTensorAdamW::clip_and_step(double max_norm) {
  torch::NoGradGuard no_grad;
  // The parameters that got a gradient, per group, with fp32 gradients for their masters.
  struct Live {
    std::vector<torch::Tensor> params, masters, grads, exp_avg, exp_avg_sq;
  };
  std::vector<Live> live(groups_.size());
  std::vector<torch::Tensor> norms;
  for (const auto& [g, i] : order_) {
    GroupState& group = groups_[g];
    const torch::Tensor& grad = group.params[i].grad();
    if (!grad.defined()) continue;
    live[g].params.push_back(group.params[i]);
    live[g].masters.push_back(options_.master_weights ? group.masters[i] : group.params[i].detach());
    live[g].grads.push_back(options_.master_weights ? grad.to(torch::kFloat32) : grad);
    live[g].exp_avg.push_back(group.exp_avg[i]);
    live[g].exp_avg_sq.push_back(group.exp_avg_sq[i]);
    norms.push_back(live[g].grads.back().norm(2));
  }
  if (norms.empty()) return torch::zeros({});
  // clip_grad_norm_: total = ||(||g_i||)||, every gradient times min(1, max / (total + 1e-6)).
  torch::Tensor total = norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2);
  torch::Tensor coefficient = torch::clamp(max_norm / (total + 1e-6), c10::nullopt, 1.0);
  for (Live& group : live)
    for (torch::Tensor& grad : group.grads) grad.mul_(coefficient);

  ++step_;
  const double bias_correction1 = 1 - std::pow(options_.beta1, double(step_));
  const double bias_correction2 = 1 - std::pow(options_.beta2, double(step_));
  const double step_size = options_.lr / bias_correction1;
  const bool fused = options_.fused && have_fused_adamw() && live_on_cuda(live);
  for (size_t g = 0; g < live.size(); ++g) {
    Live& group = live[g];
    if (group.params.empty()) continue;
    if (fused) {
      std::vector<torch::Tensor>& steps = groups_[g].device_steps;
      if (steps.size() != group.params.size()) {  // first fused step, or after a load
        steps.clear();
        for (const torch::Tensor& master : group.masters)
          steps.push_back(torch::full({}, double(step_ - 1), master.options().dtype(torch::kFloat32)));
      }
      at::_foreach_add_(steps, 1);
      fused_adamw_step(group.masters, group.grads, group.exp_avg, group.exp_avg_sq, steps, options_.lr,
                       options_.beta1, options_.beta2, groups_[g].weight_decay, options_.eps);
      if (options_.master_weights)
        for (size_t i = 0; i < group.params.size(); ++i) group.params[i].detach().copy_(group.masters[i]);
      continue;
    }
    // torch::optim::AdamW, op for op: decoupled weight decay, the moments, then the update.
    if (groups_[g].weight_decay != 0) at::_foreach_mul_(group.masters, 1 - options_.lr * groups_[g].weight_decay);
    at::_foreach_mul_(group.exp_avg, options_.beta1);
    at::_foreach_add_(group.exp_avg, group.grads, 1 - options_.beta1);
    at::_foreach_mul_(group.exp_avg_sq, options_.beta2);
    at::_foreach_addcmul_(group.exp_avg_sq, group.grads, group.grads, 1 - options_.beta2);
    std::vector<torch::Tensor> denom = at::_foreach_sqrt(group.exp_avg_sq);
    at::_foreach_div_(denom, std::sqrt(bias_correction2));
    at::_foreach_add_(denom, options_.eps);
    at::_foreach_addcdiv_(group.masters, group.exp_avg, denom, -step_size);
    if (options_.master_weights)
      for (size_t i = 0; i < group.params.size(); ++i) group.params[i].detach().copy_(group.masters[i]);
  }
  return total;
}

void MultiTensorAdamW::save(const std::string& path) const {
  std::vector<torch::Tensor> state{torch::tensor(step_)};
  for (const GroupState& group : groups_)
    for (size_t i = 0; i < group.params.size(); ++i) {
      state.push_back(group.exp_avg[i]);
      state.push_back(group.exp_avg_sq[i]);
      if (options_.master_weights) state.push_back(group.masters[i]);
    }
  torch::save(state, path);
}

void MultiTensorAdamW::load(const std::string& path) {
  std::vector<torch::Tensor> state;
  torch::load(state, path);
  size_t expected = 1;
  for (const GroupState& group : groups_) expected += group.params.size() * (options_.master_weights ? 3 : 2);
  if (state.size() != expected)
    throw std::runtime_error("the optimizer state in " + path + " holds " + std::to_string(state.size()) +
                             " tensors, this model and precision need " + std::to_string(expected) +
                             " (a checkpoint of another shape, precision or trainer version)");
  torch::NoGradGuard no_grad;
  step_ = state[0].item<int64_t>();
  for (GroupState& group : groups_) group.device_steps.clear();
  size_t at = 1;
  auto restore = [&](torch::Tensor& into) {
    if (!state[at].sizes().equals(into.sizes()))
      throw std::runtime_error("the optimizer state in " + path + " does not match this model's parameters");
    into.copy_(state[at++]);
  };
  for (GroupState& group : groups_)
    for (size_t i = 0; i < group.params.size(); ++i) {
      restore(group.exp_avg[i]);
      restore(group.exp_avg_sq[i]);
      if (options_.master_weights) restore(group.masters[i]);
    }
}

}  // namespace maskfill::training
