#include <catch2/catch.hpp>

#include "server_harness.h"

using namespace maskfill::lsp;
using namespace maskfill::lsp::testing;

TEST_CASE("settings are applied field by field", "[config]") {
  ConfigUpdate update = apply_settings(Config{}, {{"maskfill", {{"modelPath", "/m"}, {"device", "cuda:1"},
                                                                {"dtype", "bfloat16"}, {"maxNewTokens", 32},
                                                                {"prefixTokens", 100}, {"threshold", nullptr}}}});
  CHECK(update.errors.empty());
  CHECK(update.config.model_path == "/m");
  CHECK(update.config.device.device == "cuda:1");
  CHECK(update.config.device.dtype == "bfloat16");
  CHECK(update.config.infill.max_new_tokens == 32);
  CHECK(update.config.infill.prefix_tokens == 100);
  CHECK_FALSE(update.config.infill.threshold.has_value());
}

TEST_CASE("invalid settings are reported and keep the previous value", "[config]") {
  Config base;
  ConfigUpdate update = apply_settings(base, {{"device", "tpu"}, {"maxNewTokens", -3}, {"dtype", "float32"},
                                              {"threshold", 2}, {"colour", "red"}});
  CHECK(update.errors.size() == 3);
  CHECK(update.warnings.size() == 1);
  CHECK(update.config.device.device == base.device.device);
  CHECK(update.config.infill.max_new_tokens == base.infill.max_new_tokens);
  CHECK(update.config.device.dtype == "float32");  // the valid field still applies
  CHECK(apply_settings(base, json::array()).errors.size() == 1);
}

TEST_CASE("initializationOptions and didChangeConfiguration reach the server", "[config]") {
  Harness client;
  client.initialize(json::object(), {{"maxNewTokens", 16}, {"device", "gpu"}});
  CHECK(client.server.config().infill.max_new_tokens == 16);
  json shown = client.message_with_method("window/showMessage");
  CHECK(shown["params"]["type"] == 1);
  CHECK(shown["params"]["message"].get<std::string>().find("'device'") != std::string::npos);

  client.notify("workspace/didChangeConfiguration", {{"settings", {{"maskfill", {{"maxMs", 250}}}}}});
  CHECK(client.server.config().infill.max_ms == 250);
}

TEST_CASE("didChangeConfiguration without settings pulls workspace/configuration", "[config]") {
  Harness client;
  client.initialize({{"workspace", {{"configuration", true}}}});
  client.notify("workspace/didChangeConfiguration", {{"settings", nullptr}});
  json request = client.message_with_method("workspace/configuration");
  REQUIRE(request.contains("id"));
  CHECK(request["params"]["items"][0]["section"] == "maskfill");
  client.send({{"jsonrpc", "2.0"}, {"id", request["id"]}, {"result", {{{"suffixTokens", 7}}}}});
  CHECK(client.server.config().infill.suffix_tokens == 7);
}
