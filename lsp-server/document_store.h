// The open documents, kept exactly in sync with the client: text, version, language and a
// tree-sitter tree updated incrementally (infill/source_document.h). Edited on the I/O thread;
// the worker reads immutable snapshots, so the lock is held only for short copies and edits.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infill/source_document.h"
#include "lsp-server/positions.h"

namespace maskfill::lsp {

struct Document {
  std::string uri;
  std::string language_id;
  int version = 0;
  SourceDocument source;
};

// One entry of didChange's contentChanges, validated.
struct TextChange {
  std::optional<Position> start, end;  // both absent: full replacement
  std::string text;
};

// One change in bytes: [begin, old_end) of the text before it, whose bytes were `removed`,
// became [begin, new_end) of the text after it.
struct AppliedChange {
  size_t begin = 0, old_end = 0, new_end = 0;
  std::string removed;
};

// Throws JsonFieldError naming the field (or std::invalid_argument for a reversed range).
std::vector<TextChange> parse_content_changes(const JsonField& changes);
std::vector<TextChange> parse_content_changes(const nlohmann::json& changes);  // named "params: contentChanges"

class DocumentStore {
 public:
  // Opening an open URI replaces it (some clients re-open after a reload).
  void open(const std::string& uri, const std::string& language_id, int version, std::string text);
  // Applies the changes in order (each is relative to the text after the previous one). Throws
  // std::out_of_range for an unknown URI; the document is untouched when it throws. Returns
  // what a single ranged change did in bytes (the next-edit history's input); nothing for a
  // batch of several or a full replacement.
  std::optional<AppliedChange> change(const std::string& uri, int version, const std::vector<TextChange>& changes,
                                 PositionEncoding encoding);
  bool close(const std::string& uri);

  // A copy the worker may keep while the client goes on editing (null if not open).
  std::shared_ptr<const Document> snapshot(const std::string& uri) const;
  std::optional<int> version(const std::string& uri) const;
  std::vector<std::pair<std::string, int>> versions() const;  // (uri, version) of every open document
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Document>> documents_;
};

}  // namespace maskfill::lsp
