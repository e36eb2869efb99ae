// Owns the engine for the LSP server: loads it on the worker thread (lazily, or right after
// `initialized` so the first completion does not wait), reports loading / ready / busy / error
// through `maskfill/status` and `$/progress`, registers inline completion dynamically once a
// model is ready, and reloads when the model settings change. The engine is only touched on
// the worker; the status is readable from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "inference/engine.h"
#include "lsp-server/server.h"

namespace maskfill::lsp {

class ModelHost {
 public:
  explicit ModelHost(Server& server) : server_(server) {}

  // Worker thread: the loaded engine, loading it first if needed. Throws LspError(RequestFailed)
  // with the reason when no model can be loaded.
  Engine& engine();
  // Worker thread: drops the engine so the next engine() call loads the current configuration.
  void unload();
  // Worker thread: marks the engine busy for the lifetime of the returned guard.
  struct BusyGuard {
    ModelHost* host;
    ~BusyGuard() { host->set_status("ready", ""); }
  };
  BusyGuard busy() {
    set_status("busy", "");
    return BusyGuard{this};
  }

  nlohmann::json status() const;
  void count_acceptance() { ++accepted_; }

  // Whether inline completion is advertised statically (client lacks dynamic registration).
  bool static_inline_completion() const;

 private:
  void set_status(const std::string& state, const std::string& message);
  void load();
  void register_inline_completion(bool ready);
  void progress(const std::string& kind, const std::string& text);

  Server& server_;
  std::unique_ptr<Engine> engine_;
  std::string load_error_;
  mutable std::mutex mutex_;
  std::string state_ = "loading", message_, model_;
  std::atomic<int> accepted_{0};
  bool registered_ = false;
  int progress_serial_ = 0;
};

}  // namespace maskfill::lsp
