#include <catch2/catch.hpp>

#include "server_harness.h"

using namespace maskfill::lsp;
using namespace maskfill::lsp::testing;

TEST_CASE("requests before initialize get -32002, notifications are dropped", "[server]") {
  Harness client;
  client.request(1, "maskfill/debugDocument", {{"uri", "file:///a.py"}});
  CHECK(error_code(client.response_to(1)) == -32002);
  client.notify("textDocument/didOpen", {{"textDocument", {{"uri", "file:///a.py"}, {"languageId", "python"},
                                                           {"version", 1}, {"text", "x"}}}});
  CHECK(client.server.documents().size() == 0);
}

TEST_CASE("initialize negotiates the position encoding", "[server]") {
  SECTION("utf-16 by default") {
    Harness client;
    json response = client.initialize();
    CHECK(response["result"]["capabilities"]["positionEncoding"] == "utf-16");
    CHECK(response["result"]["capabilities"]["textDocumentSync"]["change"] == 2);
    CHECK(response["result"]["serverInfo"]["name"] == "maskfill");
    CHECK(client.server.encoding() == PositionEncoding::Utf16);
  }
  SECTION("utf-8 when offered") {
    Harness client;
    json response = client.initialize({{"general", {{"positionEncodings", {"utf-32", "utf-8", "utf-16"}}}}});
    CHECK(response["result"]["capabilities"]["positionEncoding"] == "utf-8");
    CHECK(client.server.encoding() == PositionEncoding::Utf8);
  }
  SECTION("a second initialize is an invalid request") {
    Harness client;
    client.initialize();
    client.request(2, "initialize", {{"capabilities", json::object()}});
    CHECK(error_code(client.response_to(2)) == -32600);
  }
  SECTION("malformed initialize params are invalid params, and initialize can be retried") {
    Harness client;
    client.request(3, "initialize", {{"capabilities", 5}});
    CHECK(error_code(client.response_to(3)) == -32602);
    CHECK(client.initialize().contains("result"));
  }
}

TEST_CASE("protocol errors", "[server]") {
  Harness client;
  client.initialize();
  size_t before = client.count();
  client.notify("$/someExtension", {{"x", 1}});
  client.notify("$/setTrace", {{"value", "off"}});
  client.notify("unknown/notification");
  CHECK(client.count() == before);  // nothing is answered to notifications

  client.request(10, "no/such/method");
  CHECK(error_code(client.response_to(10)) == -32601);
  client.server.receive("{\"jsonrpc\":\"2.0\",\"id\":11,");
  CHECK(error_code(client.wait_for([](const json& m) { return m["id"].is_null(); })) == -32700);
  client.send({{"jsonrpc", "2.0"}, {"id", 12}, {"method", 5}});
  CHECK(error_code(client.response_to(12)) == -32600);
  client.request(13, "maskfill/debugDocument", {{"uri", 42}});
  CHECK(error_code(client.response_to(13)) == -32602);
  client.request(14, "maskfill/debugDocument", {{"uri", "file:///not-open.py"}});
  CHECK(error_code(client.response_to(14)) == -32602);
}

TEST_CASE("a failing notification is reported and the session continues", "[server]") {
  Harness client;
  client.initialize();
  client.notify("textDocument/didChange", {{"textDocument", {{"uri", "file:///nope.py"}, {"version", 2}}},
                                           {"contentChanges", json::array()}});
  json message = client.message_with_method("window/showMessage");
  CHECK(message["params"]["message"].get<std::string>().find("document not open") != std::string::npos);
  client.request(1, "shutdown");
  CHECK(client.response_to(1)["result"].is_null());
}

TEST_CASE("debugDocument reports the synced text and tree", "[server]") {
  Harness client;
  client.initialize();
  client.notify("textDocument/didOpen", {{"textDocument", {{"uri", "file:///a.py"}, {"languageId", "python"},
                                                           {"version", 1}, {"text", "x = 1\n"}}}});
  client.notify("textDocument/didChange",
                {{"textDocument", {{"uri", "file:///a.py"}, {"version", 2}}},
                 {"contentChanges", {{{"range", {{"start", {{"line", 0}, {"character", 4}}},
                                                 {"end", {{"line", 0}, {"character", 5}}}}},
                                      {"text", "[2]"}}}}});
  client.request(1, "maskfill/debugDocument", {{"uri", "file:///a.py"}});
  json result = client.response_to(1)["result"];
  CHECK(result["text"] == "x = [2]\n");
  CHECK(result["version"] == 2);
  CHECK(result["language"] == "python");
  CHECK(result["tree"].get<std::string>().find("(list (integer))") != std::string::npos);
  client.notify("textDocument/didClose", {{"textDocument", {{"uri", "file:///a.py"}}}});
  client.request(2, "maskfill/debugDocument", {{"uri", "file:///a.py"}});
  CHECK(error_code(client.response_to(2)) == -32602);
}

TEST_CASE("shutdown and exit codes", "[server]") {
  SECTION("exit after shutdown is 0; requests after shutdown are invalid") {
    Harness client;
    client.initialize();
    client.request(1, "shutdown");
    CHECK(client.response_to(1)["result"].is_null());
    client.request(2, "maskfill/debugDocument", {{"uri", "file:///a.py"}});
    CHECK(error_code(client.response_to(2)) == -32600);
    CHECK_FALSE(client.server.exited());
    client.notify("exit");
    CHECK(client.server.exited());
    CHECK(client.server.exit_code() == 0);
  }
  SECTION("exit without shutdown is 1") {
    Harness client;
    client.initialize();
    client.notify("exit");
    CHECK(client.server.exited());
    CHECK(client.server.exit_code() == 1);
  }
  SECTION("end of input without shutdown is 1") {
    Harness client;
    client.server.end_of_input();
    CHECK(client.server.exit_code() == 1);
  }
}

namespace {

// A worker request that polls its token until cancelled (or 5 s pass).
void register_slow_request(Server& server) {
  server.on_request("test/slow", [&server](const json& id, const json& params) -> std::optional<json> {
    server.run_on_worker(id, "slow", params.value("uri", ""), [](const CancelToken& token) {
      for (int i = 0; i < 5000 && !token.cancelled(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return json("finished");
    });
    return std::nullopt;
  });
}

}  // namespace

TEST_CASE("worker requests: -32800 only for $/cancelRequest, supersession and shutdown answer -32802", "[server]") {
  Harness client;
  register_slow_request(client.server);
  client.initialize();
  client.request(1, "test/slow", {{"uri", "file:///a"}});
  client.request(2, "test/slow", {{"uri", "file:///b"}});  // queued behind 1
  client.notify("$/cancelRequest", {{"id", 2}});
  CHECK(error_code(client.response_to(2)) == -32800);
  client.request(3, "test/slow", {{"uri", "file:///a"}});  // supersedes 1 (running)
  CHECK(error_code(client.response_to(1)) == -32802);  // the server, not the client, cancelled it
  client.notify("$/cancelRequest", {{"id", 3}});
  CHECK(error_code(client.response_to(3)) == -32800);
  client.request("s", "test/slow", {{"uri", "file:///c"}});
  client.request(4, "shutdown");
  CHECK(client.response_to(4)["result"].is_null());
  CHECK(error_code(client.response_to("s")) == -32802);
  // Every request got exactly one response.
  for (json id : {json(1), json(2), json(3), json("s"), json(4)}) {
    int responses = 0;
    for (const json& m : client.messages()) responses += m.contains("id") && m["id"] == id;
    CHECK(responses == 1);
  }
}
