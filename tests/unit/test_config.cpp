#include <catch2/catch.hpp>

#include "lsp-server/protocol_schema.h"
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

// ---- the settings in editors/protocol.json against the server's bindings ----------------------

TEST_CASE("every server setting in the protocol schema is bound, with the schema's default", "[config][schema]") {
  const json& settings = protocol_schema()["settings"];
  std::vector<std::string> bound = bound_settings();
  json defaults = settings_to_json(Config{});
  for (const auto& [name, spec] : settings.items()) {
    INFO(name);
    bool client_only = spec.value("clientOnly", false);
    bool is_bound = std::find(bound.begin(), bound.end(), name) != bound.end();
    CHECK(is_bound != client_only);
    if (is_bound) CHECK(defaults[name] == spec["default"]);
    CHECK((client_only || spec["apply"] == "live" || spec["apply"] == "reload"));
  }
  for (const std::string& name : bound) {
    INFO(name);
    CHECK(settings.contains(name));
  }
  // "reload" is exactly what Config::same_model compares.
  for (const auto& [name, spec] : settings.items()) {
    if (spec.value("clientOnly", false)) continue;
    json changed = spec["type"] == "boolean" ? json(!spec["default"].get<bool>())
                   : spec.contains("enum") ? spec["enum"].back()
                   : name == "device" ? json("cuda:3")
                   : spec["type"] == "string" ? json("/elsewhere")
                   : json(spec["maximum"]);
    ConfigUpdate update = apply_settings(Config{}, {{name, changed}});
    INFO(name << " = " << changed.dump());
    REQUIRE(update.errors.empty());
    CHECK(update.config.same_model(Config{}) == (spec["apply"] == "live"));
  }
}

TEST_CASE("settings are checked against the schema's types and ranges", "[config][schema]") {
  for (const auto& [name, spec] : protocol_schema()["settings"].items()) {
    if (spec.value("clientOnly", false)) continue;
    INFO(name);
    std::vector<json> bad = {json::array(), json::object(), json("x") , json(true)};
    if (spec.contains("minimum")) bad.push_back(spec["minimum"].get<double>() - 1);
    if (spec.contains("exclusiveMinimum")) bad.push_back(spec["exclusiveMinimum"]);
    if (spec.contains("maximum")) bad.push_back(spec["maximum"].get<double>() + 1);
    if (spec.contains("enum") || spec.contains("pattern")) bad.push_back("no-such-value");
    for (const json& value : bad) {
      if (spec["type"] == value.type_name() || (spec["type"] == "boolean" && value.is_boolean()) ||
          (spec["type"] == "string" && value == "x" && !spec.contains("enum") && !spec.contains("pattern")))
        continue;  // a valid value of that type
      ConfigUpdate update = apply_settings(Config{}, {{name, value}});
      INFO(value.dump());
      CHECK(update.errors.size() == 1);
      CHECK(settings_to_json(update.config) == settings_to_json(Config{}));
    }
  }
}

TEST_CASE("nested settings, client-only settings and unknown ones", "[config][schema]") {
  ConfigUpdate update = apply_settings(
      Config{}, {{"maskfill", {{"inlineCompletion", {{"enabled", false}, {"debounceMs", 0}}},
                               {"serverPath", "/opt/maskfill"}, {"trace", {{"server", "verbose"}}},
                               {"inlineCompletion.debounceMs", 20}, {"colour", "red"}}}});
  CHECK(update.errors.empty());
  CHECK_FALSE(update.config.inline_completion.enabled);
  CHECK(update.warnings == std::vector<std::string>{"unknown setting 'colour' ignored"});
  CHECK(apply_settings(Config{}, {{"inlineCompletion", {{"debounceMs", 9000}}}}).errors.size() == 1);
  CHECK(apply_settings(Config{}, {{"device", "cuda:12"}}).config.device.device == "cuda:12");
}
