#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/read_file.h"
#include "infill/source_document.h"
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

TEST_CASE("FIM works for other languages and edits stay Python-only") {
  std::string js = "function add(a, b) {\n  const s = a + b;\n  return s;\n}\n\nmodule.exports = { add };\n";
  SftSamples s = synthesize_file("x.js", js, "javascript", SftOptions{});
  CHECK(s.edits.empty());
  REQUIRE(s.fims.size() == 2);
  CHECK(s.fims[1].kind == "ast");
  CHECK(js.find(s.fims[1].prefix + s.fims[1].middle + s.fims[1].suffix) != std::string::npos);
}
