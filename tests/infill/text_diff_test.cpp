// Minimal edits (line diff, then character diff) and unified diffs.
#include <catch2/catch.hpp>

#include <random>

#include "infill/text_diff.h"

using namespace maskfill;

TEST_CASE("a changed word in one line is one small edit") {
  std::string before = "def f(a):\n    return a + 1\n";
  std::string after = "def f(a):\n    return a * 1\n";
  std::vector<ByteEdit> edits = minimal_edits(before, after, 100);
  REQUIRE(edits.size() == 1);
  CHECK(edits[0] == ByteEdit{100 + before.find('+'), 100 + before.find('+') + 1, "*"});
}

TEST_CASE("inserted and deleted lines are whole-line edits") {
  std::string before = "a\nb\nc\n";
  CHECK(minimal_edits(before, "a\nb\nX\nc\n") == std::vector<ByteEdit>{{4, 4, "X\n"}});
  CHECK(minimal_edits(before, "a\nc\n") == std::vector<ByteEdit>{{2, 4, ""}});
  CHECK(minimal_edits(before, before).empty());
}

TEST_CASE("edits never split a UTF-8 character") {
  std::vector<ByteEdit> edits = minimal_edits("s = \"é\"\n", "s = \"è\"\n");
  REQUIRE(edits.size() == 1);
  CHECK(edits[0].end - edits[0].begin == 2);
  CHECK(edits[0].text == "è");
}

TEST_CASE("random rewrites: applying the minimal edits reproduces the new text") {
  std::mt19937 rng(7);
  const std::string alphabet = "ab \n(){}é";
  auto random_text = [&](size_t n) {
    std::string s;
    while (s.size() < n) {
      size_t i = rng() % 9;
      s += i < 8 ? std::string(1, alphabet[i]) : std::string("é");
    }
    return s;
  };
  for (int round = 0; round < 300; ++round) {
    std::string before = random_text(rng() % 60);
    std::string after = before;
    for (int k = 0; k < 3; ++k) {
      size_t at = after.empty() ? 0 : rng() % after.size();
      while (at > 0 && (static_cast<unsigned char>(after[at]) & 0xC0) == 0x80) --at;  // char boundary
      after.insert(at, random_text(rng() % 5));
    }
    std::vector<ByteEdit> edits = minimal_edits(before, after);
    INFO("before: " << before << "\nafter: " << after);
    REQUIRE(apply_edits(before, edits) == after);
    for (size_t i = 1; i < edits.size(); ++i) REQUIRE(edits[i - 1].end <= edits[i].begin);
  }
}

TEST_CASE("unified diff output") {
  CHECK(unified_diff("a\nb\n", "a\nb\n", "x", "y").empty());
  std::string diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", "a/f.py", "b/f.py");
  CHECK(diff == "--- a/f.py\n+++ b/f.py\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
}
