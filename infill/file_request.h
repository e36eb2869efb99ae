// What `maskfill fill` and `maskfill edit` share: reading a file into a SourceDocument, turning
// 1-based line:column positions (columns in characters) into byte offsets, and printing a result.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "infill/source_document.h"
#include "infill/span_finder.h"

namespace maskfill {

// Reads `path` and picks its grammar by extension. Throws std::runtime_error if unreadable.
SourceDocument read_source_file(const std::string& path);

// Byte offset of 1-based `line`, `column` (in Unicode characters; column = length + 1 is the line's
// end). Throws std::invalid_argument naming the position when it is outside the text.
size_t byte_offset_at(std::string_view text, int line, int column);

// "L1:C1-L2:C2" to a byte range. Throws std::invalid_argument on bad syntax or positions.
ByteRange parse_range(std::string_view text, std::string_view spec);

}  // namespace maskfill

namespace maskfill {

struct Candidate;
struct CompletionOutcome;

// The candidate a command prints: the best one that parses (ranking puts those first). Null
// when every candidate adds syntax errors, so the command says so instead of printing a broken
// result, unless `allow_syntax_errors`.
const Candidate* printable_candidate(const CompletionOutcome& outcome, bool allow_syntax_errors);

// The file after applying the candidate's edits, or its unified diff (a/PATH, b/PATH) when `diff`.
std::string render_result(const SourceDocument& doc, const Candidate& candidate, const std::string& path, bool diff);

}  // namespace maskfill
