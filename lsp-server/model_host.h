// Owns the engine for the LSP server: loads it on the worker thread (lazily, or right after
// `initialized` so the first completion does not wait), reports loading / ready / busy / error
// through `maskfill/status` and `$/progress`, registers inline completion dynamically once a
// model is ready, and reloads when the model settings change. After a failed load it watches
// the model directory and retries when the files change (or on the `maskfill.reload` command).
// The engine is only touched on the worker; the status is readable from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "inference/engine.h"
#include "lsp-server/server.h"

namespace maskfill::lsp {

class ModelHost {
 public:
  explicit ModelHost(Server& server);
  ~ModelHost();

  // Worker thread: the loaded engine, loading it first if needed. Throws LspError(RequestFailed)
  // with the reason when no model can be loaded.
  Engine& engine();
  // Worker thread: drops the engine so the next engine() call loads the current configuration.
  void unload();
  // Worker thread: unload() and load again now (errors are reported as for any load).
  void reload();
  // Worker thread: marks the engine busy for the lifetime of the returned guard.
  struct BusyGuard {
    ModelHost* host;
    ~BusyGuard() { host->set_idle(); }
  };
  BusyGuard busy() {
    set_status("busy", "");
    return BusyGuard{this};
  }

  nlohmann::json status() const;
  void count_acceptance() { ++accepted_; }
  // Next-edit suggestions: answered with at least one edit, shown by the client, accepted
  // (one per applied site), rejected (dismissed).
  enum class NextEditEvent { Suggested, Shown, Accepted, Rejected };
  void count_next_edit(NextEditEvent event) { ++next_edit_counts_[static_cast<int>(event)]; }
  // The cross-file context of the latest prompt (shown in the editors' status tooltip).
  void note_context(size_t snippets, size_t tokens) {
    context_snippets_ = snippets;
    context_tokens_ = tokens;
  }

  // Whether inline completion is advertised statically (client lacks dynamic registration).
  bool static_inline_completion() const;
  // How often the model directory is checked after a failed load.
  static constexpr int kWatchIntervalMs = 250;

 private:
  void set_status(const std::string& state, const std::string& message);
  // "ready", or "error" with the reason while a remote backend fails.
  void set_idle();
  // Connects to config.backend (a remote model server); failures of later requests are shown
  // in the status and once as a message, until a request succeeds again.
  std::unique_ptr<Engine> connect_backend(const Config& config);
  void load();
  void register_inline_completion(bool ready);
  // $/progress for one load: `begin` asks the client for a token; nothing is sent on it until
  // the client answered window/workDoneProgress/create successfully.
  void progress_begin(const std::string& message);
  void progress_report(int percentage, const std::string& message);
  void progress_end(const std::string& message);
  void watch_model_files(const std::string& configured_path, const std::string& before);
  void stop_watching();

  Server& server_;
  std::unique_ptr<Engine> engine_;
  std::string load_error_;
  mutable std::mutex mutex_;
  std::string state_ = "loading", message_, model_;
  std::atomic<int> accepted_{0};
  std::atomic<int> next_edit_counts_[4] = {0, 0, 0, 0};
  std::atomic<size_t> context_snippets_{0}, context_tokens_{0};
  bool registered_ = false;
  // Remote backend (worker thread): the last request's failure, and when connecting last failed
  // (a failed connection is retried on the next request after kBackendRetryMs).
  bool remote_ = false;
  std::string remote_error_;
  std::chrono::steady_clock::time_point remote_failed_at_{};
  static constexpr int kBackendRetryMs = 3000;

  struct Progress {
    std::string token;
    bool created = false, ended = false;
    int percentage = 0;
    std::string message, end_message;
  };
  std::mutex progress_mutex_;
  std::shared_ptr<Progress> progress_;
  int progress_serial_ = 0;

  std::mutex watch_mutex_;
  std::condition_variable watch_wake_;
  // Each watcher runs until the generation moves past its own: a single "stop" flag was reset by
  // the next watcher before the previous one saw it, which then waited forever (and so did the
  // join in stop_watching; found by the lsp_messages fuzzer).
  uint64_t watch_generation_ = 0;
  std::thread watcher_;
};

}  // namespace maskfill::lsp
