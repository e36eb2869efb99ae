#include "serve/batcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "inference/tokenizer.h"

namespace maskfill::serve {

bool Job::wait(std::vector<ChoiceEvent>& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty() || error_ || done_ == int(choices.size()); }))
    return false;
  while (!events_.empty()) {
    out.push_back(std::move(events_.front()));
    events_.pop_front();
  }
  return true;
}

std::optional<std::pair<int, std::string>> Job::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

bool Job::finished() const {
  std::lock_guard lock(mutex_);
  return error_ || done_ == int(choices.size());
}

void Job::push(ChoiceEvent event) {
  {
    std::lock_guard lock(mutex_);
    if (event.done) ++done_;
    events_.push_back(std::move(event));
  }
  cv_.notify_all();
}

void Job::fail(int status, std::string message) {
  {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = {status, std::move(message)};
  }
  cancel();
  cv_.notify_all();
}

Batcher::Batcher(Engine& engine, BatcherOptions options, Metrics& metrics)
    : engine_(engine), options_(options), metrics_(metrics) {
  if (options_.max_batch < 1) options_.max_batch = 1;
  thread_ = std::thread([this] { run(); });
}

Batcher::~Batcher() { stop(); }

void Batcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Batcher::submit(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || waiting_.size() + job->choices.size() > size_t(options_.max_waiting)) return false;
    job->queued_at = std::chrono::steady_clock::now();
    for (int i = 0; i < int(job->choices.size()); ++i) waiting_.push_back({job, i});
    metrics_.set_queue(int(waiting_.size()), active_count_);
  }
  cv_.notify_all();
  return true;
}

void Batcher::withdraw(const std::shared_ptr<Job>& job) {
  job->cancel();
  std::lock_guard lock(mutex_);
  const size_t before = waiting_.size();
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(), [&](const Waiting& w) { return w.job == job; }),
                 waiting_.end());
  for (size_t i = waiting_.size(); i < before; ++i) metrics_.sequence_done(DecodeStats{}, /*cancelled=*/true);
  metrics_.set_queue(int(waiting_.size()), active_count_);
}

PromptCacheStats Batcher::prompt_cache_stats() const {
  std::lock_guard lock(mutex_);
  return cache_stats_;
}

int Batcher::waiting() const {
  std::lock_guard lock(mutex_);
  return int(waiting_.size());
}

void Batcher::admit() {
  while (int(active_.size()) < options_.max_batch) {
    Waiting next;
    {
      std::lock_guard lock(mutex_);
      if (waiting_.empty()) break;
      next = std::move(waiting_.front());
      waiting_.pop_front();
    }
    if (next.job->cancelled()) {  // gone or failed before it started (withdraw() usually removed it)
      metrics_.sequence_done(DecodeStats{}, /*cancelled=*/true);
      continue;
    }
    metrics_.queue_wait(std::chrono::duration<double>(std::chrono::steady_clock::now() - next.job->queued_at).count());
    const ChoiceSpec& spec = next.job->choices[next.index];
    auto stop_flag = std::make_shared<std::atomic<bool>>(false);
    std::shared_ptr<Job> job = next.job;
    CancelCheck cancel = [job, stop_flag] { return job->cancelled() || stop_flag->load(); };
    try {
      int handle = batch_->add(spec.prompt, spec.options, cancel);
      Active active{job, next.index, stop_flag,
                    std::make_unique<TextStream>(engine_.tokenizer(), spec.options.stop, job->max_tokens), false};
      active.watch = job->stream || !spec.options.stop.empty() ||
                     (job->max_tokens > 0 && spec.options.gen_length + spec.options.extend_max > job->max_tokens);
      active_.emplace(handle, std::move(active));
    } catch (const std::invalid_argument& e) {
      job->fail(400, e.what());
    } catch (const std::exception& e) {
      spdlog::error("serve: prefill failed: {}", e.what());
      job->fail(500, std::string("inference failed: ") + e.what());
    }
  }
  active_count_ = int(active_.size());
}

void Batcher::finish(int handle, Active& active, bool engine_finished) {
  DecodeResult result = batch_->take(handle);
  if (active.job->cancelled()) {
    metrics_.sequence_done(result.stats, true);
    return;
  }
  ChoiceEvent event;
  event.index = active.index;
  event.done = true;
  event.delta = active.text->update(engine_finished ? result.tokens : active.text->tokens(), true);
  event.text = active.text->text();
  event.tokens = active.text->tokens();
  // A stop string or the token cap ended it through the stop flag (the engine saw a cancel).
  if (active.text->stop_hit())
    result.stop = StopReason::StopString;
  else if (active.text->length_hit())
    result.stop = StopReason::Length;
  event.finish_reason = result.stop == StopReason::Eos || result.stop == StopReason::StopString ? "stop" : "length";
  metrics_.sequence_done(result.stats, false);
  event.result = std::move(result);
  active.job->push(std::move(event));
}

void Batcher::collect() {
  for (auto it = active_.begin(); it != active_.end();) {
    auto& [handle, active] = *it;
    if (active.job->cancelled()) {
      metrics_.sequence_done(batch_->take(handle).stats, true);
      it = active_.erase(it);
      continue;
    }
    bool finished = batch_->finished(handle);
    if (!finished && active.watch) {
      std::string delta = active.text->update(batch_->committed(handle), false);
      if (!delta.empty() && active.job->stream) active.job->push({active.index, std::move(delta)});
      if (active.text->done()) {
        active.stop_flag->store(true);
        finish(handle, active, false);
        it = active_.erase(it);
        continue;
      }
    }
    if (finished) {
      finish(handle, active, true);
      it = active_.erase(it);
      continue;
    }
    ++it;
  }
  active_count_ = int(active_.size());
}

void Batcher::run() {
  try {
    batch_ = engine_.start_batch();
  } catch (const std::exception& e) {
    spdlog::critical("serve: cannot start a decode batch: {}", e.what());
    return;
  }
  while (true) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !waiting_.empty() || !active_.empty(); });
      if (stopping_) break;
    }
    admit();
    if (active_.empty()) continue;
    int batch_size = int(active_.size());
    try {
      batch_->step();
    } catch (const std::exception& e) {
      // A failed forward leaves the batch in an unknown state: fail its requests, start afresh.
      spdlog::error("serve: denoising step failed: {}", e.what());
      for (auto& [handle, active] : active_) active.job->fail(500, std::string("inference failed: ") + e.what());
      active_.clear();
      active_count_ = 0;
      batch_ = engine_.start_batch();
      continue;
    }
    metrics_.step(batch_size);
    collect();
    PromptCacheStats stats = engine_.prompt_cache_stats();
    metrics_.set_prompt_cache(stats);
    std::lock_guard lock(mutex_);
    cache_stats_ = stats;
    metrics_.set_queue(int(waiting_.size()), active_count_);
  }
  for (auto& [handle, active] : active_) active.job->fail(503, "the server is shutting down");
  std::lock_guard lock(mutex_);
  for (Waiting& w : waiting_) w.job->fail(503, "the server is shutting down");
  waiting_.clear();
}

}  // namespace maskfill::serve
