// The other places a user's edit implies (issue #24, next-edit suggestions), found from the
// syntax tree and the text, not by a model: after renaming an identifier, its remaining uses;
// after changing the number of a function's parameters, the argument lists of its calls; after
// changing a literal, the same literal in the same place of the same construct nearby; after
// changing a function's return type, the lines that call it; after changing a parameter's type,
// the argument calls pass for it; after changing the shape of what a function returns (`return a`
// to `return a, b`) under the same declared type, the lines that call it; after changing one call
// (its callee, or the number or order of its arguments), the other calls of the old callee with
// the same argument count nearby. A later step masks only these spans and lets the model rewrite
// them.
#pragma once

#include <tree_sitter/api.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_range.h"
#include "infill/edit_history.h"
#include "infill/prompt_context.h"
#include "infill/source_document.h"

namespace maskfill {

enum class NextEditKind { None, Rename, ParameterCount, Literal, ReturnType, ParameterType, ReturnShape, CallPattern };
// Which part of a site an edit changes, when it is less than the whole site (NextEditSite::part):
// the words of a call's callee that the edited call changed (`log.info(x)` → `logger.info(x)`),
// or the end of an argument list that the edited call or definition appended to.
enum class SitePart { Whole, CalleeWords, AppendedArguments };
// "none", "rename", "parameter_count", "literal", "return_type", "parameter_type", "return_shape",
// "call_pattern"
const char* next_edit_kind_name(NextEditKind kind);

// Whether a syntax node type is a number, string, character or boolean literal of one of the
// grammars (`integer`, `number_literal`, `interpreted_string_literal`, Python's `string`, `true`...).
bool is_literal_type(std::string_view node_type);

struct NextEditSite {
  std::string path;           // the edited document's path, an open document's, or a workspace file's
  std::shared_ptr<const SourceDocument> doc;  // a workspace file that is not open: its text as read
  ByteRange span;             // bytes of that document (the edited one: as after the edit)
  std::string reason;         // e.g. "uses `count`, renamed to `total`"
  // The bytes of `span` the edit changes there, when they are fewer than the site's (a call
  // whose callee alone changed, an argument list that only gains arguments at its end: empty,
  // where they go); else `span`. The rest of the site stays as it reads.
  ByteRange part;
};

struct NextEdit {
  NextEditKind kind = NextEditKind::None;
  TextChange change;          // the edit, between the before and after texts
  std::string old_name, new_name;  // the renamed identifier; the function (both) for ParameterCount;
                                   // the literal's old and new text for Literal; the old and new
                                   // type for ReturnType and ParameterType; the old and new
                                   // returned expression for ReturnShape; the old and new call
                                   // (callee and arguments) for CallPattern
  std::string function;       // ReturnType, ParameterType, ReturnShape: the function whose type or
                              // returned value changed; CallPattern: the callee before the edit
  std::string parameter;      // ParameterType: the parameter's name
  int old_parameters = 0, new_parameters = 0;  // ParameterCount only
  // CallPattern and ParameterCount: the part of each site the edit changes (a site where that
  // part cannot be told apart is rewritten whole) and, for CallPattern, what the edited call's
  // part reads now (the new callee words, or the arguments appended with their comma).
  SitePart part = SitePart::Whole;
  std::string part_text;
  std::vector<NextEditSite> sites;  // the edited document's first, nearest the edit first
  bool truncated = false;     // the site cap or a scan bound was reached
};

struct NextEditLimits {
  size_t max_sites = 200;
  size_t max_scan_bytes = 4 << 20;  // of each document; the rest is not searched
  size_t max_documents = 64;        // open documents searched
  size_t max_workspace_files = 16;  // files that are not open, read from the workspace index
  size_t max_argument_bytes = 8192;  // an argument list longer than this is not a site
  int literal_lines = 30;            // a changed literal's or call's sites: this many lines above and below
};

// The bytes of the return type declared by the function whose name token is `name` (Python,
// TypeScript and Rust `-> T` / `: T`, Go's result, the C, C++ and Java function's own type);
// nothing for a function that declares none.
std::optional<ByteRange> return_type_span(const SourceDocument& doc, ByteRange name);

// A call of one of the grammars (Python's `call`, `call_expression`, Java's `method_invocation`)
// with a parenthesized argument list. The callee is what precedes the arguments (`log.info`,
// `std::max`, `make<T>`); its name the identifier it ends with (`info`, `max`, `make`), empty
// when it ends with something else (`handlers[0]`, `f()`).
struct CallSyntax {
  ByteRange call, callee, name, arguments;
  int argument_count = 0;  // the argument list's named entries, comments left out
};
std::optional<CallSyntax> call_syntax(const SourceDocument& doc, TSNode node);

// Whether `doc` defines `name` outside every function body: at the top level or in a class, where
// another file can reach it. The tags queries also list a function's own variables (JavaScript's
// `let`), which no other file sees. Only such a rename's sites are looked for in the workspace.
bool defines_outside_functions(const SourceDocument& doc, std::string_view name);

class WorkspaceIndex;

// Classifies the change from `before` to `after` (the document at `path`) and lists the sites it
// implies in that document, in `open_documents` (the edited one among them is skipped), then in
// the files of `index` that are not open (a renamed definition's uses, a changed function's
// callers: files of the same language that mention the name, read from disk).
// `before` and `after` should be a whole change: for typing, the text before the newest
// EditHistory entry's first keystroke (text_before) and the current document.
NextEdit find_next_edit_sites(const SourceDocument& before, const SourceDocument& after, const std::string& path,
                              const std::vector<OpenDocument>& open_documents, const NextEditLimits& limits = {},
                              const WorkspaceIndex* index = nullptr);

}  // namespace maskfill
