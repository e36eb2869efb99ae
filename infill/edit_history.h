// The user's recent edits per workspace, in a ring (issue #24, next-edit suggestions): each entry
// is one change as a small unified diff plus the definition it touched, so that a later step can
// tell what the user is doing and where the edit must be repeated. Keystrokes typed in one place
// are one entry: a rename typed letter by letter is one change from the old name to the new one.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "infill/source_document.h"

namespace maskfill {

// One replacement between two versions of a text: bytes [begin, old_end) of the old text became
// bytes [begin, new_end) of the new one.
struct TextChange {
  size_t begin = 0, old_end = 0, new_end = 0;
  bool empty() const { return begin == old_end && begin == new_end; }
  bool operator==(const TextChange&) const = default;
};

// The smallest such change (the common prefix and suffix trimmed off). `hint_begin`/`hint_end`,
// bytes of `before` that the client says it replaced, narrow the comparison when they agree with
// the two texts' sizes; otherwise the whole texts are compared.
TextChange find_change(std::string_view before, std::string_view after, size_t hint_begin = 0,
                       size_t hint_end = std::string_view::npos);

struct EditEntry {
  std::string path;
  size_t begin = 0, end = 0;  // the changed bytes in the document as of the entry's latest edit
  std::string removed;   // the bytes the change replaced, as they were before its first keystroke
  std::string inserted;  // the bytes there now: [begin, end)
  int first_line = 0, last_line = 0;  // 0-based, inclusive: the changed lines after the change
  std::string symbol;    // the innermost definition around the change, else the identifier at it
  std::string diff;      // unified diff of the changed lines with 3 lines of context ("" if too long)
  int edits = 1;         // the keystrokes coalesced into this entry
  bool whole = true;     // false: the change was too large to keep; removed, inserted, diff are empty
};

// The document text before the entry's first keystroke, given the text after its latest one
// (valid for the newest entry of a path: a later edit elsewhere in the file moves the bytes).
// Nothing when the entry is not whole or does not fit `after`.
std::optional<std::string> text_before(const EditEntry& entry, std::string_view after);

class EditHistory {
 public:
  explicit EditHistory(size_t capacity = 16) : capacity_(capacity) {}

  // Records a change of `path`: `before` is the text before it, `after` the document after it,
  // [begin, end) the bytes of `before` the client replaced (a hint, see find_change). An edit
  // that touches the newest entry's range in the same file, on one line, extends that entry.
  void record(const std::string& path, std::string_view before, const SourceDocument& after, size_t begin,
              size_t end);
  // The same, for a client's change already measured: bytes [begin, old_end) of the text before
  // it, whose bytes were `removed`, became [begin, new_end) of `after`. Nothing copies the
  // document (a keystroke in a 50 MB file costs the keystroke).
  void record(const std::string& path, const TextChange& change, std::string_view removed, const SourceDocument& after);
  std::vector<EditEntry> snapshot() const;  // oldest first
  void forget(const std::string& path);     // the file was deleted
  void clear();

 private:
  size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<EditEntry> entries_;
};

}  // namespace maskfill
