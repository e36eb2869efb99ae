#include "lsp-server/model_host.h"

#include <spdlog/spdlog.h>

namespace maskfill::lsp {

namespace {
bool client_can(const json& capabilities, std::initializer_list<const char*> path) {
  const json* node = &capabilities;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return false;
    node = &(*node)[key];
  }
  return node->is_boolean() && node->get<bool>();
}
}  // namespace

bool ModelHost::static_inline_completion() const {
  return !client_can(server_.client_capabilities(), {"textDocument", "inlineCompletion", "dynamicRegistration"});
}

json ModelHost::status() const {
  std::lock_guard lock(mutex_);
  json out = {{"state", state_}, {"accepted", accepted_.load()}};
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

void ModelHost::progress(const std::string& kind, const std::string& text) {
  if (server_.shutting_down() || !client_can(server_.client_capabilities(), {"window", "workDoneProgress"})) return;
  std::string token = "maskfill-load-" + std::to_string(progress_serial_);
  if (kind == "begin") {
    server_.send_request("window/workDoneProgress/create", {{"token", token}}, [](const json&, const auto&) {});
    server_.notify("$/progress", {{"token", token}, {"value", {{"kind", "begin"}, {"title", "maskfill"}, {"message", text}}}});
  } else {
    server_.notify("$/progress", {{"token", token}, {"value", {{"kind", "end"}, {"message", text}}}});
    ++progress_serial_;
  }
}

void ModelHost::register_inline_completion(bool ready) {
  if (static_inline_completion() || ready == registered_) return;
  const char* id = "maskfill-inline-completion";
  if (ready) {
    server_.send_request("client/registerCapability",
                         {{"registrations", {{{"id", id}, {"method", "textDocument/inlineCompletion"},
                                              {"registerOptions", json::object()}}}}},
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

void ModelHost::load() {
  Config config = server_.config();
  std::string dir = config.model_path.empty() ? default_model_dir() : config.model_path;
  set_status("loading", dir.empty() ? "" : "loading " + dir);
  progress("begin", "loading the model");
  try {
    if (server_.options().engine_factory) {
      engine_ = server_.options().engine_factory(config);
    } else {
      if (dir.empty()) throw std::runtime_error("no model: set modelPath (no bundled models/maskfill-tiny found)");
      engine_ = load_engine(dir, config.device);
    }
    load_error_.clear();
    {
      std::lock_guard lock(mutex_);
      model_ = engine_->description();
    }
    progress("end", "model ready: " + engine_->description());
    set_status("ready", "");
    if (!server_.shutting_down()) register_inline_completion(true);
  } catch (const std::exception& e) {
    engine_.reset();
    load_error_ = e.what();
    spdlog::error("model load failed: {}", load_error_);
    progress("end", "model load failed");
    set_status("error", load_error_);
    if (!server_.shutting_down()) {
      server_.show_message(1, "maskfill: cannot load the model: " + load_error_);
      register_inline_completion(false);
    }
  }
}

Engine& ModelHost::engine() {
  if (!engine_ && load_error_.empty()) load();
  if (!engine_) throw LspError(ErrorCode::RequestFailed, "no model loaded: " + load_error_);
  return *engine_;
}

void ModelHost::unload() {
  engine_.reset();
  load_error_.clear();
}

}  // namespace maskfill::lsp
