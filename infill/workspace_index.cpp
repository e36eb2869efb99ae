#include "infill/workspace_index.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <memory>

#include "infill/definitions.h"
#include "infill/ignore_rules.h"
#include "infill/source_document.h"
#include "infill/text_lines.h"

namespace fs = std::filesystem;

namespace maskfill {
namespace {

constexpr size_t kBinaryProbeBytes = 8192;

std::string read_gitignore(const fs::path& folder) {
  std::ifstream in(folder / ".gitignore", std::ios::binary);
  if (!in) return "";
  std::string text;
  text.resize(64 * 1024);  // a .gitignore longer than this is not a real one: read its head
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(in.gcount()));
  return text;
}

// Reads `path` if it is a regular file within the limit and not binary; the reason otherwise.
std::optional<std::string> read_source(const fs::path& path, size_t max_bytes, std::string& reason) {
  std::error_code error;
  auto size = fs::file_size(path, error);
  if (error) {
    reason = "it cannot be read (" + error.message() + ")";
    return std::nullopt;
  }
  if (size > max_bytes) {
    reason = "its " + std::to_string(size >> 10) + " KiB are over the " + std::to_string(max_bytes >> 10) + " KiB limit";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    reason = "it cannot be read";
    return std::nullopt;
  }
  std::string text(size, '\0');
  in.read(text.data(), std::streamsize(size));
  text.resize(size_t(in.gcount()));  // it may have shrunk since
  if (std::memchr(text.data(), '\0', std::min(text.size(), kBinaryProbeBytes))) {
    reason = "it is binary";
    return std::nullopt;
  }
  return text;
}

uint32_t word_hash(std::string_view word) { return uint32_t(std::hash<std::string_view>{}(word)); }

// The hashes of the identifier-like words of `text` (a letter, `_` or `$` first), sorted and
// distinct. A plain scan, not the syntax tree: a word in a comment or string also counts, which
// only means one more file read when a next edit looks for it.
std::vector<uint32_t> word_hashes(std::string_view text) {
  std::vector<uint32_t> words;
  for (std::string_view word : words_in(text))
    if (!std::isdigit(static_cast<unsigned char>(word.front()))) words.push_back(word_hash(word));
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  words.shrink_to_fit();
  return words;
}

bool skipped_folder(const std::string& name) { return name.starts_with('.'); }  // .git, .venv, .cache, ...

}  // namespace

WorkspaceIndex::WorkspaceIndex(std::vector<fs::path> roots, IndexLimits limits) : limits_(limits) {
  for (const fs::path& root : roots) {
    std::error_code error;
    fs::path canonical = fs::canonical(root, error);
    if (error || !fs::is_directory(canonical, error)) {
      spdlog::warn("workspace index: {} is not a readable folder; not indexed", root.string());
      continue;
    }
    roots_.push_back(canonical);
  }
}

WorkspaceIndex::~WorkspaceIndex() {
  stop_ = true;
  if (background_.joinable()) background_.join();
}

bool WorkspaceIndex::inside_roots(const fs::path& path) const {
  std::error_code error;
  fs::path canonical = fs::weakly_canonical(path, error);
  if (error) return false;
  for (const fs::path& root : roots_) {
    auto [root_end, _] = std::mismatch(root.begin(), root.end(), canonical.begin(), canonical.end());
    if (root_end == root.end()) return true;
  }
  return false;
}

// Iterative (a deep tree cannot overflow the stack), .gitignore-aware, never follows symlinks:
// a link's target is indexed where it lives when that is inside a root, and a link loop is
// never entered.
std::vector<fs::path> WorkspaceIndex::walk() {
  std::vector<fs::path> files;
  struct Folder {
    fs::path path;
    std::string relative;
    std::shared_ptr<const IgnoreRules> rules;
  };
  for (const fs::path& root : roots_) {
    // Breadth first: when the file cap stops the walk, the shallow files (the project's own
    // code, not a vendored tree five folders down) are the ones indexed.
    std::deque<Folder> pending{{root, "", nullptr}};
    while (!pending.empty() && !stop_) {
      Folder folder = std::move(pending.front());
      pending.pop_front();
      auto rules = IgnoreRules::with(folder.rules, folder.relative, read_gitignore(folder.path));
      std::error_code error;
      fs::directory_iterator it(folder.path, fs::directory_options::skip_permission_denied, error);
      if (error) {
        spdlog::warn("workspace index: skipped {}: {}", folder.path.string(), error.message());
        continue;
      }
      std::vector<fs::directory_entry> entries;
      for (; it != fs::directory_iterator() && !error; it.increment(error)) entries.push_back(*it);
      std::sort(entries.begin(), entries.end());
      for (const fs::directory_entry& entry : entries) {
        std::string name = entry.path().filename().string();
        std::string relative = folder.relative.empty() ? name : folder.relative + "/" + name;
        std::error_code status_error;
        fs::file_status status = entry.symlink_status(status_error);
        if (status_error || fs::is_symlink(status)) continue;
        if (fs::is_directory(status)) {
          if (!skipped_folder(name) && !rules->ignored(relative, true))
            pending.push_back({entry.path(), relative, rules});
        } else if (fs::is_regular_file(status) && find_language("", name) && !rules->ignored(relative, false)) {
          if (files.size() >= limits_.max_files) {
            spdlog::warn("workspace index: stopped at {} files (the limit); the rest of {} is not indexed",
                         limits_.max_files, root.string());
            return files;
          }
          files.push_back(entry.path());
        }
      }
    }
  }
  return files;
}

std::optional<WorkspaceIndex::FileDefinitions> WorkspaceIndex::index_file(const fs::path& path) const {
  std::string reason;
  std::optional<std::string> text = read_source(path, limits_.max_file_bytes, reason);
  if (!text) {
    spdlog::info("workspace index: skipped {}: {}", path.string(), reason);
    return std::nullopt;
  }
  const LanguageInfo* language = find_language("", path.string());
  if (!language) return std::nullopt;
  SourceDocument doc(std::move(*text), language);
  FileDefinitions file;
  file.language = language->name;
  file.bytes = doc.text().size();
  file.lines = size_t(std::count(doc.text().begin(), doc.text().end(), '\n'));
  file.words = word_hashes(doc.text());
  for (const Definition& definition : find_definitions(doc, limits_.max_definitions_per_file))
    file.definitions.push_back(
        {definition.name, definition.line, definition_head(doc.text(), definition, limits_.head_lines, limits_.head_bytes)});
  return file;
}

void WorkspaceIndex::erase_locked(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) return;
  const std::string* key = &it->first;
  for (const FileDefinitions::Entry& entry : it->second.definitions) {
    auto named = by_name_.find(entry.name);
    if (named == by_name_.end()) continue;
    std::erase(named->second, key);
    if (named->second.empty()) by_name_.erase(named);
  }
  stats_.files -= 1;
  stats_.lines -= it->second.lines;
  stats_.bytes -= it->second.bytes;
  stats_.definitions -= it->second.definitions.size();
  stats_.words -= it->second.words.size();
  files_.erase(it);
}

void WorkspaceIndex::store(const std::string& path, FileDefinitions file) {
  std::unique_lock lock(mutex_);
  erase_locked(path);
  auto [it, _] = files_.emplace(path, std::move(file));
  const std::string* key = &it->first;
  for (const FileDefinitions::Entry& entry : it->second.definitions) {
    std::vector<const std::string*>& paths = by_name_[entry.name];
    if (std::find(paths.begin(), paths.end(), key) == paths.end()) paths.push_back(key);
  }
  stats_.files += 1;
  stats_.lines += it->second.lines;
  stats_.bytes += it->second.bytes;
  stats_.definitions += it->second.definitions.size();
  stats_.words += it->second.words.size();
}

void WorkspaceIndex::build(int threads) {
  auto started = std::chrono::steady_clock::now();
  std::vector<fs::path> files = walk();
  std::atomic<size_t> next{0}, skipped{0};
  auto work = [&] {
    for (size_t i; !stop_ && (i = next++) < files.size();) {
      try {
        std::optional<FileDefinitions> file = index_file(files[i]);
        if (file) store(files[i].string(), std::move(*file));
        else ++skipped;
      } catch (const std::exception& error) {  // a parser failure in one file never stops the rest
        spdlog::warn("workspace index: skipped {}: {}", files[i].string(), error.what());
        ++skipped;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < std::max(1, threads); ++t) workers.emplace_back(work);
  work();
  for (std::thread& worker : workers) worker.join();
  std::unique_lock lock(mutex_);
  stats_.skipped = skipped;
  stats_.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  stats_.ready = true;
  spdlog::info("workspace index: {} files, {} lines, {} definitions in {:.2f} s ({} skipped)", stats_.files,
               stats_.lines, stats_.definitions, stats_.build_seconds, stats_.skipped);
}

void WorkspaceIndex::build_in_background(int threads) {
  if (background_.joinable() || roots_.empty()) return;
  background_ = std::thread([this, threads] {
    try {
      build(threads);
    } catch (const std::exception& error) {
      spdlog::error("workspace index: the build stopped: {}", error.what());
    }
  });
}

bool WorkspaceIndex::update_file(const fs::path& path) {
  if (!inside_roots(path)) return false;
  std::error_code error;
  if (fs::is_symlink(fs::symlink_status(path, error)) || !fs::is_regular_file(path, error) ||
      !find_language("", path.string())) {
    remove_file(path);
    return true;
  }
  std::optional<FileDefinitions> file = index_file(path);
  if (file) store(path.string(), std::move(*file));
  else remove_file(path);
  return true;
}

void WorkspaceIndex::remove_file(const fs::path& path) {
  std::unique_lock lock(mutex_);
  erase_locked(path.string());
}

// The definitions named `name` in `paths`, in path order, until `found` holds `limit`.
void WorkspaceIndex::collect_locked(const std::string& name, std::vector<const std::string*> paths, size_t limit,
                                    std::vector<IndexedDefinition>& found) const {
  std::sort(paths.begin(), paths.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
  for (const std::string* path : paths) {
    const FileDefinitions& file = files_.at(*path);
    for (const FileDefinitions::Entry& entry : file.definitions) {
      if (found.size() >= limit) return;
      if (entry.name == name) found.push_back({*path, entry.line, entry.head, file.language});
    }
  }
}

std::vector<IndexedDefinition> WorkspaceIndex::lookup(std::string_view name, size_t limit) const {
  std::vector<IndexedDefinition> found;
  std::shared_lock lock(mutex_);
  auto named = by_name_.find(name);
  if (named != by_name_.end()) collect_locked(named->first, named->second, limit, found);
  return found;
}

std::vector<IndexedDefinition> WorkspaceIndex::lookup_prefix(std::string_view prefix, size_t limit) const {
  std::vector<IndexedDefinition> found;
  std::shared_lock lock(mutex_);
  for (auto it = by_name_.upper_bound(prefix); it != by_name_.end() && it->first.starts_with(prefix); ++it) {
    if (found.size() >= limit) break;
    collect_locked(it->first, it->second, limit, found);
  }
  return found;
}

std::vector<std::string> WorkspaceIndex::files_mentioning(std::string_view word, std::string_view language,
                                                          size_t limit) const {
  const uint32_t hash = word_hash(word);
  std::vector<std::string> found;
  std::shared_lock lock(mutex_);
  for (const auto& [path, file] : files_) {
    if (found.size() >= limit) break;
    if (file.language == language && std::binary_search(file.words.begin(), file.words.end(), hash))
      found.push_back(path);
  }
  return found;
}

std::optional<std::string> WorkspaceIndex::read(const fs::path& path) const {
  if (!inside_roots(path)) return std::nullopt;
  std::error_code error;
  if (fs::is_symlink(fs::symlink_status(path, error))) return std::nullopt;
  std::string reason;
  return read_source(path, limits_.max_file_bytes, reason);
}

IndexStats WorkspaceIndex::stats() const {
  std::shared_lock lock(mutex_);
  return stats_;
}

}  // namespace maskfill
