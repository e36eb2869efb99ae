// Next-edit groundwork (issue #24): the edit history ring (coalescing typed keystrokes, diffs,
// the symbol an edit touched) and the sites an edit implies (renames, parameter count changes)
// in the edited document and the open ones, in every supported language, within their bounds.
#include <catch2/catch.hpp>

#include <optional>
#include <thread>

#include "infill/edit_history.h"
#include "infill/next_edit_sites.h"

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

OpenDocument open_document(const std::string& path, const std::string& language, const std::string& text) {
  return {path, std::make_shared<const SourceDocument>(text, find_language_by_name(language)), nullptr};
}

NextEdit next_edit(const std::string& language, const std::string& before, const std::string& after,
                   const std::vector<OpenDocument>& open = {}, const NextEditLimits& limits = {}) {
  const LanguageInfo* info = find_language_by_name(language);
  REQUIRE(info);
  return find_next_edit_sites(SourceDocument(before, info), SourceDocument(after, info), "main", open, limits);
}

// Each site as "path:line:text", the text being what the span covers.
std::vector<std::string> describe_sites(const NextEdit& edit, const std::string& main_text,
                                        const std::vector<OpenDocument>& open = {}) {
  std::vector<std::string> out;
  for (const NextEditSite& site : edit.sites) {
    std::string_view text = main_text;
    for (const OpenDocument& document : open)
      if (site.path != "main" && document.path == site.path) text = document.doc->text();
    REQUIRE(site.span.end <= text.size());
    auto line = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(site.span.begin), '\n');
    out.push_back(site.path + ":" + std::to_string(line) + ":" +
                  std::string(text.substr(site.span.begin, site.span.size())));
  }
  return out;
}

std::string replace_first(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
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

TEST_CASE("typing then erasing it leaves no history entry, the ring keeps the newest edits", "[next_edit]") {
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

// ---- Sites implied by an edit ----------------------------------------------------------------

TEST_CASE("renaming a Python function lists its other uses, not comments or strings", "[next_edit]") {
  const std::string before =
      "def area(w, h):\n"
      "    return w * h\n"
      "\n"
      "print(area(2, 3))  # area of a rectangle\n"
      "label = \"area\"\n"
      "total = area(1, 1) + areas\n"
      "message = f\"{area(3, 3)} square metres\"\n";
  const std::string after = replace_first(before, "def area", "def surface");
  std::vector<OpenDocument> open = {open_document("use.py", "python", "from shapes import area\nx = area(4, 5)\n")};
  NextEdit edit = next_edit("python", before, after, open);
  CHECK(edit.kind == NextEditKind::Rename);
  CHECK(edit.old_name == "area");
  CHECK(edit.new_name == "surface");
  CHECK(describe_sites(edit, after, open) ==
        std::vector<std::string>{"main:3:area", "main:5:area", "main:6:area", "use.py:0:area", "use.py:1:area"});
  CHECK(edit.sites[0].reason == "uses `area`, renamed to `surface`");
  CHECK_FALSE(edit.truncated);
}

TEST_CASE("renaming in Go, Rust and TypeScript lists whole-word uses in the file and open documents", "[next_edit]") {
  SECTION("a Go function") {
    const std::string before =
        "package p\n\nfunc Parse(s string) int { return len(s) }\n\n"
        "func use() int {\n\t// Parse twice\n\treturn Parse(\"a\") + Parse(`Parse`) + ParseAll()\n}\n";
    const std::string after = replace_first(before, "func Parse", "func ParseInt");
    std::vector<OpenDocument> open = {open_document("other.go", "go", "package p\n\nvar n = Parse(\"1\")\n")};
    NextEdit edit = next_edit("go", before, after, open);
    CHECK(edit.kind == NextEditKind::Rename);
    CHECK(describe_sites(edit, after, open) ==
          std::vector<std::string>{"main:6:Parse", "main:6:Parse", "other.go:2:Parse"});
  }
  SECTION("a Rust struct field") {
    const std::string before =
        "struct Rect { width: u32, height: u32 }\n\n"
        "impl Rect {\n    // width times height\n    fn area(&self) -> u32 { self.width * self.height }\n}\n\n"
        "fn square(side: u32) -> Rect { Rect { width: side, height: side } }\n";
    const std::string after = replace_first(before, "{ width: u32", "{ w: u32");
    std::vector<OpenDocument> open = {open_document("lib.rs", "rust", "fn wide(r: &Rect) -> bool { r.width > 10 }\n")};
    NextEdit edit = next_edit("rust", before, after, open);
    CHECK(edit.kind == NextEditKind::Rename);
    CHECK(edit.old_name == "width");
    CHECK(edit.new_name == "w");
    CHECK(describe_sites(edit, after, open) ==
          std::vector<std::string>{"main:4:width", "main:7:width", "lib.rs:0:width"});
  }
  SECTION("a TypeScript method, used inside a template literal") {
    const std::string before =
        "class Cart {\n  total(): number { return 0; }\n}\n"
        "const cart = new Cart();\n"
        "console.log(`sum: ${cart.total()}`, 'total');\n";
    const std::string after = replace_first(before, "total(): number", "sum(): number");
    std::vector<OpenDocument> open = {
        open_document("view.ts", "typescript", "export function show(c: Cart) { return c.total(); }\n"),
        open_document("main", "typescript", "ignored: the edited document itself, cart.total()\n")};
    NextEdit edit = next_edit("typescript", before, after, open);
    CHECK(edit.kind == NextEditKind::Rename);
    CHECK(describe_sites(edit, after, open) == std::vector<std::string>{"main:4:total", "view.ts:0:total"});
  }
}

TEST_CASE("renaming and adding a parameter in TSX lists uses in JSX expressions and not JSX text", "[next_edit]") {
  const std::string before =
      "function formatPrice(cents: number): string {\n  return (cents / 100).toFixed(2);\n}\n"
      "export function Price({ cents }: { cents: number }) {\n"
      "  return <span title={formatPrice(cents)}>formatPrice: {formatPrice(cents)}</span>;\n}\n";
  SECTION("a rename") {
    const std::string after = replace_first(before, "function formatPrice", "function formatCents");
    NextEdit edit = next_edit("tsx", before, after);
    CHECK(edit.kind == NextEditKind::Rename);
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:4:formatPrice", "main:4:formatPrice"});
  }
  SECTION("a rename of a name a JSX attribute's name starts with") {
    const std::string with_data = "export function Title(data: string) {\n"
                                  "  return <h1 data-testid=\"title\">{data}</h1>;\n}\n";
    const std::string after = replace_first(with_data, "(data:", "(data2:");
    NextEdit edit = next_edit("tsx", with_data, after);
    CHECK(edit.kind == NextEditKind::Rename);
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:1:data"});
    REQUIRE(edit.sites.size() == 1);
    CHECK(edit.sites[0].span.begin == after.find("{data}") + 1);
  }
  SECTION("an added parameter") {
    const std::string after = replace_first(before, "(cents: number): string", "(cents: number, currency: string): string");
    NextEdit edit = next_edit("tsx", before, after);
    CHECK(edit.kind == NextEditKind::ParameterCount);
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:4:(cents)", "main:4:(cents)"});
  }
}

TEST_CASE("renaming in JavaScript and C lists whole-word uses", "[next_edit]") {
  SECTION("a JavaScript function") {
    const std::string before =
        "function fetchUser(id) { return db.get(id); }\n"
        "// fetchUser is cached\n"
        "const user = await fetchUser(1);\n";
    const std::string after = replace_first(before, "function fetchUser", "function loadUser");
    std::vector<OpenDocument> open = {open_document("app.js", "javascript", "import { fetchUser } from './api.js';\n")};
    NextEdit edit = next_edit("javascript", before, after, open);
    CHECK(edit.kind == NextEditKind::Rename);
    CHECK(describe_sites(edit, after, open) == std::vector<std::string>{"main:2:fetchUser", "app.js:0:fetchUser"});
  }
  SECTION("a C struct field, renamed where it is used") {
    const std::string before =
        "struct point { int x; int y; };\n"
        "int norm(struct point p) { return p.x * p.x + p.y * p.y; }\n";
    const std::string after = replace_first(before, "return p.x", "return p.px");
    NextEdit edit = next_edit("c", before, after);
    CHECK(edit.kind == NextEditKind::Rename);
    CHECK(edit.old_name == "x");
    CHECK(edit.new_name == "px");
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:1:x", "main:0:x"});
  }
}

TEST_CASE("a rename typed letter by letter is found from the history's newest entry", "[next_edit]") {
  const LanguageInfo* python = find_language_by_name("python");
  SourceDocument doc("def area(w, h):\n    return w * h\n\nprint(area(2, 3))\n", python);
  EditHistory history;
  replace_text(history, "shapes.py", doc, 4, 8, "s");
  type_text(history, "shapes.py", doc, 5, "ize");
  // Keystroke by keystroke, the last change is "siz" -> "size": not what the user did.
  std::optional<std::string> before = text_before(history.snapshot().back(), doc.text());
  REQUIRE(before);
  NextEdit edit = find_next_edit_sites(SourceDocument(*before, python), doc, "shapes.py", {});
  CHECK(edit.kind == NextEditKind::Rename);
  CHECK(edit.old_name == "area");
  CHECK(edit.new_name == "size");
  REQUIRE(edit.sites.size() == 1);
  CHECK(doc.text().substr(edit.sites[0].span.begin, edit.sites[0].span.size()) == "area");
}

TEST_CASE("a document without a syntax tree implies no sites", "[next_edit]") {
  SourceDocument before("the old name\nthe old way\n", nullptr), after("the new name\nthe old way\n", nullptr);
  NextEdit edit = find_next_edit_sites(before, after, "notes.txt", {});
  CHECK(edit.kind == NextEditKind::None);
  CHECK(edit.sites.empty());
}

TEST_CASE("renaming a parameter lists its uses and is not a parameter count change", "[next_edit]") {
  const std::string before = "def scale(factor, v):\n    return factor * v\n";
  const std::string after = replace_first(before, "(factor,", "(k,");
  NextEdit edit = next_edit("python", before, after);
  CHECK(edit.kind == NextEditKind::Rename);
  CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:1:factor"});
}

TEST_CASE("adding a parameter lists the argument lists of the function's calls", "[next_edit]") {
  SECTION("Python") {
    const std::string before =
        "def area(w, h):\n    return w * h\n\n"
        "# area(w, h) is documented here\n"
        "a = area(2, 3)\n"
        "b = area (f(1), \"(\", (2))\n"
        "c = areas(1)\n";
    const std::string after = replace_first(before, "area(w, h):", "area(w, h, d):");
    std::vector<OpenDocument> open = {open_document("use.py", "python", "import shapes\nshapes.area(\n    4,\n    5)\n")};
    NextEdit edit = next_edit("python", before, after, open);
    CHECK(edit.kind == NextEditKind::ParameterCount);
    CHECK(edit.old_name == "area");
    CHECK(edit.old_parameters == 2);
    CHECK(edit.new_parameters == 3);
    CHECK(describe_sites(edit, after, open) ==
          std::vector<std::string>{"main:4:(2, 3)", "main:5:(f(1), \"(\", (2))", "use.py:1:(\n    4,\n    5)"});
    CHECK(edit.sites[0].reason == "calls `area`, whose parameters went from 2 to 3");
  }
  SECTION("C++, with a prototype that is not a call") {
    const std::string before =
        "int area(int w, int h);\n"
        "int area(int w, int h) { return w * h; }\n"
        "int main() { return area(1, 2) + area(area(3, 4), 5); }\n";
    const std::string after = replace_first(before, "int h) {", "int h, int d) {");
    std::vector<OpenDocument> open = {open_document("b.cpp", "cpp", "int area(int, int);\nint twice() { return 2 * area(6, 7); }\n")};
    NextEdit edit = next_edit("cpp", before, after, open);
    CHECK(edit.kind == NextEditKind::ParameterCount);
    CHECK(edit.new_parameters == 3);
    CHECK(describe_sites(edit, after, open) ==
          std::vector<std::string>{"main:2:(1, 2)", "main:2:(area(3, 4), 5)", "main:2:(3, 4)", "b.cpp:1:(6, 7)"});
  }
  SECTION("C++, a member function defined out of line under its qualified name") {
    const std::string before =
        "struct Shape { int area(int w) const; };\n"
        "int Shape::area(int w) const { return w * w; }\n"
        "int twice(const Shape& s) { return 2 * s.area(3); }\n";
    const std::string after = replace_first(before, "Shape::area(int w)", "Shape::area(int w, int h)");
    NextEdit edit = next_edit("cpp", before, after);
    CHECK(edit.kind == NextEditKind::ParameterCount);
    CHECK(edit.old_name == "area");
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:2:(3)"});
  }
  SECTION("Java, a parameter removed") {
    const std::string before =
        "class Box {\n  int scale(int a, int b) { return a * b; }\n  int twice() { return scale(2, 3) * 2; }\n}\n";
    const std::string after = replace_first(before, "int a, int b", "int a");
    NextEdit edit = next_edit("java", before, after);
    CHECK(edit.kind == NextEditKind::ParameterCount);
    CHECK(edit.old_parameters == 2);
    CHECK(edit.new_parameters == 1);
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:2:(2, 3)"});
  }
}

TEST_CASE("a changed literal lists the same literal in the same place of nearby lines", "[next_edit]") {
  SECTION("Python: the same keyword argument, not another name, not another number") {
    const std::string before =
        "a = fetch(u1, timeout=30)\n"
        "b = fetch(u2, timeout=30)  # timeout=30\n"
        "c = fetch(u3, retries=30)\n"
        "d = 30\n"
        "e = fetch(u4, timeout=300)\n"
        "f = fetch(u5, timeout=30)\n";
    const std::string after = replace_first(before, "timeout=30)", "timeout=60)");
    NextEdit edit = next_edit("python", before, after);
    CHECK(edit.kind == NextEditKind::Literal);
    CHECK(edit.old_name == "30");
    CHECK(edit.new_name == "60");
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:1:30", "main:5:30"});
    CHECK(edit.sites[0].reason == "repeats `30`, changed to `60` nearby");
  }
  SECTION("a digit typed at the end of a number") {
    const std::string before = "a = fetch(u1, timeout=30)\nb = fetch(u2, timeout=30)\n";
    NextEdit edit = next_edit("python", before, replace_first(before, "timeout=30)", "timeout=300)"));
    CHECK(edit.kind == NextEditKind::Literal);
    CHECK(edit.new_name == "300");
    CHECK(edit.sites.size() == 1);
  }
  SECTION("a number that changes its grammar type: an integer made a float, a decimal made octal") {
    const std::string before = "a = fetch(u1, timeout=1)\nb = fetch(u2, timeout=1)\n";
    NextEdit python = next_edit("python", before, replace_first(before, "timeout=1)", "timeout=1.5)"));
    CHECK(python.kind == NextEditKind::Literal);
    CHECK(python.new_name == "1.5");
    CHECK(describe_sites(python, replace_first(before, "timeout=1)", "timeout=1.5)")) ==
          std::vector<std::string>{"main:1:1"});
    const std::string java = "class A {\n  void f() {\n    g(0, x);\n    g(0, y);\n  }\n}\n";
    const std::string java_after = replace_first(java, "g(0, x)", "g(010, x)");
    NextEdit octal = next_edit("java", java, java_after);
    CHECK(octal.kind == NextEditKind::Literal);
    CHECK(describe_sites(octal, java_after) == std::vector<std::string>{"main:3:0"});
    // A number made a string is not the same setting changed.
    CHECK(next_edit("python", before, replace_first(before, "timeout=1)", "timeout='1')")).kind !=
          NextEditKind::Literal);
  }
  SECTION("C++: a string with a literal suffix, whose quote is the word's edge") {
    const std::string before = "int main() {\n  a.contains(\"key\"sv);\n  b.contains(\"key\"sv);\n}\n";
    const std::string after = replace_first(before, "\"key\"sv", "\"keyx\"sv");
    NextEdit edit = next_edit("cpp", before, after);
    CHECK(edit.kind == NextEditKind::Literal);
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:2:\"key\""});
  }
  SECTION("JavaScript: a string argument at the same position of calls of the same function") {
    const std::string before =
        "emit('ready', 1);\n"
        "emit('ready', 2);\n"
        "log('ready');\n"
        "emit(1, 'ready');\n";
    const std::string after = replace_first(before, "'ready', 1", "'done', 1");
    NextEdit edit = next_edit("javascript", before, after);
    CHECK(edit.kind == NextEditKind::Literal);
    CHECK(edit.old_name == "'ready'");
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:1:'ready'"});
  }
  SECTION("Go: only lines within the nearby window") {
    std::string before = "package p\n\nfunc f() {\n\tsleep(5)\n";
    for (int i = 0; i < 40; ++i) before += "\tx()\n";
    before += "\tsleep(5)\n}\n";
    const std::string after = replace_first(before, "sleep(5)", "sleep(9)");
    NextEditLimits limits;
    limits.literal_lines = 10;
    CHECK(next_edit("go", before, after, {}, limits).sites.empty());
    limits.literal_lines = 50;
    CHECK(describe_sites(next_edit("go", before, after, {}, limits), after) == std::vector<std::string>{"main:44:5"});
  }
}

TEST_CASE("a changed return type lists the lines that call the function", "[next_edit]") {
  SECTION("Python") {
    const std::string before =
        "def load(path) -> str:\n    return open(path).read()\n\n"
        "text = load('a.txt')\n"
        "    # load('b') in a comment\n"
        "print(len(load(\n    'c.txt')))\n";
    const std::string after = replace_first(before, "-> str:", "-> bytes:");
    NextEdit edit = next_edit("python", before, after);
    CHECK(edit.kind == NextEditKind::ReturnType);
    CHECK(edit.function == "load");
    CHECK(edit.old_name == "str");
    CHECK(edit.new_name == "bytes");
    CHECK(describe_sites(edit, after) ==
          std::vector<std::string>{"main:3:text = load('a.txt')", "main:5:print(len(load(\n    'c.txt')))"});
    CHECK(edit.sites[0].reason == "uses what `load` returns, its return type changed from `str` to `bytes`");
  }
  SECTION("Go, Rust, TypeScript, Java and C++") {
    struct Case {
      const char* language;
      std::string before, from, to, call_line;
    };
    for (const Case& c : std::vector<Case>{
             {"go", "package m\nfunc size(s string) int { return len(s) }\nfunc use() { n := size(\"x\"); _ = n }\n",
              ") int {", ") int64 {", "main:2:func use() { n := size(\"x\"); _ = n }"},
             {"rust", "fn size(s: &str) -> usize { s.len() }\nfn main() {\n    let n = size(\"x\");\n}\n", "-> usize", "-> u64",
              "main:2:let n = size(\"x\");"},
             {"typescript", "function size(s: string): number { return s.length; }\nconst n = size('x');\n",
              "): number", "): bigint", "main:1:const n = size('x');"},
             {"java", "class A {\n  int size(String s) { return s.length(); }\n  void use() { long n = size(\"x\"); }\n}\n",
              "int size", "long size", "main:2:void use() { long n = size(\"x\"); }"},
             {"cpp", "int size(const char* s);\nint main() {\n  int n = size(\"x\");\n}\n", "int size", "long size",
              "main:2:int n = size(\"x\");"},
         }) {
      INFO(c.language);
      const std::string after = replace_first(c.before, c.from, c.to);
      NextEdit edit = next_edit(c.language, c.before, after);
      CHECK(edit.kind == NextEditKind::ReturnType);
      CHECK(edit.function == "size");
      CHECK(describe_sites(edit, after) == std::vector<std::string>{c.call_line});
    }
  }
}

TEST_CASE("a changed parameter type lists the argument each call passes for it", "[next_edit]") {
  SECTION("Python: positional and keyword arguments, self not counted") {
    const std::string before =
        "class Store:\n    def put(self, key: str, value: int = 0):\n        pass\n\n"
        "s = Store()\n"
        "s.put('a', 1)\n"
        "s.put('b', value=2)\n"
        "s.put(key='c', value=3)\n"
        "s.put('d')\n";
    const std::string after = replace_first(before, "value: int", "value: float");
    NextEdit edit = next_edit("python", before, after);
    CHECK(edit.kind == NextEditKind::ParameterType);
    CHECK(edit.function == "put");
    CHECK(edit.parameter == "value");
    CHECK(edit.old_name == "int");
    CHECK(edit.new_name == "float");
    CHECK(describe_sites(edit, after) ==
          std::vector<std::string>{"main:5:1", "main:6:value=2", "main:7:value=3"});
    CHECK(edit.sites[0].reason == "passes `value` to `put`, its type changed from `int` to `float`");
  }
  SECTION("TypeScript and Go, in the file and an open document") {
    const std::string ts = "function scale(n: number, by: number) { return n * by; }\nscale(2, 3);\n";
    const std::string ts_after = replace_first(ts, "by: number", "by: string");
    std::vector<OpenDocument> open = {open_document("b.ts", "typescript", "import { scale } from './a';\nscale(4, 5);\n")};
    NextEdit edit = next_edit("typescript", ts, ts_after, open);
    CHECK(edit.kind == NextEditKind::ParameterType);
    CHECK(describe_sites(edit, ts_after, open) == std::vector<std::string>{"main:1:3", "b.ts:1:5"});
    const std::string go = "package m\nfunc scale(n int, by int) int { return n * by }\nvar x = scale(2, 3)\n";
    const std::string go_after = replace_first(go, "by int", "by float64");
    NextEdit go_edit = next_edit("go", go, go_after);
    CHECK(go_edit.kind == NextEditKind::ParameterType);
    CHECK(describe_sites(go_edit, go_after) == std::vector<std::string>{"main:2:3"});
  }
  SECTION("a type renamed inside an annotation is a type change, not a rename of the type") {
    const std::string before = "class Foo: pass\nclass Bar: pass\ndef f(x: Foo): pass\nf(Foo())\ny: Foo = Foo()\n";
    const std::string after = replace_first(before, "x: Foo", "x: Bar");
    NextEdit edit = next_edit("python", before, after);
    CHECK(edit.kind == NextEditKind::ParameterType);
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:3:Foo()"});
  }
}

TEST_CASE("an edit that renames nothing and changes no parameter list implies no sites", "[next_edit]") {
  const std::string before = "def area(w, h):\n    return w * h\n\nprint(area(2, 3))\n";
  SECTION("an expression changed inside a function body") {
    NextEdit edit = next_edit("python", before, replace_first(before, "w * h", "w * h + 1"));
    CHECK(edit.kind == NextEditKind::None);
    CHECK(edit.sites.empty());
  }
  SECTION("a word changed inside a comment") {
    const std::string commented = "# area of a shape\n" + before;
    NextEdit edit = next_edit("python", commented, replace_first(commented, "# area", "# size"));
    CHECK(edit.kind == NextEditKind::None);
    CHECK(edit.sites.empty());
  }
  SECTION("a keyword, not an identifier") {
    const std::string loop = "function f(xs) {\n  for (const x of xs) log(x);\n}\n";
    NextEdit edit = next_edit("javascript", loop, replace_first(loop, "const x", "let x"));
    CHECK(edit.kind == NextEditKind::None);
  }
  SECTION("a parameter list that does not parse yet") {
    NextEdit edit = next_edit("python", before, replace_first(before, "area(w, h)", "area(w, h, 1 +)"));
    CHECK(edit.kind == NextEditKind::None);
    CHECK(edit.sites.empty());
  }
  SECTION("no change at all") {
    CHECK(next_edit("python", before, before).kind == NextEditKind::None);
  }
}

TEST_CASE("next-edit sites are capped, nearest first, and large documents are scanned only so far", "[next_edit]") {
  std::string before = "def count():\n    pass\n";
  for (int i = 0; i < 10000; ++i) before += "count()\n";
  const std::string after = replace_first(before, "def count", "def total");
  NextEdit edit = next_edit("python", before, after);
  CHECK(edit.kind == NextEditKind::Rename);
  REQUIRE(edit.sites.size() == 200);
  CHECK(edit.truncated);
  std::vector<std::string> sites = describe_sites(edit, after);
  CHECK(sites.front() == "main:2:count");
  CHECK(sites.back() == "main:201:count");
  // The open documents get what room the cap leaves, and a scan bound truncates too.
  NextEditLimits limits;
  limits.max_sites = 3;
  std::vector<OpenDocument> open = {open_document("o.py", "python", "count()\n")};
  CHECK(next_edit("python", before, after, open, limits).sites.size() == 3);
  limits.max_sites = 200;
  limits.max_scan_bytes = 100;
  edit = next_edit("python", before, after, open, limits);
  CHECK(edit.truncated);
  CHECK(describe_sites(edit, after, open).back() == "o.py:0:count");
  CHECK(edit.sites.size() < 20);
}

TEST_CASE("a changed return shape lists the lines that call the function", "[next_edit]") {
  SECTION("Python: a value becomes a tuple, in the file and an open document") {
    const std::string before =
        "def stats(xs):\n"
        "    total = sum(xs)\n"
        "    return total\n"
        "\n"
        "t = stats([1])\n"
        "# stats([2]) in a comment\n"
        "print(stats([3]))\n";
    const std::string after = replace_first(before, "return total", "return total, len(xs)");
    std::vector<OpenDocument> open = {open_document("use.py", "python", "from m import stats\nn = stats([4])\n")};
    NextEdit edit = next_edit("python", before, after, open);
    CHECK(edit.kind == NextEditKind::ReturnShape);
    CHECK(edit.function == "stats");
    CHECK(edit.old_name == "total");
    CHECK(edit.new_name == "total, len(xs)");
    CHECK(describe_sites(edit, after, open) ==
          std::vector<std::string>{"main:4:t = stats([1])", "main:6:print(stats([3]))", "use.py:1:n = stats([4])"});
    CHECK(edit.sites[0].reason == "uses what `stats` returns, its return value changed from `total` to `total, len(xs)`");
  }
  SECTION("Python: a dict, a list, a constructor, one more tuple element") {
    const std::string before = "def point(x, y):\n    return x\n\np = point(1, 2)\n";
    for (const char* value : {"{\"x\": x}", "[x]", "Point(x, y)", "(x)"}) {
      INFO(value);
      const std::string after = replace_first(before, "return x", std::string("return ") + value);
      NextEdit edit = next_edit("python", before, after);
      // Parentheses are no shape: `(x)` is still the value `x`.
      CHECK(edit.kind == (std::string(value) == "(x)" ? NextEditKind::None : NextEditKind::ReturnShape));
    }
    const std::string pair = "def point(x, y):\n    return x, y\n\np = point(1, 2)\n";
    NextEdit edit = next_edit("python", pair, replace_first(pair, "return x, y", "return x, y, 0"));
    CHECK(edit.kind == NextEditKind::ReturnShape);
    CHECK(describe_sites(edit, replace_first(pair, "return x, y", "return x, y, 0")) ==
          std::vector<std::string>{"main:3:p = point(1, 2)"});
    // Still two elements, but the first is now the old pair: what callers unpack changed.
    const std::string parenthesized = "def point(x, y):\n    return (x, y)\n\np = point(1, 2)\n";
    CHECK(next_edit("python", parenthesized, replace_first(parenthesized, "return (x, y)", "return (x, y), None")).kind ==
          NextEditKind::ReturnShape);
    // An element's value edited in place is no new shape.
    CHECK(next_edit("python", pair, replace_first(pair, "return x, y", "return x, y + 1")).kind !=
          NextEditKind::ReturnShape);
  }
  SECTION("Go, Rust, JavaScript, TypeScript, Java, C and C++") {
    struct Case {
      const char* language;
      std::string before, from, to, call_line;
    };
    for (const Case& c : std::vector<Case>{
             {"go", "package m\nfunc at(x int) P { return P{X: x} }\nfunc use() { p := at(1); _ = p }\n", "P{X: x}",
              "P{X: x, Y: x}", "main:2:func use() { p := at(1); _ = p }"},
             {"go", "package m\nfunc at(x int) (int, error) { return x }\nvar p = at(1)\n", "return x", "return x, nil",
              "main:2:var p = at(1)"},
             {"rust", "fn at(x: i32) -> P {\n    return P { x };\n}\nfn main() {\n    let p = at(1);\n}\n", "P { x }",
              "P { x, y: 0 }", "main:4:let p = at(1);"},
             {"javascript", "function at(x) {\n  return [x];\n}\nconst p = at(1);\n", "[x]", "[x, 0]",
              "main:3:const p = at(1);"},
             {"typescript", "const at = (x: number): number[] => {\n  return [x];\n};\nconst p = at(1);\n", "return [x]",
              "return { x }", "main:3:const p = at(1);"},
             {"java", "class A {\n  Object at(int x) { return x; }\n  void use() { Object p = at(1); }\n}\n", "return x;",
              "return new Point(x, 0);", "main:2:void use() { Object p = at(1); }"},
             {"c", "int at(int x) { return x; }\nint main() {\n  int p = at(1);\n}\n", "return x;", "return (x, 0);",
              "main:2:int p = at(1);"},
             {"cpp", "P at(int x) { return {x}; }\nint main() {\n  auto p = at(1);\n}\n", "{x}", "{x, 0}",
              "main:2:auto p = at(1);"},
         }) {
      INFO(c.language << ": " << c.to);
      const std::string after = replace_first(c.before, c.from, c.to);
      NextEdit edit = next_edit(c.language, c.before, after);
      CHECK(edit.kind == NextEditKind::ReturnShape);
      CHECK(edit.function == "at");
      CHECK(describe_sites(edit, after) == std::vector<std::string>{c.call_line});
    }
  }
  SECTION("a name or a literal edited inside the same shape is a rename or a literal change") {
    const std::string before = "def f(a, b):\n    return a, b, 0\n\nx = f(1, 2)\ny = f(3, 4)\n";
    NextEdit renamed = next_edit("python", before, replace_first(before, "return a, b", "return a, c"));
    CHECK(renamed.kind == NextEditKind::Rename);
    CHECK(renamed.old_name == "b");
    NextEdit literal = next_edit("python", before, replace_first(before, "b, 0", "b, 1"));
    CHECK(literal.kind == NextEditKind::Literal);
    // An expression that stays a plain value is no shape change either.
    CHECK(next_edit("python", before, replace_first(before, "return a, b, 0", "return a, b, 0 + 1")).kind !=
          NextEditKind::ReturnShape);
  }
  SECTION("not a lambda's return, nor a value half typed") {
    const std::string js = "const ys = xs.map((x) => {\n  return x;\n});\n";
    CHECK(next_edit("javascript", js, replace_first(js, "return x;", "return [x];")).kind == NextEditKind::None);
    const std::string f = "function f(x) {\n  return x;\n}\nf(1);\n";
    CHECK(next_edit("javascript", f, replace_first(f, "return x;", "return [x, ;")).kind == NextEditKind::None);
  }
}

TEST_CASE("a changed callee lists the other calls of the old callee nearby", "[next_edit]") {
  SECTION("Python: the same callee with as many arguments, not through another object, not in comments") {
    const std::string before =
        "def run(a, b):\n"
        "    log.info(a)\n"
        "    log.info(b)\n"
        "    log.info(a, b)\n"
        "    self.log.info(a)\n"
        "    # log.info(a)\n"
        "    log.warn(a)\n"
        "    log.info(\n"
        "        b)\n";
    const std::string after = replace_first(before, "log.info(a)", "logger.info(a)");
    NextEdit edit = next_edit("python", before, after);
    CHECK(edit.kind == NextEditKind::CallPattern);
    CHECK(edit.function == "log.info");
    CHECK(edit.old_name == "log.info(a)");
    CHECK(edit.new_name == "logger.info(a)");
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:2:log.info(b)", "main:7:log.info(\n        b)"});
    CHECK(edit.sites[0].reason == "calls `log.info` as the edited call did, changed from `log.info(a)` to `logger.info(a)`");
    // Only the callee's changed word is rewritten at each site: its arguments stay in view.
    CHECK(edit.part == SitePart::CalleeWords);
    CHECK(edit.part_text == "logger");
    for (const NextEditSite& site : edit.sites) {
      CHECK(site.part.begin == site.span.begin);
      CHECK(after.substr(site.part.begin, site.part.size()) == "log");
    }
  }
  SECTION("JavaScript, Go, Rust, Java, C and C++") {
    struct Case {
      const char* language;
      std::string before, from, to;
      std::vector<std::string> sites;
      std::string old_part = "", new_part = "";  // the callee's words each site rewrites
    };
    for (const Case& c : std::vector<Case>{
             {"javascript", "print(a);\nprint(b);\nprint(a, b);\nx.print(c);\nconst s = 'print(d)';\n", "print(a)", "log(a)",
              {"main:1:print(b)"}, "print", "log"},
             {"go", "package m\nfunc f() {\n\tfmt.Println(a)\n\tfmt.Println(b)\n\tfmt.Printf(c)\n}\n", "Println(a)",
              "Print(a)", {"main:3:fmt.Println(b)"}, "Println", "Print"},
             {"rust", "fn f() {\n    let a = Vec::new();\n    let b = Vec::new();\n}\n", "a = Vec::new", "a = Vec::with",
              {"main:2:Vec::new()"}, "new", "with"},
             {"rust", "fn f() {\n    let a = \"\".to_owned();\n    // \"\".to_owned()\n    let b = \"\".to_owned();\n}\n",
              "a = \"\".to_owned", "a = \"\".to_string", {"main:3:\"\".to_owned()"}, "to_owned", "to_string"},
             {"java", "class A {\n  void f() {\n    logger.debug(a);\n    logger.debug(b);\n  }\n}\n", "logger.debug(a)",
              "log.debug(a)", {"main:3:logger.debug(b)"}, "logger", "log"},
             {"c", "void f(void) {\n  printf(\"a\");\n  printf(\"b\");\n}\n", "printf(\"a\")", "puts(\"a\")",
              {"main:2:printf(\"b\")"}, "printf", "puts"},
             {"cpp", "int f(int a, int b) {\n  int x = std::max(a, b);\n  return std::max(b, 1);\n}\n", "std::max(a",
              "std::min(a", {"main:2:std::max(b, 1)"}, "max", "min"},
         }) {
      INFO(c.language);
      const std::string after = replace_first(c.before, c.from, c.to);
      NextEdit edit = next_edit(c.language, c.before, after);
      CHECK(edit.kind == NextEditKind::CallPattern);
      CHECK(describe_sites(edit, after) == c.sites);
      CHECK(edit.part_text == c.new_part);
      for (const NextEditSite& site : edit.sites) CHECK(after.substr(site.part.begin, site.part.size()) == c.old_part);
    }
  }
  SECTION("only lines within the nearby window") {
    std::string before = "emit(a);\n";
    for (int i = 0; i < 40; ++i) before += "x();\n";
    before += "emit(b);\n";
    const std::string after = replace_first(before, "emit(a)", "send(a)");
    NextEditLimits limits;
    limits.literal_lines = 10;
    NextEdit edit = next_edit("javascript", before, after, {}, limits);
    CHECK(edit.kind == NextEditKind::CallPattern);
    CHECK(edit.sites.empty());
    limits.literal_lines = 50;
    CHECK(describe_sites(next_edit("javascript", before, after, {}, limits), after) ==
          std::vector<std::string>{"main:41:emit(b)"});
  }
}

TEST_CASE("arguments added, removed or reordered at a call list the argument lists of its calls nearby", "[next_edit]") {
  SECTION("Python: an argument added at a call of a function defined elsewhere") {
    const std::string before =
        "a = fetch(u1)\n"
        "b = fetch(u2)\n"
        "c = fetch(u3, 5)\n"
        "d = client.fetch(u4)\n";
    const std::string after = replace_first(before, "fetch(u1)", "fetch(u1, timeout=5)");
    NextEdit edit = next_edit("python", before, after);
    CHECK(edit.kind == NextEditKind::CallPattern);
    CHECK(edit.old_name == "fetch(u1)");
    CHECK(edit.new_name == "fetch(u1, timeout=5)");
    CHECK(describe_sites(edit, after) == std::vector<std::string>{"main:1:(u2)"});
    // The site gains the argument after those it passes: `(u2` and `)` stay as they read.
    CHECK(edit.part == SitePart::AppendedArguments);
    CHECK(edit.part_text == ", timeout=5");
    REQUIRE(edit.sites.size() == 1);
    CHECK(edit.sites[0].part.size() == 0);
    CHECK(edit.sites[0].part.begin + 1 == edit.sites[0].span.end);
  }
  SECTION("TypeScript: an argument removed; Rust: arguments reordered") {
    const std::string ts = "send(a, true);\nsend(b, true);\nsend(c);\n";
    const std::string ts_after = replace_first(ts, "send(a, true)", "send(a)");
    NextEdit removed = next_edit("typescript", ts, ts_after);
    CHECK(removed.kind == NextEditKind::CallPattern);
    CHECK(describe_sites(removed, ts_after) == std::vector<std::string>{"main:1:(b, true)"});
    const std::string rs = "fn f() {\n    copy(src, dst);\n    copy(a, b);\n}\n";
    const std::string rs_after = replace_first(rs, "copy(src, dst)", "copy(dst, src)");
    NextEdit moved = next_edit("rust", rs, rs_after);
    CHECK(moved.kind == NextEditKind::CallPattern);
    CHECK(describe_sites(moved, rs_after) == std::vector<std::string>{"main:2:(a, b)"});
    // Neither only appends: the whole argument list is the site's to rewrite.
    for (const NextEdit* edit : {&removed, &moved}) {
      CHECK(edit->part == SitePart::Whole);
      for (const NextEditSite& site : edit->sites) {
        CHECK(site.part.begin == site.span.begin);
        CHECK(site.part.end == site.span.end);
      }
    }
  }
  SECTION("an argument or a callee's literal edited in place is a rename or a literal change") {
    const std::string join = "a = ','.join(xs)\nb = ','.join(ys)\n";
    CHECK(next_edit("python", join, replace_first(join, "','.join(xs)", "';'.join(xs)")).kind == NextEditKind::Literal);
    const std::string before = "x = fetch(u1, 30)\ny = fetch(u2, 30)\n";
    CHECK(next_edit("python", before, replace_first(before, "fetch(u1,", "fetch(v1,")).kind == NextEditKind::Rename);
    CHECK(next_edit("python", before, replace_first(before, "u1, 30", "u1, 60")).kind == NextEditKind::Literal);
  }
  SECTION("a function defined in the document: its parameters change where it is defined") {
    const std::string before = "def fetch(u):\n    pass\n\nx = fetch(u1)\ny = fetch(u2)\n";
    CHECK(next_edit("python", before, replace_first(before, "fetch(u1)", "fetch(u1, 5)")).kind == NextEditKind::None);
  }
}
