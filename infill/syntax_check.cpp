#include "infill/syntax_check.h"

#include <tree_sitter/api.h>

namespace maskfill {
namespace {

bool erroneous(TSNode node) { return ts_node_is_missing(node) || ts_node_has_error(node); }

// Does a visible child of the cursor's node carry the error? (A sibling walk: ts_node_child(i)
// costs O(i), which is quadratic over an ERROR node holding thousands of tokens.)
bool error_in_a_child(const TSTreeCursor& cursor) {
  TSTreeCursor probe = ts_tree_cursor_copy(&cursor);
  bool found = false;
  if (ts_tree_cursor_goto_first_child(&probe)) {
    do found = erroneous(ts_tree_cursor_current_node(&probe));
    while (!found && ts_tree_cursor_goto_next_sibling(&probe));
  }
  ts_tree_cursor_delete(&probe);
  return found;
}

}  // namespace

// A cursor walk, not recursion: a document's nesting depth is the user's (or an attacker's).
int count_syntax_errors(const SourceDocument& doc, ByteRange region) {
  if (!doc.tree()) return 0;
  int errors = 0;
  TSTreeCursor cursor = ts_tree_cursor_new(ts_tree_root_node(doc.tree()));
  for (;;) {
    TSNode node = ts_tree_cursor_current_node(&cursor);
    bool descend = false;
    if (ts_node_end_byte(node) >= region.begin && ts_node_start_byte(node) <= region.end) {
      if (ts_node_is_missing(node)) {
        ++errors;
      } else if (ts_node_has_error(node)) {  // else nothing wrong below: skip the subtree
        // ERROR nodes carry the reserved symbol (TSSymbol)-1 (ts_node_is_error arrived after 0.20).
        // An error no visible child carries is a MISSING hidden token (Python's `_newline`, say),
        // which the cursor never visits: it is counted at the node that holds it.
        if (ts_node_symbol(node) == static_cast<TSSymbol>(-1) || !error_in_a_child(cursor)) ++errors;
        descend = true;
      }
    }
    if (descend && ts_tree_cursor_goto_first_child(&cursor)) continue;
    while (!ts_tree_cursor_goto_next_sibling(&cursor))
      if (!ts_tree_cursor_goto_parent(&cursor)) {
        ts_tree_cursor_delete(&cursor);
        return errors;
      }
  }
}

SyntaxVerdict check_replacement(const SourceDocument& doc, ByteRange span, std::string_view text) {
  SyntaxVerdict verdict;
  if (!doc.tree()) return verdict;
  verdict.errors_before = count_syntax_errors(doc, span);
  SourceDocument spliced = doc;
  spliced.replace(span.begin, span.end, text);
  verdict.errors_after = count_syntax_errors(spliced, {span.begin, span.begin + text.size()});
  // The root's error flag is kept by tree-sitter: asking costs nothing.
  verdict.breaks_clean_document = !ts_node_has_error(ts_tree_root_node(doc.tree())) && spliced.tree() &&
                                  ts_node_has_error(ts_tree_root_node(spliced.tree()));
  return verdict;
}

}  // namespace maskfill
