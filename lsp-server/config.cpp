#include "lsp-server/config.h"

#include <algorithm>
#include <functional>
#include <map>
#include <regex>

namespace maskfill::lsp {
namespace {

using json = nlohmann::json;
using FieldSetter = std::function<std::string(const json&, Config&)>;  // "" or the error


FieldSetter int_field(std::function<int&(Config&)> field, int min, int max) {
  return [=](const json& value, Config& config) -> std::string {
    if (!value.is_number_integer() || value.get<int64_t>() < min || value.get<int64_t>() > max)
      return "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    field(config) = value.get<int>();
    return "";
  };
}

bool valid_device(const std::string& device) {
  static const std::regex pattern("auto|cpu|cuda(:[0-9]+)?");
  return std::regex_match(device, pattern);
}

const std::map<std::string, FieldSetter>& fields() {
  static const std::map<std::string, FieldSetter> table = {
      {"modelPath",
       [](const json& value, Config& config) -> std::string {
         if (!value.is_string()) return "must be a string (a model directory; empty for the bundled model)";
         config.model_path = value.get<std::string>();
         return "";
       }},
      {"device",
       [](const json& value, Config& config) -> std::string {
         if (!value.is_string() || !valid_device(value.get<std::string>()))
           return "must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\"";
         config.device.device = value.get<std::string>();
         return "";
       }},
      {"dtype",
       [](const json& value, Config& config) -> std::string {
         static const std::vector<std::string> allowed = {"auto", "float32", "bfloat16", "float16"};
         if (!value.is_string() || std::find(allowed.begin(), allowed.end(), value.get<std::string>()) == allowed.end())
           return "must be \"auto\", \"float32\", \"bfloat16\" or \"float16\"";
         config.device.dtype = value.get<std::string>();
         return "";
       }},
      {"threads", int_field([](Config& c) -> int& { return c.device.threads; }, 0, 1024)},
      {"prefixTokens", int_field([](Config& c) -> int& { return c.infill.prefix_tokens; }, 0, 1 << 20)},
      {"suffixTokens", int_field([](Config& c) -> int& { return c.infill.suffix_tokens; }, 0, 1 << 20)},
      {"maxNewTokens", int_field([](Config& c) -> int& { return c.infill.max_new_tokens; }, 1, 1 << 16)},
      {"candidates", int_field([](Config& c) -> int& { return c.infill.candidates_invoked; }, 1, 16)},
      {"maxMs", int_field([](Config& c) -> int& { return c.infill.max_ms; }, 0, 600000)},
      {"threshold",
       [](const json& value, Config& config) -> std::string {
         if (value.is_null()) {
           config.infill.threshold.reset();
           return "";
         }
         if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 1)
           return "must be a number in (0, 1], or null for one token per step";
         config.infill.threshold = value.get<double>();
         return "";
       }},
  };
  return table;
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
  for (const auto& [name, value] : section.items()) {
    auto field = fields().find(name);
    if (field == fields().end()) {
      update.warnings.push_back("unknown setting '" + name + "' ignored");
      continue;
    }
    std::string error = field->second(value, update.config);
    if (!error.empty()) update.errors.push_back("setting '" + name + "' " + error + "; got " + value.dump());
  }
  return update;
}

json config_to_json(const Config& config) {
  return {{"modelPath", config.model_path},
          {"device", config.device.device},
          {"dtype", config.device.dtype},
          {"threads", config.device.threads},
          {"prefixTokens", config.infill.prefix_tokens},
          {"suffixTokens", config.infill.suffix_tokens},
          {"maxNewTokens", config.infill.max_new_tokens},
          {"candidates", config.infill.candidates_invoked},
          {"maxMs", config.infill.max_ms},
          {"threshold", config.infill.threshold ? json(*config.infill.threshold) : json()}};
}

}  // namespace maskfill::lsp
