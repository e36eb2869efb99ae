#include "lsp-server/project_context.h"

#include <spdlog/spdlog.h>

#include <cctype>

namespace maskfill::lsp {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> path_of_uri(const std::string& uri) {
  constexpr std::string_view kScheme = "file://";
  if (uri.size() < kScheme.size() || uri.compare(0, kScheme.size(), kScheme) != 0) return std::nullopt;
  std::string_view rest = std::string_view(uri).substr(kScheme.size());
  if (rest.starts_with("localhost/")) rest.remove_prefix(9);
  if (!rest.starts_with('/')) return std::nullopt;  // a remote host: not a local file
  std::string path;
  for (size_t i = 0; i < rest.size(); ++i) {
    int high = 0, low = 0;
    if (rest[i] == '%' && i + 2 < rest.size() && (high = hex_value(rest[i + 1])) >= 0 && (low = hex_value(rest[i + 2])) >= 0) {
      path.push_back(char(high * 16 + low));
      i += 2;
    } else {
      path.push_back(rest[i]);
    }
  }
  if (path.find('\0') != std::string::npos) return std::nullopt;
  return path;
}

std::string uri_of_path(const std::string& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string uri = "file://";
  for (char c : path) {
    auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      uri.push_back(c);
    } else {
      uri.push_back('%');
      uri.push_back(kHex[byte >> 4]);
      uri.push_back(kHex[byte & 15]);
    }
  }
  return uri;
}

void ProjectContext::set_workspace(const nlohmann::json& params) {
  std::vector<std::string> uris;
  if (params.contains("workspaceFolders") && params["workspaceFolders"].is_array())
    for (const auto& folder : params["workspaceFolders"])
      if (folder.is_object() && folder.contains("uri") && folder["uri"].is_string()) uris.push_back(folder["uri"]);
  if (uris.empty() && params.contains("rootUri") && params["rootUri"].is_string()) uris.push_back(params["rootUri"]);
  for (const std::string& uri : uris)
    if (auto path = path_of_uri(uri)) folders_.emplace_back(*path);
  if (folders_.empty() && params.contains("rootPath") && params["rootPath"].is_string() &&
      !params["rootPath"].get<std::string>().empty())
    folders_.emplace_back(params["rootPath"].get<std::string>());
  for (const auto& folder : folders_) spdlog::info("workspace folder {}", folder.string());
}

void ProjectContext::set_index_enabled(bool enabled) {
  std::lock_guard lock(mutex_);
  if (!enabled) {
    if (index_) spdlog::info("workspace index: switched off");
    index_.reset();  // stops a build in progress
    return;
  }
  if (index_ || folders_.empty()) return;
  index_ = std::make_shared<WorkspaceIndex>(folders_);
  index_->build_in_background(1);  // one thread: the other core answers the editor
}

std::string ProjectContext::path_or_uri(const std::string& uri) const { return path_of_uri(uri).value_or(uri); }

void ProjectContext::record_edit(const Document& after, int line) {
  edits_.record(path_or_uri(after.uri), after.source.text(), line);
}

void ProjectContext::record_change(const AppliedChange& edit, const Document& after) {
  history_.record(path_or_uri(after.uri), maskfill::TextChange{edit.begin, edit.old_end, edit.new_end}, edit.removed,
                  after.source);
}

void ProjectContext::saved(const std::string& uri) {
  std::optional<std::string> path = path_of_uri(uri);
  std::lock_guard lock(mutex_);
  if (index_ && path) index_->update_file(*path);
}

void ProjectContext::file_changed(const std::string& uri, bool deleted) {
  std::optional<std::string> path = path_of_uri(uri);
  if (!path) return;
  if (deleted) {
    edits_.forget(*path);
    history_.forget(*path);
  }
  std::lock_guard lock(mutex_);
  if (!index_) return;
  if (deleted) index_->remove_file(*path);
  else if (!index_->update_file(*path)) spdlog::debug("workspace index: {} is outside the workspace", *path);
}

ContextInputs ProjectContext::inputs_for(const Document& current, const DocumentStore& documents,
                                         const ContextSettings& settings) {
  ContextInputs inputs;
  inputs.settings = settings;
  inputs.path = path_or_uri(current.uri);
  inputs.recent_edits = edits_.snapshot();
  if (!folders_.empty()) inputs.display_root = folders_.front().string();
  std::lock_guard lock(mutex_);
  inputs.index = index_;
  // Refresh the snapshots of documents whose version moved; drop the closed ones.
  std::map<std::string, OpenSnapshot> fresh;
  for (const auto& [uri, version] : documents.versions()) {
    if (uri == current.uri) continue;
    auto cached = snapshots_.find(uri);
    if (cached != snapshots_.end() && cached->second.version == version) {
      fresh.emplace(uri, std::move(cached->second));
      continue;
    }
    std::shared_ptr<const Document> document = documents.snapshot(uri);
    if (!document) continue;
    std::shared_ptr<const SourceDocument> source(document, &document->source);
    auto definitions = std::make_shared<const std::vector<Definition>>(find_definitions(document->source));
    fresh.emplace(uri, OpenSnapshot{document->version, {path_or_uri(uri), source, definitions}});
  }
  snapshots_ = std::move(fresh);
  for (const auto& [uri, snapshot] : snapshots_) inputs.open_documents.push_back(snapshot.open);
  return inputs;
}

IndexStats ProjectContext::index_stats() const {
  std::lock_guard lock(mutex_);
  return index_ ? index_->stats() : IndexStats{};
}

std::shared_ptr<const WorkspaceIndex> ProjectContext::index() const {
  std::lock_guard lock(mutex_);
  return index_;
}

}  // namespace maskfill::lsp
