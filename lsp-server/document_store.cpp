#include "lsp-server/document_store.h"

#include <spdlog/spdlog.h>

#include <optional>
#include <stdexcept>
#include <tuple>

namespace maskfill::lsp {

std::vector<TextChange> parse_content_changes(const nlohmann::json& changes) {
  return parse_content_changes(JsonField(changes, "params", "contentChanges"));
}

std::vector<TextChange> parse_content_changes(const JsonField& changes) {
  std::vector<TextChange> parsed;
  parsed.reserve(changes.size());
  for (const JsonField& change : changes.items()) {
    TextChange entry;
    entry.text = change.at("text").string();
    if (auto range = change.get("range")) {
      entry.start = position_from_json(range->at("start"));
      entry.end = position_from_json(range->at("end"));
      // Clamping is monotonic, so ordered positions give ordered offsets.
      if (std::tie(entry.start->line, entry.start->character) > std::tie(entry.end->line, entry.end->character))
        throw std::invalid_argument("a change's range ends before it starts");
    }
    parsed.push_back(std::move(entry));
  }
  return parsed;
}

// Above this size a document is synced as text only: a full tree-sitter parse of 50 MB took
// 77 s and 3.8 GB here (fuzzing found it), and the model never sees more than a window anyway.
constexpr size_t kMaxParsedBytes = 4u << 20;

void DocumentStore::open(const std::string& uri, const std::string& language_id, int version, std::string text) {
  const LanguageInfo* language = find_language(language_id, uri);
  if (language && text.size() > kMaxParsedBytes) {
    spdlog::warn("{}: {} MB is above the {} MB parse limit; synced without a syntax tree", uri,
                 text.size() >> 20, kMaxParsedBytes >> 20);
    language = nullptr;
  }
  auto document = std::unique_ptr<Document>(
      new Document{uri, language_id, version, SourceDocument(std::move(text), language)});
  std::lock_guard lock(mutex_);
  documents_[uri] = std::move(document);
}

std::optional<AppliedChange> DocumentStore::change(const std::string& uri, int version,
                                              const std::vector<TextChange>& changes, PositionEncoding encoding) {
  std::lock_guard lock(mutex_);
  auto found = documents_.find(uri);
  if (found == documents_.end()) throw std::out_of_range("document not open: " + uri);
  Document& document = *found->second;
  // A change is checked before it touches the document, but a later change of the same batch
  // can still be refused (its range only makes sense after the earlier ones): batches of
  // several changes work on a copy so a refusal leaves the document as it was.
  std::optional<SourceDocument> backup;
  if (changes.size() > 1) backup.emplace(document.source);
  std::optional<AppliedChange> edit;
  try {
    for (const TextChange& change : changes) {
      if (!change.start) {
        document.source.set_text(change.text);
        continue;
      }
      const std::string& text = document.source.text();
      size_t begin = to_offset(text, *change.start, encoding);
      size_t end = to_offset(text, *change.end, encoding);
      if (begin > end) throw std::invalid_argument("a change's range ends before it starts");
      if (changes.size() == 1) edit = AppliedChange{begin, end, begin + change.text.size(), text.substr(begin, end - begin)};
      document.source.replace(begin, end, change.text);
    }
  } catch (...) {
    if (backup) document.source = std::move(*backup);
    throw;
  }
  document.version = version;
  return edit;
}

bool DocumentStore::close(const std::string& uri) {
  std::lock_guard lock(mutex_);
  return documents_.erase(uri) > 0;
}

std::shared_ptr<const Document> DocumentStore::snapshot(const std::string& uri) const {
  std::lock_guard lock(mutex_);
  auto found = documents_.find(uri);
  if (found == documents_.end()) return nullptr;
  return std::make_shared<const Document>(*found->second);
}

std::optional<int> DocumentStore::version(const std::string& uri) const {
  std::lock_guard lock(mutex_);
  auto found = documents_.find(uri);
  if (found == documents_.end()) return std::nullopt;
  return found->second->version;
}

std::vector<std::pair<std::string, int>> DocumentStore::versions() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, int>> out;
  for (const auto& [uri, document] : documents_) out.emplace_back(uri, document->version);
  return out;
}

size_t DocumentStore::size() const {
  std::lock_guard lock(mutex_);
  return documents_.size();
}

}  // namespace maskfill::lsp
