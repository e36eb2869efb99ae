// The LibTorch 2.x code paths, checked on the CPU (scripts/check-torch2.sh builds this against
// Debian unstable's LibTorch 2.x; Debian bookworm's 1.13 has none of them): the CUDA default's
// scaled_dot_product_attention with a mask over the chunk's own keys, the fused RMSNorm, and the
// `flash` switch's prompt attention in parts through a real flash kernel (PyTorch's CPU one).
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

void check_rms_norm() {
  auto x = torch::randn({3, 5, 64}), weight = torch::randn({64});
  auto expected = weight * (x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6));
  const double error = relative_error(fused_rms_norm(x, weight, 1e-6), expected);
  check(error <= 1e-5, "fused RMSNorm, float32", error);
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
  check_rms_norm();
  std::printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
