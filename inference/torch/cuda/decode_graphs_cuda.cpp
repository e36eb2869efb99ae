// The CUDA graph runner (decode_graphs.h). Compiled only when LibTorch has CUDA
// (inference/CMakeLists.txt); every CPU build uses the fallback in decode_graphs.cpp.
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>

#include <map>
#include <tuple>

#include "inference/torch/decode_graphs.h"

namespace maskfill {

bool have_cuda_graphs() { return true; }

namespace {

constexpr int64_t kMaxGraphTokens = 8;  // a block plus the finished block it commits

struct Graph {
  at::cuda::CUDAGraph graph;
  torch::Tensor ids, positions, mask, logits;  // static inputs and output
};

class CudaDecodeGraphs final : public DecodeGraphs {
 public:
  explicit CudaDecodeGraphs(Transformer model) : model_(std::move(model)) {}

  torch::Tensor forward(ForwardChunk& chunk) override {
    if (disabled_) return {};
    const int64_t tokens = chunk.ids.size(0), start = chunk.cache->length;
    const int64_t capacity = model_->config().max_position_embeddings;
    if (tokens < 1 || tokens > kMaxGraphTokens || start + tokens > capacity) return {};
    const int64_t logits_from = std::clamp<int64_t>(chunk.logits_from, 0, tokens);
    if (logits_from == tokens) return {};  // a prefill chunk: no logits, no graph
    const int64_t bucket = std::min(capacity, (start + tokens + kKeyBucket - 1) / kKeyBucket * kKeyBucket);
    try {
      torch::NoGradGuard no_grad;
      if (!adopt(*chunk.cache)) return {};
      auto positions = torch::arange(start, start + tokens, torch::kLong);
      auto mask = static_chunk_mask(model_->config(), start, tokens, bucket);
      Graph& graph = graph_for(tokens, logits_from, bucket, chunk.ids, positions, mask);
      graph.ids.copy_(chunk.ids, /*non_blocking=*/true);
      graph.positions.copy_(positions, true);
      graph.mask.copy_(mask, true);
      graph.graph.replay();
      chunk.cache->length = start + chunk.commit;
      return graph.logits;
    } catch (const std::exception& e) {
      // Capture can fail on an unusual LibTorch or driver: decode eagerly from then on.
      spdlog::warn("CUDA graphs disabled: {}", e.what());
      disabled_ = true;
      return {};
    }
  }

  void release(const KVCache* cache) override {
    if (owner_ == cache) owner_ = nullptr;
  }

  int64_t graphs() const override { return int64_t(graphs_.size()); }

 private:
  // The slot's storage never moves, so captured graphs stay valid; a sequence decoded alone
  // moves its committed K/V into it once and from then on uses it as its cache.
  bool adopt(KVCache& cache) {
    if (slot_.keys.empty()) {
      const auto& weight = model_->lm_head->weight;
      slot_.reserve(model_->config().max_position_embeddings, model_->config(), weight.device(), weight.scalar_type());
      // Padding keys are masked, but they still enter probs @ V with weight 0, and 0 * NaN is
      // NaN: recycled device memory can hold any bits, so the slot starts as zeros (the first
      // H200 run decoded only token 0 without this).
      for (size_t layer = 0; layer < slot_.keys.size(); ++layer) {
        slot_.keys[layer].zero_();
        slot_.values[layer].zero_();
      }
      model_->reserve_rope(weight.device());
    }
    const bool holds_slot = !cache.keys.empty() && cache.keys[0].data_ptr() == slot_.keys[0].data_ptr();
    if (owner_ == &cache && holds_slot) return true;
    if (owner_ != nullptr && owner_ != &cache) return false;
    for (size_t layer = 0; layer < slot_.keys.size(); ++layer) {
      if (cache.length > 0) {
        slot_.keys[layer].narrow(2, 0, cache.length).copy_(cache.keys[layer].narrow(2, 0, cache.length));
        slot_.values[layer].narrow(2, 0, cache.length).copy_(cache.values[layer].narrow(2, 0, cache.length));
      }
    }
    cache.keys = slot_.keys;
    cache.values = slot_.values;
    owner_ = &cache;
    return true;
  }

  Graph& graph_for(int64_t tokens, int64_t logits_from, int64_t bucket, const torch::Tensor& ids,
                   const torch::Tensor& positions, const torch::Tensor& mask) {
    auto key = std::make_tuple(tokens, logits_from, bucket);
    auto found = graphs_.find(key);
    if (found != graphs_.end()) return *found->second;
    const auto device = model_->lm_head->weight.device();
    auto graph = std::make_unique<Graph>();
    graph->ids = ids.clone();
    graph->positions = positions.to(device);
    graph->mask = mask.to(device);
    // Warm up on a side stream (cuBLAS workspaces, kernel choices), then capture there. The
    // warm-up writes this chunk's K/V at its own positions, which the replay writes again.
    torch::cuda::synchronize();  // the inputs' copies on the current stream are done
    auto stream = c10::cuda::getStreamFromPool();
    {
      c10::cuda::CUDAStreamGuard guard(stream);
      model_->forward_static(graph->ids, graph->positions, graph->mask, slot_, bucket, logits_from);
    }
    torch::cuda::synchronize();
    {
      c10::cuda::CUDAStreamGuard guard(stream);
      graph->graph.capture_begin();
      try {
        graph->logits = model_->forward_static(graph->ids, graph->positions, graph->mask, slot_, bucket, logits_from);
      } catch (...) {
        try {
          graph->graph.capture_end();  // leave the stream out of capture mode before giving up
        } catch (...) {
        }
        throw;
      }
      graph->graph.capture_end();
    }
    torch::cuda::synchronize();
    spdlog::debug("captured a decode graph: {} tokens, logits from {}, {} keys", tokens, logits_from, bucket);
    return *graphs_.emplace(key, std::move(graph)).first->second;
  }

  Transformer model_;
  KVCache slot_;
  const KVCache* owner_ = nullptr;
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::unique_ptr<Graph>> graphs_;
  bool disabled_ = false;
};

}  // namespace

std::unique_ptr<DecodeGraphs> make_decode_graphs(Transformer model) {
  if (!model->lm_head->weight.device().is_cuda()) return nullptr;
  return std::make_unique<CudaDecodeGraphs>(std::move(model));
}

}  // namespace maskfill
