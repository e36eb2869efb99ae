#include "inference/torch/prompt_cache.h"

#include <algorithm>

namespace maskfill {
namespace {

int64_t common_prefix(const std::vector<int64_t>& a, const std::vector<int64_t>& b, int64_t limit) {
  int64_t n = std::min<int64_t>({int64_t(a.size()), int64_t(b.size()), limit});
  int64_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

PromptCache::Started PromptCache::begin(Transformer& model, const std::vector<int64_t>& ids, int64_t length,
                                        KVCache& cache, int64_t capacity) {
  const auto& config = model->config();
  const auto device = model->lm_head->weight.device();
  const int64_t block = std::max<int64_t>(1, config.block_size);
  ++stats_.lookups;
  auto best = entries_.end();
  Started started;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    int64_t shared = common_prefix(it->ids, ids, length) / block * block;
    if (shared > started.reused) started.reused = shared, best = it;
  }
  // A cache with room already (a row of a batch's KVPool) is filled where it is.
  const bool has_room = cache.capacity() >= std::max(capacity, started.reused);
  if (best != entries_.end()) {
    ++stats_.hits;
    if (has_room) cache.assign_prefix(best->kv, started.reused);
    else cache = best->kv.copy_prefix(started.reused, capacity);
    // The entry this prompt grew from (the previous keystroke of the same text) is superseded.
    if (started.reused * 2 >= int64_t(best->ids.size())) started.superseded = best->ids;
    entries_.splice(entries_.begin(), entries_, best);  // most recently used
  } else if (has_room) {
    cache.length = 0;
  } else {
    cache = KVCache();
    cache.reserve(capacity, config, device, model->lm_head->weight.scalar_type());
  }
  stats_.tokens_reused += started.reused;
  return started;
}

void PromptCache::finish(const std::vector<int64_t>& ids, int64_t length, const Started& started,
                         const KVCache& cache) {
  stats_.tokens_computed += length - started.reused;
  if (length <= started.reused) return;
  if (!started.superseded.empty()) {
    auto old = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.ids == started.superseded; });
    if (old != entries_.end()) {
      bytes_ -= old->kv.bytes();
      entries_.erase(old);
    }
  }
  remember(std::vector<int64_t>(ids.begin(), ids.begin() + length), cache);
}

int64_t PromptCache::prefill(Transformer& model, const std::vector<int64_t>& ids, int64_t length, KVCache& cache,
                             int64_t capacity, int64_t chunk_tokens) {
  torch::NoGradGuard no_grad;
  const auto device = model->lm_head->weight.device();
  const int64_t block = std::max<int64_t>(1, model->config().block_size);
  Started started = begin(model, ids, length, cache, capacity);
  chunk_tokens = std::max<int64_t>(block, chunk_tokens - chunk_tokens % block);
  for (int64_t done = started.reused; done < length; done += chunk_tokens) {
    int64_t n = std::min(chunk_tokens, length - done);
    std::vector<ForwardChunk> chunks(1);
    chunks[0].ids = torch::tensor(std::vector<int64_t>(ids.begin() + done, ids.begin() + done + n), torch::kLong).to(device);
    chunks[0].cache = &cache;
    chunks[0].commit = n;
    chunks[0].logits_from = n;
    model->forward_chunks(chunks);
  }
  finish(ids, length, started, cache);
  return length - started.reused;
}

void PromptCache::remember(std::vector<int64_t> ids, const KVCache& source) {
  if (ids.empty()) return;
  KVCache copy = source.copy_prefix(int64_t(ids.size()), int64_t(ids.size()));
  int64_t size = copy.bytes();
  if (size > limit_bytes_) return;
  evict_to(limit_bytes_ - size);
  entries_.push_front({std::move(ids), std::move(copy)});
  bytes_ += size;
}

void PromptCache::evict_to(int64_t bytes) {
  while (bytes_ > bytes && !entries_.empty()) {
    bytes_ -= entries_.back().kv.bytes();
    entries_.pop_back();
  }
}

PromptCacheStats PromptCache::stats() const {
  PromptCacheStats out = stats_;
  out.entries = int64_t(entries_.size());
  out.bytes = bytes_;
  out.limit_bytes = limit_bytes_;
  return out;
}

void PromptCache::set_limit_bytes(int64_t bytes) {
  limit_bytes_ = std::max<int64_t>(0, bytes);
  evict_to(limit_bytes_);
}

void PromptCache::clear() {
  entries_.clear();
  bytes_ = 0;
}

}  // namespace maskfill
