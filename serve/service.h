// `maskfill serve`: the routes of the OpenAI-compatible server over one engine and one batcher.
//   POST /v1/completions, POST /v1/chat/completions   (see serve/openai.h)
//   POST /infill   llama.cpp's shape, for llama.vim and llama.vscode (see serve/openai.h)
//   GET  /v1/models, GET /v1/models/{id}, GET /health, GET /metrics (Prometheus text)
//   GET  /v1/maskfill/model-files/{config.json,tokenizer.json,tokenizer_config.json,generation_config.json}
//        the model's own files, so a remote language server tokenizes and plans locally.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <memory>
#include <optional>
#include <string>

#include "inference/engine.h"
#include "serve/batcher.h"
#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/openai.h"

namespace maskfill::serve {

struct ServiceOptions {
  std::string model_dir;  // where the model files are served from
  ApiSettings api;
  BatcherOptions batch;
  bool log_prompts = false;  // request bodies at info level (never by default)
  // Once no request has been in flight for this long, free heap memory goes back to the system
  // (glibc malloc_trim): a burst of large bodies must not leave the server gigabytes bigger.
  // Negative: never.
  int trim_after_idle_ms = 250;
  // false: /v1/maskfill/* answers 404, as any other OpenAI-compatible server would (to test the
  // language server's generic backend mode against this one).
  bool maskfill_endpoints = true;
};

// Calls malloc_trim(0) on its own thread when the server has been idle for a while: glibc keeps
// freed memory in its per-thread arenas, and a burst of large requests, each on its own
// connection thread, would otherwise stay resident until the process ends.
class IdleTrimmer {
 public:
  explicit IdleTrimmer(int idle_ms);
  ~IdleTrimmer();
  void begin();  // a request started
  void end();    // a request ended
  int trims() const;  // how many times memory was trimmed (for tests)

 private:
  void loop();
  std::chrono::milliseconds idle_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int in_flight_ = 0;
  bool dirty_ = false;  // a request ended since the last trim
  bool stop_ = false;
  int trims_ = 0;
  std::thread thread_;
};

class Service {
 public:
  Service(Engine& engine, ServiceOptions options);
  ~Service();
  void handle(const HttpRequest& request, HttpResponder& responder);
  Metrics& metrics() { return metrics_; }
  const IdleTrimmer* trimmer() const { return trimmer_.get(); }
  void stop() { batcher_->stop(); }

 private:
  using Parser = ApiRequest (*)(const json& body, const Engine& engine, const ApiSettings& settings);
  void completions(const HttpRequest& request, HttpResponder& responder, Parser parse);
  json model_object() const;
  void retrieve_model(HttpResponder& responder, const std::string& id);
  void respond(HttpResponder& responder, int status, const json& body);

  Engine& engine_;
  ServiceOptions options_;
  Metrics metrics_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<IdleTrimmer> trimmer_;  // null when trim_after_idle_ms < 0
};

}  // namespace maskfill::serve
