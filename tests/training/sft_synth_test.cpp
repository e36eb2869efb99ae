#include <catch2/catch.hpp>

#include <map>
#include <sstream>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/read_file.h"
#include "infill/source_document.h"
#include "infill/text_lines.h"
#include "training/sft_synth.h"
#include "training/syntax_tree.h"

using namespace maskfill::training;

namespace {

const maskfill::LanguageInfo* python() { return maskfill::find_language_by_name("python"); }

const char* const kFunction = R"PY(def squares_of_evens(numbers, offset=0):
    """Squares of the even numbers, shifted by offset."""
    result = []
    for n in numbers:
        if n % 2 == 0:
            result.append(n * n + offset)
    total = sum(result)
    return result
)PY";

const char* const kComprehension = R"PY(def names(items):
    upper = [item.name.upper() for item in items if item.name]
    return upper
)PY";

}  // namespace

TEST_CASE("loop to comprehension and back") {
  EditSample e = loop_to_comprehension(kFunction, 0);
  REQUIRE(e.kind == "loop-to-comprehension");
  CHECK(e.output.find("result = [n * n + offset for n in numbers if n % 2 == 0]\n") != std::string::npos);
  CHECK(e.output.find(".append") == std::string::npos);
  CHECK(parses_cleanly(e.output, python()));

  EditSample back = comprehension_to_loop(kComprehension, 0);
  REQUIRE(back.kind == "comprehension-to-loop");
  CHECK(back.output ==
        "def names(items):\n    upper = []\n    for item in items:\n        if item.name:\n"
        "            upper.append(item.name.upper())\n    return upper\n");
}

TEST_CASE("docstrings are added and removed") {
  EditSample removed = remove_docstring(kFunction);
  REQUIRE(removed.kind == "remove-docstring");
  CHECK(removed.output.find("\"\"\"") == std::string::npos);
  CHECK(removed.output.find("    result = []") != std::string::npos);
  EditSample added = add_docstring(kFunction);
  REQUIRE(added.kind == "add-docstring");
  CHECK(added.input == removed.output);
  CHECK(added.output == kFunction);
  CHECK(remove_docstring(kComprehension).kind.empty());  // nothing to remove
}

TEST_CASE("renames touch every use and nothing else") {
  std::string code = "def f(data):\n    data = data.strip()\n    return g(data=data), obj.data\n";
  EditSample e = rename_variable(code, 0);
  REQUIRE(e.kind == "rename-variable");
  CHECK(e.instruction.find("`data`") != std::string::npos);
  std::string to = e.instruction.substr(e.instruction.find("to `") + 4);
  to = to.substr(0, to.find('`'));
  CHECK(e.output == "def f(" + to + "):\n    " + to + " = " + to + ".strip()\n    return g(data=" + to + "), obj.data\n");

  EditSample fn = rename_function("def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)\n", 3);
  REQUIRE(fn.kind == "rename-function");
  CHECK(fn.output.find("fact") == std::string::npos);
}

TEST_CASE("restore a deleted statement and add a parameter") {
  EditSample r = restore_statement(kFunction, 1);
  REQUIRE(r.kind == "restore-statement");
  CHECK(r.output == kFunction);
  CHECK(r.input.size() < r.output.size());
  CHECK(parses_cleanly(r.input, python()));

  EditSample p = add_parameter(kFunction, 0);
  REQUIRE(p.kind == "add-parameter");
  CHECK(p.output.rfind("def squares_of_evens(numbers, offset=0, ", 0) == 0);
  CHECK(add_parameter("def f(*args, **kwargs):\n    return args\n", 0).kind.empty());
  EditSample empty = add_parameter("def f():\n    return 1\n", 2);
  REQUIRE(empty.kind == "add-parameter");
  CHECK(parses_cleanly(empty.output, python()));
}

TEST_CASE("synthesis over a real file is parseable, valid FIM and deterministic") {
  std::string path = "/usr/lib/python3.11/textwrap.py";
  if (!std::filesystem::exists(path)) path = std::string(MASKFILL_SOURCE_DIR) + "/samples/python/stats.py";
  std::string text = maskfill::read_file(path);
  REQUIRE(!text.empty());
  SftOptions opt;
  opt.edits_per_file = 8;
  opt.random_fims_per_file = 5;
  opt.ast_fims_per_file = 5;
  SftSamples a = synthesize_file(path, text, "python", opt);
  SftSamples b = synthesize_file(path, text, "python", opt);
  REQUIRE(a.edits.size() >= 4);
  REQUIRE(a.fims.size() == 10);
  std::set<std::string> kinds;
  for (size_t i = 0; i < a.edits.size(); ++i) {
    const auto& e = a.edits[i];
    kinds.insert(e.kind);
    CHECK(e.input != e.output);
    CHECK(parses_cleanly(e.input, python()));
    CHECK(parses_cleanly(e.output, python()));
    CHECK(e.output == b.edits[i].output);
  }
  CHECK(kinds.size() >= 3);
  for (const auto& f : a.fims) {
    CHECK(!f.middle.empty());
    CHECK(text.find(f.prefix + f.middle + f.suffix) != std::string::npos);
    CHECK(f.prefix.size() + f.middle.size() + f.suffix.size() <= 2 * opt.fim_window_bytes + 400);
  }
  opt.seed = 2;
  SftSamples c = synthesize_file(path, text, "python", opt);
  bool differs = false;
  for (size_t i = 0; i < std::min(a.fims.size(), c.fims.size()); ++i) differs |= a.fims[i].middle != c.fims[i].middle;
  CHECK(differs);

  auto tmp = std::filesystem::temp_directory_path() / "maskfill-sft-test.jsonl";
  write_sft_jsonl(a, tmp.string());
  SftSamples read = read_sft_jsonl(tmp.string());
  CHECK(read.edits.size() == a.edits.size());
  CHECK(read.fims.back().suffix == a.fims.back().suffix);
  std::filesystem::remove(tmp);
}

TEST_CASE("other languages get FIM and the generic edits: renames and a restored statement") {
  std::string js = "function add(a, b) {\n  const s = a + b;\n  return s;\n}\n\nmodule.exports = { add };\n";
  SftSamples s = synthesize_file("x.js", js, "javascript", SftOptions{});
  REQUIRE(s.fims.size() == 2);
  CHECK(s.fims[1].kind == "ast");
  CHECK(js.find(s.fims[1].prefix + s.fims[1].middle + s.fims[1].suffix) != std::string::npos);
  for (const EditSample& e : s.edits) {
    CHECK(e.language == "javascript");
    CHECK(e.input != e.output);
  }
}

namespace {

size_t whole_word_spellings(const std::string& text, const std::string& word) {
  size_t count = 0;
  for (std::string_view found : maskfill::words_in(text)) count += found == word;
  return count;
}

std::string with_word_replaced(const std::string& text, const std::string& from, const std::string& to) {
  std::string out;
  size_t at = 0;
  for (std::string_view found : maskfill::words_in(text)) {
    if (found != from) continue;
    const size_t begin = size_t(found.data() - text.data());
    out += text.substr(at, begin - at) + to;
    at = begin + found.size();
  }
  return out + text.substr(at);
}

// Every edit of each kind the generic synthesis makes from `code`, over many seeds.
std::map<std::string, std::vector<EditSample>> generic_edits_of(const std::string& code, const std::string& language) {
  std::map<std::string, std::vector<EditSample>> by_kind;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SftOptions options;
    options.seed = seed;
    for (EditSample& e : synthesize_file("f." + language, code, language, options).edits) {
      CHECK(e.language == language);
      CHECK(e.path == "f." + language);
      by_kind[e.kind].push_back(std::move(e));
    }
  }
  return by_kind;
}

}  // namespace

TEST_CASE("generic edits in Go, Rust, Java, C, C++ and TypeScript keep the code parsing and change only what they say") {
  struct Case {
    std::string language, code, function, local;
  };
  for (const Case& c : std::vector<Case>{
           {"go", "package m\n\nfunc total(xs []int) int {\n\tsum := 0\n\tfor _, x := range xs {\n\t\tsum += x\n\t}\n\treturn sum\n}\n",
            "total", "sum"},
           {"rust", "fn total(xs: &[i32]) -> i32 {\n    let mut acc = 0;\n    for x in xs {\n        acc += x;\n    }\n    acc\n}\n",
            "total", "acc"},
           {"java", "class A {\n  int total(int[] xs) {\n    int acc = 0;\n    for (int x : xs) {\n      acc += x;\n    }\n    return acc;\n  }\n}\n",
            "total", "acc"},
           {"c", "int total(const int *xs, int n) {\n  int acc = 0;\n  for (int i = 0; i < n; i++) {\n    acc += xs[i];\n  }\n  return acc;\n}\n",
            "total", "acc"},
           {"cpp", "#include <vector>\nint total(const std::vector<int>& xs) {\n  int acc = 0;\n  for (int x : xs) {\n    acc += x;\n  }\n  return acc;\n}\n",
            "total", "acc"},
           {"typescript", "export function total(xs: number[]): number {\n  let acc = 0;\n  for (const x of xs) {\n    acc += x;\n  }\n  return acc;\n}\n",
            "total", "acc"},
       }) {
    INFO(c.language);
    auto by_kind = generic_edits_of(c.code, c.language);
    const maskfill::LanguageInfo* language = maskfill::find_language_by_name(c.language);
    for (const char* kind : {"rename-variable", "rename-function", "restore-statement"}) {
      INFO(kind);
      REQUIRE(!by_kind[kind].empty());
      for (const EditSample& e : by_kind[kind]) {
        CHECK(e.input != e.output);
        // The function as written is the output of a restored statement, the input of a rename.
        const std::string& original = e.kind == std::string("restore-statement") ? e.output : e.input;
        std::istringstream lines(original);
        for (std::string line; std::getline(lines, line);) CHECK(c.code.find(line) != std::string::npos);
        // The output is the function as written (Java's method dedented out of its class).
        CHECK(parses_cleanly(c.language == "java" ? "class A {\n" + e.output + "}\n" : e.output, language));
      }
    }
    // A variable renamed everywhere in the function, and nothing else: renaming it back gives
    // the input.
    std::set<std::string> renamed;
    for (const EditSample& e : by_kind["rename-variable"]) {
      const size_t to_at = e.instruction.find("` to `");
      const std::string from = e.instruction.substr(8, to_at - 8);
      const std::string to = e.instruction.substr(to_at + 6, e.instruction.find("` in") - to_at - 6);
      renamed.insert(from);
      CHECK(whole_word_spellings(e.output, from) == 0);
      CHECK(whole_word_spellings(e.input, from) == whole_word_spellings(e.output, to));
      CHECK(with_word_replaced(e.output, to, from) == e.input);
    }
    CHECK(!renamed.empty());
    CHECK(renamed.count(c.function) == 0);
    // A restored statement: the input is the output less one whole line, the one the instruction names.
    for (const EditSample& e : by_kind["restore-statement"]) {
      const int line = std::stoi(e.instruction.substr(e.instruction.find("line ") + 5));
      std::vector<std::string> lines;
      std::istringstream in(e.output);
      for (std::string l; std::getline(in, l);) lines.push_back(l + "\n");
      REQUIRE(line >= 2);
      REQUIRE(size_t(line) < lines.size());
      std::string without;
      for (size_t i = 0; i < lines.size(); ++i)
        if (int(i) + 1 != line) without += lines[i];
      CHECK(without == e.input);
    }
  }
}

TEST_CASE("generic edits leave a variable alone where a comment or another function spells its name") {
  const std::string go =
      "package m\n\n// total adds up acc\nfunc total(xs []int) int {\n\tacc := 0\n\tfor _, x := range xs {\n"
      "\t\tacc += x\n\t}\n\treturn acc\n}\n\nfunc other() int {\n\ttotal := 1\n\treturn total\n}\n";
  auto by_kind = generic_edits_of(go, "go");
  REQUIRE(!by_kind["rename-variable"].empty());  // `x`
  for (const EditSample& e : by_kind["rename-variable"]) {
    CHECK(!e.instruction.starts_with("Rename `acc`"));    // also in the comment
    CHECK(!e.instruction.starts_with("Rename `total`"));  // also the other function's name
  }
  // A file that does not parse gives no edits.
  CHECK(synthesize_file("f.go", "package m\nfunc f( {\n\tx := 1\n}\n", "go", SftOptions{}).edits.empty());
}


TEST_CASE("synthesis takes deeply nested files: walked without recursion, or left without edits past the parser's bound") {
  for (int depth : {4000, 100000}) {  // SourceDocument keeps no tree past 4,096 open brackets
    INFO(depth);
    const std::string js = "function f(a) {\n  const x = " + std::string(depth, '[') + "a" + std::string(depth, ']') +
                           ";\n  return x;\n}\n";
    CHECK(!synthesize_file("deep.js", js, "javascript", SftOptions{}).fims.empty());
    const std::string py =
        "def f(a):\n    x = " + std::string(depth, '[') + "a" + std::string(depth, ']') + "\n    return x\n";
    CHECK(!synthesize_file("deep.py", py, "python", SftOptions{}).fims.empty());
  }
}
