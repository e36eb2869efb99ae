// The server's Prometheus metrics (GET /metrics, text format 0.0.4), on prometheus-cpp's core
// library: requests, latency histograms, queue depth, batch size, tokens per forward and the
// engine's prompt cache. Every method is thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "inference/engine.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace maskfill::serve {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  void request_done(const std::string& endpoint, int status, double seconds);
  void queue_wait(double seconds);
  void rejected(const std::string& reason);  // "busy" (429), "too_large" (413), "unauthorized", "bad_request"
  // Inference thread.
  void step(int batch_size);
  void sequence_done(const DecodeStats& stats, bool cancelled);
  void set_queue(int waiting, int active);
  void set_prompt_cache(const PromptCacheStats& stats);

  std::string text();  // the exposition

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* latency_;
  prometheus::Family<prometheus::Counter>* rejected_;
  prometheus::Histogram* queue_wait_;
  prometheus::Histogram* batch_size_;
  prometheus::Histogram* tokens_per_forward_;
  prometheus::Gauge *queue_depth_, *active_;
  prometheus::Counter *steps_, *forwards_, *completion_tokens_, *prompt_tokens_, *prompt_tokens_computed_,
      *sequences_, *cancelled_;
  prometheus::Gauge *cache_lookups_, *cache_hits_, *cache_tokens_reused_, *cache_tokens_computed_, *cache_hit_rate_, *cache_reuse_rate_,
      *cache_bytes_, *cache_entries_;
  std::mutex latency_mutex_;  // Family::Add with bucket boundaries
};

}  // namespace maskfill::serve
