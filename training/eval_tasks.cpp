#include "training/eval_tasks.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "infill/source_document.h"
#include "training/corpus.h"
#include "training/syntax_tree.h"

namespace maskfill::training {

namespace {

// Modules whose functions are pure enough to call on made-up inputs in a sandbox.
const std::set<std::string> kPureModules = {"re", "math", "cmath", "string", "itertools", "functools", "collections",
                                            "operator", "heapq", "bisect", "textwrap", "unicodedata", "fractions",
                                            "decimal", "numbers", "keyword", "copy", "typing", "enum", "statistics",
                                            "difflib", "fnmatch", "binascii", "base64", "struct", "codecs", "html",
                                            "string", "dataclasses", "abc", "types", "json", "colorsys"};

const std::set<std::string> kBuiltins = {
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr", "classmethod", "complex",
    "delattr", "dict", "dir", "divmod", "enumerate", "filter", "float", "format", "frozenset", "getattr",
    "hasattr", "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next", "object",
    "oct", "ord", "pow", "property", "range", "repr", "reversed", "round", "set", "setattr", "slice", "sorted",
    "staticmethod", "str", "sum", "super", "tuple", "type", "zip", "None", "True", "False", "NotImplemented",
    "Ellipsis", "__name__", "Exception", "BaseException", "ValueError", "TypeError", "KeyError", "IndexError",
    "AttributeError", "RuntimeError", "StopIteration", "ZeroDivisionError", "OverflowError", "ArithmeticError",
    "LookupError", "NotImplementedError", "AssertionError", "UnicodeError", "UnicodeDecodeError",
    "UnicodeEncodeError", "RecursionError", "OSError", "EOFError", "ImportError", "NameError", "GeneratorExit",
    "UnboundLocalError", "Warning", "DeprecationWarning", "UserWarning"};

// Builtins that touch the world or are nondeterministic.
const std::set<std::string> kBannedNames = {"open", "exec", "eval", "compile", "input", "print", "__import__",
                                            "globals", "locals", "vars", "breakpoint", "exit", "quit", "help",
                                            "id", "hash", "memoryview", "__builtins__"};

const LanguageInfo* python() {
  static const LanguageInfo* info = find_language_by_name("python");
  if (!info) throw std::runtime_error("the python grammar is not compiled in");
  return info;
}

struct ImportInfo {
  std::map<std::string, std::string> allowed;  // bound name -> the import statement's text
};

std::string root_module(std::string_view dotted) { return std::string(dotted.substr(0, dotted.find('.'))); }

ImportInfo module_imports(const std::string& text, TSNode module) {
  ImportInfo info;
  for (TSNode stmt : named_children(module)) {
    auto type = node_type(stmt);
    std::string stmt_text(node_text(text, stmt));
    if (type == "import_statement") {
      for (TSNode name : named_children(stmt)) {
        if (node_type(name) == "dotted_name" && kPureModules.count(root_module(node_text(text, name))))
          info.allowed[root_module(node_text(text, name))] = stmt_text;
        else if (node_type(name) == "aliased_import" &&
                 kPureModules.count(root_module(node_text(text, field(name, "name")))))
          info.allowed[std::string(node_text(text, field(name, "alias")))] = stmt_text;
      }
    } else if (type == "import_from_statement") {
      TSNode module_name = field(stmt, "module_name");
      if (node_type(module_name) != "dotted_name" || !kPureModules.count(root_module(node_text(text, module_name))))
        continue;
      for (TSNode name : named_children(stmt)) {
        if (ts_node_eq(name, module_name)) continue;
        if (node_type(name) == "dotted_name") info.allowed[std::string(node_text(text, name))] = stmt_text;
        else if (node_type(name) == "aliased_import")
          info.allowed[std::string(node_text(text, field(name, "alias")))] = stmt_text;
      }
    }
  }
  return info;
}

void collect_targets(const std::string& text, TSNode node, std::set<std::string>& bound) {
  if (ts_node_is_null(node)) return;
  auto type = node_type(node);
  if (type == "identifier") {
    bound.emplace(node_text(text, node));
  } else if (type == "pattern_list" || type == "tuple_pattern" || type == "list_pattern" || type == "tuple" ||
             type == "list" || type == "parenthesized_expression" || type == "list_splat_pattern" ||
             type == "as_pattern_target" || type == "expression_list") {
    for (TSNode child : named_children(node)) collect_targets(text, child, bound);
  }
}

// Every name the function binds anywhere inside it (a flat over-approximation of its scopes).
std::set<std::string> bound_in(const std::string& text, TSNode fn) {
  std::set<std::string> bound;
  walk_named(fn, [&](TSNode n) {
    auto type = node_type(n);
    if (type == "function_definition" || type == "class_definition") bound.emplace(node_text(text, field(n, "name")));
    if (type == "parameters" || type == "lambda_parameters") {
      for (TSNode p : named_children(n)) {
        if (node_type(p) == "identifier") bound.emplace(node_text(text, p));
        else if (node_type(p) == "default_parameter" || node_type(p) == "typed_default_parameter")
          collect_targets(text, field(p, "name"), bound);
        else if (node_type(p) == "typed_parameter" || node_type(p) == "list_splat_pattern" ||
                 node_type(p) == "dictionary_splat_pattern")
          for (TSNode c : named_children(p))
            if (node_type(c) == "identifier") {
              bound.emplace(node_text(text, c));
              break;
            }
      }
    }
    if (type == "assignment" || type == "augmented_assignment" || type == "for_statement" ||
        type == "for_in_clause")
      collect_targets(text, field(n, "left"), bound);
    if (type == "named_expression") collect_targets(text, field(n, "name"), bound);
    if (type == "as_pattern") collect_targets(text, field(n, "alias"), bound);
    if (type == "aliased_import") collect_targets(text, field(n, "alias"), bound);
    if (type == "import_statement")
      for (TSNode c : named_children(n))
        if (node_type(c) == "dotted_name") bound.insert(root_module(node_text(text, c)));
    return true;
  });
  return bound;
}

struct Candidate {
  std::string path;
  std::string name;
  std::string imports;   // import statements the function needs, one a line
  std::string context;   // module-level constants and helper functions it uses, in file order
  std::string function;  // the function's text (top level, so not indented)
  int arity = 0;
  std::vector<std::string> ok_inputs, raise_inputs;  // Python literals of argument tuples
};

int required_positional(const std::string& text, TSNode params, bool& usable) {
  int arity = 0;
  bool keyword_only = false;
  for (TSNode p : named_children(params)) {
    auto type = node_type(p);
    if (type == "identifier" || type == "typed_parameter") {
      if (keyword_only) usable = false;  // required keyword-only parameter
      else if (node_text(text, p) != "self") ++arity;
    } else if (type == "list_splat_pattern" || type == "keyword_separator") {
      keyword_only = true;
    }
  }
  return arity;
}

// A module-level definition a task's function may use: a constant with a literal value or a
// self-contained helper function (with the imports that one needs).
struct ModuleHelper {
  size_t position;
  std::string imports, text;
};
using Helpers = std::map<std::string, ModuleHelper>;

std::optional<Candidate> self_contained(const std::string& path, const std::string& text, TSNode fn,
                                        const ImportInfo& imports, const Helpers& helpers,
                                        const EvalTaskOptions& opt) {
  if (node_type(ts_node_parent(fn)) != "module") return std::nullopt;  // decorated
  if (ts_node_end_byte(fn) - ts_node_start_byte(fn) > opt.max_function_bytes) return std::nullopt;
  if (!descendants_of_type(fn, "global_statement").empty() || !descendants_of_type(fn, "nonlocal_statement").empty() ||
      !descendants_of_type(fn, "await").empty() || ts_node_has_error(fn))
    return std::nullopt;
  if (std::string_view(ts_node_type(ts_node_child(fn, 0))) != "def") return std::nullopt;  // async def
  bool usable = true;
  int arity = required_positional(text, field(fn, "parameters"), usable);
  if (!usable || arity == 0 || arity > 3) return std::nullopt;
  auto bound = bound_in(text, fn);
  std::string name(node_text(text, field(fn, "name")));
  std::set<std::string> needed_imports;
  std::map<size_t, const ModuleHelper*> needed_helpers;
  for (TSNode id : descendants_of_type(fn, "identifier")) {
    if (!is_variable_use(id)) continue;
    std::string used(node_text(text, id));
    if (kBannedNames.count(used)) return std::nullopt;
    if (bound.count(used) || used == name) continue;
    if (auto it = imports.allowed.find(used); it != imports.allowed.end()) {
      needed_imports.insert(it->second);
      continue;
    }
    if (auto it = helpers.find(used); it != helpers.end()) {
      needed_helpers[it->second.position] = &it->second;
      continue;
    }
    if (!kBuiltins.count(used)) return std::nullopt;
  }
  Candidate c;
  c.path = path;
  c.name = name;
  for (const auto& [position, helper] : needed_helpers) {
    std::istringstream lines(helper->imports);
    for (std::string line; std::getline(lines, line);) needed_imports.insert(line);
    c.context += helper->text + "\n\n";
  }
  for (const auto& stmt : needed_imports) c.imports += stmt + "\n";
  c.function = std::string(node_text(text, fn)) + "\n";
  c.arity = arity;
  return c;
}

// Constants bound once at module level to an immutable literal (`SEP = ", "`), and
// top-level functions that are self-contained on their own.
Helpers module_helpers(const std::string& path, const std::string& text, TSNode module, const ImportInfo& imports,
                       const EvalTaskOptions& opt) {
  Helpers helpers;
  std::map<std::string, int> bindings;
  for (TSNode stmt : named_children(module)) {
    if (node_type(stmt) != "expression_statement" || ts_node_named_child_count(stmt) != 1) continue;
    TSNode assign = ts_node_named_child(stmt, 0);
    if (node_type(assign) != "assignment" || node_type(field(assign, "left")) != "identifier") continue;
    std::string name(node_text(text, field(assign, "left")));
    ++bindings[name];
    TSNode right = field(assign, "right");
    // Immutable literals only: a mutable one would be shared by the reference and the candidate.
    static const std::set<std::string_view> immutable = {
        "string", "string_start", "string_content", "string_end", "escape_sequence", "concatenated_string",
        "integer", "float", "true", "false", "none", "tuple", "unary_operator", "binary_operator",
        "parenthesized_expression"};
    bool literal = !ts_node_is_null(right) && ts_node_end_byte(stmt) - ts_node_start_byte(stmt) < 400;
    if (literal)
      walk_named(right, [&](TSNode n) {
        literal &= immutable.count(node_type(n)) > 0;
        return literal;
      });
    if (literal) helpers[name] = {ts_node_start_byte(stmt), "", std::string(node_text(text, stmt))};
  }
  for (const auto& [name, count] : bindings)
    if (count > 1) helpers.erase(name);  // rebound: not a constant
  for (TSNode fn : python_top_level_functions(module)) {
    if (auto c = self_contained(path, text, fn, imports, Helpers{}, opt))
      helpers[c->name] = {ts_node_start_byte(fn), c->imports, c->function};
  }
  return helpers;
}

const char* const kValuePool = R"PY([
    0, 1, 2, 3, 5, 7, 10, 100, -1, -4, 0.5, 2.5, -1.5,
    '', 'a', 'abc', 'Hello, World', 'a b  c', '  padded  ', 'x=1;y=2', 'CamelCaseName',
    'snake_case_name', 'line1\nline2\n', '123', '3.14', 'ab-cd_ef', 'h\xe9llo', 'a.b.c', '/usr/lib/x.py',
    b'', b'abc', b'\x00\xff', None, True, False,
    [], [1, 2, 3], [3, 1, 2], [1, 1, 2, 3, 5], ['a', 'b'], ['b', 'a', 'c'], [[1, 2], [3]], [0.5, 1.5],
    (1, 2), ('a', 1), (), {}, {'a': 1, 'b': 2}, {1, 2, 3},
])PY";

const char* const kNormalize = R"PY(
def _norm(value):
    if isinstance(value, (_types.GeneratorType, map, filter, zip, enumerate, reversed)):
        return list(_itertools.islice(value, 10000))
    return value
)PY";

std::string probe_program(const Candidate& c, uint64_t seed, int max_inputs) {
  std::string program = "import copy as _copy, itertools as _itertools, json as _json, random as _random\n"
                        "import signal as _signal, types as _types, ast as _ast\n" +
                        c.imports + "\n" + c.context + c.function + kNormalize;
  program += "_POOL = " + std::string(kValuePool) + "\n";
  program += "_ARITY = " + std::to_string(c.arity) + "\n_SEED = " + std::to_string(seed % 1000003) +
             "\n_MAX = " + std::to_string(max_inputs) + "\n_FN = " + c.name + "\n";
  program += R"PY(
class _Timeout(BaseException):
    pass

def _alarm(signum, frame):
    raise _Timeout()

_signal.signal(_signal.SIGALRM, _alarm)

def _run(args):
    args = _copy.deepcopy(args)
    _signal.setitimer(_signal.ITIMER_REAL, 0.2)
    try:
        result = ('ok', _norm(_FN(*args)))
    except _Timeout:
        return None
    except RecursionError:
        return None
    except Exception as error:
        result = ('raise', type(error).__name__)
    finally:
        _signal.setitimer(_signal.ITIMER_REAL, 0)
    return repr(result), repr(args)

_rng = _random.Random(_SEED)
if _ARITY == 1:
    _combos = [(v,) for v in _POOL]
else:
    _combos = [tuple(_rng.choice(_POOL) for _ in range(_ARITY)) for _ in range(400)]
_seen, _ok, _raise = set(), [], []
for _args in _combos:
    _text = repr(_args)
    if _text in _seen:
        continue
    _seen.add(_text)
    try:
        if _ast.literal_eval(_text) != _args:
            continue
    except Exception:
        continue
    _first, _second = _run(_args), _run(_args)
    if _first is None or _first != _second or len(_first[0]) + len(_first[1]) > 2000:
        continue
    if _first[0].startswith("('ok',"):
        _ok.append((_text, _first[0]))
    else:
        _raise.append(_text)
# Round-robin over distinct outputs, so the kept inputs exercise every behaviour seen.
_groups = {}
for _text, _out in _ok:
    _groups.setdefault(_out, []).append(_text)
_outputs = list(_groups.values())
_chosen = []
while len(_chosen) < _MAX and any(_outputs):
    for _group in _outputs:
        if _group and len(_chosen) < _MAX:
            _chosen.append(_group.pop(0))
print('@@PROBE@@' + _json.dumps({'ok': _chosen, 'raise': _raise[:2], 'distinct': len(_groups)}))
)PY";
  return program;
}

std::string test_program(const Candidate& c) {
  std::string reference_name = "_reference_" + c.name;
  SourceDocument doc(c.function, python());
  std::string reference = rename_identifier(c.function, root_node(doc), c.name, reference_name);
  std::string inputs;
  for (const auto& i : c.ok_inputs) inputs += "    " + i + ",\n";
  for (const auto& i : c.raise_inputs) inputs += "    " + i + ",\n";
  std::string test = "import copy as _copy\nimport itertools as _itertools\nimport types as _types\n" + c.imports +
                     "\n\n" + reference + "\n\n_INPUTS = [\n" + inputs + "]\n" + kNormalize;
  test += R"PY(

def _call(fn, args):
    args = _copy.deepcopy(args)
    try:
        result = ('ok', _norm(fn(*args)))
    except Exception as error:
        result = ('raise', type(error).__name__)
    return result, args


def check(candidate):
    for args in _INPUTS:
        expected = _call()PY" + reference_name + R"PY(, args)
        got = _call(candidate, args)
        assert got == expected or repr(got) == repr(expected), \
            f"inputs {args!r}: expected {expected!r}, got {got!r}"
)PY";
  return test;
}

struct Span {
  size_t begin, end;  // bytes of whole lines within the function text
};

std::vector<Span> single_line_spans(const std::string& fn_text, TSNode fn) {
  std::vector<Span> spans;
  TSNode docstring = python_docstring(fn);
  for (TSNode block : descendants_of_type(fn, "block")) {
    for (TSNode s : named_children(block)) {
      auto type = node_type(s);
      bool simple = type == "expression_statement" || type == "return_statement" || type == "raise_statement" ||
                    type == "assert_statement";
      if (!simple || ts_node_eq(s, docstring) || ts_node_start_point(s).row != ts_node_end_point(s).row) continue;
      auto [begin, end] = line_span(fn_text, s);
      if (fn_text.substr(begin, ts_node_start_byte(s) - begin).find_first_not_of(" \t") != std::string::npos ||
          fn_text.substr(ts_node_end_byte(s), end - ts_node_end_byte(s)).find_first_not_of(" \t\r\n") != std::string::npos)
        continue;
      spans.push_back({begin, end});
    }
  }
  return spans;
}

std::vector<Span> multi_line_spans(const std::string& fn_text, TSNode fn) {
  std::vector<Span> spans;
  TSNode docstring = python_docstring(fn);
  for (TSNode block : descendants_of_type(fn, "block")) {
    auto stmts = named_children(block);
    for (size_t i = 0; i < stmts.size(); ++i) {
      if (node_type(stmts[i]) == "comment" || ts_node_eq(stmts[i], docstring)) continue;
      auto [begin, first_end] = line_span(fn_text, stmts[i]);
      if (fn_text.substr(begin, ts_node_start_byte(stmts[i]) - begin).find_first_not_of(" \t") != std::string::npos)
        continue;
      for (size_t j = i; j < stmts.size(); ++j) {
        if (node_type(stmts[j]) == "comment") continue;
        uint32_t lines = ts_node_end_point(stmts[j]).row - ts_node_start_point(stmts[i]).row + 1;
        if (lines > 8) break;
        auto [unused, end] = line_span(fn_text, stmts[j]);
        if (lines >= 2 && fn_text.substr(ts_node_end_byte(stmts[j]), end - ts_node_end_byte(stmts[j]))
                                  .find_first_not_of(" \t\r\n") == std::string::npos)
          spans.push_back({begin, end});
      }
    }
  }
  return spans;
}

void parallel_for(size_t n, int jobs, const std::function<void(size_t)>& body) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, jobs); ++t)
    threads.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) body(i);
    });
  for (auto& t : threads) t.join();
}

std::string short_path(const std::string& path) {
  std::string p = path;
  for (const char* prefix : {"/usr/lib/python3/dist-packages/", "/usr/lib/python3.11/", "/usr/lib/"})
    if (p.rfind(prefix, 0) == 0) {
      p = p.substr(std::string(prefix).size());
      break;
    }
  return p;
}

InfillTask make_task(const Candidate& c, const Span& span, const std::string& set_name, const std::string& test) {
  InfillTask t;
  size_t line = std::count(c.function.begin(), c.function.begin() + static_cast<std::ptrdiff_t>(span.begin), '\n');
  t.task_id = set_name + "/" + short_path(c.path) + "/" + c.name + "/L" + std::to_string(line);
  std::string header = (c.imports.empty() ? "" : c.imports + "\n\n") + c.context;
  t.prompt = header + c.function.substr(0, span.begin);
  t.canonical_solution = c.function.substr(span.begin, span.end - span.begin);
  t.suffix = c.function.substr(span.end);
  t.test = test;
  t.entry_point = c.name;
  return t;
}

}  // namespace

EvalTaskSets build_eval_tasks_from(const std::vector<std::pair<std::string, std::string>>& files,
                                   const EvalTaskOptions& opt) {
  EvalTaskSets sets;
  std::vector<Candidate> candidates;
  for (const auto& [path, text] : files) {
    SourceDocument doc(text, python());
    TSNode module = root_node(doc);
    ImportInfo imports = module_imports(text, module);
    Helpers helpers = module_helpers(path, text, module, imports, opt);
    for (TSNode fn : python_top_level_functions(module)) {
      ++sets.functions_seen;
      if (auto c = self_contained(path, text, fn, imports, helpers, opt)) candidates.push_back(std::move(*c));
    }
  }
  sets.functions_self_contained = static_cast<int>(candidates.size());

  // Probe every candidate for inputs (python runs, in parallel; results land by index).
  parallel_for(candidates.size(), opt.jobs, [&](size_t i) {
    Candidate& c = candidates[i];
    TestResult r = run_python(probe_program(c, opt.seed + i, opt.max_inputs), opt.run);
    if (r.status != TestStatus::Passed) return;
    try {
      size_t marker = r.output.rfind("@@PROBE@@");
      if (marker == std::string::npos) return;
      auto j = nlohmann::json::parse(r.output.substr(marker + 9));
      if (j.at("distinct").get<int>() < 2 || j.at("ok").size() < 3) return;
      c.ok_inputs = j.at("ok").get<std::vector<std::string>>();
      c.raise_inputs = j.at("raise").get<std::vector<std::string>>();
    } catch (const std::exception&) {
    }
  });

  // One span of each kind per function, chosen by a seeded generator, then verified.
  struct Pending {
    InfillTask task;
    bool multi;
    std::string wrong;
    bool keep = false;
  };
  std::vector<Pending> pending;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (c.ok_inputs.empty()) continue;
    ++sets.functions_with_inputs;
    std::mt19937_64 rng(opt.seed * 1000003 + i);
    SourceDocument doc(c.function, python());
    TSNode fn = python_top_level_functions(root_node(doc)).front();
    std::string test = test_program(c);
    for (bool multi : {false, true}) {
      auto spans = multi ? multi_line_spans(c.function, fn) : single_line_spans(c.function, fn);
      std::shuffle(spans.begin(), spans.end(), rng);
      for (int k = 0; k < opt.max_per_function && k < static_cast<int>(spans.size()); ++k) {
        InfillTask t = make_task(c, spans[k], multi ? "MultiLineInfilling" : "SingleLineInfilling", test);
        std::string wrong = indentation_at(c.function, spans[k].begin) + "pass\n";
        pending.push_back({std::move(t), multi, std::move(wrong)});
      }
    }
  }
  parallel_for(pending.size(), opt.jobs, [&](size_t i) {
    Pending& p = pending[i];
    p.keep = run_task_test(p.task, p.task.canonical_solution, opt.run).status == TestStatus::Passed &&
             run_task_test(p.task, p.wrong, opt.run).status == TestStatus::Failed;
  });
  for (auto& p : pending) {
    auto& set = p.multi ? sets.multi_line : sets.single_line;
    if (p.keep && static_cast<int>(set.size()) < opt.max_tasks) set.push_back(std::move(p.task));
  }
  return sets;
}

EvalTaskSets build_eval_tasks(const std::string& corpus_dir, const EvalTaskOptions& options) {
  std::vector<std::pair<std::string, std::string>> files;
  for_each_document(corpus_dir, Split::Validation, [&](const CorpusDocument& d) {
    if (d.language == "python") files.emplace_back(d.path, d.text);
  });
  spdlog::info("eval tasks: {} validation python files", files.size());
  return build_eval_tasks_from(files, options);
}

}  // namespace maskfill::training
