// Document synchronization notifications.
#include <spdlog/spdlog.h>

#include "lsp-server/server.h"

namespace maskfill::lsp {
namespace {

constexpr int64_t kMaxVersion = INT32_MAX;

std::string text_document_uri(const json& params) { return read_params(params).at("textDocument").at("uri").string(); }

void did_open(Server& server, const json& params) {
  JsonField document = read_params(params).at("textDocument");
  std::string uri = document.at("uri").string();
  server.documents().open(uri, document.at("languageId").string(),
                          static_cast<int>(document.at("version").integer(INT32_MIN, kMaxVersion)),
                          document.at("text").string());
  spdlog::debug("opened {}", uri);
}

void did_change(Server& server, const json& params) {
  JsonField fields = read_params(params);
  std::string uri = fields.at("textDocument").at("uri").string();
  int version = static_cast<int>(fields.at("textDocument").at("version").integer(INT32_MIN, kMaxVersion));
  std::vector<TextChange> changes = parse_content_changes(fields.at("contentChanges"));
  std::optional<int> previous = server.documents().version(uri);
  if (previous && version <= *previous)
    spdlog::warn("{}: version {} does not increase on {}; applied anyway", uri, version, *previous);
  server.documents().change(uri, version, changes, server.encoding());
}

}  // namespace

void register_text_sync(Server& server) {
  server.on_notification("textDocument/didOpen", [&server](const json& params) { did_open(server, params); });
  server.on_notification("textDocument/didChange", [&server](const json& params) { did_change(server, params); });
  server.on_notification("textDocument/didClose", [&server](const json& params) {
    std::string uri = text_document_uri(params);
    if (!server.documents().close(uri)) spdlog::warn("didClose of a document that is not open: {}", uri);
  });
  server.on_notification("textDocument/didSave", [](const json& params) {
    spdlog::debug("saved {}", text_document_uri(params));
  });
}

}  // namespace maskfill::lsp
