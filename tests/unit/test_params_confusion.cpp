// Type confusion in LSP params and settings: for every method the server handles, each field of
// a valid params object is replaced in turn by null, a number, a string, an array, an object and
// a boolean. Whatever the server answers (a result, an error, a window/showMessage), no library
// exception text reaches the client, wrong-type errors name the method and the field, and the
// server keeps answering. Deterministic: the variants are generated, not sampled.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "lsp-server/transport.h"
#include "server_harness.h"

using namespace maskfill;
using namespace maskfill::lsp;
using namespace maskfill::lsp::testing;

namespace {

const std::string kUri = "file:///confusion/a.py";
const std::string kText = "def add(a, b):\n    return a + b\n";

struct Variant {
  std::string where;  // JSON pointer of the replaced field
  std::string kind;
  json params;
};

void collect(const json& value, const json::json_pointer& at, std::vector<json::json_pointer>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      out.push_back(at / key);
      collect(child, at / key, out);
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      out.push_back(at / i);
      collect(value[i], at / i, out);
    }
  }
}

std::vector<Variant> variants(const json& base) {
  static const std::vector<std::pair<const char*, json>> replacements = {
      {"null", json(nullptr)}, {"number", json(0)},      {"negative", json(-3)},        {"huge", json(1e300)},
      {"string", json("x")},   {"array", json::array()}, {"object", json::object()},    {"boolean", json(false)},
  };
  std::vector<json::json_pointer> fields;
  collect(base, json::json_pointer(), fields);
  std::vector<Variant> out;
  for (const auto& field : fields)
    for (const auto& [kind, value] : replacements) {
      json params = base;
      params[field] = value;
      out.push_back({field.to_string(), kind, params});
    }
  for (const auto& [kind, value] : replacements) out.push_back({"(params)", kind, value});
  return out;
}

ServerOptions no_model() {
  ServerOptions options;
  options.engine_factory = [](const Config&) -> std::unique_ptr<Engine> {
    throw std::runtime_error("no model in this test");
  };
  return options;
}

void check_clean(const json& message, const std::string& context) {
  std::string text = message.dump();
  INFO(context << " -> " << text.substr(0, 400));
  CHECK(text.find("json.exception") == std::string::npos);
  CHECK(text.find("[json") == std::string::npos);
  if (message.contains("error")) {
    std::string error = message["error"].value("message", "");
    CHECK_FALSE(error.empty());
    // A wrong-type or missing field is named with its dotted path.
    if (error.find("field '") != std::string::npos) CHECK(error.find("params") != std::string::npos);
  }
}

struct Method {
  std::string name;
  bool request;
  json params;
};

std::vector<Method> methods() {
  json range = {{"start", {{"line", 1}, {"character", 4}}}, {"end", {{"line", 1}, {"character", 16}}}};
  return {
      {"textDocument/didOpen", false,
       {{"textDocument", {{"uri", "file:///confusion/b.py"}, {"languageId", "python"}, {"version", 1}, {"text", kText}}}}},
      {"textDocument/didChange", false,
       {{"textDocument", {{"uri", kUri}, {"version", 2}}},
        {"contentChanges", {{{"range", range}, {"text", "a - b"}}, {{"text", kText}}}}}},
      {"textDocument/didSave", false, {{"textDocument", {{"uri", kUri}}}}},
      {"textDocument/didClose", false, {{"textDocument", {{"uri", "file:///confusion/none.py"}}}}},
      {"$/cancelRequest", false, {{"id", 12345}}},
      {"workspace/didChangeConfiguration", false,
       {{"settings", {{"maskfill", {{"threads", 2}, {"maxNewTokens", 16}, {"threshold", 0.9}, {"device", "cpu"}}}}}}},
      {"textDocument/codeAction", true,
       {{"textDocument", {{"uri", kUri}}}, {"range", range}, {"context", {{"only", {"refactor.rewrite"}}, {"diagnostics", json::array()}}}}},
      {"textDocument/inlineCompletion", true,
       {{"textDocument", {{"uri", kUri}}}, {"position", {{"line", 1}, {"character", 11}}}, {"context", {{"triggerKind", 1}}}}},
      {"maskfill/fill", true, {{"textDocument", {{"uri", kUri}}}, {"range", range}}},
      {"maskfill/edit", true, {{"textDocument", {{"uri", kUri}}}, {"range", range}, {"instruction", "use sum"}}},
      {"workspace/executeCommand", true,
       {{"command", "maskfill.applyInstruction"},
        {"arguments", {{{"uri", kUri}, {"range", range}, {"version", 1}, {"instruction", "use sum"}}}}}},
      {"maskfill/status", true, json::object()},
      {"maskfill/debugDocument", true, {{"uri", kUri}}},
      {"maskfill/debugWait", true, {{"ms", 1}, {"uri", kUri}}},
  };
}

}  // namespace

TEST_CASE("type confusion in every method's params never leaks library text") {
  for (const Method& method : methods()) {
    Harness client(no_model());
    register_features(client.server);
    client.initialize();
    client.notify("textDocument/didOpen",
                  {{"textDocument", {{"uri", kUri}, {"languageId", "python"}, {"version", 1}, {"text", kText}}}});
    int serial = 0;
    size_t checked = 0;
    for (const Variant& variant : variants(method.params)) {
      std::string context = method.name + " with " + variant.where + " = " + variant.kind;
      size_t before = client.count();
      if (method.request) {
        std::string id = "v" + std::to_string(++serial);
        client.request(id, method.name, variant.params);
        json response = client.response_to(id);
        INFO(context);
        REQUIRE_FALSE(response.is_null());  // answered (within the harness' wait)
      } else {
        client.notify(method.name, variant.params);
      }
      // Notifications are handled synchronously; requests were waited for above.
      std::vector<json> messages = client.messages();
      for (size_t i = before; i < messages.size(); ++i, ++checked) check_clean(messages[i], context);
    }
    // Still alive and sane after all of it.
    client.request("ping", "maskfill/status");
    CHECK(client.response_to("ping").contains("result"));
    INFO(method.name);
    CHECK(checked > 0);
  }
}

TEST_CASE("wrong-type params: -32602 naming the method and the field") {
  Harness client(no_model());
  register_features(client.server);
  client.initialize();
  client.notify("textDocument/didOpen",
                {{"textDocument", {{"uri", kUri}, {"languageId", "python"}, {"version", 1}, {"text", kText}}}});
  client.request(1, "textDocument/inlineCompletion",
                 {{"textDocument", {{"uri", kUri}}}, {"position", {{"line", "1"}, {"character", 0}}}});
  json response = client.response_to(1);
  REQUIRE(error_code(response) == -32602);
  CHECK(response["error"]["message"] ==
        "textDocument/inlineCompletion params: field 'position.line' must be an integer from 0 to 4294967295, got string \"1\"");
  client.request(2, "textDocument/codeAction", {{"textDocument", {{"uri", 7}}}, {"range", json::object()}});
  response = client.response_to(2);
  REQUIRE(error_code(response) == -32602);
  CHECK(response["error"]["message"] == "textDocument/codeAction params: field 'textDocument.uri' must be a string, got number 7");
  // A notification has no response: the problem is shown to the user, without library text.
  size_t before = client.count();
  client.notify("textDocument/didChange", {{"textDocument", {{"uri", kUri}, {"version", "2"}}}, {"contentChanges", json::array()}});
  json shown = client.wait_for([&](const json& m) {
    return m.value("method", "") == "window/showMessage" &&
           m["params"].value("message", "").find("didChange") != std::string::npos;
  });
  REQUIRE_FALSE(shown.is_null());
  CHECK(client.count() > before);
  CHECK(shown["params"]["message"] ==
        "maskfill: textDocument/didChange params: field 'textDocument.version' must be an integer from -2147483648 to "
        "2147483647, got string \"2\"");
}

TEST_CASE("test-only methods exist only when asked for") {
  ServerOptions options;
  std::vector<json> sent;
  Server server(options, [&](const json& message) { sent.push_back(message); });
  server.receive(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}})");
  server.receive(R"({"jsonrpc":"2.0","id":2,"method":"maskfill/debugWait","params":{"ms":1}})");
  server.receive(R"({"jsonrpc":"2.0","id":3,"method":"maskfill/debugDocument","params":{"uri":"file:///x"}})");
  REQUIRE(sent.size() == 3);
  CHECK(error_code(sent[1]) == -32601);
  CHECK(error_code(sent[2]) == -32601);
  options.test_methods = true;
  sent.clear();
  Server with(options, [&](const json& message) { sent.push_back(message); });
  with.receive(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}})");
  with.receive(R"({"jsonrpc":"2.0","id":3,"method":"maskfill/debugDocument","params":{"uri":"file:///x"}})");
  REQUIRE(sent.size() == 2);
  CHECK(error_code(sent[1]) == -32602);  // known method; the document is not open
}
