// Next-edit sites in workspace files that are not open (issue #24): a renamed definition's uses
// and a changed function's callers are found through the workspace index's word hashes and read
// from disk; locals, other languages, open documents and the file caps are respected.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "infill/text_lines.h"
#include "infill/next_edit_sites.h"
#include "infill/workspace_index.h"
#include "test_support.h"

using namespace maskfill;
namespace fs = std::filesystem;

namespace {

// A temporary folder whose write() gives the file's path as a string (what the index keeps).
struct Workspace : maskfill::test::TempWorkspace {
  std::string write(const std::string& relative, const std::string& text) const {
    return TempWorkspace::write(relative, text).string();
  }
};

const char* kShapes =
    "def area(w, h):\n"
    "    return w * h\n"
    "\n"
    "def scaled(w, h, k):\n"
    "    size = area(w, h)\n"
    "    return size * k\n";

NextEdit edit_of(const std::string& path, const std::string& before, const std::string& after,
                 const WorkspaceIndex& index, const std::vector<OpenDocument>& open = {},
                 const NextEditLimits& limits = {}, const std::string& language = "python") {
  const LanguageInfo* info = find_language_by_name(language);
  return find_next_edit_sites(SourceDocument(before, info), SourceDocument(after, info), path, open, limits, &index);
}

// "file:line:text" of each site read from disk (not the edited document, not an open one), in
// the order found.
std::vector<std::string> elsewhere(const NextEdit& edit, const std::string& path, const fs::path& root) {
  std::vector<std::string> out;
  for (const NextEditSite& site : edit.sites) {
    if (site.path == path || !site.doc) continue;
    std::string_view text = site.doc->text();
    auto line = std::count(text.begin(), text.begin() + std::ptrdiff_t(site.span.begin), '\n');
    out.push_back(fs::path(site.path).lexically_relative(root).string() + ":" + std::to_string(line) + ":" +
                  std::string(text.substr(site.span.begin, site.span.size())));
  }
  return out;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("the workspace index finds the files that mention a word, by language", "[next_edit][index]") {
  Workspace ws;
  ws.write("a.py", "import shapes\nprint(shapes.area(1, 2))\n");
  ws.write("b.py", "area_total = 3  # not the word itself\n");
  ws.write("c.go", "package c\n\nfunc area() int { return 1 }\n");
  ws.write("d.py", "# area in a comment still counts: the file is read to be sure\n");
  WorkspaceIndex index({ws.root});
  index.build();
  CHECK(index.files_mentioning("area", "python", 10) ==
        std::vector<std::string>{(ws.root / "a.py").string(), (ws.root / "d.py").string()});
  CHECK(index.files_mentioning("area", "go", 10) == std::vector<std::string>{(ws.root / "c.go").string()});
  CHECK(index.files_mentioning("area", "python", 1).size() == 1);
  CHECK(index.files_mentioning("volume", "python", 10).empty());
  CHECK(index.stats().words > 0);
  CHECK(index.read(ws.root / "a.py") == std::optional<std::string>("import shapes\nprint(shapes.area(1, 2))\n"));
  CHECK_FALSE(index.read("/etc/hostname"));  // outside the roots
}

TEST_CASE("a renamed definition's uses in workspace files that are not open are sites", "[next_edit][index]") {
  Workspace ws;
  const std::string shapes = ws.write("shapes.py", kShapes);
  ws.write("app/report.py", "from shapes import area\n\nprint(area(2, 3))\n");
  ws.write("app/open.py", "from shapes import area\nx = area(1, 1)\n");
  ws.write("app/unrelated.py", "def volume(w, h, d):\n    return w * h * d\n");
  ws.write("app/other.go", "package app\n\nfunc use() int { return area(1, 2) }\n");
  WorkspaceIndex index({ws.root});
  index.build();
  const std::string after = replaced(kShapes, "def area", "def surface");

  SECTION("files of the same language that use it, read from disk; open documents are not read again") {
    const LanguageInfo* python = find_language_by_name("python");
    std::vector<OpenDocument> open = {
        {(ws.root / "app/open.py").string(),
         std::make_shared<const SourceDocument>("from shapes import area\nx = area(1, 1)\ny = area(2, 2)\n", python),
         nullptr}};
    NextEdit edit = edit_of(shapes, kShapes, after, index, open);
    CHECK(edit.kind == NextEditKind::Rename);
    std::vector<std::string> sites;
    for (const NextEditSite& site : edit.sites)
      if (site.path == shapes) sites.push_back("shapes.py");
    CHECK(sites == std::vector<std::string>{"shapes.py"});
    // The open document's own text (3 uses), not the file on disk (2); then the file not open.
    size_t open_sites = 0;
    for (const NextEditSite& site : edit.sites)
      if (site.path == open.front().path) {
        CHECK_FALSE(site.doc);
        ++open_sites;
      }
    CHECK(open_sites == 3);
    CHECK(elsewhere(edit, shapes, ws.root) == std::vector<std::string>{"app/report.py:0:area", "app/report.py:2:area"});
  }

  SECTION("without an index, or with no room left, nothing is read") {
    const LanguageInfo* python = find_language_by_name("python");
    NextEdit alone = find_next_edit_sites(SourceDocument(kShapes, python), SourceDocument(after, python), shapes, {});
    CHECK(alone.sites.size() == 1);
    NextEditLimits limits;
    limits.max_sites = 1;
    NextEdit capped = edit_of(shapes, kShapes, after, index, {}, limits);
    CHECK(capped.sites.size() == 1);
    CHECK_FALSE(capped.sites.front().doc);
  }

  SECTION("at most max_workspace_files files are read") {
    for (int i = 0; i < 5; ++i) ws.write("many/use" + std::to_string(i) + ".py", "from shapes import area\narea(1, 2)\n");
    WorkspaceIndex bigger({ws.root});
    bigger.build();
    NextEditLimits limits;
    limits.max_workspace_files = 2;
    NextEdit edit = edit_of(shapes, kShapes, after, bigger, {}, limits);
    std::vector<std::string> files;
    for (const NextEditSite& site : edit.sites)
      if (site.doc && std::find(files.begin(), files.end(), site.path) == files.end()) files.push_back(site.path);
    CHECK(files.size() == 2);
    CHECK(edit.truncated);
  }
}

TEST_CASE("under the file cap, the files nearest the edited one are read first", "[next_edit][index]") {
  Workspace ws;
  const std::string shapes = ws.write("pkg/geo/shapes.py", kShapes);
  ws.write("aaa/far.py", "from pkg.geo.shapes import area\narea(1, 2)\n");  // first in path order
  ws.write("pkg/geo/near.py", "from .shapes import area\narea(3, 4)\n");
  WorkspaceIndex index({ws.root});
  index.build();
  NextEditLimits limits;
  limits.max_workspace_files = 1;
  NextEdit edit = edit_of(shapes, kShapes, replaced(kShapes, "def area", "def surface"), index, {}, limits);
  CHECK(elsewhere(edit, shapes, ws.root) == std::vector<std::string>{"pkg/geo/near.py:0:area", "pkg/geo/near.py:1:area"});
  CHECK(edit.truncated);
}

TEST_CASE("a renamed local or parameter stays in its file, a changed signature's callers are found", "[next_edit][index]") {
  Workspace ws;
  const std::string shapes = ws.write("shapes.py", kShapes);
  ws.write("app/uses_size.py", "size = 3\nprint(size)\n");
  ws.write("app/report.py", "from shapes import scaled\n\nprint(scaled(2, 3, 4))\n");
  WorkspaceIndex index({ws.root});
  index.build();

  SECTION("a local variable") {
    NextEdit edit = edit_of(shapes, kShapes, replaced(kShapes, "    size = area", "    dims = area"), index);
    CHECK(edit.kind == NextEditKind::Rename);
    CHECK(elsewhere(edit, shapes, ws.root).empty());
  }
  SECTION("a JavaScript function's own variable, and a module's") {
    const std::string js = "const total = 1;\nfunction mean(xs) {\n  let sum = 0;\n  return sum + total;\n}\n";
    const std::string path = ws.write("mean.js", js);
    ws.write("app/use.js", "const sum = 2;\nconsole.log(total, sum);\n");
    WorkspaceIndex with_js({ws.root});
    with_js.build();
    NextEdit local = edit_of(path, js, replaced(js, "let sum", "let acc"), with_js, {}, {}, "javascript");
    CHECK(local.kind == NextEditKind::Rename);
    CHECK(elsewhere(local, path, ws.root).empty());
    NextEdit module = edit_of(path, js, replaced(js, "const total", "const count"), with_js, {}, {}, "javascript");
    CHECK(elsewhere(module, path, ws.root) == std::vector<std::string>{"app/use.js:1:total"});
  }
  SECTION("a parameter added") {
    NextEdit edit = edit_of(shapes, kShapes, replaced(kShapes, "def scaled(w, h, k)", "def scaled(w, h, k, unit)"), index);
    CHECK(edit.kind == NextEditKind::ParameterCount);
    CHECK(elsewhere(edit, shapes, ws.root) == std::vector<std::string>{"app/report.py:2:(2, 3, 4)"});
  }
}

TEST_CASE("words_in lists identifier-like words by a plain scan, numbers included", "[next_edit][workspace]") {
  const std::vector<std::string_view> words = words_in("$el = foo_bar(x1, 42) // see café");
  const std::vector<std::string_view> expected{"$el", "foo_bar", "x1", "42", "see", "caf"};
  CHECK(words == expected);
  CHECK(words_in("  ( ) ").empty());
}
