// A half-open range [begin, end) of byte offsets into UTF-8 text; the one range type shared by
// the infill module (spans, selections) and the language server (LSP ranges mapped to bytes).
#pragma once

#include <cstddef>

namespace maskfill {

struct ByteRange {
  size_t begin = 0;
  size_t end = 0;
  size_t size() const { return end - begin; }
  bool empty() const { return end == begin; }
  bool operator==(const ByteRange&) const = default;
};

}  // namespace maskfill
