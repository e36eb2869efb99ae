#include "lsp-server/config.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <regex>

#include "lsp-server/protocol_schema.h"

namespace maskfill::lsp {
namespace {

using json = nlohmann::json;

// How a schema setting maps onto Config. The value handed to `set` has passed the schema's
// type and range checks.
struct Binding {
  std::function<void(const json&, Config&)> set;
  std::function<json(const Config&)> get;
};

template <typename T>
Binding field(std::function<T&(Config&)> member) {
  return {[member](const json& value, Config& config) { member(config) = value.get<T>(); },
          [member](const Config& config) { return json(member(const_cast<Config&>(config))); }};
}

const std::map<std::string, Binding>& bindings() {
  static const std::map<std::string, Binding> table = {
      {"modelPath", field<std::string>([](Config& c) -> std::string& { return c.model_path; })},
      {"device", field<std::string>([](Config& c) -> std::string& { return c.device.device; })},
      {"dtype", field<std::string>([](Config& c) -> std::string& { return c.device.dtype; })},
      {"threads", field<int>([](Config& c) -> int& { return c.device.threads; })},
      {"prefixTokens", field<int>([](Config& c) -> int& { return c.infill.prefix_tokens; })},
      {"suffixTokens", field<int>([](Config& c) -> int& { return c.infill.suffix_tokens; })},
      {"maxNewTokens", field<int>([](Config& c) -> int& { return c.infill.max_new_tokens; })},
      {"candidates", field<int>([](Config& c) -> int& { return c.infill.candidates_invoked; })},
      {"maxMs", field<int>([](Config& c) -> int& { return c.infill.max_ms; })},
      {"threshold",
       {[](const json& value, Config& config) {
          if (value.is_null()) config.infill.threshold.reset();
          else config.infill.threshold = value.get<double>();
        },
        [](const Config& config) { return config.infill.threshold ? json(*config.infill.threshold) : json(); }}},
      {"context.maxTokens", field<int>([](Config& c) -> int& { return c.context.max_tokens; })},
      {"context.openDocuments", field<bool>([](Config& c) -> bool& { return c.context.open_documents; })},
      {"context.recentEdits", field<bool>([](Config& c) -> bool& { return c.context.recent_edits; })},
      {"context.definitions", field<bool>([](Config& c) -> bool& { return c.context.definitions; })},
      {"context.sameFile", field<bool>([](Config& c) -> bool& { return c.context.same_file; })},
      {"context.workspaceIndex", field<bool>([](Config& c) -> bool& { return c.workspace_index; })},
      {"nextEdit.enabled", field<bool>([](Config& c) -> bool& { return c.next_edit_enabled; })},
      {"nextEdit.maxSites", field<int>([](Config& c) -> int& { return c.infill.next_edit_max_sites; })},
      {"nextEdit.minConfidence", field<double>([](Config& c) -> double& { return c.infill.next_edit_min_confidence; })},
      {"nextEdit.form",
       {[](const json& value, Config& config) {
          config.infill.next_edit_form =
              value.get<std::string>() == "instruction" ? NextEditForm::Instruction : NextEditForm::MaskedSpans;
        },
        [](const Config& config) { return json(next_edit_form_name(config.infill.next_edit_form)); }}},
      {"inlineCompletion.enabled", field<bool>([](Config& c) -> bool& { return c.inline_completion.enabled; })},
      {"inlineCompletion.debounceMs", field<int>([](Config& c) -> int& { return c.inline_completion.debounce_ms; })},
      {"backend.url", field<std::string>([](Config& c) -> std::string& { return c.backend.url; })},
      {"backend.apiKeyFile", field<std::string>([](Config& c) -> std::string& { return c.backend.api_key_file; })},
      {"backend.timeoutMs", field<int>([](Config& c) -> int& { return c.backend.timeout_ms; })},
      {"backend.prompt", field<std::string>([](Config& c) -> std::string& { return c.backend.prompt; })},
  };
  return table;
}

bool has_type(const json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return value.is_number_integer() || (value.is_number_float() && std::trunc(value.get<double>()) == value.get<double>());
  if (type == "number") return value.is_number();
  if (type == "null") return value.is_null();
  return false;
}

std::string number_text(const json& bound) {
  return bound.is_number_integer() ? std::to_string(bound.get<int64_t>()) : bound.dump();
}

// "" when `value` satisfies the schema entry, else what it must be.
std::string check_value(const json& spec, const json& value) {
  std::vector<std::string> types;
  if (spec["type"].is_array()) types = spec["type"].get<std::vector<std::string>>();
  else types.push_back(spec["type"].get<std::string>());
  bool typed = false;
  for (const std::string& type : types) typed = typed || has_type(value, type);
  bool nullable = std::find(types.begin(), types.end(), "null") != types.end();
  const std::string kind = types.front() == "integer" ? "an integer" : types.front() == "number" ? "a number"
                           : types.front() == "boolean" ? "true or false" : "a string";
  std::string range;
  if (spec.contains("minimum") && spec.contains("maximum"))
    range = " from " + number_text(spec["minimum"]) + " to " + number_text(spec["maximum"]);
  else if (spec.contains("exclusiveMinimum") && spec.contains("maximum"))
    range = " in (" + number_text(spec["exclusiveMinimum"]) + ", " + number_text(spec["maximum"]) + "]";
  std::string wanted = "must be " + kind + range + (nullable ? ", or null" : "");
  if (spec.contains("enum")) {
    wanted = "must be one of";
    for (const json& option : spec["enum"]) wanted += " " + option.dump();
  }
  if (spec.contains("patternErrorMessage")) wanted = spec["patternErrorMessage"];
  if (!typed) return wanted;
  if (value.is_null()) return "";
  if (value.is_number()) {
    double number = value.get<double>();
    if (spec.contains("minimum") && number < spec["minimum"].get<double>()) return wanted;
    if (spec.contains("exclusiveMinimum") && number <= spec["exclusiveMinimum"].get<double>()) return wanted;
    if (spec.contains("maximum") && number > spec["maximum"].get<double>()) return wanted;
  }
  if (spec.contains("enum") && std::find(spec["enum"].begin(), spec["enum"].end(), value) == spec["enum"].end())
    return wanted;
  if (spec.contains("pattern") && !std::regex_match(value.get<std::string>(), std::regex(spec["pattern"].get<std::string>())))
    return wanted;
  return "";
}

// True when some schema setting starts with `prefix` + "." (so a nested object is expected).
bool is_group(const std::string& prefix) {
  const json& settings = protocol_schema()["settings"];
  for (auto it = settings.begin(); it != settings.end(); ++it)
    if (it.key().rfind(prefix + ".", 0) == 0) return true;
  return false;
}

void apply_one(const std::string& name, const json& value, ConfigUpdate& update) {
  const json* spec = setting_schema(name);
  if (!spec) {
    if (value.is_object() && is_group(name)) {
      for (const auto& [key, inner] : value.items()) apply_one(name + "." + key, inner, update);
      return;
    }
    update.warnings.push_back("unknown setting '" + name + "' ignored");
    return;
  }
  if (spec->value("clientOnly", false)) return;  // e.g. serverPath in a whole-section push
  std::string error = check_value(*spec, value);
  if (!error.empty()) {
    update.errors.push_back("setting '" + name + "' " + error + "; got " +
                            value.dump(-1, ' ', false, json::error_handler_t::replace));
    return;
  }
  auto binding = bindings().find(name);
  if (binding == bindings().end()) {
    update.warnings.push_back("setting '" + name + "' is in the schema but not bound in the server; ignored");
    return;
  }
  json normalized = value;
  if (value.is_number_float() && (*spec)["type"] == "integer") normalized = static_cast<int64_t>(value.get<double>());
  binding->second.set(normalized, update.config);
}

}  // namespace

ConfigUpdate apply_settings(const Config& base, const json& settings) {
  ConfigUpdate update{base, {}, {}};
  if (settings.is_null()) return update;
  const json& section = settings.is_object() && settings.contains("maskfill") ? settings["maskfill"] : settings;
  if (!section.is_object()) {
    update.errors.push_back("maskfill settings must be an object, got " + std::string(section.type_name()));
    return update;
  }
  for (const auto& [name, value] : section.items()) apply_one(name, value, update);
  return update;
}

std::vector<std::string> bound_settings() {
  std::vector<std::string> names;
  for (const auto& [name, binding] : bindings()) names.push_back(name);
  return names;
}

json settings_to_json(const Config& config) {
  json out = json::object();
  for (const auto& [name, binding] : bindings()) out[name] = binding.get(config);
  return out;
}

}  // namespace maskfill::lsp
