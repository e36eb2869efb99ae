// Next-edit tasks made mechanically from real code (issue #24): the user's edit at one place and
// the consistent refactoring everywhere else as the truth. `maskfill bench next-edit` scores the
// editor's planner and model against them; the trainer turns the same tasks into SFT samples in
// the planner's own prompt format (training/next_edit_synth.h), so both read one definition.
#pragma once

#include <tree_sitter/api.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_range.h"
#include "infill/definitions.h"
#include "infill/edit_history.h"
#include "infill/source_document.h"

namespace maskfill::edit_tasks {

constexpr size_t kMinNameLength = 4;
constexpr size_t kMaxTruthSites = 64;  // more uses than this: a name too common to be a task

struct TruthSite {
  ByteRange span;        // in the text after the user's edit
  std::string new_text;  // what the consistent refactoring puts there
};

struct Task {
  std::string kind;      // "rename", "parameter", "literal", "return_type", "return_shape" or "call_pattern"
  std::string language;
  std::string path;
  std::string before;    // the file as it was
  ByteRange edit;        // bytes of `before` the user replaced...
  std::string edit_text; // ...by this
  std::string old_name;  // the renamed name (rename tasks)
  std::vector<TruthSite> truth;
  std::string root;      // the project folder: the editor's workspace folder, which the diff header names paths from
};

std::string after_text(const Task& task);

// Shifts a span of `before` past the user's edit into the text after it.
ByteRange shifted(const Task& task, ByteRange span);

// Calls `visit` on every node of the tree in document order, walked with a cursor: no recursion
// on the file's nesting depth.
template <typename Visit>
void for_each_node(const SourceDocument& doc, Visit visit) {
  if (!doc.tree()) return;
  TSTreeCursor cursor = ts_tree_cursor_new(ts_tree_root_node(doc.tree()));
  for (bool more = true; more;) {
    visit(ts_tree_cursor_current_node(&cursor));
    if (ts_tree_cursor_goto_first_child(&cursor)) continue;
    while (!ts_tree_cursor_goto_next_sibling(&cursor))
      if (!ts_tree_cursor_goto_parent(&cursor)) {
        more = false;
        break;
      }
  }
  ts_tree_cursor_delete(&cursor);
}

// Every identifier token of the tree (any node type naming an identifier) equal to `name`.
std::vector<ByteRange> identifier_tokens(const SourceDocument& doc, std::string_view name);

// The definitions a task can be made from, in file order: a name long enough to search for,
// defined once in the file.
std::vector<const Definition*> unique_definitions(const std::vector<Definition>& definitions);

// The token that names `definition` where it is defined, among `tokens` of its name.
std::vector<ByteRange>::const_iterator own_token(const std::vector<ByteRange>& tokens, const Definition& definition);

// Rename tasks: at most `per_file` definitions (in file order) renamed where they are defined to
// `new_name(old)`; the truth is every other identifier token of the file with the old name.
using NewName = std::function<std::string(const std::string&)>;
void rename_tasks(const std::string& path, const SourceDocument& doc, const std::vector<Definition>& definitions,
                  const NewName& new_name, int per_file, std::vector<Task>& out);

// The edited document and the edit history the editor would have recorded for the user's edit.
struct Edited {
  SourceDocument doc;
  std::vector<EditEntry> history;
};
Edited apply_user_edit(const Task& task);

// What the consistent refactoring puts at `span` of the edited text: the truth sites inside it
// applied to its text, and how many they are (0 when none is, or one crosses its edge: nothing is
// expected there). A plan's site is one truth site, or in the instruction form those of a line.
struct Expected {
  std::string text;
  size_t sites = 0;
};
Expected expected_at(const Task& task, std::string_view text, ByteRange span);

}  // namespace maskfill::edit_tasks
