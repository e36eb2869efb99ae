#include "serve/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace maskfill::serve {

using prometheus::Histogram;

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  requests_ = &prometheus::BuildCounter().Name("maskfill_http_requests_total").Help("HTTP requests by endpoint and status").Register(r);
  latency_ = &prometheus::BuildHistogram().Name("maskfill_request_duration_seconds")
                  .Help("Time from a request's arrival to its last byte, by endpoint").Register(r);
  rejected_ = &prometheus::BuildCounter().Name("maskfill_rejected_requests_total")
                   .Help("Requests refused before inference (busy = 429 or 503, too_large = 413 or 431, unauthorized = 401, bad_request = 400, cors = 403)")
                   .Register(r);
  queue_wait_ = &prometheus::BuildHistogram().Name("maskfill_queue_wait_seconds")
                     .Help("Time a sequence waited for a batch slot").Register(r)
                     .Add({}, Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  batch_size_ = &prometheus::BuildHistogram().Name("maskfill_batch_size")
                     .Help("Sequences in one denoising step (one model forward)").Register(r)
                     .Add({}, Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128});
  tokens_per_forward_ = &prometheus::BuildHistogram().Name("maskfill_tokens_per_forward")
                             .Help("Generated tokens per model forward, per finished sequence").Register(r)
                             .Add({}, Histogram::BucketBoundaries{0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4});
  queue_depth_ = &prometheus::BuildGauge().Name("maskfill_queue_depth").Help("Sequences waiting for a batch slot").Register(r).Add({});
  active_ = &prometheus::BuildGauge().Name("maskfill_active_sequences").Help("Sequences being denoised").Register(r).Add({});
  auto counter = [&](const char* name, const char* help) { return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({}); };
  steps_ = counter("maskfill_batch_steps_total", "Denoising steps (each one forward over the batch)");
  forwards_ = counter("maskfill_forwards_total", "Per-sequence model forwards (NFE), prefill excluded");
  completion_tokens_ = counter("maskfill_completion_tokens_total", "Tokens generated");
  prompt_tokens_ = counter("maskfill_prompt_tokens_total", "Prompt tokens received");
  prompt_tokens_computed_ = counter("maskfill_prompt_tokens_computed_total", "Prompt tokens run through the model (not from the prompt cache)");
  sequences_ = counter("maskfill_sequences_total", "Sequences finished (one per choice)");
  cancelled_ = counter("maskfill_cancelled_sequences_total", "Sequences stopped because the client went away");
  auto gauge = [&](const char* name, const char* help) { return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({}); };
  cache_lookups_ = gauge("maskfill_prompt_cache_lookups", "Prompt cache lookups since start");
  cache_hits_ = gauge("maskfill_prompt_cache_hits", "Prompt cache lookups that reused at least one block");
  cache_tokens_reused_ = gauge("maskfill_prompt_cache_tokens_reused", "Prompt tokens taken from the cache");
  cache_tokens_computed_ = gauge("maskfill_prompt_cache_tokens_computed", "Prompt tokens computed by prefill");
  cache_hit_rate_ = gauge("maskfill_prompt_cache_hit_rate", "Fraction of prompt cache lookups that reused at least one block");
  cache_reuse_rate_ = gauge("maskfill_prompt_cache_token_reuse_rate", "Fraction of prompt tokens taken from the cache");
  cache_bytes_ = gauge("maskfill_prompt_cache_bytes", "Bytes held by the prompt cache");
  cache_entries_ = gauge("maskfill_prompt_cache_entries", "Prompts held by the prompt cache");
}

Metrics::~Metrics() = default;

void Metrics::request_done(const std::string& endpoint, int status, double seconds) {
  requests_->Add({{"endpoint", endpoint}, {"code", std::to_string(status)}}).Increment();
  std::lock_guard lock(latency_mutex_);
  latency_->Add({{"endpoint", endpoint}}, Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})
      .Observe(seconds);
}

void Metrics::queue_wait(double seconds) { queue_wait_->Observe(seconds); }

void Metrics::rejected(const std::string& reason) { rejected_->Add({{"reason", reason}}).Increment(); }

void Metrics::step(int batch_size) {
  steps_->Increment();
  batch_size_->Observe(batch_size);
}

void Metrics::sequence_done(const DecodeStats& stats, bool cancelled) {
  sequences_->Increment();
  if (cancelled) cancelled_->Increment();
  forwards_->Increment(stats.forwards);
  completion_tokens_->Increment(stats.generated_tokens);
  prompt_tokens_->Increment(stats.prompt_tokens);
  prompt_tokens_computed_->Increment(stats.prompt_tokens_computed);
  if (stats.forwards > 0) tokens_per_forward_->Observe(stats.tokens_per_forward());
}

void Metrics::set_queue(int waiting, int active) {
  queue_depth_->Set(waiting);
  active_->Set(active);
}

void Metrics::set_prompt_cache(const PromptCacheStats& stats) {
  cache_lookups_->Set(double(stats.lookups));
  cache_hits_->Set(double(stats.hits));
  cache_tokens_reused_->Set(double(stats.tokens_reused));
  cache_tokens_computed_->Set(double(stats.tokens_computed));
  cache_hit_rate_->Set(stats.lookups ? double(stats.hits) / double(stats.lookups) : 0.0);
  int64_t total = stats.tokens_reused + stats.tokens_computed;
  cache_reuse_rate_->Set(total ? double(stats.tokens_reused) / double(total) : 0.0);
  cache_bytes_->Set(double(stats.bytes));
  cache_entries_->Set(double(stats.entries));
}

std::string Metrics::text() {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

}  // namespace maskfill::serve
