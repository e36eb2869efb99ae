// The project around the document being completed, for cross-file context
// (infill/prompt_context.h): the workspace folders from `initialize`, their definition index
// (built in the background, updated on didSave and didChangeWatchedFiles), the user's recent
// edits, and parsed snapshots of the other open documents with their definitions, kept per
// version so a keystroke in one file does not re-parse the others.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infill/edit_history.h"
#include "infill/prompt_context.h"
#include "infill/recent_edits.h"
#include "infill/workspace_index.h"
#include "lsp-server/document_store.h"

namespace maskfill::lsp {

// The file system path of a file:// URI (percent-decoded); nullopt for other schemes.
std::optional<std::string> path_of_uri(const std::string& uri);
// The file:// URI of an absolute path, percent-encoding every byte but the unreserved ones and
// `/` (RFC 3986), as editors write them.
std::string uri_of_path(const std::string& path);

class ProjectContext {
 public:
  // Workspace folders from initialize params (workspaceFolders, else rootUri, else rootPath).
  void set_workspace(const nlohmann::json& initialize_params);
  const std::vector<std::filesystem::path>& folders() const { return folders_; }
  // Starts the background index (no-op without folders or when it runs), or drops it.
  void set_index_enabled(bool enabled);

  void record_edit(const Document& after, int line);
  // One didChange's change (`edit`, leaving the document `after`) joins the edit history that
  // next-edit suggestions follow; keystrokes typed in one place coalesce into one entry.
  void record_change(const AppliedChange& edit, const Document& after);
  std::vector<EditEntry> edit_history() const { return history_.snapshot(); }
  std::string path_or_uri(const std::string& uri) const;
  void saved(const std::string& uri);
  void file_changed(const std::string& uri, bool deleted);

  // What a plan of `current` may draw context from, under `settings`.
  ContextInputs inputs_for(const Document& current, const DocumentStore& documents, const ContextSettings& settings);
  IndexStats index_stats() const;
  // The workspace index, or null (no folders, switched off); the caller's copy keeps it alive.
  std::shared_ptr<const WorkspaceIndex> index() const;

 private:
  struct OpenSnapshot {
    int version = 0;
    OpenDocument open;
  };

  std::vector<std::filesystem::path> folders_;
  std::shared_ptr<WorkspaceIndex> index_;  // a request holds a copy while it reads it
  RecentEdits edits_;
  EditHistory history_;
  mutable std::mutex mutex_;
  std::map<std::string, OpenSnapshot> snapshots_;  // by URI
};

}  // namespace maskfill::lsp
