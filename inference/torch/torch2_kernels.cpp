#include "inference/torch/torch2_kernels.h"

#include <torch/version.h>

#include <stdexcept>

// MASKFILL_NO_TORCH2_KERNELS (CMake option of the same name) builds the fallback even on a new
// LibTorch: scripts/gpu-build.sh retries with it if this file does not compile there.
#if !defined(MASKFILL_NO_TORCH2_KERNELS) && (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1))
#define MASKFILL_HAVE_SDPA 1
#endif
#if !defined(MASKFILL_NO_TORCH2_KERNELS) && (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))
#define MASKFILL_HAVE_RMS_NORM 1
#define MASKFILL_HAVE_CPU_FLASH 1  // _scaled_dot_product_flash_attention_for_cpu with attn_mask and scale
#endif

namespace maskfill {

#ifdef MASKFILL_HAVE_SDPA
bool have_sdpa() { return true; }

torch::Tensor sdpa_attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& mask, double scale) {
  const int64_t batch = q.size(0), heads = q.size(1), tokens = q.size(2), head_dim = q.size(3);
  const int64_t kv_heads = k.size(1), group = heads / kv_heads, keys = k.size(2);
  // Query heads h = kv * group + g sit at row g * T + t of their KV head: plain multi-head
  // attention over kv_heads heads, without repeating K/V (and without relying on enable_gqa).
  auto grouped_q = q.reshape({batch, kv_heads, group * tokens, head_dim});
  c10::optional<at::Tensor> attn_mask;
  if (mask.defined() && mask.dim() == 5) {
    // A batch's mask [S, 1, 1, T, L] (BatchedAttention): per sequence, the same for every head.
    attn_mask = mask.reshape({batch, 1, tokens, keys}).repeat({1, 1, group, 1});
  } else if (mask.defined()) {
    torch::Tensor full = mask;
    if (mask.size(-1) < keys)  // the mask covers the chunk's own keys; every earlier key is visible
      full = torch::cat({torch::ones({tokens, keys - mask.size(-1)}, mask.options()), mask}, -1);
    attn_mask = full.repeat({group, 1});
  }
  auto out = at::scaled_dot_product_attention(grouped_q, k, v, attn_mask, 0.0, false, scale);
  // The fused kernels may return a transposed layout: reshape, not view.
  return out.reshape({batch, heads, tokens, head_dim});
}

bool have_flash_attention(const torch::Tensor& q) {
  const auto dtype = q.scalar_type();
  const bool half = dtype == torch::kBFloat16 || dtype == torch::kHalf;
  const int64_t head_dim = q.size(-1);
  if (head_dim % 8 || head_dim > 256) return false;
  if (q.is_cuda()) return half;
#ifdef MASKFILL_HAVE_CPU_FLASH
  return q.is_cpu() && (half || dtype == torch::kFloat32);
#else
  return false;
#endif
}

std::pair<torch::Tensor, torch::Tensor> flash_attention(const torch::Tensor& q, const torch::Tensor& k,
                                                        const torch::Tensor& v, bool causal, double scale) {
#ifdef MASKFILL_HAVE_CPU_FLASH
  if (q.is_cpu()) {
    auto result = at::_scaled_dot_product_flash_attention_for_cpu(q, k, v, /*dropout_p=*/0.0, causal, {}, scale);
    return {std::get<0>(result), std::get<1>(result)};
  }
#endif
  auto result = at::_scaled_dot_product_flash_attention(q, k, v, /*dropout_p=*/0.0, causal,
                                                        /*return_debug_mask=*/false, scale);
  return {std::get<0>(result), std::get<1>(result)};
}
#else
bool have_sdpa() { return false; }
torch::Tensor sdpa_attend(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, double) {
  throw std::logic_error("scaled_dot_product_attention needs LibTorch >= 2.1");
}
bool have_flash_attention(const torch::Tensor&) { return false; }
std::pair<torch::Tensor, torch::Tensor> flash_attention(const torch::Tensor&, const torch::Tensor&,
                                                        const torch::Tensor&, bool, double) {
  throw std::logic_error("_scaled_dot_product_flash_attention needs LibTorch >= 2.1");
}
#endif

#ifdef MASKFILL_HAVE_RMS_NORM
bool have_fused_rms_norm() { return true; }
torch::Tensor fused_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  return at::rms_norm(x, {x.size(-1)}, weight, eps);
}
#else
bool have_fused_rms_norm() { return false; }
torch::Tensor fused_rms_norm(const torch::Tensor&, const torch::Tensor&, double) {
  throw std::logic_error("rms_norm needs LibTorch >= 2.4");
}
#endif

#ifdef MASKFILL_HAVE_SDPA  // _fused_adamw_ came with 2.0; the same >= 2.1 gate as sdpa
bool have_fused_adamw() { return true; }
void fused_adamw_step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                      const std::vector<torch::Tensor>& exp_avg, const std::vector<torch::Tensor>& exp_avg_sq,
                      const std::vector<torch::Tensor>& steps, double lr, double beta1, double beta2,
                      double weight_decay, double eps) {
  at::_fused_adamw_(params, grads, exp_avg, exp_avg_sq, /*max_exp_avg_sqs=*/{}, steps, lr, beta1, beta2, weight_decay,
                    eps, /*amsgrad=*/false, /*maximize=*/false);
}
#else
bool have_fused_adamw() { return false; }
void fused_adamw_step(const std::vector<torch::Tensor>&, const std::vector<torch::Tensor>&,
                      const std::vector<torch::Tensor>&, const std::vector<torch::Tensor>&,
                      const std::vector<torch::Tensor>&, double, double, double, double, double) {
  throw std::logic_error("_fused_adamw_ needs LibTorch >= 2.1");
}
#endif

}  // namespace maskfill
