#include "lsp-server/model_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "lsp-server/protocol_schema.h"
#include "inference/remote/remote_engine.h"

namespace maskfill::lsp {

namespace {
namespace fs = std::filesystem;

std::string model_dir_of(const std::string& configured) { return configured.empty() ? default_model_dir() : configured; }

// What changes when someone fixes a model directory: the entries, their sizes and times.
std::string fingerprint(const std::string& configured) {
  std::string dir = model_dir_of(configured);
  std::string out = dir + "\n";
  if (dir.empty()) return out;
  std::error_code ec;
  auto describe = [&out](const fs::path& path) {
    std::error_code e;
    auto size = fs::is_regular_file(path, e) ? fs::file_size(path, e) : 0;
    auto time = fs::last_write_time(path, e).time_since_epoch().count();
    out += path.filename().string() + " " + std::to_string(size) + " " + std::to_string(time) + "\n";
  };
  if (!fs::exists(dir, ec)) return out + "missing";
  if (!fs::is_directory(dir, ec)) {
    describe(dir);
    return out;
  }
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
  std::sort(entries.begin(), entries.end());
  for (const fs::path& entry : entries) describe(entry);
  return out;
}

// Size of the weights, for the progress message (0 when unknown).
uintmax_t weights_bytes(const std::string& dir) {
  std::error_code ec;
  uintmax_t total = 0;
  if (dir.empty() || !fs::is_directory(dir, ec)) return 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".safetensors") total += fs::file_size(it->path(), ec);
  return total;
}
}  // namespace

ModelHost::ModelHost(Server& server) : server_(server) {
  server_.on_stop([this] { stop_watching(); });
}

ModelHost::~ModelHost() { stop_watching(); }

bool ModelHost::static_inline_completion() const {
  return !client_can(server_.client_capabilities(), {"textDocument", "inlineCompletion", "dynamicRegistration"});
}

json ModelHost::status() const {
  std::lock_guard lock(mutex_);
  json out = {{"state", state_}, {"accepted", accepted_.load()},
              {"context", {{"snippets", context_snippets_.load()}, {"tokens", context_tokens_.load()}}}};
  out["nextEdits"] = {{"suggested", next_edit_counts_[0].load()}, {"shown", next_edit_counts_[1].load()},
                      {"accepted", next_edit_counts_[2].load()}, {"rejected", next_edit_counts_[3].load()}};
  if (!message_.empty()) out["message"] = message_;
  if (!model_.empty()) out["model"] = model_;
  return out;
}

void ModelHost::set_status(const std::string& state, const std::string& message) {
  {
    std::lock_guard lock(mutex_);
    if (state_ == state && message_ == message) return;
    state_ = state;
    message_ = message;
  }
  if (!server_.shutting_down()) server_.notify("maskfill/status", status());
}

void ModelHost::progress_begin(const std::string& message) {
  if (server_.shutting_down() || !client_can(server_.client_capabilities(), {"window", "workDoneProgress"})) return;
  auto progress = std::make_shared<Progress>();
  progress->token = "maskfill-load-" + std::to_string(progress_serial_++);
  progress->message = message;
  {
    std::lock_guard lock(progress_mutex_);
    progress_ = progress;
  }
  server_.send_request("window/workDoneProgress/create", {{"token", progress->token}},
                       [this, progress](const json&, const std::optional<json>& error) {
                         if (error) {
                           spdlog::info("no load progress: the client refused the token ({})", error->dump());
                           return;
                         }
                         std::lock_guard lock(progress_mutex_);
                         if (server_.shutting_down()) return;
                         progress->created = true;
                         server_.notify("$/progress", {{"token", progress->token},
                                                       {"value", {{"kind", "begin"}, {"title", "maskfill"},
                                                                  {"message", progress->message},
                                                                  {"percentage", progress->percentage}}}});
                         if (progress->ended)
                           server_.notify("$/progress", {{"token", progress->token},
                                                         {"value", {{"kind", "end"}, {"message", progress->end_message}}}});
                       });
}

void ModelHost::progress_report(int percentage, const std::string& message) {
  std::lock_guard lock(progress_mutex_);
  if (!progress_ || progress_->ended) return;
  progress_->percentage = percentage;
  progress_->message = message;
  if (progress_->created && !server_.shutting_down())
    server_.notify("$/progress", {{"token", progress_->token},
                                  {"value", {{"kind", "report"}, {"message", message}, {"percentage", percentage}}}});
}

void ModelHost::progress_end(const std::string& message) {
  std::lock_guard lock(progress_mutex_);
  if (!progress_ || progress_->ended) return;
  progress_->ended = true;
  progress_->end_message = message;
  if (progress_->created && !server_.shutting_down())
    server_.notify("$/progress", {{"token", progress_->token}, {"value", {{"kind", "end"}, {"message", message}}}});
  progress_.reset();
}

void ModelHost::register_inline_completion(bool ready) {
  if (static_inline_completion() || ready == registered_) return;
  const char* id = "maskfill-inline-completion";
  if (ready) {
    server_.send_request("client/registerCapability",
                         {{"registrations", {{{"id", id}, {"method", "textDocument/inlineCompletion"},
                                              {"registerOptions", {{"documentSelector", document_selector()}}}}}}},
                         [](const json&, const auto& error) {
                           if (error) spdlog::warn("inline completion registration refused: {}", error->dump());
                         });
  } else {
    server_.send_request("client/unregisterCapability",
                         {{"unregisterations", {{{"id", id}, {"method", "textDocument/inlineCompletion"}}}}},
                         [](const json&, const auto&) {});
  }
  registered_ = ready;
}

void ModelHost::set_idle() {
  if (remote_ && !remote_error_.empty())
    set_status("error", remote_error_);
  else
    set_status("ready", "");
}

std::unique_ptr<Engine> ModelHost::connect_backend(const Config& config) {
  RemoteOptions options;
  options.url = config.backend.url;
  options.timeout_ms = config.backend.timeout_ms;
  options.prompt = parse_remote_prompt(config.backend.prompt);  // the schema's enum already checked it
  options.model_dir = config.model_path;  // the snapshot a server without maskfill's model files runs
  if (!config.backend.api_key_file.empty()) {
    std::ifstream in(config.backend.api_key_file);
    if (!in) throw std::runtime_error("cannot read the backend API key file " + config.backend.api_key_file);
    std::getline(in, options.api_key);
    while (!options.api_key.empty() && std::isspace(static_cast<unsigned char>(options.api_key.back()))) options.api_key.pop_back();
  } else if (const char* key = std::getenv("MASKFILL_API_KEY")) {
    options.api_key = key;
  }
  // Called on the worker after each backend request.
  auto listener = [this](bool ok, const std::string& message) {
    if (ok) {
      if (!remote_error_.empty()) spdlog::info("the backend answers again");
      remote_error_.clear();
      return;
    }
    spdlog::warn("backend request failed: {}", message);
    bool first = remote_error_.empty();
    remote_error_ = message;
    set_status("error", message);
    if (first && !server_.shutting_down()) server_.show_message(2, message);
  };
  return connect_remote_engine(options, listener);
}

void ModelHost::load() {
  stop_watching();
  Config config = server_.config();
  remote_ = !config.backend.url.empty();
  remote_error_.clear();
  std::string dir = remote_ ? "" : model_dir_of(config.model_path);
  // The files as this attempt found them: a change made after it started (even while the error
  // is being reported, before the watcher runs) must still trigger a retry.
  const std::string files_seen = remote_ ? "" : fingerprint(config.model_path);
  set_status("loading", remote_ ? "connecting to " + config.backend.url : dir.empty() ? "" : "loading " + dir);
  progress_begin(remote_ ? "connecting to " + config.backend.url : dir.empty() ? "loading the model" : "reading " + dir);
  try {
    uintmax_t bytes = weights_bytes(dir);
    progress_report(10, remote_ ? "fetching the tokenizer from the backend"
                        : bytes ? "loading " + std::to_string((bytes + (1 << 19)) >> 20) + " MB of weights"
                                : "loading the weights");
    if (server_.options().engine_factory) {
      engine_ = server_.options().engine_factory(config);
    } else if (remote_) {
      engine_ = connect_backend(config);
    } else {
      if (dir.empty()) throw std::runtime_error("no model: set modelPath (no bundled models/maskfill-tiny found)");
      engine_ = load_engine(dir, config.device);
    }
    load_error_.clear();
    {
      std::lock_guard lock(mutex_);
      model_ = engine_->description();
    }
    progress_report(100, "model ready");
    progress_end("model ready: " + engine_->description());
    set_status("ready", "");
    if (!server_.shutting_down()) register_inline_completion(true);
  } catch (const std::exception& e) {
    engine_.reset();
    load_error_ = e.what();
    spdlog::error("model load failed: {}", load_error_);
    progress_end("model load failed");
    set_status("error", load_error_);
    if (remote_) {
      // Retried on a later request (the server may be starting); no files to watch.
      remote_failed_at_ = std::chrono::steady_clock::now();
      if (!server_.shutting_down()) server_.show_message(1, "cannot use the maskfill backend: " + load_error_);
      return;
    }
    if (!server_.shutting_down()) {
      server_.show_message(1, "cannot load the model: " + load_error_ +
                                  " (fix the files or the modelPath setting; maskfill retries when they change)");
      register_inline_completion(false);
      watch_model_files(config.model_path, files_seen);
    }
  }
}

Engine& ModelHost::engine() {
  bool retry_backend = remote_ && !engine_ && !load_error_.empty() &&
                       std::chrono::steady_clock::now() - remote_failed_at_ > std::chrono::milliseconds(kBackendRetryMs);
  if (!engine_ && (load_error_.empty() || retry_backend)) load();
  if (!engine_) throw LspError(ErrorCode::RequestFailed, "no model loaded: " + load_error_);
  return *engine_;
}

void ModelHost::unload() {
  stop_watching();
  engine_.reset();
  load_error_.clear();
}

void ModelHost::reload() {
  unload();
  try {
    engine();
  } catch (const std::exception&) {
    // Reported through maskfill/status and showMessage by load().
  }
}

// A thread that polls the model directory and queues a reload on the worker once it differs
// from `before` (the fingerprint taken when the failed load started).
void ModelHost::watch_model_files(const std::string& configured_path, const std::string& before) {
  stop_watching();
  std::lock_guard lock(watch_mutex_);
  const uint64_t generation = ++watch_generation_;
  watcher_ = std::thread([this, generation, configured_path, before] {
    std::unique_lock lock(watch_mutex_);
    auto stopped = [this, generation] { return watch_generation_ != generation; };
    while (!watch_wake_.wait_for(lock, std::chrono::milliseconds(kWatchIntervalMs), stopped)) {
      lock.unlock();
      bool changed = fingerprint(configured_path) != before;
      lock.lock();
      if (!changed || stopped()) continue;
      spdlog::info("the model files changed; loading again");
      server_.post_to_worker([this, configured_path](const CancelToken&) {
        if (engine_ || server_.config().model_path != configured_path) return;  // already reloaded
        reload();
      });
      return;
    }
  });
}

void ModelHost::stop_watching() {
  std::thread watcher;
  {
    std::lock_guard lock(watch_mutex_);
    ++watch_generation_;
    watcher = std::move(watcher_);
  }
  watch_wake_.notify_all();
  if (watcher.joinable() && watcher.get_id() != std::this_thread::get_id()) watcher.join();
  else if (watcher.joinable()) watcher.detach();
}

}  // namespace maskfill::lsp
