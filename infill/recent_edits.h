// The user's recently edited ranges across files, in a ring (llama.vim's and Continue's
// "recently edited" context): each entry is a few lines around an edit, refreshed while the user
// keeps editing there, oldest first. Appending keeps the order of older entries, so the prompt
// text built from them changes only at its end and the prompt cache keeps the rest.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace maskfill {

struct EditedRange {
  std::string path;  // file path (or URI) of the document
  int first_line = 0, last_line = 0;  // 0-based, inclusive: the edit plus `context_lines` each side
  std::string text;  // those lines as they were after the latest edit there
};

class RecentEdits {
 public:
  explicit RecentEdits(size_t capacity = 16, int context_lines = 3) : capacity_(capacity), context_lines_(context_lines) {}
  // Records an edit of line `line` of `text` (the document after the edit). An edit within an
  // existing entry's lines (same path) refreshes that entry in place.
  void record(const std::string& path, std::string_view text, int line);
  std::vector<EditedRange> snapshot() const;  // oldest first
  void forget(const std::string& path);       // the file was deleted

 private:
  size_t capacity_;
  int context_lines_;
  mutable std::mutex mutex_;
  std::deque<EditedRange> ranges_;
};

}  // namespace maskfill
