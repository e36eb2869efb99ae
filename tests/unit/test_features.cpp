// The editing features (lsp-server/features.cpp, model_host.cpp) through the server's in-process
// message path with a scripted engine: the bundled model's tokenizer and config (no torch), and
// a generate() that returns canned code, one "denoising step" per block while polling the
// cancellation check. So these tests pin the protocol behaviour, independent of the model.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "inference/model_files.h"
#include "inference/tokenizer.h"
#include "lsp-server/protocol_schema.h"
#include "lsp-server/transport.h"
#include "server_harness.h"
#include "tests/support/fake_engine.h"

#include <unistd.h>

using namespace maskfill;
using namespace maskfill::lsp;
using namespace maskfill::lsp::testing;

namespace {

// The shared fake engine's script (tests/support/fake_engine.h) plus how model loads behave.
struct Script : maskfill::testing::FakeScript {
  Script() { end_with_eos = true; }  // candidate i (seed + i) gets outputs[i % size]
  std::atomic<int> loads{0};
  std::atomic<int> failures_left{0};      // the next loads that fail
  std::atomic<bool> hold_load{false};     // the factory waits (up to 5 s) while this is set
  std::atomic<bool> files_arrive_during_failed_load{false};  // writes config.json, then fails
  std::vector<std::string> loaded_paths;  // worker thread only until the test reads it
};

ServerOptions scripted(Script& script) {
  ServerOptions options;
  options.engine_factory = [&script](const Config& config) -> std::unique_ptr<Engine> {
    ++script.loads;
    script.loaded_paths.push_back(config.model_path);
    for (int i = 0; i < 5000 && script.hold_load; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (config.model_path == "/broken") throw std::runtime_error("config.json is missing in /broken");
    if (script.failures_left > 0) {
      --script.failures_left;
      throw std::runtime_error("scripted load failure");
    }
    if (config.model_path.rfind(std::filesystem::temp_directory_path().string(), 0) == 0 &&
        !std::filesystem::exists(std::filesystem::path(config.model_path) / "config.json")) {
      if (script.files_arrive_during_failed_load.exchange(false))
        std::ofstream(std::filesystem::path(config.model_path) / "config.json") << "{}";
      throw std::runtime_error("config.json is missing in " + config.model_path);
    }
    return std::make_unique<maskfill::testing::FakeEngine>(script);
  };
  return options;
}

// A client session with the features registered, initialized and with one Python file open.
struct Session {
  explicit Session(Script& script, const json& capabilities = json::object(), const json& options = json(),
                   const json& initialize_extra = json::object())
      : client(scripted(script)) {
    register_features(client.server);
    init = client.initialize(capabilities, options, initialize_extra);
    client.notify("textDocument/didOpen",
                  {{"textDocument", {{"uri", uri}, {"languageId", "python"}, {"version", 1}, {"text", text}}}});
  }
  json status() {
    client.request("status-" + std::to_string(++serial), "maskfill/status");
    return client.response_to("status-" + std::to_string(serial))["result"];
  }
  // Waits until maskfill/status (the request) reports `state`. Returns as soon as it does; the
  // bound only ends a wait that would never succeed (idle: well under a second).
  json wait_state(const std::string& state) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    json current;
    while (std::chrono::steady_clock::now() < deadline) {
      current = status();
      if (current["state"] == state) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return current;
  }
  json inline_completion(const json& id, int trigger_kind, json position = {{"line", 4}, {"character", 11}}) {
    client.request(id, "textDocument/inlineCompletion",
                   {{"textDocument", {{"uri", uri}}}, {"position", position}, {"context", {{"triggerKind", trigger_kind}}}});
    return client.response_to(id);
  }
  // Answers the server's next unanswered request with `method` (e.g. workspace/applyEdit).
  json answer(const std::string& method, const json& result, const json& error = json()) {
    json request = client.wait_for([&](const json& m) {
      return m.value("method", "") == method && m.contains("id") && !answered.count(m["id"].dump());
    });
    REQUIRE(request.contains("id"));
    answered.insert(request["id"].dump());
    json response = {{"jsonrpc", "2.0"}, {"id", request["id"]}};
    if (error.is_null()) response["result"] = result;
    else response["error"] = error;
    client.send(response);
    return request;
  }
  void change(int version, const std::string& new_text) {
    client.notify("textDocument/didChange", {{"textDocument", {{"uri", uri}, {"version", version}}},
                                             {"contentChanges", {{{"text", new_text}}}}});
  }

  std::string uri = "file:///unit/mean.py";
  std::string text = "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return \n";
  Harness client;
  json init;
  int serial = 0;
  std::set<std::string> answered;
};

json range(int l1, int c1, int l2, int c2) {
  return {{"start", {{"line", l1}, {"character", c1}}}, {"end", {{"line", l2}, {"character", c2}}}};
}

bool sent(Harness& client, const std::string& method) {
  for (const json& message : client.messages())
    if (message.value("method", "") == method) return true;
  return false;
}

size_t index_of(const std::vector<json>& messages, const std::function<bool(const json&)>& match) {
  for (size_t i = 0; i < messages.size(); ++i)
    if (match(messages[i])) return i;
  return messages.size();
}

}  // namespace

TEST_CASE("the model loads after initialized, status, progress and dynamic registration follow it", "[features]") {
  Script script;
  script.hold_load = true;  // the load waits until the client answered the progress token
  json capabilities = {{"textDocument", {{"inlineCompletion", {{"dynamicRegistration", true}}}}},
                       {"window", {{"workDoneProgress", true}}}};
  Session session(script, capabilities);
  CHECK_FALSE(session.init["result"]["capabilities"].contains("inlineCompletionProvider"));
  auto commands = session.init["result"]["capabilities"]["executeCommandProvider"]["commands"];
  CHECK(commands == json({"maskfill.applyInstruction", "maskfill.didAccept", "maskfill.didAcceptNextEdit",
                          "maskfill.editWithInstruction", "maskfill.fillSelection", "maskfill.reload"}));

  json create = session.client.message_with_method("window/workDoneProgress/create");
  REQUIRE(create.contains("id"));
  // Nothing goes out on the token before the client said yes.
  while (script.loads == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK_FALSE(sent(session.client, "$/progress"));
  session.answer("window/workDoneProgress/create", nullptr);
  json begin = session.client.message_with_method("$/progress");
  CHECK(begin["params"]["token"] == create["params"]["token"]);
  CHECK(begin["params"]["value"]["kind"] == "begin");
  CHECK(begin["params"]["value"]["percentage"].is_number_integer());
  script.hold_load = false;

  json ready = session.wait_state("ready");
  CHECK(ready["model"] == "fake engine");
  CHECK(script.loads == 1);
  json registration = session.client.message_with_method("client/registerCapability");
  CHECK(registration["params"]["registrations"][0]["method"] == "textDocument/inlineCompletion");
  json selector = registration["params"]["registrations"][0]["registerOptions"]["documentSelector"];
  REQUIRE(selector.is_array());
  CHECK(std::find(selector.begin(), selector.end(), json({{"language", "python"}})) != selector.end());
  CHECK(std::find(selector.begin(), selector.end(), json({{"language", "cpp"}})) != selector.end());

  session.client.wait_for([](const json& m) { return m.value("method", "") == "$/progress" && m["params"]["value"]["kind"] == "end"; });
  std::vector<json> messages = session.client.messages();
  auto progress_kind = [](const std::string& kind) {
    return [kind](const json& m) { return m.value("method", "") == "$/progress" && m["params"]["value"]["kind"] == kind; };
  };
  size_t begin_at = index_of(messages, progress_kind("begin"));
  size_t report_at = index_of(messages, [](const json& m) {
    return m.value("method", "") == "$/progress" && m["params"]["value"]["kind"] == "report" && m["params"]["value"]["percentage"] == 100;
  });
  size_t end_at = index_of(messages, progress_kind("end"));
  size_t loading = index_of(messages, [](const json& m) { return m.value("method", "") == "maskfill/status" && m["params"]["state"] == "loading"; });
  size_t ready_note = index_of(messages, [](const json& m) { return m.value("method", "") == "maskfill/status" && m["params"]["state"] == "ready"; });
  CHECK(begin_at < report_at);
  CHECK(report_at < end_at);
  CHECK(end_at < messages.size());
  CHECK(loading < ready_note);
  CHECK(ready_note < messages.size());
}

TEST_CASE("$/progress stays silent when the client refuses the token", "[features]") {
  Script script;
  script.hold_load = true;
  Session session(script, {{"window", {{"workDoneProgress", true}}}});
  session.answer("window/workDoneProgress/create", nullptr, {{"code", -32603}, {"message", "no progress here"}});
  script.hold_load = false;
  session.wait_state("ready");
  session.status();
  CHECK_FALSE(sent(session.client, "$/progress"));
}

TEST_CASE("inline completion is advertised statically to clients without dynamic registration", "[features]") {
  Script script;
  Session session(script);
  CHECK(session.init["result"]["capabilities"].contains("inlineCompletionProvider"));
  session.wait_state("ready");
  session.status();  // anything the load sent is out before this answer
  CHECK_FALSE(sent(session.client, "client/registerCapability"));
}

TEST_CASE("a load failure is reported, features answer an error and the server keeps running", "[features]") {
  Script script;
  json capabilities = {{"textDocument", {{"inlineCompletion", {{"dynamicRegistration", true}}}}}};
  Session session(script, capabilities, {{"modelPath", "/broken"}});
  json status = session.wait_state("error");
  CHECK(status["message"].get<std::string>().find("config.json is missing") != std::string::npos);
  json shown = session.client.message_with_method("window/showMessage");
  CHECK(shown["params"]["type"] == 1);
  CHECK(shown["params"]["message"].get<std::string>().find("config.json is missing") != std::string::npos);
  CHECK(shown["params"]["message"].get<std::string>().rfind("maskfill: cannot load the model", 0) == 0);  // one prefix

  json answer = session.inline_completion(7, 1);
  CHECK(error_code(answer) == -32803);
  CHECK(answer["error"]["message"].get<std::string>().find("config.json is missing") != std::string::npos);
  session.client.request(8, "maskfill/debugDocument", {{"uri", session.uri}});
  CHECK(session.client.response_to(8).contains("result"));

  SECTION("fixing the model path reloads the model and registers inline completion") {
    session.client.notify("workspace/didChangeConfiguration", {{"settings", {{"maskfill", {{"modelPath", "/fixed"}}}}}});
    CHECK(session.wait_state("ready")["model"] == "fake engine");
    CHECK(script.loaded_paths.back() == "/fixed");
    CHECK(session.client.message_with_method("client/registerCapability").is_object());
    CHECK(session.inline_completion(9, 1).contains("result"));
  }
}

TEST_CASE("inline completion items: insert text, range, and the didAccept command", "[features]") {
  Script script;
  script.outputs = {"total", "total / len(xs)", "sum(xs)"};
  Session session(script);
  session.wait_state("ready");

  json invoked = session.inline_completion(1, 1)["result"]["items"];
  REQUIRE(invoked.size() >= 2);  // several candidates when invoked
  std::vector<std::string> texts;
  for (const json& item : invoked) {
    texts.push_back(item["insertText"]);
    CHECK(item["range"]["start"] == json({{"line", 4}, {"character", 11}}));
    CHECK(item["command"]["command"] == "maskfill.didAccept");
    CHECK(item["command"]["arguments"][0].contains("id"));
  }
  CHECK(std::find(texts.begin(), texts.end(), "total") != texts.end());

  json automatic = session.inline_completion(2, 2)["result"]["items"];
  CHECK(automatic.size() == 1);

  session.client.request(3, "workspace/executeCommand",
                         {{"command", "maskfill.didAccept"}, {"arguments", invoked[0]["command"]["arguments"]}});
  CHECK(session.client.response_to(3)["result"].is_null());
  CHECK(session.status()["accepted"] == 1);
}

TEST_CASE("inline completion: cancellation, supersession and stale versions", "[features]") {
  Script script;
  script.step_ms = 20;  // 16 masked tokens or more: a few hundred ms per candidate
  Session session(script);
  session.wait_state("ready");

  SECTION("$/cancelRequest during denoising answers -32800 and stops the decoding") {
    session.client.request(1, "textDocument/inlineCompletion",
                           {{"textDocument", {{"uri", session.uri}}},
                            {"position", {{"line", 4}, {"character", 11}}},
                            {"context", {{"triggerKind", 1}}}});
    while (script.calls == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    session.client.notify("$/cancelRequest", {{"id", 1}});
    CHECK(error_code(session.client.response_to(1)) == -32800);
    // The candidates decode as one batch (execute_plan); every decode saw the cancellation
    // between steps, none ran to the end.
    CHECK(script.cancelled_calls >= 1);
    CHECK(script.cancelled_calls == script.calls);
  }
  SECTION("a newer request for the same document supersedes the older one: an empty list, not -32800") {
    session.client.request(1, "textDocument/inlineCompletion",
                           {{"textDocument", {{"uri", session.uri}}},
                            {"position", {{"line", 4}, {"character", 11}}},
                            {"context", {{"triggerKind", 2}}}});
    json newer = session.inline_completion(2, 2);
    json older = session.client.response_to(1);
    CHECK(error_code(older) == 0);
    CHECK(older["result"]["items"] == json::array());
    CHECK(newer.contains("result"));
  }
  SECTION("a request for a version the client has moved on from is dropped") {
    session.client.request(1, "maskfill/debugWait", {{"ms", 100}});  // keeps the worker busy
    session.client.request(2, "textDocument/inlineCompletion",
                           {{"textDocument", {{"uri", session.uri}}},
                            {"position", {{"line", 4}, {"character", 11}}},
                            {"context", {{"triggerKind", 2}}}});
    session.change(2, session.text + "\n");
    json answer = session.client.response_to(2);
    bool dropped = error_code(answer) == -32801 || (answer.contains("result") && answer["result"]["items"].empty());
    CHECK(dropped);
  }
}

TEST_CASE("code actions are listed without running the model", "[features]") {
  Script script;
  Session session(script);
  session.wait_state("ready");
  int calls = script.calls;

  session.client.request(1, "textDocument/codeAction",
                         {{"textDocument", {{"uri", session.uri}}}, {"range", range(1, 4, 1, 13)},
                          {"context", {{"diagnostics", json::array()}}}});
  json actions = session.client.response_to(1)["result"];
  REQUIRE(actions.size() == 2);
  CHECK(actions[0]["command"]["command"] == "maskfill.fillSelection");
  CHECK(actions[1]["command"]["command"] == "maskfill.editWithInstruction");
  CHECK(actions[1]["command"]["arguments"][0] == json({{"uri", session.uri}, {"range", range(1, 4, 1, 13)}, {"version", 1}}));
  for (const json& action : actions) CHECK(action["kind"] == "refactor.rewrite");

  session.client.request(2, "textDocument/codeAction",
                         {{"textDocument", {{"uri", session.uri}}}, {"range", range(1, 4, 1, 4)}, {"context", {{"triggerKind", 1}}}});
  json empty_range = session.client.response_to(2)["result"];
  REQUIRE(empty_range.size() == 1);  // invoked on a cursor: the instruction edit only
  CHECK(empty_range[0]["command"]["command"] == "maskfill.editWithInstruction");

  // Asked automatically (the client does so on cursor moves): nothing on an empty range,
  session.client.request(4, "textDocument/codeAction",
                         {{"textDocument", {{"uri", session.uri}}}, {"range", range(1, 4, 1, 4)}, {"context", {{"triggerKind", 2}}}});
  CHECK(session.client.response_to(4)["result"] == json::array());
  // but both on a selection.
  session.client.request(5, "textDocument/codeAction",
                         {{"textDocument", {{"uri", session.uri}}}, {"range", range(1, 4, 1, 13)}, {"context", {{"triggerKind", 2}}}});
  CHECK(session.client.response_to(5)["result"].size() == 2);

  session.client.request(3, "textDocument/codeAction",
                         {{"textDocument", {{"uri", session.uri}}}, {"range", range(1, 4, 1, 13)},
                          {"context", {{"only", {"quickfix"}}}}});
  CHECK(session.client.response_to(3)["result"].empty());
  CHECK(script.calls == calls);
}

TEST_CASE("fill selection and instruction edits send a versioned workspace/applyEdit before answering", "[features]") {
  Script script;
  script.outputs = {"total / len(xs)"};
  Session session(script, {{"workspace", {{"workspaceEdit", {{"documentChanges", true}}}}}});
  session.wait_state("ready");
  json target = {{"uri", session.uri}, {"range", range(4, 11, 4, 11)}, {"version", 1}};

  SECTION("fillSelection") {
    target["range"] = range(1, 12, 1, 13);  // the "0" of "total = 0"
    session.client.request(1, "workspace/executeCommand", {{"command", "maskfill.fillSelection"}, {"arguments", {target}}});
    session.answer("workspace/applyEdit", {{"applied", true}});
    json response = session.client.response_to(1);
    REQUIRE(response.contains("result"));
    CHECK(response["result"]["applied"] == true);
    std::vector<json> messages = session.client.messages();
    size_t apply = index_of(messages, [](const json& m) { return m.value("method", "") == "workspace/applyEdit"; });
    size_t answer = index_of(messages, [](const json& m) { return m.contains("id") && m["id"] == 1 && !m.contains("method"); });
    REQUIRE(apply < messages.size());
    CHECK(apply < answer);
    json change = messages[apply]["params"]["edit"]["documentChanges"][0];
    CHECK(change["textDocument"] == json({{"uri", session.uri}, {"version", 1}}));
    CHECK_FALSE(change["edits"].empty());
  }
  SECTION("applyInstruction") {
    target["range"] = range(4, 0, 4, 11);
    target["instruction"] = "return the mean";
    session.client.request(1, "workspace/executeCommand", {{"command", "maskfill.applyInstruction"}, {"arguments", {target}}});
    json apply = session.answer("workspace/applyEdit", {{"applied", true}});
    REQUIRE(session.client.response_to(1).contains("result"));
    CHECK(apply["params"]["edit"]["documentChanges"][0]["textDocument"]["version"] == 1);
  }
  SECTION("editWithInstruction (the code action's command) with the instruction as an argument") {
    target["range"] = range(4, 0, 4, 11);
    target["instruction"] = "return the mean";
    session.client.request(1, "workspace/executeCommand", {{"command", "maskfill.editWithInstruction"}, {"arguments", {target}}});
    json apply = session.answer("workspace/applyEdit", {{"applied", true}});
    CHECK(session.client.response_to(1)["result"]["applied"] == true);
    CHECK(apply["params"]["label"] == "maskfill: edit with instruction");
  }
  SECTION("editWithInstruction from a client that cannot prompt: a clear error") {
    session.client.request(1, "workspace/executeCommand", {{"command", "maskfill.editWithInstruction"}, {"arguments", {target}}});
    json response = session.client.response_to(1);
    CHECK(error_code(response) == -32602);
    CHECK(response["error"]["message"].get<std::string>().find("pass it as \"instruction\"") != std::string::npos);
  }
  SECTION("a refused applyEdit is the command's answer and is shown to the user") {
    target["range"] = range(1, 12, 1, 13);
    session.client.request(1, "workspace/executeCommand", {{"command", "maskfill.fillSelection"}, {"arguments", {target}}});
    session.answer("workspace/applyEdit", {{"applied", false}, {"failureReason", "the file is read-only"}});
    json result = session.client.response_to(1)["result"];
    CHECK(result["applied"] == false);
    CHECK(result["failureReason"] == "the file is read-only");
    json shown = session.client.message_with_method("window/showMessage");
    CHECK(shown["params"]["type"] == 2);
    CHECK(shown["params"]["message"] == "maskfill: the editor did not apply the fill selection edit: the file is read-only");
  }
  SECTION("an applyEdit answered with an error is a refusal too") {
    target["range"] = range(1, 12, 1, 13);
    session.client.request(1, "workspace/executeCommand", {{"command", "maskfill.fillSelection"}, {"arguments", {target}}});
    session.answer("workspace/applyEdit", nullptr, {{"code", -32603}, {"message", "boom"}});
    CHECK(session.client.response_to(1)["result"]["applied"] == false);
  }
  SECTION("a stale version is refused with -32801 and nothing is applied") {
    session.change(2, session.text + "# more\n");
    target["range"] = range(1, 12, 1, 13);
    session.client.request(1, "workspace/executeCommand", {{"command", "maskfill.fillSelection"}, {"arguments", {target}}});
    CHECK(error_code(session.client.response_to(1)) == -32801);
    target["instruction"] = "anything";
    session.client.request(2, "workspace/executeCommand", {{"command", "maskfill.applyInstruction"}, {"arguments", {target}}});
    CHECK(error_code(session.client.response_to(2)) == -32801);
    CHECK_FALSE(sent(session.client, "workspace/applyEdit"));
  }
  SECTION("an empty instruction is invalid params") {
    target["instruction"] = "  ";
    session.client.request(1, "workspace/executeCommand", {{"command", "maskfill.applyInstruction"}, {"arguments", {target}}});
    CHECK(error_code(session.client.response_to(1)) == -32602);
  }
}

TEST_CASE("maskfill/fill and maskfill/edit return edits with their version, without applying", "[features]") {
  Script script;
  script.outputs = {"total / len(xs)"};
  Session session(script);
  session.wait_state("ready");
  session.client.request(1, "maskfill/fill", {{"textDocument", {{"uri", session.uri}}}, {"range", range(1, 12, 1, 13)}});
  json fill = session.client.response_to(1)["result"];
  CHECK(fill["version"] == 1);
  CHECK(fill["edits"].is_array());
  session.client.request(2, "maskfill/edit",
                         {{"textDocument", {{"uri", session.uri}}}, {"range", range(4, 0, 4, 11)}, {"instruction", "mean"}});
  json edit = session.client.response_to(2)["result"];
  CHECK(edit["version"] == 1);
  CHECK(edit["edits"].is_array());
  CHECK_FALSE(sent(session.client, "workspace/applyEdit"));
  session.client.request(3, "maskfill/fill", {{"textDocument", {{"uri", "file:///not/open.py"}}}, {"range", range(0, 0, 0, 1)}});
  CHECK(error_code(session.client.response_to(3)) == -32602);
}

TEST_CASE("a client without documentChanges gets the edit as changes", "[features]") {
  Script script;
  script.outputs = {"total / len(xs)"};
  Session session(script, {{"workspace", {{"applyEdit", true}}}});
  session.wait_state("ready");
  session.client.request(1, "workspace/executeCommand",
                         {{"command", "maskfill.fillSelection"},
                          {"arguments", {{{"uri", session.uri}, {"range", range(1, 12, 1, 13)}, {"version", 1}}}}});
  json apply = session.answer("workspace/applyEdit", {{"applied", true}});
  CHECK_FALSE(apply["params"]["edit"].contains("documentChanges"));
  REQUIRE(apply["params"]["edit"]["changes"].contains(session.uri));
  CHECK_FALSE(apply["params"]["edit"]["changes"][session.uri].empty());
  CHECK(session.client.response_to(1)["result"]["applied"] == true);
}

TEST_CASE("a failed model load is retried on maskfill.reload", "[features]") {
  Script script;
  script.failures_left = 1;
  Session session(script);
  CHECK(session.wait_state("error")["message"] == "scripted load failure");
  session.client.request(1, "workspace/executeCommand", {{"command", "maskfill.reload"}});
  json status = session.client.response_to(1)["result"];
  CHECK(status["state"] == "ready");
  CHECK(script.loads == 2);
  CHECK(session.inline_completion(2, 1).contains("result"));
}

TEST_CASE("a failed model load is retried when the model files change", "[features]") {
  Script script;
  auto dir = std::filesystem::temp_directory_path() / ("maskfill-watch-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  json capabilities = {{"textDocument", {{"inlineCompletion", {{"dynamicRegistration", true}}}}}};
  Session session(script, capabilities, {{"modelPath", dir.string()}});
  CHECK(session.wait_state("error")["message"].get<std::string>().find("config.json is missing") != std::string::npos);
  CHECK(script.loads == 1);
  std::ofstream(dir / "config.json") << "{}";
  // The watcher polls every ModelHost::kWatchIntervalMs (250 ms).
  CHECK(session.wait_state("ready")["model"] == "fake engine");
  CHECK(script.loads == 2);
  CHECK(session.client.message_with_method("client/registerCapability").is_object());
  std::filesystem::remove_all(dir);
}

TEST_CASE("model files that change while a failed load is reported still trigger a retry", "[features]") {
  // The watcher once took its "before" fingerprint only after the error was reported, so files
  // written in between (a busy machine, or a user quick to fix them) were never noticed.
  Script script;
  script.files_arrive_during_failed_load = true;
  auto dir = std::filesystem::temp_directory_path() / ("maskfill-race-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Session session(script, json::object(), {{"modelPath", dir.string()}});
  CHECK(session.wait_state("ready")["model"] == "fake engine");
  CHECK(script.loads == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("live settings apply without reloading the model, model settings reload it", "[features]") {
  Script script;
  Session session(script);
  session.wait_state("ready");
  REQUIRE(script.loads == 1);
  session.client.notify("workspace/didChangeConfiguration",
                        {{"settings", {{"maskfill", {{"prefixTokens", 100}, {"threshold", 0.5}, {"maxMs", 300},
                                                     {"inlineCompletion", {{"enabled", true}, {"debounceMs", 0}}},
                                                     {"serverPath", "/opt/maskfill"}, {"trace", {{"server", "verbose"}}}}}}}});
  session.status();  // the notification was handled before this answer
  Config config = session.client.server.config();
  CHECK(config.infill.prefix_tokens == 100);
  CHECK(config.inline_completion.debounce_ms == 0);
  CHECK(session.inline_completion(1, 1).contains("result"));
  CHECK(script.loads == 1);
  CHECK_FALSE(sent(session.client, "window/showMessage"));  // client-only settings are no error

  session.client.notify("workspace/didChangeConfiguration", {{"settings", {{"maskfill", {{"device", "cpu"}}}}}});
  session.inline_completion(2, 1);  // queued behind the reload on the worker
  CHECK(script.loads == 2);
}

TEST_CASE("inlineCompletion.enabled and inlineCompletion.debounceMs", "[features]") {
  Script script;
  SECTION("disabled: automatic requests get no items without running the model; invoked ones still work") {
    Session session(script, json::object(), {{"inlineCompletion", {{"enabled", false}}}});
    session.wait_state("ready");
    int calls = script.calls;
    CHECK(session.inline_completion(1, 2)["result"]["items"] == json::array());
    CHECK(script.calls == calls);
    CHECK_FALSE(session.inline_completion(2, 1)["result"]["items"].empty());
  }
  SECTION("debounced: a request superseded while waiting never runs the model") {
    Session session(script, json::object(), {{"inlineCompletion", {{"debounceMs", 400}}}});
    session.wait_state("ready");
    int calls = script.calls;
    session.client.request(1, "textDocument/inlineCompletion",
                           {{"textDocument", {{"uri", session.uri}}},
                            {"position", {{"line", 4}, {"character", 11}}},
                            {"context", {{"triggerKind", 2}}}});
    session.client.request(2, "textDocument/inlineCompletion",
                           {{"textDocument", {{"uri", session.uri}}},
                            {"position", {{"line", 4}, {"character", 11}}},
                            {"context", {{"triggerKind", 2}}}});
    CHECK(session.client.response_to(1)["result"]["items"] == json::array());
    int after_first = script.calls;
    CHECK(after_first == calls);  // the first never reached the model
    CHECK(session.client.response_to(2).contains("result"));
  }
}

TEST_CASE("every request and command in the protocol schema is served", "[features][schema]") {
  Script script;
  Session session(script);
  session.wait_state("ready");
  const json& schema = protocol_schema();
  int id = 100;
  for (const auto& [method, spec] : schema["requests"].items()) {
    if (spec["direction"] != "clientToServer" || spec.value("testOnly", false)) continue;
    session.client.request(++id, method, json::object());
    json response = session.client.response_to(id);
    INFO(method);
    CHECK(error_code(response) != -32601);
  }
  json advertised = session.init["result"]["capabilities"]["executeCommandProvider"]["commands"];
  for (const auto& [command, spec] : schema["commands"].items()) {
    INFO(command);
    bool server_side = spec["handledBy"] == "server";
    CHECK((std::find(advertised.begin(), advertised.end(), command) != advertised.end()) == server_side);
    if (!server_side) continue;
    session.client.request(++id, "workspace/executeCommand", {{"command", command}, {"arguments", json::array()}});
    json response = session.client.response_to(id);
    if (response.contains("error"))
      CHECK(response["error"]["message"].get<std::string>().find("unknown command") == std::string::npos);
  }
  // Code actions only carry commands the server executes.
  session.client.request(++id, "textDocument/codeAction",
                         {{"textDocument", {{"uri", session.uri}}}, {"range", range(1, 4, 1, 13)}, {"context", {{"triggerKind", 1}}}});
  const json actions = session.client.response_to(id)["result"];  // kept alive for the loop
  for (const json& action : actions) {
    INFO(action.dump());
    CHECK(std::find(advertised.begin(), advertised.end(), action["command"]["command"]) != advertised.end());
    CHECK(schema["commands"][action["command"]["command"].get<std::string>()]["codeAction"] == action["title"]);
  }
}

TEST_CASE("maskfill/nextEdits and copilotInlineEdit answer the sites of the latest edit, feedback is counted",
          "[features][next_edit]") {
  Script script;
  script.outputs = {"acc"};
  Session session(script);
  session.wait_state("ready");
  json position = {{"line", 1}, {"character", 7}};
  json document = {{"uri", session.uri}};
  // Nothing edited yet: nothing to suggest.
  session.client.request(1, "maskfill/nextEdits", {{"textDocument", document}, {"position", position}});
  CHECK(session.client.response_to(1)["result"]["edits"].empty());
  // Rename `total` on line 2 (1-based) as keystrokes: erase it, type `acc`.
  int version = 1;
  auto edit = [&](int from, int to, const std::string& text) {
    session.client.notify("textDocument/didChange",
                          {{"textDocument", {{"uri", session.uri}, {"version", ++version}}},
                           {"contentChanges", {{{"range", range(1, from, 1, to)}, {"text", text}}}}});
  };
  for (int end = 9; end > 4; --end) edit(end - 1, end, "");
  for (int i = 0; i < 3; ++i) edit(4 + i, 4 + i, std::string(1, "acc"[i]));
  session.client.request(2, "maskfill/nextEdits", {{"textDocument", document}, {"position", position}});
  json result = session.client.response_to(2)["result"];
  CHECK(result["version"] == version);
  REQUIRE(result["edits"].size() == 1);
  CHECK(result["edits"][0]["range"] == range(3, 8, 3, 13));  // `total += x`
  CHECK(result["edits"][0]["newText"] == "acc");
  CHECK(result["edits"][0]["id"].is_string());
  session.client.request(3, "textDocument/copilotInlineEdit",
                         {{"textDocument", {{"uri", session.uri}, {"version", version}}}, {"position", position}});
  json copilot = session.client.response_to(3)["result"];
  REQUIRE(copilot["edits"].size() == 1);
  CHECK(copilot["edits"][0]["text"] == "acc");
  CHECK(copilot["edits"][0]["range"] == range(3, 8, 3, 13));
  CHECK(copilot["edits"][0]["textDocument"]["version"] == version);
  json command = copilot["edits"][0]["command"];
  CHECK(command["command"] == "maskfill.didAcceptNextEdit");
  session.client.notify("textDocument/didShowInlineEdit", {{"item", copilot["edits"][0]}});
  session.client.request(4, "workspace/executeCommand", {{"command", command["command"]}, {"arguments", command["arguments"]}});
  session.client.response_to(4);
  session.client.notify("maskfill/didRejectNextEdit", {{"id", "7"}});
  json counts = session.status()["nextEdits"];
  CHECK(counts["suggested"] == 2);
  CHECK(counts["shown"] == 1);
  CHECK(counts["accepted"] == 1);
  CHECK(counts["rejected"] == 1);
  // Switched off: no history is kept and nothing is suggested.
  session.client.notify("workspace/didChangeConfiguration", {{"settings", {{"maskfill", {{"nextEdit.enabled", false}}}}}});
  session.client.request(5, "maskfill/nextEdits", {{"textDocument", document}, {"position", position}});
  CHECK(session.client.response_to(5)["result"]["edits"].empty());
}

TEST_CASE("maskfill/nextEdits answers a renamed definition's uses in workspace files that are not open",
          "[features][next_edit]") {
  char pattern[] = "/tmp/maskfill-features-XXXXXX";
  const std::filesystem::path root = std::filesystem::canonical(mkdtemp(pattern));
  std::ofstream(root / "use.py") << "from stats import mean\nprint(mean([1, 2]))\n";
  std::ofstream(root / "open.py") << "from stats import mean\n";
  std::ofstream(root / "other.go") << "package p\n\nvar m = mean(1)\n";
  Script script;
  script.outputs = {"acc"};
  Session session(script, json::object(), json(), {{"rootUri", "file://" + root.string()}});
  session.wait_state("ready");
  for (int i = 0; i < 3000 && !session.status()["index"]["ready"].get<bool>(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(session.status()["index"]["files"] == 3);
  // The open file's text is the editor's, not the disk's.
  const std::string open_uri = "file://" + (root / "open.py").string();
  session.client.notify("textDocument/didOpen", {{"textDocument", {{"uri", open_uri}, {"languageId", "python"},
                                                                   {"version", 7}, {"text", "x = mean([3])\n"}}}});
  session.client.notify("textDocument/didChange",
                        {{"textDocument", {{"uri", session.uri}, {"version", 2}}},
                         {"contentChanges", {{{"range", range(0, 4, 0, 8)}, {"text", "acc"}}}}});
  json position = {{"line", 0}, {"character", 7}};
  session.client.request(1, "maskfill/nextEdits", {{"textDocument", {{"uri", session.uri}}}, {"position", position}});
  json edits = session.client.response_to(1)["result"]["edits"];
  const std::string use_uri = "file://" + (root / "use.py").string();
  REQUIRE(edits.size() == 3);
  CHECK(edits[0]["textDocument"] == json{{"uri", open_uri}, {"version", 7}});
  CHECK(edits[0]["range"] == range(0, 4, 0, 8));
  CHECK(edits[0]["oldText"] == "mean");
  CHECK(edits[1]["textDocument"] == json{{"uri", use_uri}, {"version", nullptr}});
  CHECK(edits[1]["range"] == range(0, 18, 0, 22));
  CHECK(edits[1]["oldText"] == "mean");
  CHECK(edits[1]["newText"] == "acc");
  CHECK(edits[2]["textDocument"]["uri"] == use_uri);
  CHECK(edits[2]["range"] == range(1, 6, 1, 10));
  // Copilot's shape has no way to name a file that is not open.
  session.client.request(2, "textDocument/copilotInlineEdit",
                         {{"textDocument", {{"uri", session.uri}, {"version", 2}}}, {"position", position}});
  CHECK(session.client.response_to(2)["result"]["edits"].size() == 1);
  std::filesystem::remove_all(root);
}

TEST_CASE("maskfill/nextEdits answers a rename's uses in other open documents, with their uri and version",
          "[features][next_edit]") {
  Script script;
  script.outputs = {"acc"};
  Session session(script);
  session.wait_state("ready");
  const std::string other = "file:///tmp/maskfill-test/other.py";
  session.client.notify("textDocument/didOpen", {{"textDocument", {{"uri", other}, {"languageId", "python"},
                                                                   {"version", 4}, {"text", "print(total)\n"}}}});
  session.client.notify("textDocument/didChange",
                        {{"textDocument", {{"uri", session.uri}, {"version", 2}}},
                         {"contentChanges", {{{"range", range(1, 4, 1, 9)}, {"text", "acc"}}}}});
  json position = {{"line", 1}, {"character", 7}};
  session.client.request(1, "maskfill/nextEdits", {{"textDocument", {{"uri", session.uri}}}, {"position", position}});
  json edits = session.client.response_to(1)["result"]["edits"];
  REQUIRE(edits.size() == 2);
  CHECK(edits[0]["textDocument"] == json{{"uri", session.uri}, {"version", 2}});
  CHECK(edits[0]["range"] == range(3, 8, 3, 13));
  CHECK(edits[1]["textDocument"] == json{{"uri", other}, {"version", 4}});
  CHECK(edits[1]["range"] == range(0, 6, 0, 11));
  CHECK(edits[1]["newText"] == "acc");
  // Open documents kept out of prompts are kept out of next edits too.
  session.client.notify("workspace/didChangeConfiguration",
                        {{"settings", {{"maskfill", {{"context", {{"openDocuments", false}}}}}}}});
  session.client.request(2, "maskfill/nextEdits", {{"textDocument", {{"uri", session.uri}}}, {"position", position}});
  CHECK(session.client.response_to(2)["result"]["edits"].size() == 1);
}
