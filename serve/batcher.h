// Continuous batching across HTTP requests: one inference thread owns the engine and one
// DecodeBatch. Requests are queued as sequences (a request with n choices is n sequences of the
// same prompt); between two steps the thread admits waiting sequences up to `max_batch`, runs
// ONE step (one forward over every active sequence), streams newly committed text, and takes
// finished sequences. A prompt that joins while others decode is prefilled (through the engine's
// shared prompt cache) in chunks that ride along with those steps, so the active sequences never
// wait for a whole prompt. A request whose client went away is withdrawn: its waiting sequences
// leave the queue at once, its active ones are taken after the next step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "inference/engine.h"
#include "serve/metrics.h"
#include "inference/text_stream.h"

namespace maskfill::serve {

struct ChoiceSpec {
  std::vector<int32_t> prompt;
  DecodeOptions options;
};

// What the inference thread reports for one choice.
struct ChoiceEvent {
  int index = 0;
  std::string delta;          // text that became final (may be empty on the last event)
  bool done = false;
  std::string finish_reason;  // "stop" | "length" (when done)
  std::string text;           // the whole text of the choice (when done)
  std::vector<int32_t> tokens;  // all tokens of the choice (when done)
  DecodeResult result;          // stats and stop reason (when done)
};

// One HTTP request's work. The HTTP thread fills the spec, submits it and waits for events.
class Job {
 public:
  std::vector<ChoiceSpec> choices;  // stop strings ride in each choice's options
  int max_tokens = 0;  // cut (0 = none)
  bool stream = false;

  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

  // Waits up to `timeout` for events; returns false on timeout with nothing new.
  bool wait(std::vector<ChoiceEvent>& out, std::chrono::milliseconds timeout);
  // Set when the request cannot be served (e.g. the prompt does not fit): status and message.
  std::optional<std::pair<int, std::string>> error() const;
  bool finished() const;  // every choice is done, or it failed

  // Inference thread.
  void push(ChoiceEvent event);
  void fail(int status, std::string message);

  std::chrono::steady_clock::time_point queued_at;

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<ChoiceEvent> events_;
  int done_ = 0;
  std::optional<std::pair<int, std::string>> error_;
  std::atomic<bool> cancelled_{false};
};

struct BatcherOptions {
  int max_batch = 32;      // sequences denoised together (1 = one at a time)
  int max_waiting = 256;   // sequences allowed to wait; more is refused (429)
};

class Batcher {
 public:
  Batcher(Engine& engine, BatcherOptions options, Metrics& metrics);
  ~Batcher();  // stops the thread; waiting and active jobs are cancelled

  // Queues the job; false when the queue is full.
  bool submit(const std::shared_ptr<Job>& job);
  // Cancels the job (its client went away) and frees its queue slots at once; its sequences
  // already decoding are taken after the next step. Each is counted as cancelled.
  void withdraw(const std::shared_ptr<Job>& job);
  void stop();

  PromptCacheStats prompt_cache_stats() const;
  int waiting() const;
  int active() const { return active_count_; }

 private:
  struct Waiting {
    std::shared_ptr<Job> job;
    int index;
  };
  struct Active {
    std::shared_ptr<Job> job;
    int index;
    std::shared_ptr<std::atomic<bool>> stop_flag;  // a stop string or the token cap ended it
    std::unique_ptr<TextStream> text;
    bool watch = false;  // look at committed tokens every step (streaming, stop strings, token cap)
  };

  void run();
  void admit();
  void collect();
  void finish(int handle, Active& active, bool engine_finished);

  Engine& engine_;
  BatcherOptions options_;
  Metrics& metrics_;
  std::unique_ptr<DecodeBatch> batch_;
  std::map<int, Active> active_;
  std::atomic<int> active_count_{0};

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Waiting> waiting_;
  bool stopping_ = false;
  PromptCacheStats cache_stats_;
  std::thread thread_;
};

}  // namespace maskfill::serve
