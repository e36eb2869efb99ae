// Where to mask, decided with tree-sitter queries (infill/queries): the shape and size of an
// inline completion at a cursor, a fill selection snapped to token boundaries, and the scope an
// instruction edit rewrites.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/byte_range.h"
#include "infill/source_document.h"

namespace maskfill {

class Tokenizer;

enum class SpanShape { RestOfLine, MultiLine };

struct InlineSpan {
  std::string declined_reason;  // non-empty: do not complete here
  SpanShape shape = SpanShape::RestOfLine;
  int estimated_tokens = 0;     // how many tokens the completion probably needs
  std::string rule;             // which rule chose the shape (for logs and golden tests)
};

// `invoked` (explicit user request) completes even inside comments and strings.
InlineSpan find_inline_span(const SourceDocument& doc, size_t cursor, bool invoked);

// Widens [begin, end) to pre-tokenizer piece boundaries of the lines it touches. BPE merges never
// cross those pieces, so the result starts and ends on token boundaries of the document's
// tokenization and the model never has to complete half a token.
ByteRange snap_to_token_boundaries(const Tokenizer& tokenizer, std::string_view text, ByteRange selection);

// The selection if non-empty; otherwise the smallest statement, function or class around the
// cursor (from the start of its first line when only indentation precedes it). nullopt when the
// cursor is in no scope (for example on a blank line between top-level items).
std::optional<ByteRange> find_edit_span(const SourceDocument& doc, ByteRange selection);

}  // namespace maskfill
