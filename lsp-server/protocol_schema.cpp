#include "lsp-server/protocol_schema.h"

#include "lsp-server/protocol_schema_text.h"

namespace maskfill::lsp {

const nlohmann::json& protocol_schema() {
  // ordered_json would keep file order; nlohmann::json sorts keys, which is fine for lookups.
  static const nlohmann::json schema = nlohmann::json::parse(generated::kProtocolSchemaText);
  return schema;
}

const nlohmann::json* setting_schema(const std::string& name) {
  const nlohmann::json& settings = protocol_schema()["settings"];
  auto found = settings.find(name);
  return found == settings.end() ? nullptr : &*found;
}

std::vector<std::string> server_commands() {
  std::vector<std::string> out;
  for (const auto& [name, spec] : protocol_schema()["commands"].items())
    if (spec.value("handledBy", "") == "server") out.push_back(name);
  return out;
}

nlohmann::json document_selector() {
  nlohmann::json selector = nlohmann::json::array();
  for (const auto& language : protocol_schema()["languages"]) selector.push_back({{"language", language}});
  return selector;
}

}  // namespace maskfill::lsp
