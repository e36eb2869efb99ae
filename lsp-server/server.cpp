#include "lsp-server/server.h"

#include <spdlog/spdlog.h>

namespace maskfill::lsp {
namespace {

constexpr int kTextDocumentSyncIncremental = 2;

// Picks utf-8 when the client offers it (no conversion on our side), else the mandatory utf-16.
PositionEncoding negotiate_encoding(const json& capabilities) {
  const json* general = capabilities.contains("general") ? &capabilities["general"] : nullptr;
  if (general && general->contains("positionEncodings") && (*general)["positionEncodings"].is_array())
    for (const json& name : (*general)["positionEncodings"])
      if (name == "utf-8") return PositionEncoding::Utf8;
  return PositionEncoding::Utf16;
}

void merge_into(json& target, const json& patch) {
  for (const auto& [key, value] : patch.items()) {
    if (value.is_object() && target.contains(key) && target[key].is_object())
      merge_into(target[key], value);
    else
      target[key] = value;
  }
}

}  // namespace

Server::Server(ServerOptions options, Sink sink)
    : options_(std::move(options)), sink_(std::move(sink)), config_(options_.config) {
  register_lifecycle();
  register_text_sync(*this);
  if (options_.test_methods) register_test_methods(*this);
}

Server::~Server() { stop_worker(); }

void Server::stop_worker() {
  std::vector<std::function<void()>> hooks;
  hooks.swap(stop_hooks_);
  for (auto& hook : hooks) hook();
  scheduler_.stop();
}

void Server::on_request(std::string method, RequestHandler handler) {
  request_handlers_[std::move(method)] = std::move(handler);
}

void Server::on_notification(std::string method, NotificationHandler handler) {
  notification_handlers_[std::move(method)] = std::move(handler);
}

void Server::add_capabilities(const json& capabilities) { merge_into(extra_capabilities_, capabilities); }

void Server::on_initialize(std::function<void(const json& client, json& server)> hook) {
  capability_hooks_.push_back(std::move(hook));
}

void Server::on_config_change(std::function<void(const Config&, const Config&)> listener) {
  config_listeners_.push_back(std::move(listener));
}

Config Server::config() const {
  std::lock_guard lock(config_mutex_);
  return config_;
}

void Server::reply_error(const json& id, ErrorCode code, std::string_view message) {
  sink_(make_error(id, code, message));
}

void Server::show_message(int type, const std::string& message) {
  notify("window/showMessage", {{"type", type}, {"message", "maskfill: " + message}});
}

void Server::send_request(std::string_view method, const json& params, ResponseCallback on_response) {
  json id;
  {
    std::lock_guard lock(outgoing_mutex_);
    id = "maskfill-" + std::to_string(next_outgoing_id_++);
    outgoing_[id_key(id)] = std::move(on_response);
  }
  sink_(make_request(id, method, params));
}

// ---- incoming messages ----------------------------------------------------------------------

void Server::receive(std::string_view body) {
  Message message = parse_message(body);
  switch (message.kind) {
    case MessageKind::Invalid:
      spdlog::warn("rejected message: {}", message.problem);
      reply_error(message.id, message.problem_code, message.problem);
      return;
    case MessageKind::Response:
      route_response(message);
      return;
    case MessageKind::Notification:
      dispatch_notification(message);
      return;
    case MessageKind::Request:
      dispatch_request(message);
      return;
  }
}

void Server::end_of_input() {
  spdlog::info("input closed {} shutdown; exiting with {}", shutdown_requested_ ? "after" : "without", exit_code());
  exited_ = true;
}

void Server::dispatch_request(const Message& message) {
  if (state_ == State::Uninitialized && message.method != "initialize")
    return reply_error(message.id, ErrorCode::ServerNotInitialized, "the server is not initialized yet");
  if (state_ == State::ShuttingDown)
    return reply_error(message.id, ErrorCode::InvalidRequest, "the server is shutting down");
  auto handler = request_handlers_.find(message.method);
  if (handler == request_handlers_.end())
    return reply_error(message.id, ErrorCode::MethodNotFound, "unknown method " + message.method);
  try {
    std::optional<json> result = handler->second(message.id, message.params);
    if (result) reply(message.id, *result);
  } catch (const LspError& e) {
    reply_error(message.id, e.code(), e.what());
  } catch (const JsonFieldError& e) {
    reply_error(message.id, ErrorCode::InvalidParams, message.method + " " + e.what());
  } catch (const json::exception& e) {
    // A handler read params without checking them: say what kind of problem, not the library text.
    spdlog::debug("{}: unchecked params access: {}", message.method, e.what());
    reply_error(message.id, ErrorCode::InvalidParams, "invalid params for " + message.method + ": " + json_error_summary(e));
  } catch (const std::invalid_argument& e) {
    reply_error(message.id, ErrorCode::InvalidParams, std::string("invalid params: ") + e.what());
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", message.method, e.what());
    reply_error(message.id, ErrorCode::InternalError, e.what());
  }
}

void Server::dispatch_notification(const Message& message) {
  if (message.method == "exit") {
    spdlog::info("exit {} shutdown", shutdown_requested_ ? "after" : "without");
    exited_ = true;
    return;
  }
  if (state_ != State::Running) {
    spdlog::debug("dropped notification {} ({})", message.method,
                  state_ == State::Uninitialized ? "not initialized" : "shutting down");
    return;
  }
  auto handler = notification_handlers_.find(message.method);
  if (handler == notification_handlers_.end()) {
    // `$/` notifications are optional by spec; others are logged so typos are visible.
    if (message.method.rfind("$/", 0) == 0)
      spdlog::debug("ignored {}", message.method);
    else
      spdlog::warn("unknown notification {} ignored", message.method);
    return;
  }
  try {
    handler->second(message.params);
  } catch (const JsonFieldError& e) {
    spdlog::error("{} {}", message.method, e.what());
    show_message(1, message.method + " " + e.what());
  } catch (const json::exception& e) {
    spdlog::debug("{}: unchecked params access: {}", message.method, e.what());
    spdlog::error("{}: invalid params: {}", message.method, json_error_summary(e));
    show_message(1, message.method + " failed: invalid params: " + json_error_summary(e));
  } catch (const std::exception& e) {
    // Notifications have no response: log, and tell the user, since something is now off.
    spdlog::error("{}: {}", message.method, e.what());
    show_message(1, message.method + " failed: " + e.what());
  }
}

void Server::route_response(const Message& message) {
  ResponseCallback callback;
  {
    std::lock_guard lock(outgoing_mutex_);
    auto found = outgoing_.find(id_key(message.id));
    if (found == outgoing_.end()) {
      spdlog::warn("response to unknown request id {}", message.id.dump());
      return;
    }
    callback = std::move(found->second);
    outgoing_.erase(found);
  }
  try {
    callback(message.result, message.error);
  } catch (const std::exception& e) {
    spdlog::error("handling the response to {}: {}", message.id.dump(), e.what());
  }
}

void Server::answer_cancelled(const json& id, CancelReason reason, const std::optional<json>& superseded_result) {
  switch (reason) {
    case CancelReason::Superseded:
      if (superseded_result) return reply(id, *superseded_result);
      return reply_error(id, ErrorCode::ServerCancelled, "superseded by a newer request");
    case CancelReason::Shutdown:
      return reply_error(id, ErrorCode::ServerCancelled, "the server is shutting down");
    case CancelReason::Client:
    case CancelReason::None:
      return reply_error(id, ErrorCode::RequestCancelled, "request cancelled");
  }
}

void Server::run_on_worker(const json& id, std::string kind, std::string uri,
                           std::function<std::optional<json>(const CancelToken&)> work,
                           std::optional<json> superseded_result) {
  Task task;
  task.key = id_key(id);
  task.kind = std::move(kind);
  task.document = std::move(uri);
  task.on_cancelled = [this, id, superseded_result](CancelReason reason) { answer_cancelled(id, reason, superseded_result); };
  task.run = [this, id, superseded_result, work = std::move(work)](const CancelToken& token) {
    try {
      std::optional<json> result = work(token);
      if (token.cancelled())
        answer_cancelled(id, token.reason(), superseded_result);
      else if (result)
        reply(id, *result);
    } catch (const LspError& e) {
      if (token.cancelled()) answer_cancelled(id, token.reason(), superseded_result);
      else reply_error(id, e.code(), e.what());
    } catch (const JsonFieldError& e) {
      reply_error(id, ErrorCode::RequestFailed, e.what());
    } catch (const json::exception& e) {
      spdlog::error("request {} failed: {}", id.dump(), e.what());
      reply_error(id, ErrorCode::RequestFailed, "request failed: " + json_error_summary(e));
    } catch (const std::exception& e) {
      spdlog::error("request {} failed: {}", id.dump(), e.what());
      reply_error(id, ErrorCode::RequestFailed, e.what());
    }
  };
  scheduler_.submit(std::move(task));
}

void Server::post_to_worker(std::function<void(const CancelToken&)> work) {
  static std::atomic<int64_t> next{0};
  Task task;
  task.key = "post-" + std::to_string(next++);
  task.run = [work = std::move(work)](const CancelToken& token) {
    try {
      work(token);
    } catch (const std::exception& e) {
      spdlog::error("worker task failed: {}", e.what());
    }
  };
  task.on_cancelled = [](CancelReason) {};
  scheduler_.submit(std::move(task));
}

// ---- lifecycle and configuration ------------------------------------------------------------

void Server::register_lifecycle() {
  on_request("initialize", [this](const json&, const json& params) -> std::optional<json> {
    if (state_ != State::Uninitialized) throw LspError(ErrorCode::InvalidRequest, "initialize was already sent");
    return initialize(params);
  });
  on_notification("initialized", [](const json&) { spdlog::info("client initialized"); });
  on_request("shutdown", [this](const json&, const json&) -> std::optional<json> {
    state_ = State::ShuttingDown;
    shutdown_requested_ = true;
    scheduler_.cancel_all(CancelReason::Shutdown);  // pending work is answered -32802 before the shutdown result
    return json(nullptr);
  });
  on_notification("$/cancelRequest", [this](const json& params) {
    const json& id = read_params(params).at("id").json();
    if (!id.is_string() && !id.is_number_integer()) read_params(params).at("id").expected("an integer or a string");
    if (!scheduler_.cancel(id_key(id))) spdlog::debug("cancel of finished or unknown request {}", id.dump());
  });
  on_notification("$/setTrace", [](const json&) {});
  on_notification("workspace/didChangeConfiguration", [this](const json& params) {
    const json settings = read_params(params).has("settings") ? params["settings"] : json();
    if (settings.is_null() || (settings.is_object() && settings.empty()))
      pull_configuration();
    else
      apply_configuration(settings, "workspace/didChangeConfiguration");
  });
}

bool client_can(const json& capabilities, std::initializer_list<const char*> path) {
  const json* node = &capabilities;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return false;
    node = &(*node)[key];
  }
  return node->is_boolean() && node->get<bool>();
}

json Server::initialize(const json& params) {
  if (!params.is_object()) throw std::invalid_argument("initialize params must be an object");
  auto capabilities_field = read_params(params).get("capabilities");
  client_capabilities_ = capabilities_field ? capabilities_field->require_object().json() : json::object();
  encoding_ = negotiate_encoding(client_capabilities_);
  project_.set_workspace(params);
  state_ = State::Running;
  if (params.contains("initializationOptions"))
    apply_configuration(params["initializationOptions"], "initializationOptions");

  json capabilities = {
      {"positionEncoding", encoding_name(encoding_)},
      {"textDocumentSync",
       {{"openClose", true}, {"change", kTextDocumentSyncIncremental}, {"save", {{"includeText", false}}}}},
  };
  merge_into(capabilities, extra_capabilities_);
  for (const auto& hook : capability_hooks_) hook(client_capabilities_, capabilities);
  spdlog::info("initialized: position encoding {}", encoding_name(encoding_));
  return {{"capabilities", capabilities}, {"serverInfo", {{"name", "maskfill"}, {"version", options_.version}}}};
}

void Server::apply_configuration(const json& settings, const char* source) {
  Config before = config();
  ConfigUpdate update = apply_settings(before, settings);
  for (const std::string& warning : update.warnings) spdlog::warn("{}: {}", source, warning);
  for (const std::string& error : update.errors) {
    spdlog::error("{}: {}", source, error);
    show_message(1, std::string(source) + ": " + error);
  }
  {
    std::lock_guard lock(config_mutex_);
    config_ = update.config;
  }
  for (auto& listener : config_listeners_) listener(before, update.config);
}

// didChangeConfiguration without settings: ask for our section (when the client can answer).
void Server::pull_configuration() {
  const json* workspace = client_capabilities_.contains("workspace") ? &client_capabilities_["workspace"] : nullptr;
  if (!workspace || !workspace->is_object() || workspace->value("configuration", json()) != true) return;
  send_request("workspace/configuration", {{"items", {{{"section", "maskfill"}}}}},
               [this](const json& result, const std::optional<json>& error) {
                 if (error) return spdlog::warn("workspace/configuration failed: {}", error->dump());
                 if (result.is_array() && !result.empty() && !result[0].is_null())
                   apply_configuration(result[0], "workspace/configuration");
               });
}

}  // namespace maskfill::lsp
