// The LSP session: lifecycle (initialize / initialized / shutdown / exit), dispatch of requests
// and notifications to registered handlers with the right JSON-RPC errors, server->client
// requests with responses routed back by id, configuration, and the worker (Scheduler).
//
// Threading: receive() runs on the I/O thread. Handlers registered with on_request() run there
// too and must be cheap; model work goes through run_on_worker(). The sink may be called from
// either thread and must be thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_fields.h"
#include "lsp-server/config.h"
#include "lsp-server/document_store.h"
#include "lsp-server/jsonrpc.h"
#include "lsp-server/positions.h"
#include "lsp-server/project_context.h"
#include "lsp-server/scheduler.h"

namespace maskfill::lsp {

struct ServerOptions {
  Config config;                  // from the command line; initializationOptions go on top
  std::string version = "0.0.0";  // serverInfo.version
  // Creates the engine on the worker thread when a feature first needs it. Default:
  // load_engine(config.model_path or default_model_dir(), config.device). Tests inject fakes.
  std::function<std::unique_ptr<Engine>(const Config&)> engine_factory;
  // Registers maskfill/debugDocument and maskfill/debugWait (see register_test_methods).
  bool test_methods = false;
};

// Typed access to a message's params. A JsonFieldError thrown through it becomes -32602 (or an
// error message for a notification) reading "METHOD params: field 'a.b' must be ..., got ...".
inline JsonField read_params(const json& params) { return JsonField(params, "params"); }

// Whether the client capability at `path` (e.g. {"window", "workDoneProgress"}) is true.
bool client_can(const json& capabilities, std::initializer_list<const char*> path);

class Server {
 public:
  using Sink = std::function<void(const json&)>;
  // Returns the result to answer at once, or nullopt when the handler answers later (worker).
  // Throw LspError for protocol errors; json/std::invalid_argument errors become -32602.
  using RequestHandler = std::function<std::optional<json>(const json& id, const json& params)>;
  using NotificationHandler = std::function<void(const json& params)>;
  using ResponseCallback = std::function<void(const json& result, const std::optional<json>& error)>;

  Server(ServerOptions options, Sink sink);
  ~Server();  // stops the worker

  // One message body from the transport (I/O thread).
  void receive(std::string_view body);
  // The input ended (EOF or closed socket) without `exit`.
  void end_of_input();
  bool exited() const { return exited_; }
  // 0 after shutdown + exit (or EOF after shutdown), 1 otherwise (LSP spec).
  int exit_code() const { return shutdown_requested_ ? 0 : 1; }
  // Runs the stop hooks (e.g. background watchers), then stops the worker. Idempotent.
  void stop_worker();
  // Called once, first thing in stop_worker() (and so before the server goes away).
  void on_stop(std::function<void()> hook) { stop_hooks_.push_back(std::move(hook)); }

  // Registration (before the first message).
  void on_request(std::string method, RequestHandler handler);
  void on_notification(std::string method, NotificationHandler handler);
  // Merged into the initialize result's capabilities.
  void add_capabilities(const json& capabilities);
  // Capabilities that depend on the client's: called with both during initialize.
  void on_initialize(std::function<void(const json& client, json& server)> hook);

  // Output (any thread).
  void reply(const json& id, const json& result) { sink_(make_result(id, result)); }
  void reply_error(const json& id, ErrorCode code, std::string_view message);
  void notify(std::string_view method, const json& params) { sink_(make_notification(method, params)); }
  void send_request(std::string_view method, const json& params, ResponseCallback on_response);
  void show_message(int type, const std::string& message);  // 1 error, 2 warning, 3 info

  // Runs `work` on the worker and answers its result, or the error thrown. When `work` returns
  // nullopt it answers the request itself later (e.g. after the client answered a request of
  // ours). Cancelled requests: -32800 when the client cancelled ($/cancelRequest); when a newer
  // request with the same non-empty kind and uri superseded it, `superseded_result` (e.g. an
  // empty list) or else -32802; -32802 at shutdown.
  void run_on_worker(const json& id, std::string kind, std::string uri,
                     std::function<std::optional<json>(const CancelToken&)> work,
                     std::optional<json> superseded_result = std::nullopt);
  // Queues work that answers nobody (model loading): it runs on the worker, in order.
  void post_to_worker(std::function<void(const CancelToken&)> work);

  DocumentStore& documents() { return documents_; }
  ProjectContext& project() { return project_; }
  PositionEncoding encoding() const { return encoding_; }
  Config config() const;
  const ServerOptions& options() const { return options_; }
  const json& client_capabilities() const { return client_capabilities_; }
  // After `shutdown` the server sends nothing on its own (status, progress, messages).
  bool shutting_down() const { return state_ == State::ShuttingDown; }
  // Called (on the I/O thread) after the configuration changed.
  void on_config_change(std::function<void(const Config& before, const Config& after)> listener);

 private:
  enum class State { Uninitialized, Running, ShuttingDown };

  void dispatch_request(const Message& message);
  void dispatch_notification(const Message& message);
  void route_response(const Message& message);
  void register_lifecycle();
  json initialize(const json& params);
  void apply_configuration(const json& settings, const char* source);
  void pull_configuration();
  void answer_cancelled(const json& id, CancelReason reason, const std::optional<json>& superseded_result);

  ServerOptions options_;
  Sink sink_;
  std::atomic<State> state_{State::Uninitialized};  // read by the worker too
  std::atomic<bool> exited_{false};
  bool shutdown_requested_ = false;
  PositionEncoding encoding_ = PositionEncoding::Utf16;
  json client_capabilities_ = json::object();
  json extra_capabilities_ = json::object();
  std::vector<std::function<void(const json&, json&)>> capability_hooks_;

  mutable std::mutex config_mutex_;
  Config config_;
  std::vector<std::function<void(const Config&, const Config&)>> config_listeners_;

  std::map<std::string, RequestHandler> request_handlers_;
  std::map<std::string, NotificationHandler> notification_handlers_;

  std::mutex outgoing_mutex_;
  int64_t next_outgoing_id_ = 1;
  std::map<std::string, ResponseCallback> outgoing_;

  DocumentStore documents_;
  ProjectContext project_;
  std::vector<std::function<void()>> stop_hooks_;
  Scheduler scheduler_;  // last: its worker stops before the members it uses go away
};

// Adds didOpen / didChange / didClose / didSave.
void register_text_sync(Server& server);
// Adds the test-only methods maskfill/debugDocument (the server's copy of a document: text and
// tree) and maskfill/debugWait (a cancellable wait on the worker). The server registers them
// only when ServerOptions::test_methods is set (`maskfill lsp --enable-test-methods`).
void register_test_methods(Server& server);
// Adds the editing features (inline completion, code actions, commands, status); serve() and
// test harnesses call it.
void register_features(Server& server);

}  // namespace maskfill::lsp
