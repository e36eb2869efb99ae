// K/V of recent prompts, shared by every request of an engine (keystrokes of one document,
// candidates of one request, users of `maskfill serve`). Keyed by token ids, never by document:
// two prompts share K/V exactly as far as their ids agree. A lookup reuses the longest common
// prefix cut to an attention-block boundary (blocks are aligned to absolute positions, so the
// partial block is recomputed). LRU within a byte limit; cleared when the model changes.
#pragma once

#include <cstdint>
#include <list>
#include <vector>

#include "inference/engine.h"
#include "inference/torch/transformer.h"

namespace maskfill {

class PromptCache {
 public:
  explicit PromptCache(int64_t limit_bytes) : limit_bytes_(limit_bytes) {}

  // Fills `cache` with the K/V of ids[0, length) (length a multiple of the block size): copies
  // the longest cached prefix and computes the rest in chunks of `chunk_tokens`. Remembers the
  // result. Returns the number of tokens computed.
  int64_t prefill(Transformer& model, const std::vector<int64_t>& ids, int64_t length, KVCache& cache,
                  int64_t capacity, int64_t chunk_tokens = 256);

  // prefill() in two halves, for a prompt computed in chunks between other work (the serve
  // batcher interleaves a joining prompt with the decoding steps of the active sequences):
  // begin() copies the longest cached prefix into `cache` (or makes it empty with `capacity`)
  // and says how far it reached; once ids[0, length) are all in `cache`, finish() remembers them.
  struct Started {
    int64_t reused = 0;
    std::vector<int64_t> superseded;  // the entry this prompt grew from, replaced at finish()
  };
  Started begin(Transformer& model, const std::vector<int64_t>& ids, int64_t length, KVCache& cache,
                int64_t capacity);
  void finish(const std::vector<int64_t>& ids, int64_t length, const Started& started, const KVCache& cache);

  PromptCacheStats stats() const;
  void set_limit_bytes(int64_t bytes);
  void clear();

 private:
  struct Entry {
    std::vector<int64_t> ids;  // the prompt's ids whose K/V `kv` holds
    KVCache kv;
  };
  void remember(std::vector<int64_t> ids, const KVCache& source);
  void evict_to(int64_t bytes);

  std::list<Entry> entries_;  // most recently used first
  int64_t limit_bytes_;
  int64_t bytes_ = 0;
  PromptCacheStats stats_;
};

}  // namespace maskfill
