// The editing features (lsp-server/features.cpp, model_host.cpp) through the server's in-process
// message path with a scripted engine: the bundled model's tokenizer and config (no torch), and
// a generate() that returns canned code, one "denoising step" per block while polling the
// cancellation check. So these tests pin the protocol behaviour, independent of the model.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "inference/model_files.h"
#include "inference/tokenizer.h"
#include "lsp-server/transport.h"
#include "server_harness.h"

using namespace maskfill;
using namespace maskfill::lsp;
using namespace maskfill::lsp::testing;

namespace {

std::string bundled_model_dir() {
  return (std::filesystem::path(__FILE__).parent_path() / "../../models/maskfill-tiny").lexically_normal().string();
}

struct Script {
  std::vector<std::string> outputs = {"total"};  // candidate i (seed + i) gets outputs[i % size]
  int step_ms = 0;                               // sleep per denoising step (one block)
  std::atomic<int> calls{0};
  std::atomic<int> cancelled_calls{0};
  std::atomic<int> loads{0};
  std::vector<std::string> loaded_paths;  // worker thread only until the test reads it
};

class ScriptedEngine : public Engine {
 public:
  ScriptedEngine(const ModelFiles& files, Script& script)
      : files_(files), tokenizer_(Tokenizer::from_file(files.tokenizer_json_path)), script_(script) {}
  const Tokenizer& tokenizer() const override { return tokenizer_; }
  const ModelConfig& config() const override { return files_.config; }
  const TokenizerConfig& tokenizer_config() const override { return files_.tokenizer_config; }
  std::string description() const override { return "scripted engine"; }

  DecodeResult generate(const std::vector<int32_t>&, const DecodeOptions& options, const CancelCheck& cancel) override {
    ++script_.calls;
    DecodeResult result;
    int steps = std::max(1, options.gen_length / 4);
    for (int step = 0; step < steps; ++step) {
      if (cancel && cancel()) {
        ++script_.cancelled_calls;
        result.stop = StopReason::Cancelled;
        return result;
      }
      if (script_.step_ms) std::this_thread::sleep_for(std::chrono::milliseconds(script_.step_ms));
    }
    result.text = script_.outputs[options.seed % script_.outputs.size()];
    result.tokens = tokenizer_.encode(result.text);
    result.tokens.push_back(files_.config.eos_token_id);
    result.stop = StopReason::Eos;
    return result;
  }
  DecodeResult generate_autoregressive(const std::vector<int32_t>& prompt, int max_new_tokens,
                                       const CancelCheck& cancel) override {
    DecodeOptions options;
    options.gen_length = max_new_tokens;
    return generate(prompt, options, cancel);
  }

 private:
  ModelFiles files_;
  Tokenizer tokenizer_;
  Script& script_;
};

ServerOptions scripted(Script& script) {
  ServerOptions options;
  options.engine_factory = [&script](const Config& config) -> std::unique_ptr<Engine> {
    ++script.loads;
    script.loaded_paths.push_back(config.model_path);
    if (config.model_path == "/broken") throw std::runtime_error("config.json is missing in /broken");
    return std::make_unique<ScriptedEngine>(locate_model_files(bundled_model_dir()), script);
  };
  return options;
}

// A client session with the features registered, initialized and with one Python file open.
struct Session {
  explicit Session(Script& script, const json& capabilities = json::object(), const json& options = json())
      : client(scripted(script)) {
    register_features(client.server);
    init = client.initialize(capabilities, options);
    client.notify("textDocument/didOpen",
                  {{"textDocument", {{"uri", uri}, {"languageId", "python"}, {"version", 1}, {"text", text}}}});
  }
  json status() {
    client.request("status-" + std::to_string(++serial), "maskfill/status");
    return client.response_to("status-" + std::to_string(serial))["result"];
  }
  // Waits until maskfill/status (the request) reports `state`.
  json wait_state(const std::string& state) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
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
  void change(int version, const std::string& new_text) {
    client.notify("textDocument/didChange", {{"textDocument", {{"uri", uri}, {"version", version}}},
                                             {"contentChanges", {{{"text", new_text}}}}});
  }

  std::string uri = "file:///unit/mean.py";
  std::string text = "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return \n";
  Harness client;
  json init;
  int serial = 0;
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

TEST_CASE("the model loads after initialized; status, progress and dynamic registration follow it", "[features]") {
  Script script;
  json capabilities = {{"textDocument", {{"inlineCompletion", {{"dynamicRegistration", true}}}}},
                       {"window", {{"workDoneProgress", true}}}};
  Session session(script, capabilities);
  CHECK_FALSE(session.init["result"]["capabilities"].contains("inlineCompletionProvider"));
  auto commands = session.init["result"]["capabilities"]["executeCommandProvider"]["commands"];
  CHECK(commands == json({"maskfill.fillSelection", "maskfill.applyInstruction", "maskfill.didAccept"}));

  json ready = session.wait_state("ready");
  CHECK(ready["model"] == "scripted engine");
  CHECK(script.loads == 1);
  json registration = session.client.message_with_method("client/registerCapability");
  CHECK(registration["params"]["registrations"][0]["method"] == "textDocument/inlineCompletion");

  std::vector<json> messages = session.client.messages();
  auto method_is = [](const std::string& method) { return [method](const json& m) { return m.value("method", "") == method; }; };
  size_t create = index_of(messages, method_is("window/workDoneProgress/create"));
  size_t begin = index_of(messages, [](const json& m) { return m.value("method", "") == "$/progress" && m["params"]["value"]["kind"] == "begin"; });
  size_t end = index_of(messages, [](const json& m) { return m.value("method", "") == "$/progress" && m["params"]["value"]["kind"] == "end"; });
  size_t loading = index_of(messages, [](const json& m) { return m.value("method", "") == "maskfill/status" && m["params"]["state"] == "loading"; });
  size_t ready_note = index_of(messages, [](const json& m) { return m.value("method", "") == "maskfill/status" && m["params"]["state"] == "ready"; });
  CHECK(create < begin);
  CHECK(begin < end);
  CHECK(end < messages.size());
  CHECK(loading < ready_note);
  CHECK(ready_note < messages.size());
  CHECK(messages[begin]["params"]["token"] == messages[create]["params"]["token"]);
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

  json answer = session.inline_completion(7, 1);
  CHECK(error_code(answer) == -32803);
  CHECK(answer["error"]["message"].get<std::string>().find("config.json is missing") != std::string::npos);
  session.client.request(8, "maskfill/debugDocument", {{"uri", session.uri}});
  CHECK(session.client.response_to(8).contains("result"));

  SECTION("fixing the model path reloads the model and registers inline completion") {
    session.client.notify("workspace/didChangeConfiguration", {{"settings", {{"maskfill", {{"modelPath", "/fixed"}}}}}});
    CHECK(session.wait_state("ready")["model"] == "scripted engine");
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
    CHECK(script.cancelled_calls == 1);  // the decoding saw the cancellation between steps
    CHECK(script.calls == 1);            // and no further candidate was started
  }
  SECTION("a newer request for the same document supersedes the older one") {
    session.client.request(1, "textDocument/inlineCompletion",
                           {{"textDocument", {{"uri", session.uri}}},
                            {"position", {{"line", 4}, {"character", 11}}},
                            {"context", {{"triggerKind", 2}}}});
    json newer = session.inline_completion(2, 2);
    CHECK(error_code(session.client.response_to(1)) == -32800);
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
                         {{"textDocument", {{"uri", session.uri}}}, {"range", range(1, 4, 1, 4)}, {"context", json::object()}});
  json empty_range = session.client.response_to(2)["result"];
  REQUIRE(empty_range.size() == 1);
  CHECK(empty_range[0]["command"]["command"] == "maskfill.editWithInstruction");

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
    json response = session.client.response_to(1);
    REQUIRE(response.contains("result"));
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
    REQUIRE(session.client.response_to(1).contains("result"));
    json apply = session.client.message_with_method("workspace/applyEdit");
    CHECK(apply["params"]["edit"]["documentChanges"][0]["textDocument"]["version"] == 1);
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
