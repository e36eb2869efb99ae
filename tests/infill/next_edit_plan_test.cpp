// Next-edit plans (issue #24 step 3): plan_next_edit turns the newest edit of a document into one
// sequence per implied site, decoded as one batch; execute_plan keeps an answer only inside its
// site and only when the gate lets it through (confidence, no reversal, syntax, a real change).
#include <catch2/catch.hpp>

#include "inference/chat_template.h"
#include "infill/plan.h"
#include "test_support.h"
#include "seed_coder_fake.h"

using namespace maskfill;
using namespace maskfill::test;

namespace {

using FakeEngine = SeedCoderFakeEngine;

const CancelCheck kNever = [] { return false; };

// A document and its edit history, edited the way an editor reports keystrokes.
struct Editing {
  SourceDocument doc;
  EditHistory history;
  std::string path = "shapes.py";

  explicit Editing(const std::string& text, const std::string& language = "python")
      : doc(text, find_language_by_name(language)) {}
  // Replaces the first `old_text` after `from` by `new_text`, erasing then typing one key at a time.
  void retype(const std::string& old_text, const std::string& new_text, size_t from = 0) {
    size_t at = doc.text().find(old_text, from);
    REQUIRE(at != std::string::npos);
    for (size_t i = old_text.size(); i > 0; --i) change(at + i - 1, at + i, "");
    for (size_t i = 0; i < new_text.size(); ++i) change(at + i, at + i, new_text.substr(i, 1));
  }
  void change(size_t begin, size_t end, const std::string& text) {
    std::string before = doc.text();
    doc.replace(begin, end, text);
    history.record(path, before, doc, begin, end);
  }
  Plan plan(FakeEngine& engine, const InfillSettings& settings = {}) {
    return plan_next_edit(ModelView::of(engine), doc, path, history.snapshot(), settings);
  }
  Plan instruction_plan(FakeEngine& engine) {
    InfillSettings settings;
    settings.next_edit_form = NextEditForm::Instruction;
    return plan(engine, settings);
  }
};

const std::string kShapes =
    "def area(w, h):\n"
    "    return w * h\n"
    "\n"
    "print(area(2, 3))\n"
    "total = area(4, 5) + 1\n";

std::string applied(const SourceDocument& doc, const CompletionOutcome& outcome) {
  std::vector<ByteEdit> edits;
  for (const Candidate& candidate : outcome.candidates) edits.push_back(candidate.replacement);
  std::sort(edits.begin(), edits.end(), [](const ByteEdit& a, const ByteEdit& b) { return a.begin < b.begin; });
  return apply_edits(doc.text(), edits);
}

}  // namespace

TEST_CASE("the diff header names the file relative to the workspace folder", "[next_edit]") {
  FakeEngine engine;
  Editing editing(kShapes);
  editing.path = "/home/me/project/geometry/shapes.py";
  editing.retype("area", "surface");
  Plan plan = plan_next_edit(ModelView::of(engine), editing.doc, editing.path, editing.history.snapshot(), {},
                             "/home/me/project");
  REQUIRE(plan.declined_reason.empty());
  CHECK(plan.edit_header.starts_with("# Edited geometry/shapes.py:\n"));
  // Outside the folder, the path as it is.
  plan = plan_next_edit(ModelView::of(engine), editing.doc, editing.path, editing.history.snapshot(), {}, "/srv");
  CHECK(plan.edit_header.starts_with("# Edited /home/me/project/geometry/shapes.py:\n"));
}

TEST_CASE("a rename's other uses become masked sites after the edit's diff and definition, decoded as one batch", "[next_edit]") {
  FakeEngine engine;
  Editing editing(kShapes);
  editing.retype("area", "surface");
  Plan plan = editing.plan(engine);
  REQUIRE(plan.declined_reason.empty());
  CHECK(plan.mode == PlanMode::NextEdit);
  CHECK(plan.next_edit.kind == NextEditKind::Rename);
  REQUIRE(plan.sites.size() == 2);
  // Nearest the edit first; each site is exactly the old name.
  for (const PlanSite& site : plan.sites) CHECK(editing.doc.text().substr(site.span.begin, site.span.size()) == "area");
  CHECK(plan.sites[0].span.begin < plan.sites[1].span.begin);
  CHECK(plan.edit_header.find("-def area(w, h):\n+def surface(w, h):\n") != std::string::npos);
  CHECK(plan.edit_header.starts_with("# Edited shapes.py:\n"));
  // After the diffs, the changed definition as it reads now.
  CHECK(plan.edit_header.ends_with("\n# `surface` in shapes.py now reads:\ndef surface(w, h):\n    return w * h\n\n"));
  for (const PlanSite& site : plan.sites) {
    std::string prompt = seedcoder_tokenizer().decode(site.prompt, /*skip_special_tokens=*/false);
    // The diff history first (shared by every site, so the prompt cache keeps it), then SPM.
    size_t header = prompt.find("+def surface(w, h):");
    size_t suffix = prompt.find("<[fim-suffix]>");
    REQUIRE(header != std::string::npos);
    REQUIRE(suffix != std::string::npos);
    CHECK(header < suffix);
    CHECK(prompt.ends_with("<[fim-middle]>"));
    CHECK(site.options.gen_length % 4 == 0);
    // A use of the old name takes one name: its answer ends at the first character none holds.
    CHECK(site.options.stop.front() == "\n");
    for (const char* stop : {"(", ")", ",", ".", "=", "\"", "'"})
      CHECK(std::find(site.options.stop.begin(), site.options.stop.end(), stop) != site.options.stop.end());
  }
  engine.replies = {"surface", "surface"};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  CHECK(engine.calls == 2);
  CHECK(outcome.withheld.empty());
  REQUIRE(outcome.candidates.size() == 2);
  CHECK(outcome.candidates[0].site == 0);
  CHECK(applied(editing.doc, outcome) ==
        "def surface(w, h):\n    return w * h\n\nprint(surface(2, 3))\ntotal = surface(4, 5) + 1\n");
}

TEST_CASE("a rename's uses in another open document are sites of that document, after this one's", "[next_edit]") {
  FakeEngine engine;
  Editing editing(kShapes);
  editing.retype("area", "surface");
  const std::string other_text = "from shapes import area\n\nprint(area(1, 1))\n";
  auto other = std::make_shared<const SourceDocument>(other_text, find_language_by_name("python"));
  std::vector<OpenDocument> open = {{"report.py", other, nullptr}, {editing.path, nullptr, nullptr}};
  Plan plan = plan_next_edit(ModelView::of(engine), editing.doc, editing.path, editing.history.snapshot(), {}, "", open);
  REQUIRE(plan.sites.size() == 4);
  CHECK(plan.sites[1].path == "shapes.py");
  CHECK(plan.sites[1].doc == nullptr);
  for (size_t i : {2u, 3u}) {
    CHECK(plan.sites[i].path == "report.py");
    CHECK(plan.sites[i].doc == other);
    CHECK(other_text.substr(plan.sites[i].span.begin, plan.sites[i].span.size()) == "area");
    // The prompt is that document's text around the site, after the same diff header.
    std::string prompt = seedcoder_tokenizer().decode(plan.sites[i].prompt, /*skip_special_tokens=*/false);
    CHECK(prompt.find("+def surface(w, h):") < prompt.find("<[fim-suffix]>"));
    CHECK(prompt.find("from shapes import") != std::string::npos);
  }
  // `span` covers this document's sites only.
  CHECK(plan.span.end <= editing.doc.text().size());
  // Each answer is checked against its own document: a syntax breaker there is held back.
  engine.replies = {"surface", "surface", "surface", "lambda"};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.candidates.size() == 3);
  CHECK(outcome.candidates[2].site == 2);
  CHECK(outcome.candidates[2].replacement.begin == other_text.find("area"));
  REQUIRE(outcome.withheld.size() == 1);
  CHECK(outcome.withheld[0].withheld == "adds syntax errors");
  // A site whose document is not among the open ones is not planned.
  plan = plan_next_edit(ModelView::of(engine), editing.doc, editing.path, editing.history.snapshot(), {}, "",
                        {{"report.py", nullptr, nullptr}});
  CHECK(plan.sites.size() == 2);
}

TEST_CASE("the gate withholds reversals, unsure answers, syntax breakers and non-changes", "[next_edit]") {
  FakeEngine engine;
  Editing editing(kShapes + "del area\nx = [area]\n");
  editing.retype("area", "surface");
  Plan plan = editing.plan(engine);
  REQUIRE(plan.sites.size() == 4);
  engine.replies = {"area", "surface", "lambda", "surface"};
  engine.confidences = {1.0, 0.2, 1.0, 0.9};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.candidates.size() == 1);
  CHECK(outcome.candidates[0].site == 3);
  REQUIRE(outcome.withheld.size() == 3);
  CHECK(outcome.withheld[0].withheld == "writes back `area`, the name the user replaced");
  CHECK(outcome.withheld[1].withheld.starts_with("low confidence (0.2"));
  CHECK(outcome.withheld[2].withheld == "adds syntax errors");
  // A lower bound lets the unsure one through.
  InfillSettings settings;
  settings.next_edit_min_confidence = 0.1;
  engine.replies = {"surface", "surface", "surface", "area_2"};
  engine.confidences = {1.0, 0.2, 1.0, 1.0};
  outcome = execute_plan(engine, editing.doc, editing.plan(engine, settings), kNever);
  CHECK(outcome.candidates.size() == 4);
}

TEST_CASE("a rename's site takes one name: the answer ends where the name does, and a non-name is withheld",
          "[next_edit]") {
  FakeEngine engine;
  Editing editing(kShapes + "x = [area]\n");
  editing.retype("area", "surface");
  Plan plan = editing.plan(engine);
  REQUIRE(plan.sites.size() == 3);
  // The model ran on into the suffix's own `(`: the name before it is the answer. A blank inside
  // or an answer of punctuation alone is no name.
  engine.replies = {"surface(2", "sur face", "\"]"};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.candidates.size() == 1);
  CHECK(outcome.candidates[0].site == 0);
  CHECK(outcome.candidates[0].text == "surface");
  REQUIRE(outcome.withheld.size() == 2);
  CHECK(outcome.withheld[0].withheld == "not a name");
  CHECK(!outcome.withheld[1].withheld.empty());
}

TEST_CASE("a site stops decoding at its first token below the gate and is withheld as unsure", "[next_edit]") {
  Editing editing(kShapes);
  editing.retype("area", "surface");
  FakeEngine engine;
  Plan plan = editing.plan(engine);
  for (const PlanSite& site : plan.sites) CHECK(site.options.stop_below_confidence == 0.5);
  REQUIRE(plan.sites.size() == 2);
  // The unsure site had written the old name by the time it stopped: a partial answer, so the
  // reason is its confidence, not the reversal its text shows.
  engine.replies = {"area", "surface"};
  engine.confidences = {0.2, 0.9};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.withheld.size() == 1);
  CHECK(outcome.withheld[0].site == 0);
  CHECK(outcome.withheld[0].withheld.starts_with("low confidence (0.2"));
  REQUIRE(outcome.candidates.size() == 1);
  CHECK(outcome.candidates[0].site == 1);
  // Off, every site decodes to its end and the gate judges the whole answer.
  InfillSettings settings;
  settings.next_edit_stop_when_unsure = false;
  plan = editing.plan(engine, settings);
  for (const PlanSite& site : plan.sites) CHECK(site.options.stop_below_confidence == 0);
  engine.replies = {"area", "surface"};
  engine.confidences = {0.2, 0.9};
  outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.withheld.size() == 1);
  CHECK(outcome.withheld[0].withheld == "writes back `area`, the name the user replaced");
}

TEST_CASE("the gate withholds an answer that breaks the document even where the error lands past the site",
          "[next_edit]") {
  FakeEngine engine;
  Editing editing("function scale(x) {\n  return x * 2;\n}\nif (ok) {\n  scale(1);\n}\nscale(2);\n", "javascript");
  editing.path = "scale.js";
  size_t at = editing.doc.text().find("(x)") + 2;
  for (char c : std::string(", factor")) editing.change(at, at, std::string(1, c)), ++at;
  Plan plan = editing.plan(engine);
  REQUIRE(plan.sites.size() == 2);
  // Closes the `if` early: the stray brace is an error past the site.
  engine.replies = {"1, 2); }", "2, 3"};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.withheld.size() == 1);
  CHECK(outcome.withheld[0].site == 0);
  CHECK(outcome.withheld[0].withheld == "adds syntax errors");
  REQUIRE(outcome.candidates.size() == 1);
  CHECK(outcome.candidates[0].site == 1);
}

TEST_CASE("instruction sites rewrite whole lines but keep only answers that leave the rest alone", "[next_edit]") {
  FakeEngine engine;
  Editing editing(kShapes);
  editing.retype("area", "surface");
  Plan plan = editing.instruction_plan(engine);
  REQUIRE(plan.sites.size() == 2);
  CHECK(plan.rule == "instruction");
  std::string prompt = seedcoder_tokenizer().decode(plan.sites[0].prompt, false);
  CHECK(prompt.find("Rename `area` to `surface`") != std::string::npos);
  CHECK(prompt.find("print(area(2, 3))") != std::string::npos);
  CHECK(plan.sites[0].rewritten.size() == std::string("print(area(2, 3))\n").size());
  // The second answer also changes an argument: not the site's text, so not used.
  engine.replies = {"```python\nprint(surface(2, 3))\n```", "total = surface(4, 6) + 1\n"};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.candidates.size() == 1);
  CHECK(outcome.candidates[0].text == "surface");
  CHECK(outcome.candidates[0].replacement.begin == editing.doc.text().find("area(2"));
  REQUIRE(outcome.withheld.size() == 1);
  CHECK(outcome.withheld[0].withheld == "changes text outside the site");
}

TEST_CASE("instruction sites that share a line are one site, and blanks ending a line are kept", "[next_edit]") {
  FakeEngine engine;
  Editing editing("def area(w, h):\n    return w * h\n\nboth = area(2, 3) + area(4, 5)\t\nlast = area(1, 1)  \n");
  editing.retype("area", "surface");
  Plan plan = editing.instruction_plan(engine);
  REQUIRE(plan.sites.size() == 2);
  std::string_view text = editing.doc.text();
  CHECK(text.substr(plan.sites[0].span.begin, plan.sites[0].span.size()) == "area(2, 3) + area");
  CHECK(text.substr(plan.sites[1].span.begin, plan.sites[1].span.size()) == "area");
  // The chat template trims the prompt, so the model answers without the blanks that end a line.
  engine.replies = {"both = surface(2, 3) + surface(4, 5)", "last = surface(1, 1)\n"};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.candidates.size() == 2);
  CHECK(outcome.candidates[0].text == "surface(2, 3) + surface");
  CHECK(applied(editing.doc, outcome) ==
        "def surface(w, h):\n    return w * h\n\nboth = surface(2, 3) + surface(4, 5)\t\nlast = surface(1, 1)  \n");
  // The masked form keeps one site per use.
  CHECK(editing.plan(engine).sites.size() == 3);
}

TEST_CASE("a masked site keeps the tabs its own lines are indented with, in a file indented with spaces",
          "[next_edit]") {
  FakeEngine engine;
  Editing editing("function run(a, b) {\n    if (a) {\n        log(a,\n\t\tb);\n    }\n    log(b,\n\t\ta);\n}\n",
                  "javascript");
  editing.path = "run.js";
  editing.retype("log(a", "trace(a");
  Plan plan = editing.plan(engine);
  REQUIRE(plan.sites.size() == 1);
  engine.replies = {"trace(b,\n\t\ta)"};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.candidates.size() == 1);
  CHECK(outcome.candidates[0].text == "trace(b,\n\t\ta)");
}

// The SPM part of a masked site's prompt (after the shared header): its window's text.
std::string site_window(const PlanSite& site) {
  std::string prompt = seedcoder_tokenizer().decode(site.prompt, /*skip_special_tokens=*/false);
  size_t suffix = prompt.find("<[fim-suffix]>");
  REQUIRE(suffix != std::string::npos);
  return prompt.substr(suffix);
}

TEST_CASE("an appended parameter makes the calls' argument lists the sites, and the model writes only their end",
          "[next_edit]") {
  FakeEngine engine;
  Editing editing("function scale(x) {\n  return x * 2;\n}\nconst a = scale(1);\nconst b = scale(a);\n",
                  "javascript");
  editing.path = "scale.js";
  size_t at = editing.doc.text().find("(x)") + 2;
  for (char c : std::string(", factor")) editing.change(at, at, std::string(1, c)), ++at;
  Plan plan = editing.plan(engine);
  REQUIRE(plan.declined_reason.empty());
  CHECK(plan.next_edit.kind == NextEditKind::ParameterCount);
  CHECK(plan.next_edit.part == SitePart::AppendedArguments);
  REQUIRE(plan.sites.size() == 2);
  std::string_view text = editing.doc.text();
  for (const PlanSite& site : plan.sites) {
    // The masked part is the end of the list, before its `)`: the arguments passed stay as they are.
    CHECK(text.substr(site.span.begin, 1) == "(");
    CHECK(site.rewritten.size() == 0);
    CHECK(site.rewritten.end + 1 == site.span.end);
    CHECK(site.options.gen_length >= 6);
    CHECK(site.options.stop == std::vector<std::string>{"\n"});
  }
  // The answer is spliced between the kept bytes: the edit covers the whole list.
  engine.replies = {", 2", ", 3\nconst c = 1;"};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.candidates.size() == 2);
  CHECK(outcome.candidates[0].text == "(1, 2)");
  CHECK(outcome.candidates[1].text == "(a, 3)");
  CHECK(applied(editing.doc, outcome).find("scale(1, 2);\nconst b = scale(a, 3);\n") != std::string::npos);
}

TEST_CASE("a call whose twin changed its callee rewrites only the callee's changed words", "[next_edit]") {
  FakeEngine engine;
  Editing editing("def run(a, b):\n    log.info(a)\n    log.info(b, 2)\n    log.info(a + b)\n");
  editing.retype("log.info(a)", "logger.info(a)");
  Plan plan = editing.plan(engine);
  REQUIRE(plan.next_edit.kind == NextEditKind::CallPattern);
  REQUIRE(plan.sites.size() == 1);
  const PlanSite& site = plan.sites[0];
  std::string_view text = editing.doc.text();
  CHECK(text.substr(site.span.begin, site.span.size()) == "log.info(a + b)");
  CHECK(text.substr(site.rewritten.begin, site.rewritten.size()) == "log");
  // The narrow window: the answer is in the header, the rest of the callee after the mask.
  CHECK(site_window(site).starts_with("<[fim-suffix]>.info"));
  CHECK(site_window(site).find("def run") == std::string::npos);
  // The new words are known to the token: one block, no slack.
  CHECK(site.options.gen_length == 4);
  CHECK(site.options.extend_max == 0);
  // The model's answer ends where the name does, and the kept bytes go around it.
  engine.replies = {"logger.info(a"};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.candidates.size() == 1);
  CHECK(outcome.candidates[0].text == "logger.info(a + b)");
  // An answer that is no name is held back.
  engine.replies = {"log ger"};
  outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.withheld.size() == 1);
  CHECK(outcome.withheld[0].withheld == "not a name");
}

TEST_CASE("a method's appended parameter is passed after the arguments of calls that pass the old ones",
          "[next_edit]") {
  FakeEngine engine;
  Editing editing(
      "class Box:\n    def grow(self, by):\n        return by\n\n"
      "b = Box()\nb.grow(1)\nBox.grow(b, 2)\nb.grow()\n");
  size_t at = editing.doc.text().find("by)") + 2;
  for (char c : std::string(", times")) editing.change(at, at, std::string(1, c)), ++at;
  Plan plan = editing.plan(engine);
  REQUIRE(plan.sites.size() == 3);
  std::string_view text = editing.doc.text();
  int at_end = 0, whole = 0;
  for (const PlanSite& site : plan.sites) {
    std::string_view args = text.substr(site.span.begin, site.span.size());
    if (args == "()") {  // passes fewer than the old parameters: where the new one goes is unknown
      CHECK(site.rewritten.begin == site.span.begin);
      CHECK(site.rewritten.end == site.span.end);
      ++whole;
    } else {
      CHECK(site.rewritten.size() == 0);
      CHECK(site.rewritten.end + 1 == site.span.end);
      ++at_end;
    }
  }
  CHECK(at_end == 2);
  CHECK(whole == 1);
}

TEST_CASE("a rename's site gets the narrow window, a call's whole argument list the wide one", "[next_edit]") {
  FakeEngine engine;
  std::string body;
  for (int i = 0; i < 12; ++i) body += "    step_" + std::to_string(i) + " = value_" + std::to_string(i) + " * 2\n";
  const std::string text = "def scale(x):\n" + body + "    return x\n\nresult = scale(10)\nprint(result)\n";
  InfillSettings settings;
  // A rename: the answer is in the header, the window is the rest of the site's line.
  Editing renamed(text);
  renamed.retype("result", "outcome");
  Plan rename_plan = renamed.plan(engine, settings);
  REQUIRE(rename_plan.sites.size() == 1);
  std::string narrow = site_window(rename_plan.sites[0]);
  CHECK(narrow.find("print(") != std::string::npos);
  CHECK(narrow.find("step_11") == std::string::npos);  // lines away: out of 16 tokens
  // A removed parameter: the call's whole argument list is rewritten, worked out from the lines
  // around the call.
  Editing removed(text);
  removed.retype("scale(x)", "scale()");
  Plan parameter_plan = removed.plan(engine, settings);
  REQUIRE(parameter_plan.sites.size() == 1);
  CHECK(parameter_plan.next_edit.kind == NextEditKind::ParameterCount);
  CHECK(parameter_plan.next_edit.part == SitePart::Whole);
  CHECK(site_window(parameter_plan.sites[0]).find("step_11") != std::string::npos);
  // An appended parameter: the call's arguments stay in view, and the window is the narrow one.
  Editing added(text);
  size_t at = added.doc.text().find("(x)") + 2;
  for (char c : std::string(", factor")) added.change(at, at, std::string(1, c)), ++at;
  Plan appended_plan = added.plan(engine, settings);
  REQUIRE(appended_plan.sites.size() == 1);
  CHECK(site_window(appended_plan.sites[0]).find("step_11") == std::string::npos);
  CHECK(site_window(appended_plan.sites[0]).find("scale(10") != std::string::npos);
  // The narrow window is a setting: as wide as the other, the rename site sees those lines too.
  settings.next_edit_exact_prefix_tokens = settings.next_edit_prefix_tokens;
  settings.next_edit_exact_suffix_tokens = settings.next_edit_suffix_tokens;
  CHECK(site_window(renamed.plan(engine, settings).sites[0]).find("step_11") != std::string::npos);
}

TEST_CASE("a call spanning many lines gets room for its whole argument list, past an inline completion's cap",
          "[next_edit]") {
  FakeEngine engine;
  std::string table;
  for (int i = 0; i < 30; ++i) table += "  'word" + std::to_string(i) + "',\n";
  Editing editing("def words(items, sep):\n    return items\n\nx = words([\n" + table + "], ' ')\n");
  editing.retype(", sep", "");  // a parameter removed: the calls' whole argument lists are rewritten
  Plan plan = editing.plan(engine);
  REQUIRE(plan.sites.size() == 1);
  std::string_view old_args = std::string_view(editing.doc.text()).substr(plan.sites[0].span.begin, plan.sites[0].span.size());
  const int old_tokens = int(seedcoder_tokenizer().encode(old_args).size());
  REQUIRE(old_tokens > InfillSettings{}.max_new_tokens);
  CHECK(plan.sites[0].options.gen_length + plan.sites[0].options.extend_max >= old_tokens + 4);
}

TEST_CASE("a changed return type makes the calling lines the sites, each asked to use the new type",
          "[next_edit]") {
  FakeEngine engine;
  Editing editing("def load(path) -> str:\n    return open(path).read()\n\ntext = load('a.txt')\nn = len(load('b'))\n");
  editing.retype("str", "bytes");
  Plan plan = editing.instruction_plan(engine);
  REQUIRE(plan.declined_reason.empty());
  CHECK(plan.next_edit.kind == NextEditKind::ReturnType);
  REQUIRE(plan.sites.size() == 2);
  std::string prompt = seedcoder_tokenizer().decode(plan.sites[0].prompt, false);
  CHECK(prompt.find("now returns `bytes` instead of `str`") != std::string::npos);
  CHECK(prompt.find("text = load('a.txt')") != std::string::npos);
  // A rewrite of the line is kept (it is the site); the masked form masks the same line.
  engine.replies = {"```python\ntext = load('a.txt').decode()\n```", "n = len(load('b'))\n"};
  CompletionOutcome outcome = execute_plan(engine, editing.doc, plan, kNever);
  REQUIRE(outcome.candidates.size() == 1);
  CHECK(outcome.candidates[0].text == "text = load('a.txt').decode()");
  REQUIRE(outcome.withheld.size() == 1);
  CHECK(outcome.withheld[0].withheld == "no change");
  Plan masked = editing.plan(engine);
  REQUIRE(masked.sites.size() == 2);
  CHECK(std::string_view(editing.doc.text()).substr(masked.sites[0].span.begin, masked.sites[0].span.size()) ==
        "text = load('a.txt')");
}

TEST_CASE("no recent edit, or an edit that implies nothing, declines", "[next_edit]") {
  FakeEngine engine;
  Editing untouched(kShapes);
  CHECK(untouched.plan(engine).declined_reason == "no recent edit of this document to follow");
  Editing comment(kShapes + "# a note\n");
  comment.retype("note", "remark");
  CHECK(comment.plan(engine).declined_reason == "the last edit implies no other change");
  // Another file's edit is not this document's.
  Editing other(kShapes);
  other.retype("area", "surface");
  other.path = "other.py";
  CHECK(other.plan(engine).declined_reason == "no recent edit of this document to follow");
  CHECK(engine.calls == 0);
}

TEST_CASE("the header shows the function that holds the edit, not a local's own line, and only its head", "[next_edit]") {
  FakeEngine engine;
  std::string body;
  for (int i = 0; i < 40; ++i) body += "    step" + std::to_string(i) + "(total)\n";
  Editing editing("def accumulate(xs):\n    total = 0\n" + body + "    return total\n\nprint(accumulate([1]))\n");
  editing.retype("total = 0", "subtotal = 0");
  Plan plan = editing.plan(engine);
  REQUIRE(plan.next_edit.kind == NextEditKind::Rename);
  size_t definition = plan.edit_header.find("# `accumulate` in shapes.py now reads:\ndef accumulate(xs):\n    subtotal = 0\n");
  REQUIRE(definition != std::string::npos);
  // A long function: its first lines (at most 24), within the definition's token budget.
  CHECK(plan.edit_header.find("    step0(total)\n") != std::string::npos);
  CHECK(plan.edit_header.find("step22(total)") == std::string::npos);
  CHECK(seedcoder_tokenizer().encode(plan.edit_header.substr(definition)).size() <= 256);
}

TEST_CASE("a site too long to rewrite is left out, in both forms, and a plan of only such sites declines", "[next_edit]") {
  FakeEngine engine;
  std::string table = "area(";
  for (int i = 0; i < 400; ++i) table += std::to_string(i) + ", ";
  table += "0)";
  for (NextEditForm form : {NextEditForm::MaskedSpans, NextEditForm::Instruction}) {
    InfillSettings settings;
    settings.next_edit_form = form;
    Editing editing("def area(w, h):\n    return w * h\n\nsmall = area(2, 3)\nhuge = " + table + "\n");
    editing.retype("area(w, h):", "area(w, h, d):");
    Plan plan = editing.plan(engine, settings);
    REQUIRE(plan.next_edit.sites.size() == 2);
    REQUIRE(plan.sites.size() == 1);
    CHECK(editing.doc.text().substr(plan.sites[0].span.begin, plan.sites[0].span.size()) == "(2, 3)");
    Editing only_huge("def area(w, h):\n    return w * h\n\nhuge = " + table + "\n");
    only_huge.retype("area(w, h):", "area(w, h, d):");
    Plan declined = only_huge.plan(engine, settings);
    CHECK(declined.sites.empty());
    CHECK(declined.declined_reason == "every site the edit implies is too long to rewrite");
  }
}

TEST_CASE("an edit on a line too long for the header is shown as what it replaced by what", "[next_edit]") {
  FakeEngine engine;
  std::string table = "cats = [";
  for (int i = 0; i < 1000; ++i) table += std::to_string(i * 7919 % 10007) + ", ";
  Editing editing(table + "0]\nprint(cats)\n");
  editing.retype("cats", "kinds");
  Plan plan = editing.plan(engine);
  REQUIRE(plan.declined_reason.empty());
  CHECK(plan.edit_header.starts_with("# Edited shapes.py line 1:\n-cats\n+kinds\n\n"));
  REQUIRE(plan.sites.size() == 1);
  CHECK(plan.sites[0].prompt.size() < 1024);
}
