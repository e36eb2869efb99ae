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
  // What a single change replaced, for the next-edit history (no copy of the document: a
  // keystroke in a huge file costs a keystroke). A batch of several changes is not recorded.
  std::optional<AppliedChange> edit = server.documents().change(uri, version, changes, server.encoding());
  // The edit joins the recent-edits context (at the first change's line; a full replacement
  // is a reload, not an edit).
  if (!changes.empty() && changes.front().start)
    if (auto after = server.documents().snapshot(uri)) {
      server.project().record_edit(*after, int(changes.front().start->line));
      if (edit && server.config().next_edit_enabled) server.project().record_change(*edit, *after);
    }
}

// Files created, changed or deleted on disk (the client's watcher): the workspace index follows.
void did_change_watched_files(Server& server, const json& params) {
  constexpr int64_t kDeleted = 3;
  for (const JsonField& change : read_params(params).at("changes").items()) {
    std::string uri = change.at("uri").string();
    bool deleted = change.at("type").integer(1, 3) == kDeleted;
    // Re-reading and parsing a file is worker work, not the I/O thread's.
    server.post_to_worker([&server, uri, deleted](const CancelToken&) { server.project().file_changed(uri, deleted); });
  }
}

}  // namespace

void register_text_sync(Server& server) {
  server.on_notification("textDocument/didOpen", [&server](const json& params) { did_open(server, params); });
  server.on_notification("textDocument/didChange", [&server](const json& params) { did_change(server, params); });
  server.on_notification("textDocument/didClose", [&server](const json& params) {
    std::string uri = text_document_uri(params);
    if (!server.documents().close(uri)) spdlog::warn("didClose of a document that is not open: {}", uri);
  });
  server.on_notification("textDocument/didSave", [&server](const json& params) {
    std::string uri = text_document_uri(params);
    spdlog::debug("saved {}", uri);
    server.post_to_worker([&server, uri](const CancelToken&) { server.project().saved(uri); });
  });
  server.on_notification("workspace/didChangeWatchedFiles",
                         [&server](const json& params) { did_change_watched_files(server, params); });
}

}  // namespace maskfill::lsp
