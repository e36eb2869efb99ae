#include "training/syntax_tree.h"

#include <stdexcept>

namespace maskfill::training {

TSNode root_node(const SourceDocument& doc) {
  if (!doc.tree()) throw std::logic_error("document has no syntax tree");
  return ts_tree_root_node(doc.tree());
}

std::vector<TSNode> named_children(TSNode node) {
  std::vector<TSNode> out;
  uint32_t n = ts_node_named_child_count(node);
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) out.push_back(ts_node_named_child(node, i));
  return out;
}

void walk_named(TSNode node, const std::function<bool(TSNode)>& visit) {
  // A cursor, not recursion: a generated file nested thousands deep must not exhaust the stack.
  // Anonymous nodes (tokens) are passed through unvisited, as named_child would skip them.
  TSTreeCursor cursor = ts_tree_cursor_new(node);
  int depth = 0;
  for (;;) {
    TSNode current = ts_tree_cursor_current_node(&cursor);
    const bool enter = (depth > 0 && !ts_node_is_named(current)) || visit(current);
    if (enter && ts_tree_cursor_goto_first_child(&cursor)) {
      ++depth;
      continue;
    }
    while (depth > 0 && !ts_tree_cursor_goto_next_sibling(&cursor)) {
      ts_tree_cursor_goto_parent(&cursor);
      --depth;
    }
    if (depth == 0) break;
  }
  ts_tree_cursor_delete(&cursor);
}

std::vector<TSNode> descendants_of_type(TSNode node, std::string_view type) {
  std::vector<TSNode> out;
  walk_named(node, [&](TSNode n) {
    if (node_type(n) == type) out.push_back(n);
    return true;
  });
  return out;
}

bool parses_cleanly(const std::string& text, const LanguageInfo* language) {
  SourceDocument doc(text, language);
  return doc.tree() && !ts_node_has_error(ts_tree_root_node(doc.tree()));
}

std::vector<TSNode> python_top_level_functions(TSNode module) {
  std::vector<TSNode> out;
  for (TSNode child : named_children(module)) {
    if (node_type(child) == "function_definition") out.push_back(child);
    else if (node_type(child) == "decorated_definition") {
      TSNode def = field(child, "definition");
      if (!ts_node_is_null(def) && node_type(def) == "function_definition") out.push_back(def);
    }
  }
  return out;
}

TSNode python_docstring(TSNode function_definition) {
  TSNode body = field(function_definition, "body");
  if (ts_node_is_null(body) || ts_node_named_child_count(body) == 0) return TSNode{};
  TSNode first = ts_node_named_child(body, 0);
  if (node_type(first) != "expression_statement" || ts_node_named_child_count(first) != 1) return TSNode{};
  if (node_type(ts_node_named_child(first, 0)) != "string") return TSNode{};
  return first;
}

std::pair<size_t, size_t> line_span(const std::string& text, TSNode node) {
  size_t begin = ts_node_start_byte(node), end = ts_node_end_byte(node);
  size_t line_start = text.rfind('\n', begin == 0 ? 0 : begin - 1);
  line_start = (begin == 0 || line_start == std::string::npos) ? 0 : line_start + 1;
  size_t line_end = text.find('\n', end);
  line_end = line_end == std::string::npos ? text.size() : line_end + 1;
  return {line_start, line_end};
}

bool is_variable_use(TSNode id) {
  TSNode parent = ts_node_parent(id);
  if (ts_node_is_null(parent)) return true;
  auto type = node_type(parent);
  if (type == "attribute" && ts_node_eq(field(parent, "attribute"), id)) return false;
  if (type == "keyword_argument" && ts_node_eq(field(parent, "name"), id)) return false;
  return true;
}

std::string rename_identifier(const std::string& code, TSNode scope, const std::string& from, const std::string& to) {
  std::vector<TSNode> uses;
  for (TSNode id : descendants_of_type(scope, "identifier"))
    if (node_text(code, id) == from && is_variable_use(id)) uses.push_back(id);
  std::string out = code;
  for (auto it = uses.rbegin(); it != uses.rend(); ++it)  // pre-order walk: increasing offsets
    out.replace(ts_node_start_byte(*it), ts_node_end_byte(*it) - ts_node_start_byte(*it), to);
  return out;
}

std::string indentation_at(const std::string& text, size_t offset) {
  size_t start = offset == 0 ? 0 : text.rfind('\n', offset - 1);
  start = (offset == 0 || start == std::string::npos) ? 0 : start + 1;
  size_t end = start;
  while (end < text.size() && (text[end] == ' ' || text[end] == '\t')) ++end;
  return text.substr(start, end - start);
}

}  // namespace maskfill::training
