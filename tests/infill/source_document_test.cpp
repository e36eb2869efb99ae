// SourceDocument: language lookup, and randomized edit sequences whose incrementally maintained
// tree equals a fresh parse of the same text.
#include <catch2/catch.hpp>
#include <tree_sitter/api.h>

#include <random>
#include <string>
#include <vector>

#include "infill/source_document.h"

using namespace maskfill;

TEST_CASE("languages are found by languageId, then by extension") {
  REQUIRE(find_language("python", "") != nullptr);
  CHECK(find_language("python", "")->name == "python");
  CHECK(find_language("typescriptreact", "x.ts")->name == "tsx");
  CHECK(find_language("", "file:///a/b/main.RS")->name == "rust");
  CHECK(find_language("plaintext", "/x/y.hpp")->name == "cpp");
  CHECK(find_language("", "/x/y.h")->name == "c");
  CHECK(find_language("markdown", "README.md") == nullptr);
  CHECK(find_language("", "Makefile") == nullptr);
  for (const char* name : {"python", "javascript", "typescript", "tsx", "c", "cpp", "go", "rust", "java"}) {
    const LanguageInfo* info = find_language_by_name(name);
    REQUIRE(info != nullptr);
    CHECK(info->grammar != nullptr);
    CHECK(ts_language_version(info->grammar) <= TREE_SITTER_LANGUAGE_VERSION);
  }
}

TEST_CASE("a document without a language has no tree") {
  SourceDocument doc("hello\nworld", nullptr);
  doc.replace(0, 5, "bye");
  CHECK(doc.text() == "bye\nworld");
  CHECK(doc.tree() == nullptr);
  CHECK(doc.tree_sexp().empty());
}

TEST_CASE("a document nesting brackets too deep for tree-sitter is kept without a tree, and gets one back") {
  // 70,000 unclosed `[` crash bookworm's tree-sitter when the tree is freed.
  for (const char* name : {"python", "javascript"}) {
    std::string deep = "x = " + std::string(70000, '[') + "\n";
    SourceDocument opened(deep, find_language_by_name(name));
    CHECK(opened.tree() == nullptr);
    SourceDocument typed("x = 1\n", find_language_by_name(name));
    REQUIRE(typed.tree() != nullptr);
    typed.replace(4, 4, std::string(5000, '('));  // a paste of openers
    CHECK(typed.tree() == nullptr);
    CHECK(typed.text().size() == 5006);
    typed.replace(4, 5004, "");  // and removed again: parsed again
    CHECK(typed.text() == "x = 1\n");
    REQUIRE(typed.tree() != nullptr);
    CHECK(typed.tree_sexp() == SourceDocument("x = 1\n", find_language_by_name(name)).tree_sexp());
  }
  // Deep but balanced nesting below the limit keeps its tree.
  std::string balanced = "x = " + std::string(2000, '[') + std::string(2000, ']') + "\n";
  CHECK(SourceDocument(balanced, find_language_by_name("python")).tree() != nullptr);
}

TEST_CASE("out-of-range edits throw and change nothing") {
  SourceDocument doc("x = 1\n", find_language_by_name("python"));
  CHECK_THROWS_AS(doc.replace(3, 2, ""), std::out_of_range);
  CHECK_THROWS_AS(doc.replace(0, 7, ""), std::out_of_range);
  CHECK(doc.text() == "x = 1\n");
}

TEST_CASE("snapshots are independent of later edits") {
  SourceDocument doc("def f():\n    return 1\n", find_language_by_name("python"));
  SourceDocument snapshot = doc;
  doc.replace(0, doc.text().size(), "x = (");
  CHECK(snapshot.text() == "def f():\n    return 1\n");
  CHECK(snapshot.tree_sexp() == SourceDocument(snapshot.text(), snapshot.language()).tree_sexp());
  CHECK(doc.tree_sexp() == SourceDocument(doc.text(), doc.language()).tree_sexp());
}

namespace {

struct Seed {
  const char* language;
  const char* text;
};

// Snippets spliced in at random: multi-line, multi-byte (UTF-8), brackets that open and close.
const std::vector<std::string> kPieces = {
    "x", "\n", "  ", "(", ")", "{", "}", "[", "]", ":", ";", "\"", "'", "#", "//", "/*", "*/",
    "if x:\n    pass\n", "return a + b;\n", "def g(y):\n", "fn main() {}\n", "int k = 0;\n",
    "é", "日本", "😀", "\r\n", "\t", "class C:\n  pass\n", "func f() {\n}\n", "=> ", "0x1f", "\\"};

}  // namespace

TEST_CASE("random incremental edits give the same tree as a fresh parse") {
  const std::vector<Seed> seeds = {
      {"python", "import os\n\ndef f(a, b):\n    if a:\n        return b\n    return [a, b]\n"},
      {"javascript", "function f(a) {\n  const s = `t${a}`;\n  return a + 1;\n}\n"},
      {"typescript", "interface P { x: number }\nfunction f(p: P): number {\n  return p.x;\n}\n"},
      {"tsx", "const A = () => <div className=\"a\">{1}</div>;\n"},
      {"c", "#include <stdio.h>\nint main(void) {\n  printf(\"hi\\n\");\n  return 0;\n}\n"},
      {"cpp", "#include <vector>\nstruct S { int x; };\nint f(std::vector<int> v) { return v[0]; }\n"},
      {"go", "package main\n\nfunc main() {\n\tx := 1\n\t_ = x\n}\n"},
      {"rust", "fn main() {\n    let v = vec![1, 2];\n    println!(\"{}\", v[0]);\n}\n"},
      {"java", "class A {\n  int f(int x) {\n    return x * 2;\n  }\n}\n"},
  };
  std::mt19937 rng(1234);
  for (const Seed& seed : seeds) {
    SECTION(seed.language) {
      SourceDocument doc(seed.text, find_language_by_name(seed.language));
      for (int step = 0; step < 150; ++step) {
        size_t size = doc.text().size();
        size_t begin = std::uniform_int_distribution<size_t>(0, size)(rng);
        size_t length = std::uniform_int_distribution<size_t>(0, std::min<size_t>(8, size - begin))(rng);
        std::string piece = rng() % 4 == 0 ? "" : kPieces[rng() % kPieces.size()];
        doc.replace(begin, begin + length, piece);
        SourceDocument fresh(doc.text(), doc.language());
        INFO("step " << step << " text:\n" << doc.text());
        REQUIRE(doc.tree_sexp() == fresh.tree_sexp());
        // Positions must match too, or later edits would be mapped to the wrong rows/columns.
        TSNode a = ts_tree_root_node(doc.tree()), b = ts_tree_root_node(fresh.tree());
        REQUIRE(ts_node_end_point(a).row == ts_node_end_point(b).row);
        REQUIRE(ts_node_end_point(a).column == ts_node_end_point(b).column);
      }
    }
  }
}
