#include "infill/span_finder.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "inference/tokenizer.h"
#include "infill/syntax_queries.h"
#include "infill/text_lines.h"

namespace maskfill {
namespace {

// Code averages about 3.5 bytes per BPE token; good enough to size a mask before tokenizing.
constexpr double kBytesPerToken = 3.5;
constexpr int kRestOfLineMin = 8, kRestOfLineMax = 32;
constexpr int kMultiLineMin = 16, kMultiLineMax = 128;
constexpr int kLinesPerBody = 4;  // a body completion is sized like a few neighbouring lines

struct Cursor {
  std::string_view text;
  size_t offset;
  std::string_view before() const { return text.substr(line_start(text, offset), offset - line_start(text, offset)); }
  std::string_view after() const { return text.substr(offset, line_end(text, offset) - offset); }
};

uint32_t start_of(TSNode node) { return ts_node_start_byte(node); }
uint32_t end_of(TSNode node) { return ts_node_end_byte(node); }

// The smallest captured node named `name` with start < offset < end (or offset == end when
// `include_end`).
std::optional<TSNode> smallest_around(const std::vector<Capture>& captures, std::string_view name, size_t offset,
                                      bool include_end) {
  std::optional<TSNode> best;
  for (const Capture& capture : captures) {
    if (capture.name != name) continue;
    size_t start = start_of(capture.node), end = end_of(capture.node);
    bool inside = start < offset && (offset < end || (include_end && offset == end));
    if (inside && (!best || end - start < end_of(*best) - start_of(*best))) best = capture.node;
  }
  return best;
}

std::string node_type(TSNode node) { return ts_node_type(node); }

// A comment or string the cursor is inside. At the node's end only an unterminated string or a
// line comment (which ends at the line break) still holds the cursor.
std::string declining_context(const SourceDocument& doc, size_t cursor) {
  for (const Capture& capture : captures_touching(doc, QueryKind::Decline, cursor, cursor)) {
    size_t start = start_of(capture.node), end = end_of(capture.node);
    std::string type = node_type(capture.node);
    bool comment = type.find("comment") != std::string::npos;
    std::string_view node_text = std::string_view(doc.text()).substr(start, end - start);
    bool open_at_end = comment ? !node_text.ends_with("*/") : ts_node_has_error(capture.node);
    if (start < cursor && (cursor < end || (cursor == end && open_at_end)))
      return comment ? "inside a comment" : "inside a string literal";
  }
  return "";
}

bool only_closers(std::string_view text) {
  return text.find_first_not_of(" \t\r)]}>;,'\"`") == std::string_view::npos;
}

std::string_view previous_nonblank_line(std::string_view text, size_t offset) {
  size_t start = line_start(text, offset);
  while (start > 0) {
    size_t prev_start = line_start(text, start - 1);
    std::string_view line = text.substr(prev_start, start - 1 - prev_start);
    if (!is_blank(line)) return line;
    start = prev_start;
  }
  return {};
}

bool ends_with_opener(std::string_view line) {
  std::string_view trimmed = trim(line);
  return !trimmed.empty() && (trimmed.back() == ':' || trimmed.back() == '{');
}

// A body node with nothing inside but punctuation and comments.
bool is_empty_body(TSNode body) {
  for (uint32_t i = 0; i < ts_node_named_child_count(body); ++i)
    if (node_type(ts_node_named_child(body, i)).find("comment") == std::string::npos) return false;
  return true;
}

bool is_unfinished(TSNode arguments) {
  uint32_t count = ts_node_child_count(arguments);
  if (count == 0 || ts_node_has_error(arguments)) return true;
  TSNode last = ts_node_child(arguments, count - 1);
  return ts_node_is_missing(last) || node_type(last) != ")";
}

bool has_unclosed_paren(std::string_view line) {
  int depth = 0;
  for (char c : line) depth += c == '(' ? 1 : c == ')' ? -1 : 0;
  return depth > 0;
}

// Average tokens per line over up to 8 non-blank lines above the cursor.
double tokens_per_line_nearby(std::string_view text, size_t cursor) {
  double bytes = 0;
  int lines = 0;
  size_t offset = cursor;
  while (lines < 8) {
    std::string_view line = previous_nonblank_line(text, offset);
    if (line.empty()) break;
    bytes += trim(line).size();
    ++lines;
    offset = static_cast<size_t>(line.data() - text.data());
  }
  return std::max(4.0, lines ? bytes / lines / kBytesPerToken : 12.0);
}

int estimate_tokens(SpanShape shape, std::string_view text, const Cursor& cursor) {
  double per_line = tokens_per_line_nearby(text, cursor.offset);
  if (shape == SpanShape::MultiLine)
    return std::clamp(static_cast<int>(std::ceil(kLinesPerBody * per_line)), kMultiLineMin, kMultiLineMax);
  double typed = trim(cursor.before()).size() / kBytesPerToken;
  return std::clamp(static_cast<int>(std::ceil(per_line - typed)), kRestOfLineMin, kRestOfLineMax);
}

// Which shape the completion takes, and the rule that decided it.
std::pair<SpanShape, std::string> choose_shape(const SourceDocument& doc, const Cursor& cursor) {
  std::string_view before = cursor.before(), after = cursor.after();
  if (!only_closers(after)) return {SpanShape::RestOfLine, "text after cursor"};
  if (!is_blank(before) && ends_with_opener(before)) return {SpanShape::MultiLine, "line ends with opener"};
  if (is_blank(before) && ends_with_opener(previous_nonblank_line(cursor.text, cursor.offset)))
    return {SpanShape::MultiLine, "empty body after opener"};
  std::vector<Capture> blocks = captures_touching(doc, QueryKind::Blocks, cursor.offset, cursor.offset);
  if (is_blank(before)) {
    std::optional<TSNode> body = smallest_around(blocks, "body", cursor.offset, false);
    if (body && is_empty_body(*body)) return {SpanShape::MultiLine, "empty body"};
  }
  std::optional<TSNode> call = smallest_around(blocks, "call", cursor.offset, true);
  if ((call && is_unfinished(*call)) || (is_blank(after) && has_unclosed_paren(before)))
    return {SpanShape::MultiLine, "unfinished call"};
  return {SpanShape::RestOfLine, "rest of line"};
}

}  // namespace

InlineSpan find_inline_span(const SourceDocument& doc, size_t cursor, bool invoked) {
  if (cursor > doc.text().size())
    throw std::out_of_range("cursor " + std::to_string(cursor) + " past the end of the document");
  InlineSpan span;
  if (!invoked) {
    span.declined_reason = declining_context(doc, cursor);
    if (!span.declined_reason.empty()) return span;
  }
  Cursor at{doc.text(), cursor};
  std::tie(span.shape, span.rule) = choose_shape(doc, at);
  span.estimated_tokens = estimate_tokens(span.shape, doc.text(), at);
  return span;
}

ByteRange snap_to_token_boundaries(const Tokenizer& tokenizer, std::string_view text, ByteRange selection) {
  if (selection.begin > selection.end || selection.end > text.size())
    throw std::out_of_range("selection outside the document");
  size_t window_begin = line_start(text, selection.begin);
  size_t window_end = line_end(text, selection.end);
  std::vector<size_t> boundaries{window_begin};
  for (const std::string& piece : tokenizer.pretokenize(text.substr(window_begin, window_end - window_begin)))
    boundaries.push_back(boundaries.back() + piece.size());
  if (boundaries.back() != window_end) return selection;  // pieces do not tile the text: leave it
  ByteRange snapped = selection;
  snapped.begin = *std::prev(std::upper_bound(boundaries.begin(), boundaries.end(), selection.begin));
  snapped.end = *std::lower_bound(boundaries.begin(), boundaries.end(), selection.end);
  return snapped;
}

std::optional<ByteRange> find_edit_span(const SourceDocument& doc, ByteRange selection) {
  if (selection.begin > selection.end || selection.end > doc.text().size())
    throw std::out_of_range("selection outside the document");
  if (selection.begin != selection.end) return selection;
  size_t cursor = selection.begin;
  std::optional<TSNode> best;
  for (const Capture& capture : captures_touching(doc, QueryKind::Scopes, cursor, cursor)) {
    size_t start = start_of(capture.node), end = end_of(capture.node);
    if (start <= cursor && cursor <= end && (!best || end - start < end_of(*best) - start_of(*best)))
      best = capture.node;
  }
  if (!best) return std::nullopt;
  ByteRange span{start_of(*best), end_of(*best)};
  size_t start_of_line = line_start(doc.text(), span.begin);
  if (is_blank(std::string_view(doc.text()).substr(start_of_line, span.begin - start_of_line)))
    span.begin = start_of_line;
  return span;
}

}  // namespace maskfill
