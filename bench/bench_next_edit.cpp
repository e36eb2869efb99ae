// `maskfill bench next-edit --project DIR ... [--json]`: next-edit suggestions (issue #24) on
// real code (scripts/bench-next-edit.sh fetches the held-out Debian source packages that
// `bench context` uses). Tasks are made mechanically from each file:
//   rename      a definition's name is changed where it is defined; the truth is every other
//               identifier token of the file with that name (from the syntax tree, not from the
//               site finder's text search), each becoming the new name;
//   parameter   a parameter `extra` is appended to a function's parameter list (its syntax
//               tree's `parameters`: not a class's bases, a tuple struct's fields or a call);
//               the truth is the argument list of every call of it in the file, each with
//               `extra` appended;
//   literal     a number or string that repeats in exactly the same construct within 30 lines
//               gets a digit or a letter more at its first use; the truth is the other uses;
//   return_type a function's declared return type is replaced by another; the truth is the
//               line of every call of it (sites only: no mechanical answer to score);
//   return_shape a function's first `return` value gets one element more (`x` → `x, None`,
//               `[x, null]`, `(x, 0)`...); the truth is the line of every call (sites only);
//   call_pattern a callee (`foo`, `obj.method`) called at least twice within 30 lines with as
//               many arguments gets `_v2` appended to its last identifier at one call; the truth
//               is the other such calls within 30 lines, whole, each with the same rename.
// The user's edit is recorded in an EditHistory as the editor would, and the editor's own
// planner (plan_next_edit, execute_plan) does the rest. Reported:
//   site_recall / site_precision   the sites found against the truth, per kind and language
//   exact_match_{masked,instruction}  truth sites whose shown suggestion is exactly right
//   right_answer                   per form and kind, with no model: the truth sites whose right
//                                  answer fits the tokens the plan lets the site decode, and that
//                                  are shown exactly right when the decoder writes that answer
//   next_edit_batch_cost_ratio_k8  wall time of a plan with 8 sites over the same with 1, both
//                                  with the prompt cache cleared (as after a real edit), decoded
//                                  as the editor does (a site stops at its first unsure token);
//                                  ..._full_decode: every site decoded to its end
//   first_suggestion_ms_p50        plan + decode for up to 4 sites, every site to its end
//   tokens_generated_ratio         tokens decoded over an autoregressive rewrite of the windows
//                                  (2 lines above, 5 below) around the same sites
//   reversal_rate                  shown suggestions that write back the name the user replaced
//   workspace                      rename tasks again, with each project's workspace index and no
//                                  file open: the uses found in the project's other files (of the
//                                  task's language) against every identifier token with the old
//                                  name there, and the site finder's time with the index
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <tree_sitter/api.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "bench/bench_stats.h"
#include "common/command.h"
#include "common/read_file.h"
#include "inference/engine.h"
#include "inference/tokenizer.h"
#include "infill/definitions.h"
#include "infill/plan.h"
#include "infill/next_edit_sites.h"
#include "infill/text_lines.h"
#include "infill/workspace_index.h"
#include "lsp-server/jsonrpc.h"
#include "training/next_edit_tasks.h"

namespace maskfill {
namespace {

namespace fs = std::filesystem;
using lsp::json;
using Clock = std::chrono::steady_clock;
using namespace edit_tasks;

constexpr size_t kMaxFileBytes = 256 << 10;
constexpr int kRenamesPerFile = 2;
constexpr int kParametersPerFile = 1;
constexpr int kLiteralsPerFile = 1;
constexpr int kReturnTypesPerFile = 1;
constexpr int kReturnShapesPerFile = 1;
constexpr int kCallPatternsPerFile = 1;
constexpr std::string_view kCalleeSuffix = "_v2";  // what a call-pattern task appends to the callee
constexpr int kLiteralLines = 30;          // the site finder's window for a changed literal
constexpr size_t kMaxLiteralContext = 200; // a literal's construct or an edited call longer than this: no task
constexpr int kWindowAbove = 2, kWindowBelow = 5;  // an AR next-edit model's editable region

bool same_site(ByteRange a, ByteRange b) { return a.begin == b.begin && a.end == b.end; }

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// The balanced "( ... )" opening at `open` (nothing when it does not close on a short run).
std::optional<ByteRange> parenthesized(std::string_view text, size_t open) {
  if (open >= text.size() || text[open] != '(') return std::nullopt;
  int depth = 0;
  for (size_t at = open; at < text.size() && at < open + 4096; ++at) {
    if (text[at] == '(') ++depth;
    else if (text[at] == ')' && --depth == 0) return ByteRange{open, at + 1};
  }
  return std::nullopt;
}

// `list` ("( ... )") with `argument` after its last entry, as a careful user appends one: the
// list's own blanks and trailing comma stay where they are (`( a )` → `( a, extra )`,
// `(a,\n)` → `(a, extra,\n)`).
std::string appended_argument(std::string_view list, std::string_view argument) {
  std::string_view inner = list.substr(1, list.size() - 2);
  size_t end = inner.find_last_not_of(" \t\r\n");
  if (end == std::string_view::npos) return "(" + std::string(argument) + ")";
  if (inner[end] == ',') end = inner.find_last_not_of(" \t\r\n", end - 1);
  if (end == std::string_view::npos) return "(" + std::string(argument) + std::string(inner) + ")";
  return "(" + std::string(inner.substr(0, end + 1)) + ", " + std::string(argument) +
         std::string(inner.substr(end + 1)) + ")";
}

// Whether the name at `token` declares a function whose parameter list opens at `open` (a
// definition or a prototype), not a call of it.
bool declares(const SourceDocument& doc, ByteRange token, size_t open) {
  TSNode node = ts_node_named_descendant_for_byte_range(ts_tree_root_node(doc.tree()), uint32_t(token.begin),
                                                        uint32_t(token.end));
  for (int depth = 0; depth < 4 && !ts_node_is_null(node); ++depth) {
    node = ts_node_parent(node);
    if (ts_node_is_null(node)) break;
    TSNode parameters = ts_node_child_by_field_name(node, "parameters", 10);
    if (!ts_node_is_null(parameters) && ts_node_start_byte(parameters) == open) return true;
  }
  return false;
}

bool has_word(std::string_view text, std::string_view word) {
  auto part_of_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  for (size_t at = text.find(word); at != std::string_view::npos; at = text.find(word, at + 1)) {
    size_t end = at + word.size();
    if ((at == 0 || !part_of_word(text[at - 1])) && (end == text.size() || !part_of_word(text[end]))) return true;
  }
  return false;
}

std::string new_parameter(const std::string& language) {
  if (language == "go") return "extra int";
  if (language == "rust") return "extra: i32";
  if (language == "c" || language == "cpp" || language == "java") return "int extra";
  return "extra";
}

std::string renamed(const std::string& name) {
  bool camel = std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }) &&
               name.find('_') == std::string::npos;
  return name + (camel ? "Next" : "_next");
}

void parameter_tasks(const std::string& path, const SourceDocument& doc, const std::vector<Definition>& definitions,
                     std::vector<Task>& out) {
  std::string_view text = doc.text();
  int made = 0;
  for (const Definition* candidate : unique_definitions(definitions)) {
    const Definition& definition = *candidate;
    if (made == kParametersPerFile) break;
    // A C/C++ macro's parameters are bare names: the typed parameter appended here would not parse.
    if (text.substr(definition.begin).starts_with("#")) continue;
    std::vector<ByteRange> tokens = identifier_tokens(doc, definition.name);
    std::optional<ByteRange> parameters;
    std::vector<TruthSite> calls;
    for (const ByteRange& token : tokens) {
      size_t open = text.find_first_not_of(" \t", token.end);
      std::optional<ByteRange> list = open == std::string_view::npos ? std::nullopt : parenthesized(text, open);
      if (!list) continue;
      bool declaration = declares(doc, token, open);
      bool own = token.begin >= definition.begin && token.end <= definition.end && !parameters;
      if (own && !declaration) break;  // a class's bases, a tuple struct, a call: no parameter list
      if (own) parameters = list;
      else if (!declaration) calls.push_back({*list, ""});
    }
    if (!parameters || calls.empty() || calls.size() > kMaxTruthSites) continue;
    std::string_view list = text.substr(parameters->begin, parameters->size());
    if (list.find('\n') != std::string_view::npos) continue;  // one-line lists keep the edit simple
    Task task{"parameter", doc.language()->name, path, doc.text(), *parameters,
              appended_argument(list, new_parameter(doc.language()->name)), definition.name, {}};
    for (TruthSite& call : calls) {
      if (call.span.begin >= parameters->begin && call.span.end <= parameters->end) continue;
      call.new_text = appended_argument(text.substr(call.span.begin, call.span.size()), "extra");
      call.span = shifted(task, call.span);
      task.truth.push_back(call);
    }
    if (task.truth.empty()) continue;
    out.push_back(std::move(task));
    ++made;
  }
}

// A return type other than `old`, in the language's syntax (TypeScript's includes its colon).
std::string other_return_type(const std::string& language, std::string_view old) {
  std::string type = language == "python"                            ? "bytes"
                     : language == "typescript" || language == "tsx" ? ": unknown"
                     : language == "go"                              ? "int64"
                     : language == "rust"                            ? "u64"
                                                                     : "long";
  return type == old || (old.starts_with(':') && trim(old.substr(1)) == trim(std::string_view(type).substr(1)))
             ? (old.starts_with(':') ? ": never" : "int")
             : type;
}

// The truth of a task that changes what a function returns: the line of every call of it among
// `tokens` (the name's identifier tokens), from its first non-blank byte to the end of the line its
// arguments close on (a use of the result, which the user may need to change).
void add_call_lines(const SourceDocument& doc, const std::vector<ByteRange>& tokens, Task& task) {
  std::string_view text = doc.text();
  for (const ByteRange& token : tokens) {
    size_t open = text.find_first_not_of(" \t", token.end);
    std::optional<ByteRange> list = open == std::string_view::npos ? std::nullopt : parenthesized(text, open);
    if (!list || declares(doc, token, open)) continue;
    // A call inside the edited text (a method returning another object's call of the same name,
    // a recursive call) is rewritten by the user's edit itself: not a site.
    if (token.begin >= task.edit.begin && token.end <= task.edit.end) continue;
    size_t begin = line_start(text, token.begin);
    while (begin < token.begin && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
    ByteRange line = shifted(task, {begin, line_end(text, list->end - 1)});
    if (task.truth.empty() || !same_site(task.truth.back().span, line)) task.truth.push_back({line, ""});
  }
}

// Return-type tasks: a function that declares a return type gets another one; the truth is the
// line of every call. No model answer is scored: what the line should become is not mechanical.
void return_type_tasks(const std::string& path, const SourceDocument& doc, const std::vector<Definition>& definitions,
                       std::vector<Task>& out) {
  std::string_view text = doc.text();
  int made = 0;
  for (const Definition* candidate : unique_definitions(definitions)) {
    const Definition& definition = *candidate;
    if (made == kReturnTypesPerFile) break;
    std::vector<ByteRange> tokens = identifier_tokens(doc, definition.name);
    auto own = own_token(tokens, definition);
    if (own == tokens.end()) continue;
    std::optional<ByteRange> type = return_type_span(doc, *own);
    if (!type || text.substr(type->begin, type->size()).find('\n') != std::string_view::npos) continue;
    Task task{"return_type", doc.language()->name, path, doc.text(), *type,
              other_return_type(doc.language()->name, text.substr(type->begin, type->size())), definition.name, {}};
    add_call_lines(doc, tokens, task);
    if (task.truth.empty() || task.truth.size() > kMaxTruthSites) continue;
    out.push_back(std::move(task));
    ++made;
  }
}

// `value` with one element more, in a shape the language writes in a `return`: a tuple in Python
// (a tuple grows by one), Go (a second result) and Rust; an array in JavaScript and TypeScript; a
// braced list in C++. Nothing for C and Java, which have no such literal to return.
std::optional<std::string> grown_return_value(const std::string& language, std::string_view value) {
  std::string v(value);
  if (language == "python") return v + ", None";
  if (language == "go") return v + ", nil";
  if (language == "rust") return "(" + v + ", 0)";
  if (language == "javascript" || language == "typescript" || language == "tsx") return "[" + v + ", null]";
  if (language == "cpp") return "{" + v + ", 0}";
  return std::nullopt;
}

// Whether the function a `return` belongs to (its nearest function, method, lambda or closure)
// is the one named by the token `name`: not a method of a class named so, nor a nested function.
bool returns_from(TSNode statement, ByteRange name) {
  for (TSNode node = ts_node_parent(statement); !ts_node_is_null(node); node = ts_node_parent(node)) {
    std::string_view type = ts_node_type(node);
    for (std::string_view kind : {"function", "method", "lambda", "closure", "arrow"})
      if (type.find(kind) != std::string_view::npos)
        return ts_node_start_byte(node) <= name.begin && name.end <= ts_node_end_byte(node);
  }
  return false;
}

// The value of the first `return` with one of the function `definition` (whose name token is
// `name`), when it is on one line.
std::optional<ByteRange> first_return_value(const SourceDocument& doc, const Definition& definition, ByteRange name) {
  std::optional<ByteRange> found;
  for_each_node(doc, [&](TSNode node) {
    std::string_view type = ts_node_type(node);
    if (found || ts_node_start_byte(node) < definition.begin || ts_node_end_byte(node) > definition.end ||
        (type != "return_statement" && type != "return_expression") || ts_node_named_child_count(node) == 0 ||
        !returns_from(node, name))
      return;
    TSNode value = ts_node_named_child(node, 0);
    ByteRange span{ts_node_start_byte(value), ts_node_end_byte(value)};
    if (std::string_view(ts_node_type(value)).find("comment") == std::string_view::npos &&
        doc.text().substr(span.begin, span.size()).find('\n') == std::string::npos)
      found = span;
  });
  return found;
}

// Return-shape tasks: the first returned value of a function that the file calls gets one element
// more; the truth is the line of every call, as for a changed return type.
void return_shape_tasks(const std::string& path, const SourceDocument& doc, const std::vector<Definition>& definitions,
                        std::vector<Task>& out) {
  int made = 0;
  for (const Definition* candidate : unique_definitions(definitions)) {
    const Definition& definition = *candidate;
    if (made == kReturnShapesPerFile) break;
    std::vector<ByteRange> tokens = identifier_tokens(doc, definition.name);
    auto own = own_token(tokens, definition);
    if (own == tokens.end()) continue;
    std::optional<ByteRange> value = first_return_value(doc, definition, *own);
    std::optional<std::string> grown =
        value ? grown_return_value(doc.language()->name, doc.text().substr(value->begin, value->size())) : std::nullopt;
    if (!grown) continue;
    Task task{"return_shape", doc.language()->name, path, doc.text(), *value, *grown, definition.name, {}};
    add_call_lines(doc, tokens, task);
    if (task.truth.empty() || task.truth.size() > kMaxTruthSites) continue;
    out.push_back(std::move(task));
    ++made;
  }
}

// The literal changed by a task: a number gets a digit more, a string a letter more.
std::optional<std::string> changed_literal_text(std::string_view text) {
  if (!text.empty() && text.size() <= 6 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::string(text) + "0";
  bool quoted = text.size() >= 2 && text.size() <= 40 && (text.front() == '"' || text.front() == '\'') &&
                text.back() == text.front();
  if (!quoted || text.find_first_of("\\{\n") != std::string_view::npos) return std::nullopt;
  return std::string(text.substr(0, text.size() - 1)) + "x" + text.back();
}

// Literal tasks: a number or string literal that repeats in exactly the same construct nearby
// (the literal's parent node, or the call for an argument, reads the same once the literal is
// taken out: `timeout=30` and `timeout=30`, `sleep(30)` and `sleep(30)`) is changed at its first use; the truth is the other
// uses within kLiteralLines, each changed the same way. A stricter rule than the site finder's
// (same place of the same construct, other arguments free), so precision shows how much wider
// the finder reaches.
void literal_tasks(const std::string& path, const SourceDocument& doc, std::vector<Task>& out) {
  struct Use {
    ByteRange span;
    int line;
  };
  std::map<std::pair<std::string, std::string>, std::vector<Use>> groups;  // (literal, construct)
  std::string_view text = doc.text();
  for_each_node(doc, [&](TSNode node) {
    TSNode parent = ts_node_parent(node);
    // An argument's construct is the whole call: `f(30)` and `g(30)` are not the same place.
    if (!ts_node_is_null(parent) && std::string_view(ts_node_type(parent)).find("argument") != std::string_view::npos &&
        !ts_node_is_null(ts_node_parent(parent)))
      parent = ts_node_parent(parent);
    uint32_t begin = ts_node_start_byte(node), end = ts_node_end_byte(node);
    // A character ('a', 'ä' in C, C++, Rust, Java; a Go rune) given a letter more is no literal.
    std::string_view type = ts_node_type(node);
    const bool character = type.find("char") != std::string_view::npos || type == "rune_literal";
    if (is_literal_type(type) && !character && !ts_node_is_null(parent) &&
        ts_node_end_byte(parent) - ts_node_start_byte(parent) <= kMaxLiteralContext) {
      uint32_t parent_begin = ts_node_start_byte(parent), parent_end = ts_node_end_byte(parent);
      std::string construct = std::string(ts_node_type(parent)) + "|" +
                              std::string(text.substr(parent_begin, begin - parent_begin)) + "\x01" +
                              std::string(text.substr(end, parent_end - end));
      groups[{std::string(text.substr(begin, end - begin)), construct}].push_back(
          {{begin, end}, static_cast<int>(ts_node_start_point(node).row)});
    }
  });
  int made = 0;
  for (const auto& [key, uses] : groups) {
    if (made == kLiteralsPerFile) break;
    std::optional<std::string> changed = changed_literal_text(key.first);
    if (!changed || uses.size() < 2 || uses.size() > kMaxTruthSites) continue;
    const Use& edited = uses.front();
    Task task{"literal", doc.language()->name, path, doc.text(), edited.span, *changed, key.first, {}};
    for (size_t i = 1; i < uses.size(); ++i)
      if (uses[i].line - edited.line <= kLiteralLines) task.truth.push_back({shifted(task, uses[i].span), *changed});
    if (task.truth.empty()) continue;
    out.push_back(std::move(task));
    ++made;
  }
}

// Call-pattern tasks: calls grouped by callee text and argument count (the site finder's
// CallSyntax, from a walk of the tree rather than its text search). The edited call is the
// first one short enough for the finder to classify with another of its group within
// kLiteralLines; the truth is every other call of the group within kLiteralLines of it.
void call_pattern_tasks(const std::string& path, const SourceDocument& doc, std::vector<Task>& out) {
  struct Use {
    CallSyntax call;
    int line;
  };
  std::map<std::pair<std::string, int>, std::vector<Use>> groups;  // (callee, argument count)
  std::string_view text = doc.text();
  for_each_node(doc, [&](TSNode node) {
    std::optional<CallSyntax> call = call_syntax(doc, node);
    if (!call || call->name.empty()) return;
    std::string_view callee = text.substr(call->callee.begin, call->callee.size());
    if (callee.find_first_of(" \t\r\n") != std::string_view::npos) return;  // the finder searches its text
    groups[{std::string(callee), call->argument_count}].push_back({*call, static_cast<int>(ts_node_start_point(node).row)});
  });
  auto near = [](const Use& a, const Use& b) { return std::abs(a.line - b.line) <= kLiteralLines; };
  int made = 0;
  for (const auto& [key, uses] : groups) {
    if (made == kCallPatternsPerFile) break;
    if (uses.size() < 2 || uses.size() > kMaxTruthSites) continue;
    auto edited = std::find_if(uses.begin(), uses.end(), [&](const Use& use) {
      return use.call.call.size() + kCalleeSuffix.size() <= kMaxLiteralContext &&
             std::any_of(uses.begin(), uses.end(), [&](const Use& other) { return &other != &use && near(use, other); });
    });
    if (edited == uses.end()) continue;
    Task task{"call_pattern", doc.language()->name, path, doc.text(), {edited->call.name.end, edited->call.name.end},
              std::string(kCalleeSuffix), key.first, {}};
    for (const Use& use : uses) {
      if (&use == &*edited || !near(use, *edited)) continue;
      std::string call(text.substr(use.call.call.begin, use.call.call.size()));
      task.truth.push_back({shifted(task, use.call.call),
                            call.insert(use.call.name.end - use.call.call.begin, kCalleeSuffix)});
    }
    out.push_back(std::move(task));
    ++made;
  }
}

std::vector<Task> make_tasks(const std::vector<std::string>& roots) {
  std::vector<Task> tasks;
  for (const std::string& root : roots) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied))
      if (entry.is_regular_file() && !entry.is_symlink() && find_language("", entry.path().string()))
        files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      const size_t made = tasks.size();
      std::string text;
      try {
        text = read_file(file.string());
      } catch (const std::exception&) {
        continue;
      }
      if (text.size() > kMaxFileBytes) continue;
      SourceDocument doc(text, find_language("", file.string()));
      if (!doc.tree() || ts_node_has_error(ts_tree_root_node(doc.tree()))) continue;
      std::vector<Definition> definitions = find_definitions(doc);
      rename_tasks(file.string(), doc, definitions, renamed, kRenamesPerFile, tasks);
      parameter_tasks(file.string(), doc, definitions, tasks);
      literal_tasks(file.string(), doc, tasks);
      return_type_tasks(file.string(), doc, definitions, tasks);
      return_shape_tasks(file.string(), doc, definitions, tasks);
      call_pattern_tasks(file.string(), doc, tasks);
      for (size_t i = made; i < tasks.size(); ++i) tasks[i].root = root;
    }
  }
  return tasks;
}

// The editor's state after the user's edit: the document, and the edit in the history.
struct Tally {
  size_t truth = 0, found = 0, matched = 0;
  double recall() const { return truth ? double(matched) / double(truth) : 0; }
  double precision() const { return found ? double(matched) / double(found) : 0; }
  json to_json() const { return {{"tasks_sites", truth}, {"site_recall", recall()}, {"site_precision", precision()}}; }
};

// Sites found against the truth, with no model: the planner's sites at the default cap.
void score_sites(const Task& task, const Edited& edited, const ModelView& model, Tally& tally) {
  InfillSettings settings;
  settings.next_edit_max_sites = static_cast<int>(kMaxTruthSites);
  Plan plan = plan_next_edit(model, edited.doc, task.path, edited.history, settings, task.root);
  tally.truth += task.truth.size();
  tally.found += plan.sites.size();
  for (const PlanSite& site : plan.sites)
    for (const TruthSite& truth : task.truth)
      if (same_site(site.span, truth.span)) ++tally.matched;
  if (spdlog::should_log(spdlog::level::debug))
    for (const TruthSite& truth : task.truth)
      if (std::none_of(plan.sites.begin(), plan.sites.end(), [&](const PlanSite& s) { return same_site(s.span, truth.span); }))
        spdlog::debug("missed {} site {}:{} `{}`{}", task.kind, task.path, truth.span.begin,
                      std::string_view(edited.doc.text()).substr(truth.span.begin, std::min<size_t>(truth.span.size(), 80)),
                      plan.declined_reason.empty() ? "" : " (" + plan.declined_reason + ")");
}

// The right answer at every site, checked with no model. `fits`: it fits the room the plan
// gives the site (gen_length + extend_max): in the masked form the truth's tokens; in the
// instruction form the site's lines with the truth in place, dedented as the prompt shows them,
// plus the two lines of a fenced block. `shown_exact`: decoded by OracleEngine, which answers
// each site with exactly that (cut to its room), the answer comes out of postprocessing and the
// gate shown and equal to the truth. Either below 1 is a fault of the planner, not the model.
struct RightAnswers {
  size_t sites = 0, fits = 0, shown_exact = 0;
  // The right answers' distinct words (identifiers, numbers) and how many of them the model can
  // read in the site's prompt (header and window): what a window size keeps in view, whatever
  // the model. Masked form only.
  size_t words = 0, words_in_prompt = 0;
};

// The distinct identifier and number words of a snippet.
std::set<std::string> words_of(std::string_view text) {
  std::set<std::string> words;
  for (std::string_view word : words_in(text)) words.emplace(word);
  return words;
}

// Answers each prompt it was told with that text, then EOS, cut to the room the options give.
class OracleEngine : public Engine {
 public:
  explicit OracleEngine(const Engine& real) : real_(real) {}
  void expect(const std::vector<int32_t>& prompt, std::string answer) { answers_[prompt] = std::move(answer); }
  const Tokenizer& tokenizer() const override { return real_.tokenizer(); }
  const ModelConfig& config() const override { return real_.config(); }
  const TokenizerConfig& tokenizer_config() const override { return real_.tokenizer_config(); }
  std::string description() const override { return "oracle"; }
  DecodeResult generate(const std::vector<int32_t>& prompt, const DecodeOptions& options, const CancelCheck&) override {
    DecodeResult result;
    result.stop = StopReason::Eos;
    if (auto it = answers_.find(prompt); it != answers_.end()) result.tokens = tokenizer().encode(it->second);
    if (result.tokens.size() > size_t(options.gen_length + options.extend_max)) {
      result.tokens.resize(size_t(options.gen_length + options.extend_max));
      result.stop = StopReason::Length;
    }
    result.text = tokenizer().decode(result.tokens);
    result.stats.generated_tokens = static_cast<int>(result.tokens.size());
    return result;
  }
  DecodeResult generate_autoregressive(const std::vector<int32_t>&, int, const CancelCheck&) override {
    throw std::logic_error("the oracle answers next-edit sites only");
  }

 private:
  const Engine& real_;
  std::map<std::vector<int32_t>, std::string> answers_;
};

void check_right_answers(const Task& task, const Edited& edited, const Engine& real, const InfillSettings& base,
                         NextEditForm form, RightAnswers& checked) {
  OracleEngine oracle(real);
  ModelView model = ModelView::of(oracle);
  InfillSettings settings = base;
  settings.next_edit_form = form;
  settings.next_edit_max_sites = static_cast<int>(kMaxTruthSites);
  Plan plan = plan_next_edit(model, edited.doc, task.path, edited.history, settings, task.root);
  std::string_view text = edited.doc.text();
  const int fences = static_cast<int>(model.tokenizer.encode("```\n").size() + model.tokenizer.encode("\n```").size());
  std::vector<Expected> expected(plan.sites.size());
  std::vector<std::string> answers(plan.sites.size());
  for (size_t i = 0; i < plan.sites.size(); ++i) {
    const PlanSite& site = plan.sites[i];
    if (site.path != task.path) continue;
    expected[i] = expected_at(task, text, site.span);
    if (expected[i].sites == 0) continue;
    std::string answer = expected[i].text;
    int extra = 0;
    bool reachable = true;  // the kept part of a site reads as the truth does
    if (form == NextEditForm::MaskedSpans) {
      // The model writes only the site's masked part; the rest must already read right.
      std::string_view before = text.substr(site.span.begin, site.rewritten.begin - site.span.begin);
      std::string_view after = text.substr(site.rewritten.end, site.span.end - site.rewritten.end);
      reachable = answer.size() >= before.size() + after.size() && answer.starts_with(before) && answer.ends_with(after);
      if (reachable) answer = answer.substr(before.size(), answer.size() - before.size() - after.size());
    }
    if (form == NextEditForm::Instruction) {
      answer = shift_lines(std::string(text.substr(site.rewritten.begin, site.span.begin - site.rewritten.begin)) +
                               answer + std::string(text.substr(site.span.end, site.rewritten.end - site.span.end)),
                           site.edit_indent, "");
      extra = fences;
    }
    const int needed = static_cast<int>(model.tokenizer.encode(answer).size()) + extra;
    const int given = site.options.gen_length + site.options.extend_max;
    checked.sites += expected[i].sites;
    checked.fits += reachable && needed <= given ? expected[i].sites : 0;
    if (!reachable)
      spdlog::debug("unreachable: {} site {}:{} keeps text the truth changes: `{}`", task.kind, task.path,
                    site.span.begin, expected[i].text.substr(0, 120));
    else if (needed > given)
      spdlog::debug("no room: {} {} site {}:{} needs {} tokens, has {}: `{}`", task.kind, next_edit_form_name(form),
                    task.path, site.span.begin, needed, given, answer.substr(0, 120));
    if (form == NextEditForm::MaskedSpans) {
      const std::set<std::string> in_prompt = words_of(model.tokenizer.decode(site.prompt, false));
      for (const std::string& word : words_of(answer)) {
        checked.words += expected[i].sites;
        checked.words_in_prompt += in_prompt.count(word) ? expected[i].sites : 0;
      }
    }
    answers[i] = answer;
    oracle.expect(site.prompt, std::move(answer));
  }
  CompletionOutcome outcome = execute_plan(oracle, edited.doc, plan, {});
  for (const Candidate& shown : outcome.candidates) {
    const Expected& want = expected[size_t(shown.site)];
    if (want.sites > 0 && shown.text == want.text) checked.shown_exact += want.sites;
    else if (want.sites > 0)
      spdlog::debug("right answer changed: {} {} site {}:{} `{}` shown as `{}`", task.kind, next_edit_form_name(form),
                    task.path, plan.sites[size_t(shown.site)].span.begin, want.text.substr(0, 160),
                    shown.text.substr(0, 160));
  }
  for (const Candidate& held : outcome.withheld)
    if (expected[size_t(held.site)].sites > 0)
      spdlog::debug("right answer withheld: {} {} site {}:{} `{}` for `{}`: {}", task.kind, next_edit_form_name(form),
                    task.path, plan.sites[size_t(held.site)].span.begin, answers[size_t(held.site)].substr(0, 160),
                    text.substr(plan.sites[size_t(held.site)].rewritten.begin,
                                std::min<size_t>(160, plan.sites[size_t(held.site)].rewritten.size())),
                    held.withheld);
}

// Rename tasks with the workspace index of their project (issue #24: "its references ... in the
// workspace index"): sites in the project's other files, against the identifier tokens with the
// old name in every file of the task's language, and the site finder's time with the index.
struct WorkspaceRun {
  Tally tally;
  Tally within_cap;  // the tasks whose uses elsewhere are in at most max_workspace_files files
  size_t tasks = 0, tasks_with_uses = 0, files_with_uses = 0, files_read = 0;
  size_t local_renames = 0;  // a function's own variable: no other file can use it, not a task
  std::vector<double> find_ms;
  double index_seconds = 0;
  size_t index_files = 0, index_words = 0, index_bytes = 0;
};

WorkspaceRun run_workspace(const std::vector<std::string>& roots, const std::vector<Task>& tasks, size_t max_tasks) {
  WorkspaceRun run;
  for (const std::string& root_name : roots) {
    const fs::path root = fs::canonical(root_name);
    WorkspaceIndex index({root});
    index.build();
    run.index_seconds += index.stats().build_seconds;
    run.index_files += index.stats().files;
    run.index_words += index.stats().words;
    run.index_bytes += index.stats().bytes;
    std::vector<const Task*> renames;
    for (const Task& task : tasks)
      if (task.kind == "rename" && fs::canonical(task.path).string().starts_with(root.string() + "/"))
        renames.push_back(&task);
    const size_t count = std::min(max_tasks, renames.size());
    for (size_t i = 0; i < count; ++i) {
      const Task& task = *renames[i * renames.size() / count];
      const std::string path = fs::canonical(task.path).string();
      const LanguageInfo* language = find_language_by_name(task.language);
      SourceDocument before(task.before, language), after(after_text(task), language);
      if (!defines_outside_functions(before, task.old_name)) {
        ++run.local_renames;
        continue;
      }
      NextEditLimits limits;
      limits.max_sites = 1000;  // the file cap, not the site cap, is what this measures
      auto started = Clock::now();
      NextEdit edit = find_next_edit_sites(before, after, path, {}, limits, &index);
      run.find_ms.push_back(ms_since(started));
      ++run.tasks;
      std::map<std::string, std::vector<ByteRange>> found;
      for (const NextEditSite& site : edit.sites)
        if (site.path != path) found[site.path].push_back(site.span);
      run.files_read += found.size();
      Tally one;
      size_t files_with_uses = 0;
      std::vector<std::string> missed;  // --verbose: the uses not found, logged for a task within the cap
      for (const std::string& file : index.files_mentioning(task.old_name, task.language, 100000)) {
        if (file == path) continue;
        std::optional<std::string> text = index.read(file);
        if (!text) continue;
        SourceDocument doc(std::move(*text), language);
        std::vector<ByteRange> truth = identifier_tokens(doc, task.old_name);
        const std::vector<ByteRange>& sites = found[file];
        one.truth += truth.size();
        one.found += sites.size();
        for (const ByteRange& span : sites)
          one.matched += std::any_of(truth.begin(), truth.end(), [&](ByteRange t) { return same_site(t, span); });
        files_with_uses += !truth.empty();
        if (spdlog::should_log(spdlog::level::debug))
          for (const ByteRange& t : truth)
            if (std::none_of(sites.begin(), sites.end(), [&](ByteRange s) { return same_site(s, t); }))
              missed.push_back(file + ": " + std::string(doc.text().substr(line_start(doc.text(), t.begin),
                                                                             std::min<size_t>(120, line_end(doc.text(), t.begin) - line_start(doc.text(), t.begin)))));
      }
      if (files_with_uses <= limits.max_workspace_files)
        for (const std::string& line : missed) spdlog::debug("workspace: missed `{}` in {}", task.old_name, line);
      run.files_with_uses += files_with_uses;
      run.tasks_with_uses += files_with_uses > 0;
      for (Tally* tally : {&run.tally, files_with_uses <= limits.max_workspace_files ? &run.within_cap : nullptr})
        if (tally) {
          tally->truth += one.truth;
          tally->found += one.found;
          tally->matched += one.matched;
        }
    }
  }
  return run;
}

int window_tokens(const Tokenizer& tokenizer, std::string_view text, size_t at) {
  size_t begin = line_start(text, at);
  for (int i = 0; i < kWindowAbove && begin > 0; ++i) begin = line_start(text, begin - 1);
  size_t end = line_end(text, at);
  for (int i = 0; i < kWindowBelow && end < text.size(); ++i) end = line_end(text, end + 1);
  return static_cast<int>(tokenizer.encode(text.substr(begin, end - begin)).size());
}

struct KindRun {
  size_t truth = 0, exact = 0, exact_ungated = 0, shown = 0;
};
struct ModelRun {
  std::map<std::string, KindRun> by_kind;  // the same counts per task kind
  size_t truth = 0, exact = 0, exact_ungated = 0, shown = 0, reversals = 0;
  size_t answers = 0, reversals_ungated = 0;  // every site's answer, shown or held back by the gate
  double tokens = 0, ar_tokens = 0;
  std::vector<double> first_ms;
};

// Decodes every task's plan in `form`: exact matches (shown, and before the gate), tokens, reversals.
void run_model(Engine& engine, const std::vector<Task>& tasks, const InfillSettings& base, NextEditForm form,
               ModelRun& run) {
  for (const Task& task : tasks) {
    Edited edited = apply_user_edit(task);
    InfillSettings settings = base;
    settings.next_edit_form = form;
    settings.next_edit_max_sites = 4;
    // Every answer to its end, for the figures before the gate (an unsure site would stop early).
    settings.next_edit_stop_when_unsure = false;
    auto started = Clock::now();
    Plan plan = plan_next_edit(ModelView::of(engine), edited.doc, task.path, edited.history, settings, task.root);
    CompletionOutcome outcome = execute_plan(engine, edited.doc, plan, {});
    run.first_ms.push_back(ms_since(started));
    // The truth sites a candidate rewrote exactly (a merged instruction site holds several).
    auto exact = [&](const Candidate& candidate) -> size_t {
      Expected expected = expected_at(task, edited.doc.text(), plan.sites[size_t(candidate.site)].span);
      return candidate.text == expected.text ? expected.sites : 0;
    };
    KindRun& kind = run.by_kind[task.kind];
    for (const PlanSite& site : plan.sites) {
      const size_t sites = expected_at(task, edited.doc.text(), site.span).sites;
      run.truth += sites;
      kind.truth += sites;
    }
    for (const Candidate& candidate : outcome.candidates) {
      ++run.shown;
      ++kind.shown;
      run.exact += exact(candidate);
      kind.exact += exact(candidate);
      run.exact_ungated += exact(candidate);
      kind.exact_ungated += exact(candidate);
      if (task.kind == "rename" && has_word(candidate.text, task.old_name)) ++run.reversals;
    }
    for (const Candidate& held : outcome.withheld) {
      run.exact_ungated += exact(held);
      kind.exact_ungated += exact(held);
    }
    // What the gate had to hold back: an answer that writes back the replaced name.
    for (const auto* list : {&outcome.candidates, &outcome.withheld})
      for (const Candidate& candidate : *list) {
        ++run.answers;
        run.reversals_ungated += task.kind == "rename" && has_word(candidate.text, task.old_name);
      }
    if (spdlog::should_log(spdlog::level::debug))
      for (const auto* list : {&outcome.candidates, &outcome.withheld})
        for (const Candidate& candidate : *list)
          spdlog::debug("{} {} site {}: `{}` -> `{}` (confidence {:.3f}, {} tokens){}{}", task.kind,
                        next_edit_form_name(form), candidate.site,
                        std::string_view(edited.doc.text()).substr(plan.sites[size_t(candidate.site)].span.begin,
                                                                   plan.sites[size_t(candidate.site)].span.size()),
                        candidate.text, candidate.stats.min_confidence, candidate.stats.generated_tokens,
                        candidate.withheld.empty() ? "" : ": withheld, ", candidate.withheld);
    for (const auto* list : {&outcome.candidates, &outcome.withheld})
      for (const Candidate& candidate : *list) {
        run.tokens += candidate.stats.generated_tokens;
        run.ar_tokens += window_tokens(engine.tokenizer(), edited.doc.text(),
                                       plan.sites[size_t(candidate.site)].span.begin);
      }
  }
}

// One plan decoded with `sites` sites, prompt cache cleared: the run of median wall time out of
// `repeats`, with where its time went (a GPU run's note must say that when the goal is missed).
// `stop_when_unsure`: as the editor decodes (a site stops at its first token below the gate); off,
// every site decodes to its end, as with a model sure of every site.
struct BatchCost {
  double wall_ms = 0, prefill_ms = 0, decode_ms = 0;
  int prompt_tokens = 0, forwards = 0;
};

BatchCost batch_cost(Engine& engine, const Task& task, const InfillSettings& base, int sites, int repeats,
                     bool stop_when_unsure) {
  Edited edited = apply_user_edit(task);
  InfillSettings settings = base;
  settings.next_edit_max_sites = sites;
  settings.next_edit_stop_when_unsure = stop_when_unsure;
  Plan plan = plan_next_edit(ModelView::of(engine), edited.doc, task.path, edited.history, settings, task.root);
  std::vector<BatchCost> runs;
  for (int i = 0; i < repeats; ++i) {
    // Cold, as after a real edit: the diff header and every site's window are new text.
    engine.clear_prompt_cache();
    auto started = Clock::now();
    CompletionOutcome outcome = execute_plan(engine, edited.doc, plan, {});
    BatchCost run;
    run.wall_ms = ms_since(started);
    for (const auto* list : {&outcome.candidates, &outcome.withheld})
      for (const Candidate& candidate : *list) {
        run.prefill_ms += candidate.stats.prefill_ms;  // each site's share of the prefill forwards
        run.decode_ms = std::max(run.decode_ms, candidate.stats.decode_ms);
        run.prompt_tokens += candidate.stats.prompt_tokens_computed;
        run.forwards = std::max(run.forwards, candidate.stats.forwards);
      }
    spdlog::debug("{} {} sites: {:.1f} ms (prefill {:.1f} ms for {} tokens, decode {:.1f} ms, {} forwards)",
                  task.kind, plan.sites.size(), run.wall_ms, run.prefill_ms, run.prompt_tokens, run.decode_ms, run.forwards);
    runs.push_back(run);
  }
  std::sort(runs.begin(), runs.end(), [](const BatchCost& a, const BatchCost& b) { return a.wall_ms < b.wall_ms; });
  return runs[runs.size() / 2];
}

// The batch cost ratio's median and task count per edit kind (their windows and answers differ).
json ratio_by_kind_json(const std::map<std::string, std::vector<double>>& ratios_by_kind) {
  json out = json::object();
  for (const auto& [kind, ratios] : ratios_by_kind)
    out[kind] = {{"ratio_p50", percentile(ratios, 0.5)}, {"tasks", ratios.size()}};
  return out;
}

// Medians over the timed tasks, for one side of the ratio.
json batch_cost_json(const std::vector<BatchCost>& costs) {
  std::vector<double> wall, prefill, decode, tokens, forwards;
  for (const BatchCost& cost : costs) {
    wall.push_back(cost.wall_ms);
    prefill.push_back(cost.prefill_ms);
    decode.push_back(cost.decode_ms);
    tokens.push_back(cost.prompt_tokens);
    forwards.push_back(cost.forwards);
  }
  return json{{"wall_ms_p50", percentile(wall, 0.5)},       {"prefill_ms_p50", percentile(prefill, 0.5)},
              {"decode_ms_p50", percentile(decode, 0.5)},   {"prompt_tokens_p50", percentile(tokens, 0.5)},
              {"forwards_p50", percentile(forwards, 0.5)}};
}

int run_bench_next_edit(int argc, char** argv) {
  CLI::App app{"Next-edit suggestions: site recall and precision, exact match, batch cost, tokens, reversals",
               "maskfill bench next-edit"};
  std::vector<std::string> roots;
  std::string model_dir = default_model_dir();
  size_t model_tasks = 60;
  int cost_tasks = 30;  // the median of fewer moved by 0.5 between runs
  bool json_output = false;
  app.add_option("--project", roots, "a project folder (repeat; scripts/bench-next-edit.sh fetches a held-out set)")
      ->required()->check(CLI::ExistingDirectory);
  app.add_option("--model", model_dir, "model directory")->capture_default_str();
  DeviceOptions device;
  app.add_option("--device", device.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  app.add_option("--dtype", device.dtype, "auto | float32 | bfloat16 | float16")->capture_default_str();
  app.add_option("--model-tasks", model_tasks, "tasks decoded with the model, per form (spread over all)")
      ->capture_default_str();
  app.add_option("--cost-tasks", cost_tasks, "tasks with 8+ sites timed for the batch cost ratio")->capture_default_str();
  size_t workspace_tasks = 150;
  app.add_option("--workspace-tasks", workspace_tasks, "rename tasks per project searched with the workspace index")
      ->capture_default_str();
  bool verbose = false;
  // The planner's settings the model runs use: a site's window around it (the site finding and
  // the right-answer check use them too).
  InfillSettings base;
  app.add_option("--site-prefix-tokens", base.next_edit_prefix_tokens,
                 "tokens of a site's window before it (sites whose answer is worked out there)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  app.add_option("--site-suffix-tokens", base.next_edit_suffix_tokens, "tokens of that window after the site")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  app.add_option("--exact-site-prefix-tokens", base.next_edit_exact_prefix_tokens,
                 "tokens of a rename's or literal's site window before it (its answer is in the header)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  app.add_option("--exact-site-suffix-tokens", base.next_edit_exact_suffix_tokens, "tokens of that window after the site")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  app.add_flag("--json", json_output, "print one JSON object");
  app.add_flag("--verbose", verbose, "log every site's answer and why it was withheld (stderr)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
  std::vector<Task> tasks = make_tasks(roots);
  std::unique_ptr<Engine> engine = load_engine(model_dir, device);
  ModelView model = ModelView::of(*engine);

  std::map<std::string, Tally> by_kind, by_language;
  Tally all;
  for (const Task& task : tasks) {
    Edited edited = apply_user_edit(task);
    Tally one;
    score_sites(task, edited, model, one);
    for (Tally* tally : {&all, &by_kind[task.kind], &by_language[task.kind + "/" + task.language]}) {
      tally->truth += one.truth;
      tally->found += one.found;
      tally->matched += one.matched;
    }
  }
  // Model runs on an even spread of the tasks that have a mechanical answer, the same ones for
  // both forms.
  std::vector<const Task*> answerable;
  for (const Task& task : tasks)
    if (task.kind != "return_type" && task.kind != "return_shape") answerable.push_back(&task);
  std::map<std::string, RightAnswers> masked_right, instruction_right;  // by kind, and "all"
  for (const Task* task : answerable) {
    Edited edited = apply_user_edit(*task);
    for (auto [form, by_kind_checked] : {std::pair{NextEditForm::MaskedSpans, &masked_right},
                                         std::pair{NextEditForm::Instruction, &instruction_right}}) {
      RightAnswers one;
      check_right_answers(*task, edited, *engine, base, form, one);
      for (RightAnswers* checked : {&(*by_kind_checked)[task->kind], &(*by_kind_checked)["all"]}) {
        checked->sites += one.sites;
        checked->fits += one.fits;
        checked->shown_exact += one.shown_exact;
        checked->words += one.words;
        checked->words_in_prompt += one.words_in_prompt;
      }
    }
  }
  std::vector<Task> sample;
  for (size_t i = 0; i < std::min(model_tasks, answerable.size()); ++i)
    sample.push_back(*answerable[i * answerable.size() / std::min(model_tasks, answerable.size())]);
  ModelRun masked, instruction;
  run_model(*engine, sample, base, NextEditForm::MaskedSpans, masked);
  run_model(*engine, sample, base, NextEditForm::Instruction, instruction);
  std::vector<double> ratios, full_ratios;
  std::map<std::string, std::vector<double>> ratios_by_kind;
  std::vector<BatchCost> ones, eights, full_ones, full_eights;
  for (const Task* task_pointer : answerable) {
    const Task& task = *task_pointer;
    if (int(ratios.size()) == cost_tasks) break;
    if (task.truth.size() < 8) continue;
    BatchCost one = batch_cost(*engine, task, base, 1, 3, true), eight = batch_cost(*engine, task, base, 8, 3, true);
    BatchCost full_one = batch_cost(*engine, task, base, 1, 3, false),
              full_eight = batch_cost(*engine, task, base, 8, 3, false);
    if (one.wall_ms <= 0 || full_one.wall_ms <= 0) continue;
    ratios.push_back(eight.wall_ms / one.wall_ms);
    ratios_by_kind[task.kind].push_back(ratios.back());
    full_ratios.push_back(full_eight.wall_ms / full_one.wall_ms);
    ones.push_back(one);
    eights.push_back(eight);
    full_ones.push_back(full_one);
    full_eights.push_back(full_eight);
  }

  WorkspaceRun workspace = run_workspace(roots, tasks, workspace_tasks);

  auto share = [](size_t part, size_t whole) { return whole ? double(part) / double(whole) : 0.0; };
  json kinds = json::object(), languages = json::object();
  for (const auto& [kind, tally] : by_kind) kinds[kind] = tally.to_json();
  for (const auto& [language, tally] : by_language) languages[language] = tally.to_json();
  auto kinds_json = [&](const ModelRun& run) {
    json out = json::object();
    for (const auto& [kind, counts] : run.by_kind)
      out[kind] = {{"sites", counts.truth},
                   {"shown", counts.shown},
                   {"exact_match", share(counts.exact, counts.truth)},
                   {"exact_match_before_gate", share(counts.exact_ungated, counts.truth)}};
    return out;
  };
  auto form_json = [&](const ModelRun& run) {
    return json{{"tasks", sample.size()},
                {"sites", run.truth},
                {"shown", run.shown},
                {"exact_match", share(run.exact, run.truth)},
                {"exact_match_before_gate", share(run.exact_ungated, run.truth)},
                {"shown_precision", share(run.exact, run.shown)},
                {"first_suggestion_ms_p50", percentile(run.first_ms, 0.5)},
                {"first_suggestion_ms_p95", percentile(run.first_ms, 0.95)},
                {"tokens_generated", run.tokens},
                {"ar_window_tokens", run.ar_tokens},
                {"tokens_generated_ratio", run.ar_tokens > 0 ? run.tokens / run.ar_tokens : 0},
                {"reversal_rate", share(run.reversals, run.shown)},
                {"answers_before_gate", run.answers},
                {"reversal_rate_before_gate", share(run.reversals_ungated, run.answers)},
                {"by_kind", kinds_json(run)}};
  };
  auto right_json = [&](const std::map<std::string, RightAnswers>& by_kind_checked) {
    json out = json::object();
    for (const auto& [kind, checked] : by_kind_checked)
      out[kind] = {{"sites", checked.sites},
                   {"fits_room", share(checked.fits, checked.sites)},
                   {"shown_exact", share(checked.shown_exact, checked.sites)},
                   {"answer_words_in_prompt", share(checked.words_in_prompt, checked.words)}};
    return out;
  };
  json out = {{"tasks", tasks.size()},
              {"site_window_tokens",
               {{"prefix", base.next_edit_prefix_tokens},
                {"suffix", base.next_edit_suffix_tokens},
                {"exact_prefix", base.next_edit_exact_prefix_tokens},
                {"exact_suffix", base.next_edit_exact_suffix_tokens}}},
              {"site_recall", all.recall()},
              {"site_precision", all.precision()},
              {"by_kind", kinds},
              {"by_language", languages},
              {"masked", form_json(masked)},
              {"instruction", form_json(instruction)},
              {"right_answer", {{"masked", right_json(masked_right)}, {"instruction", right_json(instruction_right)}}},
              {"exact_match_masked", share(masked.exact, masked.truth)},
              {"exact_match_instruction", share(instruction.exact, instruction.truth)},
              {"next_edit_batch_cost_ratio_k8", percentile(ratios, 0.5)},
              {"next_edit_batch_cost_ratio_k8_full_decode", percentile(full_ratios, 0.5)},
              {"batch_cost_tasks", ratios.size()},
              {"batch_cost_ratio_by_kind", ratio_by_kind_json(ratios_by_kind)},
              {"batch_cost", {{"one_site", batch_cost_json(ones)}, {"eight_sites", batch_cost_json(eights)},
                              {"one_site_full_decode", batch_cost_json(full_ones)},
                              {"eight_sites_full_decode", batch_cost_json(full_eights)}}},
              {"first_suggestion_ms_p50", percentile(masked.first_ms, 0.5)},
              {"tokens_generated_ratio", masked.ar_tokens > 0 ? masked.tokens / masked.ar_tokens : 0},
              {"reversal_rate", share(masked.reversals + instruction.reversals, masked.shown + instruction.shown)},
              {"workspace",
               {{"tasks", workspace.tasks},
                {"tasks_with_uses_elsewhere", workspace.tasks_with_uses},
                {"local_renames_skipped", workspace.local_renames},
                {"files_with_uses", workspace.files_with_uses},
                {"files_with_sites", workspace.files_read},
                {"max_files_read", NextEditLimits{}.max_workspace_files},
                {"uses", workspace.tally.truth},
                {"site_recall", workspace.tally.recall()},
                {"site_precision", workspace.tally.precision()},
                {"uses_within_cap", workspace.within_cap.truth},
                {"site_recall_within_cap", workspace.within_cap.recall()},
                {"site_precision_within_cap", workspace.within_cap.precision()},
                {"find_ms_p50", percentile(workspace.find_ms, 0.5)},
                {"find_ms_p95", percentile(workspace.find_ms, 0.95)},
                {"index_files", workspace.index_files},
                {"index_seconds", workspace.index_seconds},
                // The word hashes' memory (4 bytes each) against the source they index.
                {"index_word_hash_bytes", workspace.index_words * 4},
                {"index_source_bytes", workspace.index_bytes}}},
              {"model", engine->description()}};
  if (json_output) {
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("%zu tasks: site recall %.3f, precision %.3f\n", tasks.size(), all.recall(), all.precision());
  for (const auto& [name, tally] : by_language)
    std::printf("  %-20s %4zu sites: recall %.3f precision %.3f\n", name.c_str(), tally.truth, tally.recall(),
                tally.precision());
  for (const auto& [name, run] : {std::pair<const char*, const ModelRun&>{"masked", masked}, {"instruction", instruction}})
    std::printf("%-11s exact %.3f (before the gate %.3f), %zu shown, first suggestion p50 %.1f ms, tokens %.0f vs "
                "AR windows %.0f, reversals %zu\n",
                name, share(run.exact, run.truth), share(run.exact_ungated, run.truth), run.shown,
                percentile(run.first_ms, 0.5), run.tokens, run.ar_tokens, run.reversals);
  std::printf("batch cost ratio, 8 sites over 1: %.2f (%zu tasks)\n", percentile(ratios, 0.5), ratios.size());
  std::printf("workspace: %zu renames (%zu used in other files): %zu uses elsewhere, recall %.3f precision %.3f, "
              "sites found in p50 %.1f ms, p95 %.1f ms (index of %zu files); in at most %zu files: %zu uses, "
              "recall %.3f precision %.3f\n",
              workspace.tasks, workspace.tasks_with_uses, workspace.tally.truth, workspace.tally.recall(),
              workspace.tally.precision(), percentile(workspace.find_ms, 0.5), percentile(workspace.find_ms, 0.95),
              workspace.index_files, NextEditLimits{}.max_workspace_files, workspace.within_cap.truth,
              workspace.within_cap.recall(), workspace.within_cap.precision());
  return 0;
}

const RegisterCommand bench_next_edit_command{"bench-next-edit", "next-edit site recall, exact match and batch cost",
                                              run_bench_next_edit};

}  // namespace
}  // namespace maskfill

