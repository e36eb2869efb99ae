// The test harness of the language server: an in-process client for Server (sends bodies,
// collects what the server writes) and, with tests/support/fake_engine.h, a scripted engine.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "lsp-server/server.h"
#include "tests/support/fake_engine.h"

namespace maskfill::lsp::testing {

class Harness {
 public:
  // The harness always serves the test-only methods (maskfill/debugDocument, debugWait).
  explicit Harness(ServerOptions options = {})
      : server(with_test_methods(std::move(options)), [this](const json& message) {
          std::lock_guard lock(mutex_);
          messages_.push_back(message);
          arrived_.notify_all();
        }) {}

  static ServerOptions with_test_methods(ServerOptions options) {
    options.test_methods = true;
    return options;
  }

  void send(const json& message) { server.receive(message.dump()); }
  void request(const json& id, const std::string& method, const json& params = json::object()) {
    send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
  }
  void notify(const std::string& method, const json& params = json::object()) {
    send({{"jsonrpc", "2.0"}, {"method", method}, {"params", params}});
  }
  // `extra`: more initialize params (rootUri, workspaceFolders).
  json initialize(const json& capabilities = json::object(), const json& options = json(),
                  const json& extra = json::object()) {
    json params = {{"capabilities", capabilities}};
    if (!options.is_null()) params["initializationOptions"] = options;
    params.update(extra);
    request("init", "initialize", params);
    json response = response_to("init");
    notify("initialized");
    return response;
  }

  // The first message matching `match`, waiting up to 5 s (worker replies are asynchronous).
  template <typename Match>
  json wait_for(Match match) {
    std::unique_lock lock(mutex_);
    json found;
    arrived_.wait_for(lock, std::chrono::seconds(5), [&] {
      for (const json& message : messages_)
        if (match(message)) return found = message, true;
      return false;
    });
    return found;
  }
  json response_to(const json& id) {
    return wait_for([&](const json& m) { return m.contains("id") && m["id"] == id && !m.contains("method"); });
  }
  json message_with_method(const std::string& method) {
    return wait_for([&](const json& m) { return m.value("method", "") == method; });
  }
  std::vector<json> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  size_t count() {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<json> messages_;

 public:
  Server server;  // last: destroyed (worker joined) before the message list
};

// Server options whose engine is a maskfill::testing::FakeEngine playing `script` (a new engine
// per model load, all sharing the script and its counters).
inline ServerOptions with_fake_engine(maskfill::testing::FakeScript& script, ServerOptions options = {}) {
  options.engine_factory = [&script](const Config&) -> std::unique_ptr<Engine> {
    return std::make_unique<maskfill::testing::FakeEngine>(script);
  };
  return options;
}

inline int error_code(const json& response) {
  return response.contains("error") ? response["error"]["code"].get<int>() : 0;
}

}  // namespace maskfill::lsp::testing
