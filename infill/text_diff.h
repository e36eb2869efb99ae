// Turning a rewritten span into the smallest edits (a line diff, then a character diff inside
// the changed lines) and printing unified diffs. The diffs come from Debian's libdtl-dev
// (header-only; Wu's O(NP) refinement of Myers' algorithm).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace maskfill {

// One replacement in a document's bytes: [begin, end) becomes `text`.
struct ByteEdit {
  size_t begin = 0;
  size_t end = 0;
  std::string text;
  bool operator==(const ByteEdit&) const = default;
};

// Edits, in increasing and non-overlapping order, that turn `old_text` into `new_text`, with
// offsets shifted by `base` (the span's offset in the document). Edits never split a UTF-8
// sequence, so LSP position conversion stays exact.
std::vector<ByteEdit> minimal_edits(std::string_view old_text, std::string_view new_text, size_t base = 0);

// Applies edits given in increasing, non-overlapping order.
std::string apply_edits(std::string_view text, const std::vector<ByteEdit>& edits);

// `diff -u` style text ("--- old_name", "+++ new_name", hunks with 3 lines of context).
std::string unified_diff(std::string_view old_text, std::string_view new_text, std::string_view old_name,
                         std::string_view new_name);

}  // namespace maskfill
