#include "infill/syntax_check.h"

#include <tree_sitter/api.h>

namespace maskfill {
namespace {

int count_in(TSNode node, ByteRange region) {
  if (ts_node_end_byte(node) < region.begin || ts_node_start_byte(node) > region.end) return 0;
  if (ts_node_is_missing(node)) return 1;
  if (!ts_node_has_error(node)) return 0;  // nothing wrong below: skip the subtree
  // ERROR nodes carry the reserved symbol (TSSymbol)-1 (ts_node_is_error arrived after 0.20).
  int errors = ts_node_symbol(node) == static_cast<TSSymbol>(-1) ? 1 : 0;
  for (uint32_t i = 0; i < ts_node_child_count(node); ++i) errors += count_in(ts_node_child(node, i), region);
  return errors;
}

}  // namespace

int count_syntax_errors(const SourceDocument& doc, ByteRange region) {
  if (!doc.tree()) return 0;
  return count_in(ts_tree_root_node(doc.tree()), region);
}

SyntaxVerdict check_replacement(const SourceDocument& doc, ByteRange span, std::string_view text) {
  SyntaxVerdict verdict;
  if (!doc.tree()) return verdict;
  verdict.errors_before = count_syntax_errors(doc, span);
  SourceDocument spliced = doc;
  spliced.replace(span.begin, span.end, text);
  verdict.errors_after = count_syntax_errors(spliced, {span.begin, span.begin + text.size()});
  return verdict;
}

}  // namespace maskfill
