// CUDA graphs for the decode forward. A 4- or 8-token forward of an 8B model launches about a
// thousand kernels of a few microseconds each; from LibTorch the host needs longer to issue them
// than the GPU needs to run them (measured on an H200: 8-12 ms eager against a 3.2 ms
// bandwidth roofline). Captured once per shape and replayed, a forward is one launch.
//
// Shapes are made static: a chunk of T tokens attends to keys [0, bucket) of a KV cache whose
// storage never moves (bucket = the valid keys rounded up to kKeyBucket, the rest masked off),
// writes its K/V at positions given as a device tensor, and reads its rotary rows by index.
// One graph per (T, logits_from, bucket). The storage is one slot owned here: a sequence that
// decodes alone adopts it (its committed K/V copied in once); others run eagerly.
// Torch header: include only from inference/torch, bench/torch and torch tests.
#pragma once

#include <memory>

#include "inference/torch/transformer.h"

namespace maskfill {

constexpr int64_t kKeyBucket = 256;

// Whether this build has the CUDA graph runner (LibTorch with CUDA; scripts/gpu-build.sh).
bool have_cuda_graphs();

// The mask forward_static() needs for `tokens` tokens at [start, start + tokens) over keys
// [0, keys): cached keys all visible, the chunk's own keys by the model's attention mode, the
// padding after them masked off. A CPU bool tensor [tokens, keys].
torch::Tensor static_chunk_mask(const ModelConfig& config, int64_t start, int64_t tokens, int64_t keys);

class DecodeGraphs {
 public:
  virtual ~DecodeGraphs() = default;
  // The chunk's forward (as forward_chunks would compute it for this one chunk) through a
  // captured graph; an undefined tensor when it cannot (the caller runs the eager forward).
  // The logits live in the graph's output buffer until the next call.
  virtual torch::Tensor forward(ForwardChunk& chunk) = 0;
  // `cache` is going away: its slot, if it held it, is free for the next sequence.
  virtual void release(const KVCache* cache) = 0;
  virtual int64_t graphs() const = 0;  // captured so far
};

// nullptr unless the build has CUDA graphs and the model sits on a CUDA device.
std::unique_ptr<DecodeGraphs> make_decode_graphs(Transformer model);

}  // namespace maskfill
