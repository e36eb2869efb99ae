// Cross-file context: definitions from tags queries in every language, .gitignore rules, the
// workspace index (and its hostile cases), recent edits, each context source, the budget, and
// where the context lands in a plan's prompt.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "inference/chat_template.h"
#include "infill/definitions.h"
#include "infill/ignore_rules.h"
#include "infill/plan.h"
#include "infill/prompt_context.h"
#include "infill/recent_edits.h"
#include "infill/workspace_index.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace maskfill;
using namespace maskfill::test;

namespace {

std::vector<std::string> names_of(const std::string& language, const std::string& text) {
  SourceDocument doc(text, find_language_by_name(language));
  std::vector<std::string> names;
  for (const Definition& definition : find_definitions(doc)) names.push_back(definition.name);
  return names;
}

// A scratch workspace removed at the end of the test.
using Workspace = maskfill::test::TempWorkspace;

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

const char* kConfigModule =
    "import json\n\n"
    "def parse_config(path, *, strict=False):\n"
    "    \"\"\"Reads the settings file at path.\"\"\"\n"
    "    with open(path) as handle:\n"
    "        return json.load(handle)\n";

}  // namespace

TEST_CASE("tags queries find the definitions of every supported language") {
  CHECK(names_of("python", "class Config:\n    def load(self): pass\nLIMIT = 3\ndef main(): pass\n") ==
        std::vector<std::string>{"Config", "load", "LIMIT", "main"});
  CHECK(names_of("javascript", "function parse(a) {}\nclass Box { open() {} }\nconst limit = 3;\n") ==
        std::vector<std::string>{"parse", "Box", "open", "limit"});
  CHECK(names_of("typescript", "interface Shape { area(): number }\nexport function make(): Shape { return null!; }\ntype Id = string;\n") ==
        std::vector<std::string>{"Shape", "area", "make", "Id"});
  CHECK(names_of("go", "package p\nfunc Parse(s string) int { return 0 }\ntype Box struct{}\nfunc (b Box) Open() {}\n") ==
        std::vector<std::string>{"Parse", "Box", "Open"});
  CHECK(names_of("rust", "pub fn parse(s: &str) -> u32 { 0 }\nstruct Point { x: i32 }\ntrait Shape { fn area(&self) -> f64; }\n") ==
        std::vector<std::string>{"parse", "Point", "Shape", "area"});
  CHECK(names_of("java", "class Box { int size; Box() {} void open(int n) {} }\n") ==
        std::vector<std::string>{"Box", "size", "Box", "open"});
  CHECK(names_of("c", "#define MAX 3\nstruct point { int x; };\nint parse(const char *s);\nint parse(const char *s) { return 0; }\n") ==
        std::vector<std::string>{"MAX", "point", "parse", "parse"});
  CHECK(names_of("cpp", "class Parser { public: int parse(int n); };\nint Parser::parse(int n) { return n; }\nusing Id = int;\n") ==
        std::vector<std::string>{"Parser", "parse", "parse", "Id"});
  CHECK(names_of("tsx", "function App() { return <div/>; }\n") == std::vector<std::string>{"App"});
}

TEST_CASE("a definition's head is its first lines, dedented, within a byte limit") {
  std::string text = "class A:\n    def parse(self, path):\n        a = 1\n        b = 2\n        return a\n";
  SourceDocument doc(text, find_language_by_name("python"));
  std::vector<Definition> definitions = find_definitions(doc);
  REQUIRE(definitions.size() == 2);
  CHECK(definition_head(text, definitions[1], 2) == "def parse(self, path):\n    a = 1\n");
  CHECK(definition_head(text, definitions[1], 8, 30) == "def parse(self, path):\n");
  CHECK(identifiers_in("x = parse_config(path, 12, ab)") == std::vector<std::string_view>{"parse_config", "path"});
}

TEST_CASE(".gitignore rules: globs, folders only, anchoring, negation, nested files") {
  auto root = IgnoreRules::with(nullptr, "", "# comment\n*.log\nbuild/\n/dist\n!keep.log\ndocs/*.txt\n**/gen\n");
  CHECK(root->ignored("a/b/x.log", false));
  CHECK_FALSE(root->ignored("a/keep.log", false));
  CHECK(root->ignored("build", true));
  CHECK_FALSE(root->ignored("build", false));  // a file named build is not the folder
  CHECK(root->ignored("dist", true));
  CHECK_FALSE(root->ignored("src/dist", true));  // anchored to the root
  CHECK(root->ignored("docs/a.txt", false));
  CHECK_FALSE(root->ignored("docs/sub/a.txt", false));
  CHECK(root->ignored("x/y/gen", true));
  auto nested = IgnoreRules::with(root, "pkg", "local.py\n");
  CHECK(nested->ignored("pkg/local.py", false));
  CHECK(nested->ignored("pkg/sub/local.py", false));
  CHECK_FALSE(nested->ignored("other/local.py", false));
}

TEST_CASE("the workspace index finds definitions across files and follows saves and deletions") {
  Workspace ws;
  ws.write("app/config.py", kConfigModule);
  ws.write("app/main.py", "from app.config import parse_config\n");
  ws.write(".gitignore", "ignored/\n");
  ws.write("ignored/config.py", "def parse_config(): pass\n");
  ws.write(".venv/lib.py", "def parse_config(): pass\n");
  ws.write("notes.txt", "def parse_config(): pass\n");
  WorkspaceIndex index({ws.root});
  index.build();
  std::vector<IndexedDefinition> found = index.lookup("parse_config", 8);
  REQUIRE(found.size() == 1);
  CHECK(found[0].path == (ws.root / "app/config.py").string());
  CHECK(found[0].line == 2);
  CHECK(found[0].head.starts_with("def parse_config(path, *, strict=False):\n"));
  CHECK(index.stats().files == 2);

  ws.write("app/config.py", "def load_config(path):\n    pass\n");
  CHECK(index.update_file(ws.root / "app/config.py"));
  CHECK(index.lookup("parse_config", 8).empty());
  CHECK(index.lookup("load_config", 8).size() == 1);
  fs::remove(ws.root / "app/config.py");
  CHECK(index.update_file(ws.root / "app/config.py"));
  CHECK(index.lookup("load_config", 8).empty());
  CHECK_FALSE(index.update_file("/etc/passwd"));  // outside the workspace: never read
}

TEST_CASE("the workspace index survives hostile trees: symlink loops, unreadable, huge and binary files, the file cap") {
  Workspace ws;
  ws.write("a/ok.py", "def fine(): pass\n");
  fs::create_directory_symlink(ws.root / "a", ws.root / "a/loop");
  fs::create_symlink("/etc/hostname", ws.root / "outside.py");
  ws.write("locked.py", "def secret(): pass\n");
  fs::permissions(ws.root / "locked.py", fs::perms::none);
  ws.write("big.py", "def big(): pass\n" + std::string(2 << 20, '#'));
  ws.write("blob.py", std::string("def blob(): pass\n\0\0\0", 20));
  for (int i = 0; i < 30; ++i) ws.write("many/m" + std::to_string(100 + i) + ".py", "def f" + std::to_string(i) + "(): pass\n");
  IndexLimits limits;
  limits.max_files = 20;
  WorkspaceIndex index({ws.root}, limits);
  index.build();
  IndexStats stats = index.stats();
  CHECK(stats.ready);
  CHECK(index.lookup("fine", 8).size() == 1);  // once: the loop was not entered
  CHECK(index.lookup("big", 8).empty());
  CHECK(index.lookup("blob", 8).empty());
  if (geteuid() != 0) CHECK(index.lookup("secret", 8).empty());  // root reads anything
  CHECK(stats.files <= 20);
}

TEST_CASE("recent edits: a ring of edited ranges, refreshed in place while the user edits there") {
  RecentEdits edits(2, 1);
  edits.record("a.py", "l0\nl1\nl2\nl3\nl4\n", 2);
  edits.record("a.py", "l0\nl1\nL2\nl3\nl4\n", 3);  // inside the first range: refreshed
  std::vector<EditedRange> ranges = edits.snapshot();
  REQUIRE(ranges.size() == 1);
  CHECK(ranges[0].text == "l1\nL2\nl3\n");
  edits.record("b.py", "x\n", 0);
  edits.record("c.py", "y\n", 0);
  ranges = edits.snapshot();
  REQUIRE(ranges.size() == 2);
  CHECK(ranges[0].path == "b.py");
  CHECK(ranges[1].path == "c.py");
}

namespace {

struct ContextFixture {
  Workspace ws;
  std::shared_ptr<WorkspaceIndex> index;
  ContextInputs inputs;
  ContextFixture() {
    ws.write("app/config.py", kConfigModule);
    index = std::make_shared<WorkspaceIndex>(std::vector<fs::path>{ws.root});
    index->build();
    inputs.index = index;
    inputs.display_root = ws.root.string();
    inputs.path = (ws.root / "app/main.py").string();
  }
  PromptContext gather(const std::string& marked) {
    Marked at = take_cursor(marked);
    SourceDocument doc(at.text, find_language_by_name("python"));
    return gather_context(seedcoder_tokenizer(), inputs, doc, at.cursor, {0, at.text.size()});  // all visible
  }
};

bool has_source(const PromptContext& context, ContextSource source) {
  for (const ContextSnippet& snippet : context.snippets)
    if (snippet.source == source) return true;
  return false;
}

}  // namespace

TEST_CASE("context source: a definition from the workspace index for a name used at the cursor") {
  ContextFixture f;
  PromptContext context = f.gather("def main():\n    settings = parse_config(<|>\n");
  REQUIRE(context.snippets.size() == 1);
  CHECK(context.snippets[0].source == ContextSource::Definitions);
  CHECK(context.text.starts_with("# Path: app/config.py\ndef parse_config(path, *, strict=False):\n"));
  CHECK(context.ids == seedcoder_tokenizer().encode(context.text));
  // The name is nowhere near the cursor and not imported: nothing to look up.
  CHECK(f.gather("def main():\n    settings = <|>\n").snippets.empty());
  // Imported names count even far from the cursor.
  CHECK(has_source(f.gather("from app.config import parse_config\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\ndef main():\n    x = <|>\n"),
                   ContextSource::Definitions));
}

TEST_CASE("context source: the word being typed finds the definitions it starts, in the index and open documents") {
  ContextFixture f;
  // `parse_co|` is no name yet; the index's parse_config continues it.
  PromptContext context = f.gather("def main():\n    settings = parse_co<|>\n");
  REQUIRE(context.snippets.size() == 1);
  CHECK(context.text.starts_with("# Path: app/config.py\ndef parse_config(path, *, strict=False):\n"));
  // An open document's definition is found the same way (a notebook's other cell, an unsaved tab).
  f.inputs.index = nullptr;
  auto cell = std::make_shared<SourceDocument>("def normalise_scores(scores, *, floor=0.0):\n    return scores\n",
                                               find_language_by_name("python"));
  f.inputs.open_documents.push_back({"vscode-notebook-cell:/w/analysis.ipynb#W0", cell});
  context = f.gather("ranked = normalise_sc<|>");
  REQUIRE(context.snippets.size() == 1);
  CHECK(context.snippets[0].path == "vscode-notebook-cell:/w/analysis.ipynb#W0");
  CHECK(context.text.find("def normalise_scores(scores") != std::string::npos);
  // Two letters are too few to mean anything, and a word that continues nothing finds nothing.
  CHECK(f.gather("ranked = no<|>").snippets.empty());
  CHECK(f.gather("ranked = normalise_xyz<|>").snippets.empty());
}

TEST_CASE("identifier_before: the word that ends at a position, at least min_length bytes") {
  CHECK(identifier_before("x = parse_co", 12) == "parse_co");
  CHECK(identifier_before("x = parse_co(", 13).empty());
  CHECK(identifier_before("x = 2abc", 8) == "abc");
  CHECK(identifier_before("ab", 2).empty());
  CHECK(identifier_before("ab", 2, 2) == "ab");
  CHECK(identifier_before("abc", 99) == "abc");  // clamped to the text
}

TEST_CASE("the workspace index looks up a prefix in name order, longer names only") {
  Workspace ws;
  ws.write("a.py", "def parse_config(): pass\ndef parse_args(): pass\ndef parse(): pass\ndef other(): pass\n");
  WorkspaceIndex index({ws.root});
  index.build();
  std::vector<IndexedDefinition> found = index.lookup_prefix("parse", 8);
  REQUIRE(found.size() == 2);
  CHECK(found[0].head.starts_with("def parse_args"));
  CHECK(found[1].head.starts_with("def parse_config"));
  CHECK(index.lookup_prefix("parse", 1).size() == 1);
  CHECK(index.lookup_prefix("zzz", 8).empty());
}

TEST_CASE("context source: a definition in an open document wins over the index's copy on disk") {
  ContextFixture f;
  auto open = std::make_shared<SourceDocument>("def parse_config(text, unsaved=True):\n    pass\n", find_language_by_name("python"));
  f.inputs.open_documents.push_back({(f.ws.root / "app/config.py").string(), open});
  PromptContext context = f.gather("x = parse_config(<|>\n");
  REQUIRE(context.snippets.size() == 1);
  CHECK(context.text.find("unsaved=True") != std::string::npos);
}

TEST_CASE("context source: same-file definitions outside the window, never inside it") {
  ContextFixture f;
  f.inputs.index = nullptr;
  std::string far_away = "def helper(a, b):\n    return a + b\n" + std::string(200, '\n');
  Marked at = take_cursor(far_away + "def main():\n    helper(<|>\n");
  SourceDocument doc(at.text, find_language_by_name("python"));
  size_t window_begin = far_away.size();  // the window starts after the helper
  PromptContext context = gather_context(seedcoder_tokenizer(), f.inputs, doc, at.cursor, {window_begin, at.cursor});
  REQUIRE(context.snippets.size() == 1);
  CHECK(context.snippets[0].source == ContextSource::SameFile);
  CHECK(gather_context(seedcoder_tokenizer(), f.inputs, doc, at.cursor, {0, at.cursor}).snippets.empty());
}

TEST_CASE("context source: the most similar window of another open document of the same language") {
  ContextFixture f;
  f.inputs.index = nullptr;
  std::string similar = "def total(orders):\n    subtotal = sum(order.price * order.quantity for order in orders)\n"
                        "    return subtotal * tax_rate\n";
  f.inputs.open_documents.push_back({"/w/other.py", std::make_shared<SourceDocument>(similar, find_language_by_name("python"))});
  f.inputs.open_documents.push_back({"/w/other.go", std::make_shared<SourceDocument>(
      "package p\nfunc total(orders []Order) { subtotal := price * quantity }\n", find_language_by_name("go"))});
  PromptContext context = f.gather("def invoice(orders):\n    subtotal = sum(order.price * order.quantity for order in orders)\n<|>\n");
  REQUIRE(context.snippets.size() == 1);
  CHECK(context.snippets[0].source == ContextSource::OpenDocuments);
  CHECK(context.snippets[0].path == "/w/other.py");
}

TEST_CASE("context source: recent edits in other files, oldest first, not those inside the window") {
  ContextFixture f;
  f.inputs.index = nullptr;
  RecentEdits edits;
  edits.record("/w/a.py", "first_edit = 1\n", 0);
  edits.record(f.inputs.path, "x = 1\n", 0);  // the current file, inside the window
  edits.record("/w/b.py", "second_edit = 2\n", 0);
  f.inputs.recent_edits = edits.snapshot();
  PromptContext context = f.gather("x = 1<|>\n");
  REQUIRE(context.snippets.size() == 2);
  CHECK(context.snippets[0].path == "/w/a.py");
  CHECK(context.snippets[1].path == "/w/b.py");
}

TEST_CASE("the context stays within its token budget, and a zero budget or a switched-off source gives none") {
  ContextFixture f;
  f.inputs.settings.max_tokens = 8;
  CHECK(f.gather("x = parse_config(<|>\n").snippets.empty());
  f.inputs.settings.max_tokens = 1024;
  f.inputs.settings.definitions = false;
  CHECK(f.gather("x = parse_config(<|>\n").snippets.empty());
  f.inputs.settings.definitions = true;
  f.inputs.settings.max_tokens = 0;
  CHECK(f.gather("x = parse_config(<|>\n").snippets.empty());
  f.inputs.settings.max_tokens = 40;
  RecentEdits edits;
  for (int i = 0; i < 10; ++i) edits.record("/w/f" + std::to_string(i) + ".py", "value_" + std::to_string(i) + " = compute()\n", 0);
  f.inputs.recent_edits = edits.snapshot();
  PromptContext context = f.gather("x = parse_config(<|>\n");
  int tokens = 0;
  for (const ContextSnippet& snippet : context.snippets) tokens += snippet.tokens;
  CHECK(tokens <= 40);
  CHECK(int(context.ids.size()) == tokens);
}

TEST_CASE("a plan puts the context before <[fim-suffix]>, and without context the prompt is unchanged") {
  ContextFixture f;
  ModelConfig config;
  TokenizerConfig tokens;
  tokens.chat_template = seed_coder_chat_template();
  tokens.bos_token = "<[begin▁of▁sentence]>";
  tokens.eos_token = "<[end▁of▁sentence]>";
  ModelView model{seedcoder_tokenizer(), config, tokens};
  Marked at = take_cursor("def main():\n    settings = parse_config(<|>)\n");
  SourceDocument doc(at.text, find_language_by_name("python"));
  InfillSettings settings;
  Plan plain = plan_inline(model, doc, at.cursor, Trigger::Invoked, settings);
  Plan with = plan_inline(model, doc, at.cursor, Trigger::Invoked, settings, &f.inputs);
  REQUIRE(with.context.snippets.size() == 1);
  CHECK(plain.context.snippets.empty());
  std::vector<int32_t> expected = with.context.ids;
  expected.insert(expected.end(), plain.prompt.begin(), plain.prompt.end());
  CHECK(with.prompt == expected);
  CHECK(plain.prompt.front() == *seedcoder_tokenizer().token_to_id("<[fim-suffix]>"));
  CHECK(describe_plan(with, seedcoder_tokenizer()).find("context: definitions") != std::string::npos);
  Plan edit = plan_edit(model, doc, {at.cursor, at.cursor}, "rename it", settings, &f.inputs);
  CHECK(std::search(edit.prompt.begin(), edit.prompt.end(), with.context.ids.begin(), with.context.ids.end()) ==
        edit.prompt.begin());
}
