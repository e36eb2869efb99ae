// Next-edit groundwork (issue #24): the edit history ring (coalescing typed keystrokes, diffs,
// the symbol an edit touched).
#include <catch2/catch.hpp>

#include <thread>

#include "infill/edit_history.h"
#include "infill/source_document.h"

using namespace maskfill;

namespace {

// Types `text` at `at` one character per change, as an editor reports keystrokes.
void type_text(EditHistory& history, const std::string& path, SourceDocument& doc, size_t at, std::string_view text) {
  for (char c : text) {
    std::string before = doc.text();
    doc.replace(at, at, std::string(1, c));
    history.record(path, before, doc, at, at);
    ++at;
  }
}

// Replaces bytes [begin, end) of `doc` by `text` in one change.
void replace_text(EditHistory& history, const std::string& path, SourceDocument& doc, size_t begin, size_t end,
                  std::string_view text) {
  std::string before = doc.text();
  doc.replace(begin, end, text);
  history.record(path, before, doc, begin, end);
}

// Erases the `count` bytes before `at`, one backspace per change.
void backspace(EditHistory& history, const std::string& path, SourceDocument& doc, size_t at, int count) {
  for (int i = 0; i < count; ++i, --at) replace_text(history, path, doc, at - 1, at, "");
}

}  // namespace

// ---- The edit history ---------------------------------------------------------------------

TEST_CASE("find_change trims what two texts share and keeps UTF-8 characters whole", "[next_edit]") {
  CHECK(find_change("value = 1", "values = 1") == TextChange{5, 5, 6});
  CHECK(find_change("abc", "abc").empty());
  // "é" is C3 A9 and "è" C3 A8: the shared lead byte belongs to the change.
  CHECK(find_change("caf\xC3\xA9!", "caf\xC3\xA8!") == TextChange{3, 5, 5});
  // A client range wider than the change is narrowed; one that disagrees with the sizes is ignored.
  CHECK(find_change("int count = 0;", "int total = 0;", 0, 14) == TextChange{4, 9, 9});
  CHECK(find_change("int count = 0;", "int total = 0;", 4, 99) == TextChange{4, 9, 9});
}

TEST_CASE("keystrokes typing one token are one history entry", "[next_edit]") {
  const LanguageInfo* python = find_language_by_name("python");
  const std::string original = "def area(w, h):\n    return w * h\n\nprint(area(2, 3))\n";
  SourceDocument doc(original, python);
  EditHistory history;
  // Select "area" in the definition, type "s" over it, then the rest of "surface".
  replace_text(history, "shapes.py", doc, 4, 8, "s");
  type_text(history, "shapes.py", doc, 5, "urface");
  std::vector<EditEntry> entries = history.snapshot();
  REQUIRE(entries.size() == 1);
  const EditEntry& entry = entries[0];
  CHECK(entry.path == "shapes.py");
  CHECK(entry.edits == 7);
  CHECK(entry.removed == "area");
  CHECK(entry.inserted == "surface");
  CHECK(entry.begin == 4);
  CHECK(entry.end == 11);
  CHECK(entry.first_line == 0);
  CHECK(entry.last_line == 0);
  CHECK(entry.symbol == "surface");
  CHECK(entry.diff ==
        "--- shapes.py\n+++ shapes.py\n@@ -1,4 +1,4 @@\n-def area(w, h):\n+def surface(w, h):\n"
        "     return w * h\n \n print(area(2, 3))\n");
  CHECK(text_before(entry, doc.text()).value_or("") == original);
  // Backspacing into the typed word continues the entry.
  backspace(history, "shapes.py", doc, 11, 3);
  entries = history.snapshot();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].inserted == "surf");
  CHECK(entries[0].removed == "area");
}

TEST_CASE("a new line, another place or another file starts a new history entry", "[next_edit]") {
  const LanguageInfo* python = find_language_by_name("python");
  SourceDocument a("x = 1\ny = 2\n", python), b("z = 3\n", python);
  EditHistory history;
  type_text(history, "a.py", a, 5, "0");      // x = 10
  type_text(history, "b.py", b, 5, "4");      // another file in between
  type_text(history, "a.py", a, 6, "0");      // x = 100: touches the first entry, but not the newest
  type_text(history, "a.py", a, 7, "\n");     // a line break is not typing one token
  type_text(history, "a.py", a, 14, "9");     // y = 29: elsewhere
  std::vector<EditEntry> entries = history.snapshot();
  REQUIRE(entries.size() == 5);
  CHECK(entries[0].path == "a.py");
  CHECK(entries[1].path == "b.py");
  CHECK(entries[2].inserted == "0");
  CHECK(entries[3].inserted == "\n");
  CHECK(entries[4].inserted == "9");
  CHECK(entries[4].first_line == 2);
  CHECK(a.text() == "x = 100\n\ny = 29\n");
  // Python's tags count a module-level assignment as a definition.
  CHECK(entries[4].symbol == "y");
  history.forget("a.py");
  REQUIRE(history.snapshot().size() == 1);
  CHECK(history.snapshot()[0].path == "b.py");
}

TEST_CASE("the history names the definition an edit touched and numbers its diff as in the file", "[next_edit]") {
  std::string text;
  for (int line = 0; line < 20; ++line) text += "    v" + std::to_string(line) + " = " + std::to_string(line) + "\n";
  text = "def setup():\n" + text;
  SourceDocument doc(text, find_language_by_name("python"));
  EditHistory history;
  size_t at = doc.text().find("v9 = 9") + 6;
  type_text(history, "setup.py", doc, at, "0");
  std::vector<EditEntry> entries = history.snapshot();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].symbol == "setup");
  CHECK(entries[0].first_line == 10);
  // Line 11 (1-based) changed: the hunk holds lines 8 to 14.
  CHECK(entries[0].diff.find("@@ -8,7 +8,7 @@\n") != std::string::npos);
  CHECK(entries[0].diff.find("-    v9 = 9\n+    v9 = 90\n") != std::string::npos);
  // Typing a name outside any definition: the identifier typed.
  SourceDocument module("", find_language_by_name("python"));
  type_text(history, "m.py", module, 0, "limit");
  CHECK(history.snapshot().back().symbol == "limit");
}

TEST_CASE("typing then erasing it leaves no history entry; the ring keeps the newest edits", "[next_edit]") {
  const LanguageInfo* go = find_language_by_name("go");
  SourceDocument doc("package p\n", go);
  EditHistory history(3);
  type_text(history, "p.go", doc, 10, "var");
  backspace(history, "p.go", doc, 13, 3);
  CHECK(history.snapshot().empty());
  for (int i = 0; i < 5; ++i) {
    SourceDocument other("package q\n", go);
    type_text(history, "q" + std::to_string(i) + ".go", other, 10, "x");
  }
  std::vector<EditEntry> entries = history.snapshot();
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].path == "q2.go");
  CHECK(entries[2].path == "q4.go");
}

TEST_CASE("a change too large to keep is recorded without its text", "[next_edit]") {
  SourceDocument doc("x = 1\n", find_language_by_name("python"));
  EditHistory history;
  replace_text(history, "big.py", doc, 6, 6, std::string(100000, '#') + "\n");
  std::vector<EditEntry> entries = history.snapshot();
  REQUIRE(entries.size() == 1);
  CHECK_FALSE(entries[0].whole);
  CHECK(entries[0].inserted.empty());
  CHECK(entries[0].diff.empty());
  CHECK(entries[0].last_line == 1);
  CHECK_FALSE(text_before(entries[0], doc.text()).has_value());
}

TEST_CASE("the edit history can be recorded and read from several threads", "[next_edit]") {
  EditHistory history(8);
  auto typist = [&history](std::string path) {
    SourceDocument doc("", find_language_by_name("python"));
    for (int i = 0; i < 50; ++i) {
      type_text(history, path, doc, doc.text().size(), "a\n");
      (void)history.snapshot();
    }
  };
  std::thread first(typist, "one.py"), second(typist, "two.py");
  first.join();
  second.join();
  CHECK(history.snapshot().size() == 8);
}
