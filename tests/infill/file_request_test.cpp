// CLI positions (1-based lines, columns in characters) and the syntax check used to rank fills.
#include <catch2/catch.hpp>

#include "infill/file_request.h"
#include "infill/plan.h"
#include "infill/source_document.h"
#include "infill/syntax_check.h"

using namespace maskfill;

TEST_CASE("1-based line:column in characters maps to bytes") {
  std::string text = "ab\nxé日z\r\nlast";
  CHECK(byte_offset_at(text, 1, 1) == 0);
  CHECK(byte_offset_at(text, 1, 3) == 2);  // end of line
  CHECK(byte_offset_at(text, 2, 3) == text.find("日"));
  CHECK(byte_offset_at(text, 2, 5) == text.find("\r"));  // CR is not a column
  CHECK(byte_offset_at(text, 3, 5) == text.size());
  CHECK_THROWS_WITH(byte_offset_at(text, 2, 6), Catch::Contains("has only 4 characters"));
  CHECK_THROWS_WITH(byte_offset_at(text, 4, 1), Catch::Contains("only 3 lines"));
  CHECK_THROWS_AS(byte_offset_at(text, 0, 1), std::invalid_argument);
  CHECK(parse_range(text, "1:2-2:2") == ByteRange{1, 4});
  CHECK_THROWS_WITH(parse_range(text, "2:2-1:1"), Catch::Contains("ends before it starts"));
  CHECK_THROWS_WITH(parse_range(text, "1:2"), Catch::Contains("not L1:C1-L2:C2"));
}

TEST_CASE("a result's diff names a relative path as given and an absolute one as git does") {
  SourceDocument doc("a\nb\n", nullptr);
  Candidate candidate;
  candidate.edits = {ByteEdit{2, 3, "B"}};
  CHECK(render_result(doc, candidate, "src/f.py", false) == "a\nB\n");
  CHECK(render_result(doc, candidate, "src/f.py", true).rfind("--- a/src/f.py\n+++ b/src/f.py\n@@", 0) == 0);
  CHECK(render_result(doc, candidate, "/tmp/f.py", true).rfind("--- a/tmp/f.py\n+++ b/tmp/f.py\n@@", 0) == 0);
}

TEST_CASE("the syntax check counts only new ERROR and MISSING nodes in the edited region") {
  SourceDocument py("def f(a):\n    return \n\nx = [1, 2]\n", find_language_by_name("python"));
  size_t cursor = py.text().find("return ") + 7;
  CHECK(check_replacement(py, {cursor, cursor}, "a + 1").ok());
  SyntaxVerdict broken = check_replacement(py, {cursor, cursor}, "(a + ");
  CHECK_FALSE(broken.ok());
  CHECK(broken.errors_after > broken.errors_before);
  // A fill that repairs an unfinished call is fine even though the original had an error there.
  SourceDocument call("print(a, \n", find_language_by_name("python"));
  CHECK(count_syntax_errors(call, {0, call.text().size()}) > 0);
  CHECK(check_replacement(call, {9, 9}, "b)").ok());
  SourceDocument plain("anything (", nullptr);
  CHECK(check_replacement(plain, {0, 0}, "((").ok());
}

TEST_CASE("the syntax check sees a MISSING hidden token, which no visible child carries") {
  // The demo's loop body: tree-sitter-python recovers `s - \n\n return count = 0` with a
  // MISSING `_newline`, a hidden node that ts_node_child never returns.
  SourceDocument py("def count_words(text):\n    counts = {}\n    for word in text.split():\n        \n"
                    "    return counts\n",
                    find_language_by_name("python"));
  size_t cursor = py.text().find("split():\n") + 17;
  CHECK(count_syntax_errors(py, {0, py.text().size()}) == 0);
  SyntaxVerdict broken = check_replacement(py, {cursor, cursor}, "s - \n\n        return count = 0");
  CHECK(broken.errors_after == 1);
  CHECK_FALSE(broken.ok());
  CHECK(check_replacement(py, {cursor, cursor}, "counts[word] = counts.get(word, 0) + 1").ok());
}

TEST_CASE("the syntax check says when a replacement breaks a document that parsed, wherever the error lands") {
  // The bundled model once answered a next-edit site `total` (in `total += x;`) with
  // `x = xs.length;  }`: the `}` closes the loop early and the ERROR lands after the site.
  const std::string text =
      "function mean(xs) {\n  let acc = 0;\n  for (const x of xs) {\n    total += x;\n  }\n  return acc;\n}\n";
  SourceDocument js(text, find_language_by_name("javascript"));
  ByteRange site{text.find("total"), text.find("total") + 5};
  SyntaxVerdict broken = check_replacement(js, site, "x = xs.length;  }");
  CHECK(broken.breaks_clean_document);
  CHECK_FALSE(check_replacement(js, site, "acc").breaks_clean_document);
  // A document that had an error already is left to the region's count.
  SourceDocument unfinished(text + "let y = (\n", find_language_by_name("javascript"));
  CHECK_FALSE(check_replacement(unfinished, site, "x = xs.length;  }").breaks_clean_document);
}

TEST_CASE("the syntax check walks a deeply nested document without recursion, in linear time") {
  // (It took 34 s here when it asked for each child by index: O(i) each, over an ERROR node
  // holding 60,000 tokens.)
  // 60,000 nested unary minus (no brackets, so the document keeps its tree), then a stray `)`.
  // (Past 65,535 nested tokens with an error, bookworm's tree-sitter itself aborts in the parse.)
  std::string nested = "x = " + std::string(60000, '-') + "a)\n";
  SourceDocument py(nested, find_language_by_name("python"));
  REQUIRE(py.tree() != nullptr);
  CHECK(count_syntax_errors(py, {0, nested.size()}) > 0);
}
