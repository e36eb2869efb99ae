#include "lsp-server/scheduler.h"

#include <spdlog/spdlog.h>

namespace maskfill::lsp {

Scheduler::Scheduler() : worker_([this] { worker_loop(); }) {}

Scheduler::~Scheduler() { stop(); }

template <typename Match>
bool Scheduler::cancel_matching(Match match, CancelReason reason, std::deque<std::function<void()>>& callbacks) {
  bool any = false;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (match(it->task)) {
      callbacks.push_back([callback = std::move(it->task.on_cancelled), reason] {
        if (callback) callback(reason);
      });
      it = queue_.erase(it);
      any = true;
    } else {
      ++it;
    }
  }
  if (running_ && match(running_->task)) {
    running_->token.cancel(reason);
    any = true;
  }
  return any;
}

static void call_all(std::deque<std::function<void()>>& callbacks) {
  for (auto& callback : callbacks)
    if (callback) callback();
}

void Scheduler::submit(Task task) {
  std::deque<std::function<void()>> superseded;
  {
    std::lock_guard lock(mutex_);
    if (!task.kind.empty()) {
      cancel_matching([&](const Task& other) { return other.kind == task.kind && other.document == task.document; },
                      CancelReason::Superseded, superseded);
    }
    if (stopping_) {
      superseded.push_back([callback = std::move(task.on_cancelled)] {
        if (callback) callback(CancelReason::Shutdown);
      });
    } else {
      queue_.push_back(Entry{std::move(task), CancelToken()});
      wake_.notify_one();
    }
  }
  call_all(superseded);
}

bool Scheduler::cancel(const std::string& key) {
  std::deque<std::function<void()>> removed;
  bool found;
  {
    std::lock_guard lock(mutex_);
    found = cancel_matching([&](const Task& task) { return task.key == key; }, CancelReason::Client, removed);
  }
  call_all(removed);
  return found;
}

void Scheduler::cancel_all(CancelReason reason) {
  std::deque<std::function<void()>> removed;
  {
    std::lock_guard lock(mutex_);
    cancel_matching([](const Task&) { return true; }, reason, removed);
  }
  call_all(removed);
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
  }
  cancel_all();
  wake_.notify_all();
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

size_t Scheduler::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Scheduler::worker_loop() {
  for (;;) {
    std::shared_ptr<Entry> entry;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      entry = std::make_shared<Entry>(std::move(queue_.front()));
      queue_.pop_front();
      running_ = entry;
    }
    try {
      entry->task.run(entry->token);
    } catch (const std::exception& e) {
      // Handlers answer their own errors; this is the last guard that keeps the worker alive.
      spdlog::error("task {} ({}) threw: {}", entry->task.key, entry->task.kind, e.what());
    }
    std::lock_guard lock(mutex_);
    running_.reset();
  }
}

}  // namespace maskfill::lsp
