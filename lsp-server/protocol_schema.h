// The server/client contract, editors/protocol.json, embedded at build time: method and command
// names, the languages served, and every setting with its type, default, range and whether it
// applies live, reloads the model or is client-only. config.cpp validates settings from it;
// tests/unit/test_protocol_schema.cpp checks the server against it and tests/protocol/ the clients.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace maskfill::lsp {

const nlohmann::json& protocol_schema();
// The schema entry of a setting (dotted name), or nullptr.
const nlohmann::json* setting_schema(const std::string& name);
// Commands the server executes (handledBy "server"), in schema order.
std::vector<std::string> server_commands();
// The languages the server has grammars for, as a documentSelector [{language}, ...].
nlohmann::json document_selector();

}  // namespace maskfill::lsp
