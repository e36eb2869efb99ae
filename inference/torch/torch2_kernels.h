// Fused kernels that only LibTorch 2.x has (scaled_dot_product_attention, rms_norm, the fused
// AdamW step). Debian's
// LibTorch 1.13 lacks them: there the functions report unavailable and are never called, so
// the CPU build and its tests are unchanged. Torch header: include only from inference/torch.
#pragma once

#include <torch/torch.h>

namespace maskfill {

bool have_sdpa();
bool have_fused_rms_norm();
// Attention of q [B, heads, T, d] over k/v [B, kv_heads, L, d] with the query heads sharing a KV
// head stacked (no K/V copies); mask [T, L] or [T, M < L] over the last M keys, a batch's
// [B, 1, 1, T, L] (BatchedAttention), or undefined.
torch::Tensor sdpa_attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& mask, double scale);
torch::Tensor fused_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// Flash attention and the log-sum-exp of its scaled scores (`_scaled_dot_product_flash_attention`,
// LibTorch >= 2.1; its CPU form from 2.4): whether this LibTorch has it for q (CUDA in fp16/bf16,
// CPU also in float32; head_dim a multiple of 8 up to 256), and the call. q [B, H, T, d], k/v [B, H, L, d] with as many heads as q; causal only
// with L == T. Returns the output (q's dtype) and the log-sum-exp [B, H, T] float32.
bool have_flash_attention(const torch::Tensor& q);
std::pair<torch::Tensor, torch::Tensor> flash_attention(const torch::Tensor& q, const torch::Tensor& k,
                                                        const torch::Tensor& v, bool causal, double scale);

// One AdamW step of every tensor in one kernel launch chain (`_fused_adamw_`, CUDA tensors):
// decoupled weight decay, both moments, bias-corrected update. `steps` are float scalars on the
// device, already counting this step.
bool have_fused_adamw();
void fused_adamw_step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                      const std::vector<torch::Tensor>& exp_avg, const std::vector<torch::Tensor>& exp_avg_sq,
                      const std::vector<torch::Tensor>& steps, double lr, double beta1, double beta2,
                      double weight_decay, double eps);

}  // namespace maskfill
