// The one worker thread that runs model work, fed by a queue (as llama.cpp's server does), so
// the I/O thread only reads, writes and keeps documents in sync.
//
// Every task has a cancellation token that its work polls between units (denoising steps).
// A task is cancelled by `$/cancelRequest` (cancel(key)) or superseded by a newer task of the
// same kind for the same document. A task cancelled while still queued never runs: its
// `on_cancelled` is called at once, on the cancelling thread. A running task sees its token
// set and is expected to answer "cancelled" itself. So exactly one of `run` / `on_cancelled`
// happens for each submitted task (unless the scheduler stops first: then `on_cancelled`).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace maskfill::lsp {

// Why a task was cancelled: the client asked ($/cancelRequest), a newer task of the same kind
// replaced it, or the scheduler is stopping (shutdown). Answers differ: only a client
// cancellation is answered -32800.
enum class CancelReason { None, Client, Superseded, Shutdown };

class CancelToken {
 public:
  CancelToken() : state_(std::make_shared<State>()) {}
  bool cancelled() const { return state_->flag.load(std::memory_order_acquire); }
  CancelReason reason() const { return state_->reason.load(std::memory_order_acquire); }
  void cancel(CancelReason reason = CancelReason::Client) const {
    CancelReason none = CancelReason::None;
    state_->reason.compare_exchange_strong(none, reason, std::memory_order_acq_rel);  // the first reason wins
    state_->flag.store(true, std::memory_order_release);
  }

 private:
  struct State {
    std::atomic<bool> flag{false};
    std::atomic<CancelReason> reason{CancelReason::None};
  };
  std::shared_ptr<State> state_;
};

struct Task {
  std::string key;       // unique (a request id); used by cancel()
  std::string kind;      // supersession class, e.g. "inlineCompletion"; empty: never superseded
  std::string document;  // supersession scope (URI)
  std::function<void(const CancelToken&)> run;
  std::function<void(CancelReason)> on_cancelled;
};

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();  // stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues the task after cancelling older tasks with the same non-empty kind and document.
  void submit(Task task);
  // Cancels the task with this key, queued or running. False if unknown (already finished).
  bool cancel(const std::string& key);
  void cancel_all(CancelReason reason = CancelReason::Shutdown);
  // Cancels what is left, waits for the running task to return and joins the worker.
  void stop();
  size_t queued() const;

 private:
  struct Entry {
    Task task;
    CancelToken token;
  };
  void worker_loop();
  // Cancels entries matching `match`; returns the callbacks of removed queued tasks (to call
  // without holding the lock) and whether anything matched.
  template <typename Match>
  bool cancel_matching(Match match, CancelReason reason, std::deque<std::function<void()>>& callbacks);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> queue_;
  std::shared_ptr<Entry> running_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace maskfill::lsp
