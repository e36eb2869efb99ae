// The LibTorch 2.x code paths, checked on the CPU (scripts/check-torch2.sh builds this against
// Debian unstable's LibTorch 2.x; Debian bookworm's 1.13 has none of them): the CUDA default's
// scaled_dot_product_attention with a mask over the chunk's own keys, the fused RMSNorm, the
// `flash` switch's prompt attention in parts through a real flash kernel (PyTorch's CPU one), and
// the GPU trainer's fused AdamW step.
// Each against plain float32 arithmetic. A standalone program, no test framework: it links
// against unstable's C++ library, not this machine's.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "inference/torch/attention_parts.h"
#include "inference/torch/torch2_kernels.h"

using namespace maskfill;

namespace {

int failures = 0;

void check(bool ok, const char* what, double error) {
  std::printf("%s  %-72s max relative error %.3g\n", ok ? "ok  " : "FAIL", what, error);
  failures += !ok;
}

// Block-causal (block 4) or causal mask of a chunk's own keys at absolute positions [start, +n).
torch::Tensor own_mask(bool block_causal, int64_t start, int64_t n) {
  auto positions = torch::arange(start, start + n);
  auto q = positions.unsqueeze(1), k = positions.unsqueeze(0);
  return block_causal ? k.div(4, "floor") <= q.div(4, "floor") : k <= q;
}

// One float32 softmax over every key; `visible` [T, L].
torch::Tensor reference_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  const torch::Tensor& visible, double scale) {
  const int64_t group = q.size(1) / k.size(1);
  auto scores = torch::matmul(q.to(torch::kFloat32), k.to(torch::kFloat32).repeat_interleave(group, 1).transpose(-1, -2)) * scale;
  scores.masked_fill_(visible.logical_not(), -INFINITY);
  return torch::matmul(torch::softmax(scores, -1), v.to(torch::kFloat32).repeat_interleave(group, 1));
}

double relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual.to(torch::kFloat32) - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

double tolerance(torch::Dtype dtype) { return dtype == torch::kFloat32 ? 1e-5 : 2e-2; }

// Chunks with and without a cache, whose keys are views of a larger cache as the engine holds them.
void check_attention() {
  const int64_t heads = 8, kv_heads = 2, head_dim = 64;
  const double scale = 1.0 / std::sqrt(double(head_dim));
  for (torch::Dtype dtype : {torch::kFloat32, torch::kBFloat16}) {
    double parts_error = 0, sdpa_error = 0;
    for (bool block_causal : {true, false})
      for (int64_t cached : {0, 8, 36, 520})
        for (int64_t tokens : {4, 12, 64, 256}) {
          auto options = torch::TensorOptions().dtype(dtype);
          auto cache_k = torch::randn({1, kv_heads, cached + tokens + 40, head_dim}, options);
          auto cache_v = torch::randn_like(cache_k);
          auto k = cache_k.narrow(2, 0, cached + tokens), v = cache_v.narrow(2, 0, cached + tokens);
          auto q = torch::randn({1, heads, tokens, head_dim}, options);
          auto own = own_mask(block_causal, cached, tokens);
          auto visible = torch::cat({torch::ones({tokens, cached}, own.options()), own}, 1);
          auto expected = reference_attention(q, k, v, visible, scale);
          parts_error = std::max(parts_error,
                                 relative_error(attend_in_parts(q, k, v, own, block_causal ? 3 : 0, scale), expected));
          sdpa_error = std::max(sdpa_error, relative_error(sdpa_attend(q, k, v, own, scale), expected));
        }
    const char* name = dtype == torch::kFloat32 ? "float32" : "bfloat16";
    check(have_flash_attention(torch::empty({1, 1, 1, head_dim}, torch::TensorOptions().dtype(dtype))),
          (std::string("a flash kernel serves ") + name + " on this CPU").c_str(), 0);
    check(parts_error <= tolerance(dtype), (std::string("prompt attention in parts (flash), ") + name).c_str(),
          parts_error);
    check(sdpa_error <= tolerance(dtype), (std::string("sdpa_attend with a mask over the chunk's keys, ") + name).c_str(),
          sdpa_error);
  }
}

// A batch's sequences over their caches' rows of one pool, padded to the longest chunk and the
// longest cache, with the [S, 1, 1, T, L] mask the `batch` switch builds (BatchedAttention).
void check_batched_sdpa() {
  const int64_t sequences = 3, heads = 8, kv_heads = 2, head_dim = 64, queries = 8, keys = 48;
  const double scale = 1.0 / std::sqrt(double(head_dim));
  for (torch::Dtype dtype : {torch::kFloat32, torch::kBFloat16}) {
    auto options = torch::TensorOptions().dtype(dtype);
    auto q = torch::randn({sequences, heads, queries, head_dim}, options);
    auto pool_k = torch::randn({sequences, kv_heads, keys + 16, head_dim}, options), pool_v = torch::randn_like(pool_k);
    auto k = pool_k.narrow(2, 0, keys), v = pool_v.narrow(2, 0, keys);
    // Sequence i: a chunk of 8, 4 and 1 real queries over caches of 40, 20 and 47 keys; padding
    // queries see key 0 only.
    const int64_t real[] = {8, 4, 1}, cached[] = {32, 16, 46};
    auto mask = torch::zeros({sequences, 1, 1, queries, keys}, torch::kBool);
    for (int64_t s = 0; s < sequences; ++s)
      for (int64_t t = 0; t < queries; ++t) {
        if (t >= real[s]) {
          mask[s][0][0][t][0] = true;
          continue;
        }
        const int64_t position = cached[s] + t;
        mask[s][0][0][t].narrow(0, 0, (position / 4 + 1) * 4).fill_(true);  // block-causal
        mask[s][0][0][t].narrow(0, cached[s] + real[s], keys - cached[s] - real[s]).fill_(false);
      }
    torch::Tensor expected = torch::cat(
        {reference_attention(q[0].unsqueeze(0), k[0].unsqueeze(0), v[0].unsqueeze(0), mask[0][0][0], scale),
         reference_attention(q[1].unsqueeze(0), k[1].unsqueeze(0), v[1].unsqueeze(0), mask[1][0][0], scale),
         reference_attention(q[2].unsqueeze(0), k[2].unsqueeze(0), v[2].unsqueeze(0), mask[2][0][0], scale)});
    const double error = relative_error(sdpa_attend(q, k, v, mask, scale), expected);
    check(error <= tolerance(dtype),
          (std::string("sdpa_attend over a pool with a batch's mask, ") + (dtype == torch::kFloat32 ? "float32" : "bfloat16"))
              .c_str(),
          error);
  }
}

void check_rms_norm() {
  auto x = torch::randn({3, 5, 64}), weight = torch::randn({64});
  auto expected = weight * (x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6));
  const double error = relative_error(fused_rms_norm(x, weight, 1e-6), expected);
  check(error <= 1e-5, "fused RMSNorm, float32", error);
}

// The trainer's fused step (MultiTensorAdamW on CUDA) against torch::optim::AdamW's arithmetic,
// over three steps with the step counters advanced before each call, as the optimizer does.
void check_fused_adamw() {
  const double lr = 1e-2, beta1 = 0.9, beta2 = 0.95, weight_decay = 0.1, eps = 1e-8;
  std::vector<torch::Tensor> fused_params, params, exp_avg, exp_avg_sq, fused_avg, fused_avg_sq, steps;
  for (auto shape : {std::vector<int64_t>{7, 5}, std::vector<int64_t>{64}, std::vector<int64_t>{3, 4, 6}}) {
    params.push_back(torch::randn(shape));
    fused_params.push_back(params.back().clone());
    for (auto* state : {&exp_avg, &exp_avg_sq, &fused_avg, &fused_avg_sq}) state->push_back(torch::zeros(shape));
    steps.push_back(torch::zeros({}));
  }
  try {
    for (int step = 1; step <= 3; ++step) {
      std::vector<torch::Tensor> grads;
      for (const auto& p : params) grads.push_back(torch::randn_like(p));
      for (auto& counter : steps) counter.add_(1);
      fused_adamw_step(fused_params, grads, fused_avg, fused_avg_sq, steps, lr, beta1, beta2, weight_decay, eps);
      const double correction1 = 1 - std::pow(beta1, step), correction2 = 1 - std::pow(beta2, step);
      for (size_t i = 0; i < params.size(); ++i) {
        params[i].mul_(1 - lr * weight_decay);
        exp_avg[i].mul_(beta1).add_(grads[i], 1 - beta1);
        exp_avg_sq[i].mul_(beta2).addcmul_(grads[i], grads[i], 1 - beta2);
        params[i].addcdiv_(exp_avg[i], exp_avg_sq[i].sqrt() / std::sqrt(correction2) + eps, -lr / correction1);
      }
    }
  } catch (const c10::Error& e) {
    std::printf("skip  _fused_adamw_ has no CPU kernel in this LibTorch\n");
    return;
  }
  double error = 0;
  for (size_t i = 0; i < params.size(); ++i) error = std::max(error, relative_error(fused_params[i], params[i]));
  check(error <= 1e-5, "fused AdamW, three steps, float32", error);
}

}  // namespace

int main() {
  torch::manual_seed(7);
  std::printf("LibTorch %s\n", TORCH_VERSION);
  if (!have_sdpa() || !have_fused_rms_norm()) {
    std::printf("FAIL  this LibTorch lacks the 2.x kernels (sdpa %d, rms_norm %d)\n", have_sdpa(), have_fused_rms_norm());
    return 1;
  }
  check_attention();
  check_batched_sdpa();
  check_rms_norm();
  check_fused_adamw();
  std::printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
