// Small helpers over tree-sitter nodes for the data stages (SFT synthesis, eval task sets):
// node text, typed walks, and the Python shapes both stages look for.
#pragma once

#include <tree_sitter/api.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "infill/source_document.h"

namespace maskfill::training {

inline std::string_view node_text(const std::string& text, TSNode node) {
  return std::string_view(text).substr(ts_node_start_byte(node), ts_node_end_byte(node) - ts_node_start_byte(node));
}
inline std::string_view node_type(TSNode node) { return ts_node_type(node); }
inline TSNode field(TSNode node, const char* name) {
  return ts_node_child_by_field_name(node, name, static_cast<uint32_t>(std::string_view(name).size()));
}
TSNode root_node(const SourceDocument& doc);  // the document must have a tree
std::vector<TSNode> named_children(TSNode node);
// Pre-order walk of all named descendants (and `node` itself); return false to skip a subtree.
void walk_named(TSNode node, const std::function<bool(TSNode)>& visit);
std::vector<TSNode> descendants_of_type(TSNode node, std::string_view type);

// True when the text parses without ERROR or MISSING nodes in `language`.
bool parses_cleanly(const std::string& text, const LanguageInfo* language);

// Python: function_definition nodes that are top-level statements of the module (decorated or
// not); methods are left out.
std::vector<TSNode> python_top_level_functions(TSNode module);
// The docstring's expression_statement of a function_definition, or a null node.
TSNode python_docstring(TSNode function_definition);
// The bytes [begin, end) of the whole line(s) the node occupies, including the final newline.
std::pair<size_t, size_t> line_span(const std::string& text, TSNode node);
// False for identifiers that name no variable: `obj.attr`'s attr, a keyword argument's name.
bool is_variable_use(TSNode identifier);
// `code` with every variable-use identifier spelled `from` inside `scope` spelled `to`.
std::string rename_identifier(const std::string& code, TSNode scope, const std::string& from, const std::string& to);
// Leading whitespace of the line holding `offset`.
std::string indentation_at(const std::string& text, size_t offset);

}  // namespace maskfill::training
