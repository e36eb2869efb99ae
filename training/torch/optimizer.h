// The trainer's optimizer step (issue #20: a trainer that keeps the GPU busy). AdamW over every
// parameter at once with the multi-tensor `_foreach_` ops (on a GPU a dozen kernels a step, not a
// dozen per parameter), gradient clipping whose norm stays on the device (no host sync inside a
// step), and fp32 master weights when the model trains in bf16. The arithmetic is
// torch::optim::AdamW's and clip_grad_norm_'s, in the same order: a test checks that an fp32 run
// matches them bit for bit.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace maskfill::training {

class MultiTensorAdamW {
 public:
  struct Param {
    torch::Tensor tensor;
    double weight_decay = 0;
  };
  struct Options {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
    // Keep an fp32 copy of every parameter and update that: the model's own weights (bf16) are
    // rounded from it after each step. Made from the parameters' values at construction.
    bool master_weights = false;
    // On CUDA with a LibTorch that has it: `_fused_adamw_`, one fused kernel chain for the whole
    // update instead of the `_foreach_` ops (same AdamW, not bit-identical to them).
    bool fused = true;
  };
  // `params` in the module's order: the gradient norm sums them in that order, as
  // clip_grad_norm_(module->parameters()) does. Those with the same weight decay are stepped together.
  MultiTensorAdamW(const std::vector<Param>& params, Options options);

  void set_lr(double lr) { options_.lr = lr; }
  void zero_grad();
  // Clips the gradients' global L2 norm to `max_norm` (as torch::nn::utils::clip_grad_norm_),
  // takes one AdamW step and returns the norm before clipping, a device scalar.
  torch::Tensor clip_and_step(double max_norm);

  // The moments, step count and master weights, for a checkpoint; load() refuses a state made
  // for other parameters.
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  struct GroupState {
    std::vector<torch::Tensor> params, masters, exp_avg, exp_avg_sq;
    std::vector<torch::Tensor> device_steps;  // the fused step's counters (float, on the device)
    double weight_decay = 0;
  };
  std::vector<GroupState> groups_;
  std::vector<std::pair<size_t, size_t>> order_;  // each parameter's group and place in it
  Options options_;
  int64_t step_ = 0;
};

}  // namespace maskfill::training
