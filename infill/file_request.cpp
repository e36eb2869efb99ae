#include "infill/file_request.h"

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "common/read_file.h"
#include "common/utf8.h"
#include "infill/plan.h"
#include "infill/text_lines.h"

namespace maskfill {

SourceDocument read_source_file(const std::string& path) {
  return SourceDocument(read_file(path), find_language("", path));
}

size_t byte_offset_at(std::string_view text, int line, int column) {
  std::string where = std::to_string(line) + ":" + std::to_string(column);
  if (line < 1 || column < 1) throw std::invalid_argument("position " + where + ": lines and columns start at 1");
  size_t start = 0;
  for (int i = 1; i < line; ++i) {
    size_t newline = text.find('\n', start);
    if (newline == std::string_view::npos)
      throw std::invalid_argument("position " + where + ": the file has only " + std::to_string(i) + " lines");
    start = newline + 1;
  }
  size_t end = line_end(text, start);
  if (end > start && text[end - 1] == '\r') --end;
  size_t offset = start;
  for (int i = 1; i < column; ++i) {
    if (offset >= end)
      throw std::invalid_argument("position " + where + ": line " + std::to_string(line) + " has only " +
                                  std::to_string(i - 1) + " characters");
    offset = utf8::next_boundary(text, offset + 1, end);
  }
  return offset;
}

ByteRange parse_range(std::string_view text, std::string_view spec) {
  static const std::regex pattern(R"((\d+):(\d+)-(\d+):(\d+))");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(spec.begin(), spec.end(), match, pattern))
    throw std::invalid_argument("range '" + std::string(spec) + "' is not L1:C1-L2:C2");
  ByteRange range{byte_offset_at(text, std::stoi(match[1]), std::stoi(match[2])),
                  byte_offset_at(text, std::stoi(match[3]), std::stoi(match[4]))};
  if (range.begin > range.end) throw std::invalid_argument("range '" + std::string(spec) + "' ends before it starts");
  return range;
}

}  // namespace maskfill

#include "infill/plan.h"

namespace maskfill {

const Candidate* printable_candidate(const CompletionOutcome& outcome, bool allow_syntax_errors) {
  if (outcome.candidates.empty()) return nullptr;
  const Candidate& best = outcome.candidates.front();
  return best.syntax_ok || allow_syntax_errors ? &best : nullptr;
}

std::string render_result(const SourceDocument& doc, const Candidate& candidate, const std::string& path, bool diff) {
  std::string updated = apply_edits(doc.text(), candidate.edits);
  if (!diff) return updated;
  // As git names a path outside a repository: an absolute path loses its leading '/' ("a/tmp/x.py").
  const std::string shown = path.substr(std::min(path.find_first_not_of('/'), path.size()));
  return unified_diff(doc.text(), updated, "a/" + shown, "b/" + shown);
}

}  // namespace maskfill
