// The definitions of a workspace's source files, by name: what the cross-file context looks up
// for the identifiers around the cursor. Built on a background thread from the workspace
// folders (respecting .gitignore, skipping dot-folders, symlinks, binary and large files, never
// reading outside the folders), updated one file at a time (didSave, didChangeWatchedFiles).
// Memory is bounded: only definition heads are kept, never whole files, and the walk stops at
// `max_files`. Each file also keeps the 32-bit hashes of the words it contains (4 bytes per
// distinct word), so next-edit suggestions find the files that may use a renamed definition
// without reading the workspace again.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace maskfill {

struct IndexLimits {
  size_t max_files = 20000;                // the walk stops here (and says so in the log)
  size_t max_file_bytes = 1 << 20;         // larger files are generated code or data: skipped
  size_t max_definitions_per_file = 2000;
  int head_lines = 8;                      // a definition's head: its first lines...
  size_t head_bytes = 512;                 // ...and at most this many bytes
};

struct IndexedDefinition {
  std::string path;  // absolute
  int line = 0;      // 0-based
  std::string head;  // definition_head()
  std::string language;
};

struct IndexStats {
  size_t files = 0, lines = 0, bytes = 0, definitions = 0, skipped = 0;
  size_t words = 0;  // distinct words per file, summed (the word hashes' memory is 4 bytes each)
  double build_seconds = 0;
  bool ready = false;  // the first build has finished
};

class WorkspaceIndex {
 public:
  explicit WorkspaceIndex(std::vector<std::filesystem::path> roots, IndexLimits limits = {});
  ~WorkspaceIndex();  // stops a background build and waits for it
  WorkspaceIndex(const WorkspaceIndex&) = delete;
  WorkspaceIndex& operator=(const WorkspaceIndex&) = delete;

  void build(int threads = 2);             // walks and indexes the roots now
  void build_in_background(int threads = 1);
  // Re-reads one file (saved or changed on disk); drops it when it is gone.
  // Paths outside the roots are refused (false).
  bool update_file(const std::filesystem::path& path);
  void remove_file(const std::filesystem::path& path);

  // Definitions named `name`, at most `limit`, in path order.
  std::vector<IndexedDefinition> lookup(std::string_view name, size_t limit) const;
  // Definitions whose name starts with `prefix` and is longer (the word being typed), at most
  // `limit`, in name order, then path order.
  std::vector<IndexedDefinition> lookup_prefix(std::string_view prefix, size_t limit) const;
  // The indexed files of `language` that contain the word `word` (an identifier), at most
  // `limit`, in path order. The word hashes can collide: a caller reads the file to be sure.
  std::vector<std::string> files_mentioning(std::string_view word, std::string_view language, size_t limit) const;
  // The text of an indexed file as it is on disk now, read under the index's limits; nullopt for
  // a path outside the roots, a file gone, grown past the size limit or binary.
  std::optional<std::string> read(const std::filesystem::path& path) const;
  IndexStats stats() const;
  bool inside_roots(const std::filesystem::path& path) const;

 private:
  struct FileDefinitions {
    std::string language;
    size_t lines = 0, bytes = 0;
    struct Entry {
      std::string name;
      int line = 0;
      std::string head;
    };
    std::vector<Entry> definitions;
    std::vector<uint32_t> words;  // sorted, distinct: word_hash() of every identifier-like word
  };
  std::vector<std::filesystem::path> walk();
  std::optional<FileDefinitions> index_file(const std::filesystem::path& path) const;
  void store(const std::string& path, FileDefinitions file);
  void erase_locked(const std::string& path);
  void collect_locked(const std::string& name, std::vector<const std::string*> paths, size_t limit,
                      std::vector<IndexedDefinition>& found) const;

  std::vector<std::filesystem::path> roots_;
  IndexLimits limits_;
  std::atomic<bool> stop_{false};
  std::thread background_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, FileDefinitions> files_;
  // name -> the files defining it (keys of files_, which std::map keeps in place), once each;
  // ordered, so a typed prefix finds its names in one range
  std::map<std::string, std::vector<const std::string*>, std::less<>> by_name_;
  IndexStats stats_;
};

}  // namespace maskfill
