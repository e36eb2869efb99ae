#include "training/sft_synth.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/json_fields.h"
#include "common/utf8.h"
#include "infill/source_document.h"
#include "training/corpus.h"
#include "training/sft_generic_edits.h"
#include "training/syntax_tree.h"

using nlohmann::json;

namespace maskfill::training {

namespace {

const LanguageInfo* python() {
  static const LanguageInfo* info = find_language_by_name("python");
  if (!info) throw std::runtime_error("the python grammar is not compiled in");
  return info;
}

struct Replacement {
  size_t begin, end;
  std::string text;
};

std::string apply(std::string text, std::vector<Replacement> edits) {
  std::sort(edits.begin(), edits.end(), [](const auto& a, const auto& b) { return a.begin > b.begin; });
  for (const auto& e : edits) text.replace(e.begin, e.end - e.begin, e.text);
  return text;
}

// The snippet's function_definition (a decorated one counts), or a null node.
TSNode snippet_function(TSNode module) {
  auto functions = python_top_level_functions(module);
  return functions.empty() ? TSNode{} : functions.front();
}

std::string function_name(const std::string& code, TSNode fn) { return std::string(node_text(code, field(fn, "name"))); }

std::set<std::string> identifiers_in(const std::string& code, TSNode node) {
  std::set<std::string> names;
  for (TSNode id : descendants_of_type(node, "identifier")) names.emplace(node_text(code, id));
  return names;
}

std::string pick_unused(const std::vector<std::string>& pool, const std::set<std::string>& used, uint64_t pick) {
  std::vector<std::string> free;
  for (const auto& name : pool)
    if (!used.count(name)) free.push_back(name);
  return free.empty() ? "" : free[pick % free.size()];
}

EditSample make(std::string kind, std::string instruction, std::string input, std::string output) {
  EditSample s;
  s.kind = std::move(kind);
  s.language = "python";
  s.instruction = std::move(instruction);
  s.input = std::move(input);
  s.output = std::move(output);
  return s;
}

// Names a function binds: parameters, assignment and loop targets (first occurrence order).
std::vector<std::string> bound_names(const std::string& code, TSNode fn) {
  std::vector<std::string> names;
  auto add = [&](TSNode n) {
    if (ts_node_is_null(n) || node_type(n) != "identifier") return;
    std::string name(node_text(code, n));
    if (name != "self" && name != "cls" && std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(name);
  };
  for (TSNode p : named_children(field(fn, "parameters"))) {
    if (node_type(p) == "identifier") add(p);
    else if (node_type(p) == "default_parameter" || node_type(p) == "typed_default_parameter") add(field(p, "name"));
    else if (node_type(p) == "typed_parameter" && ts_node_named_child_count(p) > 0) add(ts_node_named_child(p, 0));
  }
  walk_named(field(fn, "body"), [&](TSNode n) {
    auto type = node_type(n);
    if (type == "function_definition" || type == "class_definition" || type == "lambda") return false;
    if (type == "assignment" || type == "augmented_assignment") add(field(n, "left"));
    if (type == "for_statement") add(field(n, "left"));
    return true;
  });
  return names;
}

const std::vector<std::string> kVariablePool = {"value", "item", "entry", "total", "count", "index", "acc",
                                                "current", "node", "key", "data", "buf", "text", "out",
                                                "tmp", "parts", "chunk", "elem", "pos", "size"};
const std::vector<std::string> kFunctionPool = {"process", "compute", "handle", "convert", "build", "parse_item",
                                                "collect", "transform", "evaluate", "resolve", "normalize", "render"};

// The for statements that only append one expression (optionally under an `if`) to the list
// that the statement just before them initialised with [].
struct AppendLoop {
  TSNode init, loop;
  std::string list, element, target, iterable, condition;
};

std::optional<std::string> single_append(const std::string& code, TSNode stmt, const std::string& list) {
  if (node_type(stmt) != "expression_statement" || ts_node_named_child_count(stmt) != 1) return std::nullopt;
  TSNode call = ts_node_named_child(stmt, 0);
  if (node_type(call) != "call") return std::nullopt;
  TSNode fn = field(call, "function");
  if (node_type(fn) != "attribute" || node_text(code, field(fn, "object")) != list ||
      node_text(code, field(fn, "attribute")) != "append")
    return std::nullopt;
  TSNode args = field(call, "arguments");
  if (node_type(args) != "argument_list" || ts_node_named_child_count(args) != 1) return std::nullopt;
  TSNode arg = ts_node_named_child(args, 0);
  auto type = node_type(arg);
  if (type == "keyword_argument" || type == "list_splat" || type == "dictionary_splat" || type == "comment")
    return std::nullopt;
  return std::string(node_text(code, arg));
}

std::vector<AppendLoop> append_loops(const std::string& code, TSNode fn) {
  std::vector<AppendLoop> out;
  for (TSNode block : descendants_of_type(fn, "block")) {
    auto stmts = named_children(block);
    for (size_t i = 0; i + 1 < stmts.size(); ++i) {
      TSNode init = stmts[i], loop = stmts[i + 1];
      if (node_type(init) != "expression_statement" || node_type(loop) != "for_statement") continue;
      TSNode assign = ts_node_named_child(init, 0);
      if (node_type(assign) != "assignment" || node_type(field(assign, "left")) != "identifier") continue;
      TSNode right = field(assign, "right");
      if (ts_node_is_null(right) || node_type(right) != "list" || ts_node_named_child_count(right) != 0) continue;
      if (!ts_node_is_null(field(loop, "alternative")) || !descendants_of_type(loop, "comment").empty()) continue;
      if (std::string_view(ts_node_type(ts_node_child(loop, 0))) != "for") continue;  // not `async for`
      TSNode body = field(loop, "body");
      if (ts_node_named_child_count(body) != 1) continue;
      AppendLoop a{init, loop, std::string(node_text(code, field(assign, "left"))), "", "", "", ""};
      a.target = node_text(code, field(loop, "left"));
      a.iterable = node_text(code, field(loop, "right"));
      TSNode inner = ts_node_named_child(body, 0);
      if (node_type(inner) == "if_statement") {
        TSNode consequence = field(inner, "consequence");
        if (!ts_node_is_null(field(inner, "alternative")) || ts_node_named_child_count(consequence) != 1) continue;
        a.condition = node_text(code, field(inner, "condition"));
        inner = ts_node_named_child(consequence, 0);
      }
      auto element = single_append(code, inner, a.list);
      if (!element) continue;
      a.element = *element;
      out.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace

EditSample rename_variable(const std::string& code, uint64_t pick) {
  SourceDocument doc(code, python());
  TSNode fn = snippet_function(root_node(doc));
  if (ts_node_is_null(fn)) return {};
  auto names = bound_names(code, fn);
  if (names.empty()) return {};
  std::string from = names[pick % names.size()];
  std::string to = pick_unused(kVariablePool, identifiers_in(code, root_node(doc)), pick / names.size());
  if (to.empty()) return {};
  bool is_parameter = false;
  for (TSNode id : descendants_of_type(field(fn, "parameters"), "identifier"))
    is_parameter |= node_text(code, id) == from;
  std::string what = is_parameter ? "parameter" : "variable";
  return make("rename-variable", "Rename the " + what + " `" + from + "` to `" + to + "` in `" + function_name(code, fn) + "`.",
              code, rename_identifier(code, root_node(doc), from, to));
}

EditSample rename_function(const std::string& code, uint64_t pick) {
  SourceDocument doc(code, python());
  TSNode fn = snippet_function(root_node(doc));
  if (ts_node_is_null(fn)) return {};
  std::string from = function_name(code, fn);
  if (from.rfind("__", 0) == 0) return {};  // dunder methods keep their names
  std::string to = pick_unused(kFunctionPool, identifiers_in(code, root_node(doc)), pick);
  if (to.empty()) return {};
  return make("rename-function", "Rename the function `" + from + "` to `" + to + "`.", code,
              rename_identifier(code, root_node(doc), from, to));
}

EditSample remove_docstring(const std::string& code) {
  SourceDocument doc(code, python());
  TSNode fn = snippet_function(root_node(doc));
  if (ts_node_is_null(fn)) return {};
  TSNode doc_stmt = python_docstring(fn);
  if (ts_node_is_null(doc_stmt) || ts_node_named_child_count(field(fn, "body")) < 2) return {};
  auto [begin, end] = line_span(code, doc_stmt);
  if (code.substr(begin, ts_node_start_byte(doc_stmt) - begin).find_first_not_of(" \t") != std::string::npos)
    return {};  // docstring shares its line with `def` (one-liner)
  std::string without = code.substr(0, begin) + code.substr(end);
  return make("remove-docstring", "Remove the docstring from `" + function_name(code, fn) + "`.", code, without);
}

EditSample add_docstring(const std::string& code) {
  EditSample removed = remove_docstring(code);
  if (removed.kind.empty()) return {};
  SourceDocument doc(code, python());
  std::string name = function_name(code, snippet_function(root_node(doc)));
  return make("add-docstring", "Add a docstring to `" + name + "` that explains what it does.", removed.output, code);
}

EditSample loop_to_comprehension(const std::string& code, uint64_t pick) {
  SourceDocument doc(code, python());
  TSNode fn = snippet_function(root_node(doc));
  if (ts_node_is_null(fn)) return {};
  auto loops = append_loops(code, fn);
  if (loops.empty()) return {};
  const AppendLoop& a = loops[pick % loops.size()];
  std::string comprehension = a.list + " = [" + a.element + " for " + a.target + " in " + a.iterable +
                              (a.condition.empty() ? "" : " if " + a.condition) + "]";
  std::string output = apply(code, {{ts_node_start_byte(a.init), ts_node_end_byte(a.loop), comprehension}});
  return make("loop-to-comprehension",
              "Rewrite the loop that builds `" + a.list + "` as a list comprehension.", code, output);
}

EditSample comprehension_to_loop(const std::string& code, uint64_t pick) {
  SourceDocument doc(code, python());
  TSNode fn = snippet_function(root_node(doc));
  if (ts_node_is_null(fn)) return {};
  struct Found {
    TSNode stmt;
    std::string list, element, target, iterable, condition;
  };
  std::vector<Found> found;
  for (TSNode stmt : descendants_of_type(fn, "expression_statement")) {
    if (node_type(ts_node_parent(stmt)) != "block" || ts_node_named_child_count(stmt) != 1) continue;
    TSNode assign = ts_node_named_child(stmt, 0);
    if (node_type(assign) != "assignment" || node_type(field(assign, "left")) != "identifier") continue;
    TSNode comp = field(assign, "right");
    if (ts_node_is_null(comp) || node_type(comp) != "list_comprehension") continue;
    auto parts = named_children(comp);
    if (parts.size() < 2 || parts.size() > 3 || node_type(parts[1]) != "for_in_clause") continue;
    if (parts.size() == 3 && node_type(parts[2]) != "if_clause") continue;
    TSNode clause = parts[1];
    if (std::string_view(ts_node_type(ts_node_child(clause, 0))) != "for") continue;  // async
    Found f{stmt, std::string(node_text(code, field(assign, "left"))), std::string(node_text(code, parts[0])),
            std::string(node_text(code, field(clause, "left"))), std::string(node_text(code, field(clause, "right"))), ""};
    if (ts_node_named_child_count(clause) != 2) continue;  // `for x in a, b` and other oddities
    if (parts.size() == 3) {
      if (ts_node_named_child_count(parts[2]) != 1) continue;
      f.condition = node_text(code, ts_node_named_child(parts[2], 0));
    }
    found.push_back(std::move(f));
  }
  if (found.empty()) return {};
  const Found& f = found[pick % found.size()];
  std::string indent = indentation_at(code, ts_node_start_byte(f.stmt));
  std::string unit = indentation_at(code, ts_node_start_byte(field(fn, "body")));
  if (unit.empty()) return {};
  std::string loop = f.list + " = []\n" + indent + "for " + f.target + " in " + f.iterable + ":\n";
  std::string inner = indent + unit;
  if (!f.condition.empty()) {
    loop += inner + "if " + f.condition + ":\n";
    inner += unit;
  }
  loop += inner + f.list + ".append(" + f.element + ")";
  std::string output = apply(code, {{ts_node_start_byte(f.stmt), ts_node_end_byte(f.stmt), loop}});
  return make("comprehension-to-loop", "Rewrite the list comprehension that builds `" + f.list + "` as a for loop.",
              code, output);
}

EditSample restore_statement(const std::string& code, uint64_t pick) {
  SourceDocument doc(code, python());
  TSNode fn = snippet_function(root_node(doc));
  if (ts_node_is_null(fn)) return {};
  TSNode docstring = python_docstring(fn);
  std::vector<TSNode> candidates;
  for (TSNode block : descendants_of_type(fn, "block")) {
    auto stmts = named_children(block);
    size_t real = std::count_if(stmts.begin(), stmts.end(), [](TSNode s) { return node_type(s) != "comment"; });
    if (real < 2) continue;
    for (TSNode s : stmts) {
      auto type = node_type(s);
      bool simple = type == "expression_statement" || type == "return_statement" || type == "raise_statement" ||
                    type == "assert_statement" || type == "delete_statement";
      if (!simple || ts_node_eq(s, docstring)) continue;
      auto [begin, end] = line_span(code, s);
      std::string line = code.substr(begin, end - begin);
      // One statement alone on one line.
      if (std::count(line.begin(), line.end(), '\n') > 1 ||
          line.find_first_not_of(" \t") != ts_node_start_byte(s) - begin ||
          code.substr(ts_node_end_byte(s), end - ts_node_end_byte(s)).find_first_not_of(" \t\r\n") != std::string::npos)
        continue;
      candidates.push_back(s);
    }
  }
  if (candidates.empty()) return {};
  TSNode s = candidates[pick % candidates.size()];
  auto [begin, end] = line_span(code, s);
  size_t line_no = std::count(code.begin(), code.begin() + static_cast<std::ptrdiff_t>(begin), '\n') + 1;
  std::string input = code.substr(0, begin) + code.substr(end);
  return make("restore-statement",
              "A statement is missing from `" + function_name(code, fn) + "`: it belongs on line " +
                  std::to_string(line_no) + ". Add it back.",
              input, code);
}

EditSample add_parameter(const std::string& code, uint64_t pick) {
  static const std::vector<std::pair<std::string, std::string>> pool = {
      {"verbose", "False"}, {"strict", "False"}, {"limit", "None"},   {"encoding", "\"utf-8\""},
      {"timeout", "None"},  {"default", "None"}, {"reverse", "False"}, {"max_depth", "10"}};
  SourceDocument doc(code, python());
  TSNode fn = snippet_function(root_node(doc));
  if (ts_node_is_null(fn)) return {};
  TSNode params = field(fn, "parameters");
  auto children = named_children(params);
  for (TSNode p : children)
    if (node_type(p) == "dictionary_splat_pattern" || node_type(p) == "comment") return {};
  auto used = identifiers_in(code, root_node(doc));
  std::vector<std::pair<std::string, std::string>> free;
  for (const auto& p : pool)
    if (!used.count(p.first)) free.push_back(p);
  if (free.empty()) return {};
  const auto& [name, value] = free[pick % free.size()];
  std::string param = name + "=" + value;
  size_t at;
  if (children.empty()) {
    at = ts_node_end_byte(params) - 1;  // before ')'
  } else {
    at = ts_node_end_byte(children.back());
    param = ", " + param;
  }
  std::string output = apply(code, {{at, at, param}});
  return make("add-parameter",
              "Add a keyword parameter `" + name + "` with default `" + value + "` to `" + function_name(code, fn) + "`.",
              code, output);
}

namespace {

uint64_t path_seed(const std::string& path, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : path) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string dedent(const std::string& code) {
  size_t common = std::string::npos;
  std::istringstream in(code);
  for (std::string line; std::getline(in, line);) {
    size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos) common = std::min(common, first);
  }
  if (common == 0 || common == std::string::npos) return code;
  std::string out;
  std::istringstream again(code);
  for (std::string line; std::getline(again, line);)
    out += (line.size() >= common ? line.substr(common) : std::string()) + "\n";
  return out;
}

size_t utf8_boundary(const std::string& s, size_t pos) { return utf8::next_boundary(s, pos); }

size_t line_start_before(const std::string& s, size_t pos) {
  if (pos == 0) return 0;
  size_t nl = s.rfind('\n', pos - 1);
  return nl == std::string::npos ? 0 : nl + 1;
}

size_t line_end_after(const std::string& s, size_t pos) {
  size_t nl = s.find('\n', pos);
  return nl == std::string::npos ? s.size() : nl + 1;
}

// Rare kinds first, so a function that allows a rare edit gives that one; the common kinds
// (parameter, renames, restore) are picked at random among themselves.
const std::vector<std::string> kRareKinds = {"loop-to-comprehension", "comprehension-to-loop", "add-docstring",
                                             "remove-docstring"};

std::vector<EditSample> all_edits(const std::string& code, std::mt19937_64& rng) {
  EditSample to_loop = comprehension_to_loop(code, rng());
  EditSample from_loop;  // the same pair read backwards: existing comprehensions teach the forward edit
  if (!to_loop.kind.empty()) {
    std::string name = to_loop.instruction.substr(to_loop.instruction.find('`'));
    from_loop = make("loop-to-comprehension", "Rewrite the loop that builds " + name.substr(0, name.find(' ')) +
                                                  " as a list comprehension.",
                     to_loop.output, to_loop.input);
  }
  EditSample direct = loop_to_comprehension(code, rng());
  if (direct.kind.empty() && !from_loop.kind.empty()) {  // one direction of the pair, at random
    if (rng() % 2) {
      direct = std::move(from_loop);
      to_loop = {};
    }
  }
  std::vector<EditSample> out = {direct, to_loop,
                                 add_docstring(code),                remove_docstring(code),
                                 add_parameter(code, rng()),         rename_function(code, rng()),
                                 restore_statement(code, rng()),     rename_variable(code, rng())};
  std::vector<EditSample> valid;
  for (auto& e : out)
    if (!e.kind.empty() && e.input != e.output && parses_cleanly(e.input, python()) && parses_cleanly(e.output, python()))
      valid.push_back(std::move(e));
  return valid;
}

void add_python_edits(const std::string& path, const std::string& text, const SourceDocument& doc,
                      const SftOptions& opt, std::mt19937_64& rng, std::vector<EditSample>& out) {
  std::vector<TSNode> functions;
  for (TSNode fn : descendants_of_type(root_node(doc), "function_definition")) {
    TSNode whole = node_type(ts_node_parent(fn)) == "decorated_definition" ? ts_node_parent(fn) : fn;
    size_t bytes = ts_node_end_byte(whole) - ts_node_start_byte(whole);
    if (bytes <= opt.max_snippet_bytes && ts_node_end_point(whole).row > ts_node_start_point(whole).row)
      functions.push_back(whole);
  }
  std::shuffle(functions.begin(), functions.end(), rng);
  std::map<std::string, int> used;
  int made = 0;
  for (TSNode fn : functions) {
    if (made >= opt.edits_per_file) break;
    std::string snippet =
        dedent(indentation_at(text, ts_node_start_byte(fn)) + std::string(node_text(text, fn)) + "\n");
    auto edits = all_edits(snippet, rng);
    if (edits.empty()) continue;
    std::shuffle(edits.begin(), edits.end(), rng);
    auto rank = [&](const EditSample& e) {
      return std::make_pair(used[e.kind], std::find(kRareKinds.begin(), kRareKinds.end(), e.kind) - kRareKinds.begin());
    };
    auto best = std::min_element(edits.begin(), edits.end(),
                                 [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
    ++used[best->kind];
    best->path = path;
    out.push_back(std::move(*best));
    ++made;
  }
}

std::vector<TSNode> fim_nodes(const std::string& text, TSNode root, const SftOptions& opt) {
  std::vector<TSNode> nodes;
  walk_named(root, [&](TSNode n) {
    size_t size = ts_node_end_byte(n) - ts_node_start_byte(n);
    if (size > 0 && size <= opt.fim_max_middle_bytes && !ts_node_eq(n, root) && node_type(n) != "comment" &&
        node_text(text, n).find_first_not_of(" \t\r\n") != std::string_view::npos)
      nodes.push_back(n);
    return true;
  });
  return nodes;
}

FimSample fim_around(const std::string& path, const std::string& language, const std::string& text, size_t mid_begin,
                     size_t mid_end, const SftOptions& opt, std::mt19937_64& rng) {
  size_t middle = mid_end - mid_begin;
  size_t context = opt.fim_window_bytes > middle ? opt.fim_window_bytes - middle : 0;
  size_t before = context ? rng() % (context + 1) : 0, after = context - before;
  // Whole lines of context on both sides, unless a long line would blow the window.
  size_t begin = line_start_before(text, mid_begin - std::min(before, mid_begin));
  size_t end = line_end_after(text, std::min(text.size(), mid_end + after));
  if (end - begin > 2 * opt.fim_window_bytes) {
    begin = utf8_boundary(text, mid_begin - std::min(before, mid_begin));
    end = utf8_boundary(text, std::min(text.size(), mid_end + after));
  }
  return FimSample{"", language, path, text.substr(begin, mid_begin - begin), text.substr(mid_begin, middle),
                   text.substr(mid_end, end - mid_end)};
}

}  // namespace

SftSamples synthesize_file(const std::string& path, const std::string& text, const std::string& language,
                           const SftOptions& opt) {
  SftSamples samples;
  std::mt19937_64 rng(path_seed(path, opt.seed));
  const LanguageInfo* info = find_language_by_name(language);
  std::optional<SourceDocument> doc;
  if (info) doc.emplace(text, info);
  // A document the parser gave up on (too deep or too long to parse in its budget) gets no edits.
  if (doc && !doc->tree()) doc.reset();
  if (doc && language == "python") add_python_edits(path, text, *doc, opt, rng, samples.edits);
  else if (doc) add_generic_edits(path, *doc, opt.max_snippet_bytes, opt.edits_per_file, rng, samples.edits);
  for (int i = 0; i < opt.random_fims_per_file && text.size() > 1; ++i) {
    size_t a = utf8_boundary(text, rng() % text.size());
    size_t len = 1 + rng() % opt.fim_max_middle_bytes;
    size_t b = utf8_boundary(text, std::min(text.size(), a + len));
    if (a >= b) continue;
    FimSample s = fim_around(path, language, text, a, b, opt, rng);
    s.kind = "random";
    samples.fims.push_back(std::move(s));
  }
  if (doc && doc->tree()) {
    auto nodes = fim_nodes(text, root_node(*doc), opt);
    for (int i = 0; i < opt.ast_fims_per_file && !nodes.empty(); ++i) {
      TSNode n = nodes[rng() % nodes.size()];
      FimSample s = fim_around(path, language, text, ts_node_start_byte(n), ts_node_end_byte(n), opt, rng);
      s.kind = "ast";
      samples.fims.push_back(std::move(s));
    }
  }
  return samples;
}

SftSamples synthesize_corpus(const std::string& corpus_dir, const SftOptions& options) {
  SftSamples all;
  for_each_document(corpus_dir, Split::Train, [&](const CorpusDocument& d) {
    SftSamples s = synthesize_file(d.path, d.text, d.language, options);
    std::move(s.edits.begin(), s.edits.end(), std::back_inserter(all.edits));
    std::move(s.fims.begin(), s.fims.end(), std::back_inserter(all.fims));
  });
  return all;
}

void write_sft_jsonl(const SftSamples& samples, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error("cannot write " + path);
  for (const auto& e : samples.edits)
    out << json{{"type", "edit"},   {"kind", e.kind},   {"language", e.language}, {"path", e.path},
                {"instruction", e.instruction}, {"input", e.input}, {"output", e.output}}
               .dump()
        << '\n';
  for (const auto& f : samples.fims)
    out << json{{"type", "fim"},      {"kind", f.kind},     {"language", f.language}, {"path", f.path},
                {"prefix", f.prefix}, {"middle", f.middle}, {"suffix", f.suffix}}
               .dump()
        << '\n';
}

SftSamples read_sft_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  SftSamples samples;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    std::string where = path + ":" + std::to_string(line_no);
    json j = parse_json_text(line, where);
    JsonField sample(j, where);
    auto text = [&](const char* key) { return sample.at(key).string(); };
    std::string type = text("type");
    if (type == "edit")
      samples.edits.push_back({text("kind"), text("language"), text("path"), text("instruction"), text("input"),
                               text("output")});
    else if (type == "fim")
      samples.fims.push_back({text("kind"), text("language"), text("path"), text("prefix"), text("middle"),
                              text("suffix")});
    else
      sample.at("type").fail("is '" + type + "', not \"edit\" or \"fim\"");
  }
  return samples;
}

}  // namespace maskfill::training
