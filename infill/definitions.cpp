#include "infill/definitions.h"

#include <tree_sitter/api.h>

#include <algorithm>

#include "common/byte_range.h"
#include "infill/syntax_queries.h"
#include "infill/text_lines.h"

namespace maskfill {
namespace {

bool identifier_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool identifier_char(char c) { return identifier_start(c) || (c >= '0' && c <= '9'); }

}  // namespace

namespace {

// Appends the tags query's definitions inside `node` (itself included) to `definitions`.
void collect_definitions(const SourceDocument& doc, ByteRange bytes, size_t max_definitions,
                         std::vector<Definition>& definitions) {
  const TSQuery& query = syntax_query(*doc.language(), QueryKind::Tags);
  TSQueryCursor* cursor = ts_query_cursor_new();
  ts_query_cursor_set_byte_range(cursor, static_cast<uint32_t>(bytes.begin), static_cast<uint32_t>(bytes.end));
  ts_query_cursor_exec(cursor, &query, ts_tree_root_node(doc.tree()));
  std::string_view text = doc.text();
  TSQueryMatch match;
  while (definitions.size() < max_definitions && ts_query_cursor_next_match(cursor, &match)) {
    Definition definition;
    bool has_name = false, has_node = false;
    for (uint16_t i = 0; i < match.capture_count; ++i) {
      uint32_t length = 0;
      const char* name = ts_query_capture_name_for_id(&query, match.captures[i].index, &length);
      std::string_view capture(name, length);  // not in one expression: `length` is set by the call
      TSNode captured = match.captures[i].node;
      if (capture == "name") {
        definition.name = std::string(
            text.substr(ts_node_start_byte(captured), ts_node_end_byte(captured) - ts_node_start_byte(captured)));
        has_name = true;
      } else if (capture == "definition") {
        definition.begin = ts_node_start_byte(captured);
        definition.end = ts_node_end_byte(captured);
        definition.line = static_cast<int>(ts_node_start_point(captured).row);
        has_node = true;
      }
    }
    if (has_name && has_node && !definition.name.empty()) definitions.push_back(std::move(definition));
  }
  ts_query_cursor_delete(cursor);
}

// Matches come in pattern order within a node; text order makes the result stable.
void sort_by_position(std::vector<Definition>& definitions) {
  std::stable_sort(definitions.begin(), definitions.end(),
                   [](const Definition& a, const Definition& b) { return a.begin < b.begin; });
}

}  // namespace

std::vector<Definition> find_definitions(const SourceDocument& doc, size_t max_definitions) {
  std::vector<Definition> definitions;
  if (!doc.tree() || !doc.language()) return definitions;
  collect_definitions(doc, {0, doc.text().size()}, max_definitions, definitions);
  sort_by_position(definitions);
  return definitions;
}

std::vector<Definition> find_definitions_around(const SourceDocument& doc, size_t begin, size_t end) {
  std::vector<Definition> definitions;
  if (!doc.tree() || !doc.language()) return definitions;
  // Queried from the root (patterns anchored at the module still match) over the bytes of the
  // top-level declarations the range touches, so that their names are visited too.
  TSNode root = ts_tree_root_node(doc.tree());
  ByteRange bytes{begin, end};
  uint32_t children = ts_node_child_count(root);
  for (uint32_t i = 0; i < children; ++i) {
    TSNode child = ts_node_child(root, i);
    if (ts_node_end_byte(child) < begin) continue;
    if (ts_node_start_byte(child) > end) break;
    bytes.begin = std::min<size_t>(bytes.begin, ts_node_start_byte(child));
    bytes.end = std::max<size_t>(bytes.end, ts_node_end_byte(child));
  }
  collect_definitions(doc, bytes, 100000, definitions);
  sort_by_position(definitions);
  return definitions;
}

std::string definition_head(std::string_view text, const Definition& definition, int max_lines, size_t max_bytes) {
  size_t begin = line_start(text, std::min(definition.begin, text.size()));
  size_t end = std::min(definition.end, text.size());
  std::string_view indent = leading_whitespace(text.substr(begin, end - begin));
  std::string head;
  int lines = 0;
  for (size_t at = begin; at < end && lines < max_lines; ++lines) {
    size_t stop = line_end(text, at);
    std::string_view line = text.substr(at, std::min(stop, end) - at);
    if (line.starts_with(indent)) line.remove_prefix(indent.size());
    if (!head.empty() && head.size() + line.size() + 1 > max_bytes) break;
    head.append(line.substr(0, max_bytes)).push_back('\n');
    at = stop + 1;
  }
  return head;
}

std::vector<std::string_view> identifiers_in(std::string_view text, size_t min_length) {
  std::vector<std::string_view> words;
  for (size_t i = 0; i < text.size();) {
    if (!identifier_start(text[i]) || (i > 0 && identifier_char(text[i - 1]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && identifier_char(text[j])) ++j;
    if (j - i >= min_length) words.push_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

std::string_view identifier_before(std::string_view text, size_t at, size_t min_length) {
  at = std::min(at, text.size());
  size_t begin = at;
  while (begin > 0 && identifier_char(text[begin - 1])) --begin;
  while (begin < at && !identifier_start(text[begin])) ++begin;  // "2x" is not a word start
  if (at - begin < min_length) return {};
  return text.substr(begin, at - begin);
}

std::string_view identifier_around(std::string_view text, size_t begin, size_t end) {
  end = std::min(end, text.size());
  begin = std::min(begin, end);
  for (size_t at = begin; at < end; ++at)
    if (!identifier_char(text[at])) return {};
  while (begin > 0 && identifier_char(text[begin - 1])) --begin;
  while (end < text.size() && identifier_char(text[end])) ++end;
  if (begin == end || !identifier_start(text[begin])) return {};
  return text.substr(begin, end - begin);
}

std::string_view line_comment(const LanguageInfo* language) {
  return language && language->name == "python" ? "#" : "//";
}

}  // namespace maskfill
