#include "inference/torch/decode_graphs.h"

namespace maskfill {

torch::Tensor static_chunk_mask(const ModelConfig& config, int64_t start, int64_t tokens, int64_t keys) {
  const torch::Device cpu(torch::kCPU);
  auto own = attention_mask_over(config.attention, std::max<int64_t>(1, config.block_size), start, tokens, start,
                                 tokens, cpu);
  auto options = torch::TensorOptions().dtype(torch::kBool);
  return torch::cat({torch::ones({tokens, start}, options), own, torch::zeros({tokens, keys - start - tokens}, options)},
                    1);
}

#ifndef MASKFILL_CUDA_GRAPHS
// Builds without CUDA (Debian's LibTorch): the eager forward everywhere.
bool have_cuda_graphs() { return false; }
std::unique_ptr<DecodeGraphs> make_decode_graphs(Transformer) { return nullptr; }
#endif

}  // namespace maskfill
