// The request pipeline (plan_* then execute_plan) with a fake Engine that returns canned fills: spans, prompts, decode options,
// post-processing, ranking, cancellation and the edits that come back.
#include <catch2/catch.hpp>

#include <deque>

#include "inference/chat_template.h"
#include "inference/model_files.h"
#include "infill/plan.h"
#include "test_support.h"
#include "seed_coder_fake.h"

using namespace maskfill;
using namespace maskfill::test;

namespace {

using FakeEngine = SeedCoderFakeEngine;

const CancelCheck kNever = [] { return false; };

SourceDocument python(const std::string& text) { return SourceDocument(text, find_language_by_name("python")); }

// The pipeline as the server runs it: plan, then execute.
struct Pipeline {
  FakeEngine& engine;
  InfillSettings settings{};
  CompletionOutcome complete(const SourceDocument& doc, size_t cursor, Trigger trigger, const CancelCheck& cancel) {
    return execute_plan(engine, doc, plan_inline(ModelView::of(engine), doc, cursor, trigger, settings), cancel);
  }
  CompletionOutcome fill(const SourceDocument& doc, size_t begin, size_t end, const CancelCheck& cancel) {
    return execute_plan(engine, doc, plan_fill(ModelView::of(engine), doc, {begin, end}, settings), cancel);
  }
  CompletionOutcome edit(const SourceDocument& doc, size_t begin, size_t end, const std::string& instruction,
                         const CancelCheck& cancel) {
    return execute_plan(engine, doc, plan_edit(ModelView::of(engine), doc, {begin, end}, instruction, settings), cancel);
  }
};

}  // namespace

TEST_CASE("automatic completion: one candidate, rest of line, SPM prompt, block-sized mask") {
  FakeEngine engine;
  engine.replies = {"a + b\nprint(a)"};
  Pipeline completer{engine};
  Marked at = take_cursor("def add(a, b):\n    return <|>\n");
  CompletionOutcome outcome = completer.complete(python(at.text), at.cursor, Trigger::Automatic, kNever);
  REQUIRE(outcome.candidates.size() == 1);
  const Candidate& candidate = outcome.candidates[0];
  CHECK(candidate.text == "a + b");
  CHECK(candidate.syntax_ok);
  CHECK(candidate.replacement == ByteEdit{at.cursor, at.cursor, "a + b"});
  CHECK(candidate.edits == std::vector<ByteEdit>{{at.cursor, at.cursor, "a + b"}});
  REQUIRE(engine.prompts.size() == 1);
  CHECK(engine.prompts[0].front() == *seedcoder_tokenizer().token_to_id("<[fim-suffix]>"));
  CHECK(engine.prompts[0].back() == *seedcoder_tokenizer().token_to_id("<[fim-middle]>"));
  const DecodeOptions& options = engine.options_seen[0];
  CHECK(options.gen_length % 4 == 0);
  CHECK(options.gen_length + options.extend_max <= 64);
  CHECK(options.extend_max > 0);
  CHECK(options.temperature == 0.0);
  // Only the first line is kept, so decoding stops at the first line break.
  CHECK(options.stop == std::vector<std::string>{"\n"});
}

TEST_CASE("invoked completion: several candidates, duplicates merged, syntax breakers last") {
  FakeEngine engine;
  engine.replies = {"(a +", "a + b", "(a +"};
  Pipeline completer{engine};
  Marked at = take_cursor("def add(a, b):\n    return <|>\n");
  CompletionOutcome outcome = completer.complete(python(at.text), at.cursor, Trigger::Invoked, kNever);
  REQUIRE(engine.options_seen.size() == 3);
  CHECK(engine.options_seen[0].seed != engine.options_seen[1].seed);
  CHECK(engine.options_seen[1].temperature > 0.0);
  CHECK(engine.options_seen[1].sampled_confidence);
  REQUIRE(outcome.candidates.size() == 2);
  CHECK(outcome.candidates[0].text == "a + b");
  CHECK(outcome.candidates[0].syntax_ok);
  CHECK(outcome.candidates[1].text == "(a +");
  CHECK_FALSE(outcome.candidates[1].syntax_ok);
}

TEST_CASE("completion declines in comments without running the model, unless invoked") {
  FakeEngine engine;
  Pipeline completer{engine};
  Marked at = take_cursor("x = 1  # explain<|>\n");
  CompletionOutcome outcome = completer.complete(python(at.text), at.cursor, Trigger::Automatic, kNever);
  CHECK(outcome.declined_reason == "inside a comment");
  CHECK(engine.prompts.empty());
  engine.replies = {" more", " more", " more"};
  CHECK(completer.complete(python(at.text), at.cursor, Trigger::Invoked, kNever).candidates.size() == 1);
}

TEST_CASE("multi-line body completions keep the body's indentation and drop the repeated suffix") {
  FakeEngine engine;
  engine.replies = {"\ntotal = a + b\nreturn total\n\nprint(add(1, 2))"};
  Pipeline completer{engine};
  Marked at = take_cursor("def add(a, b):<|>\n\nprint(add(1, 2))\n");
  CompletionOutcome outcome = completer.complete(python(at.text), at.cursor, Trigger::Automatic, kNever);
  REQUIRE(outcome.candidates.size() == 1);
  CHECK(outcome.candidates[0].text == "\n    total = a + b\n    return total");
  CHECK(outcome.candidates[0].syntax_ok);
  CHECK(engine.options_seen[0].stop.empty());  // several lines are wanted
}

TEST_CASE("cancellation before or during decoding") {
  FakeEngine engine;
  Pipeline completer{engine};
  Marked at = take_cursor("x = <|>\n");
  CompletionOutcome before = completer.complete(python(at.text), at.cursor, Trigger::Automatic, [] { return true; });
  CHECK(before.cancelled);
  CHECK(engine.prompts.empty());
  engine.replies = {"<cancelled>"};
  CompletionOutcome during = completer.complete(python(at.text), at.cursor, Trigger::Automatic, kNever);
  CHECK(during.cancelled);
  CHECK(during.candidates.empty());
}

TEST_CASE("fill replaces a snapped selection and sizes the mask from it") {
  FakeEngine engine;
  engine.replies = {" total_sum", " total_sum", " other"};
  Pipeline completer{engine};
  std::string text = "result = compute(values)\nprint(result)\n";
  size_t begin = text.find("ompute");
  CompletionOutcome outcome = completer.fill(python(text), begin, begin + 3, kNever);
  REQUIRE(outcome.candidates.size() == 2);
  const Candidate& best = outcome.candidates[0];
  CHECK(best.replacement.begin == text.find(" compute"));
  CHECK(best.replacement.end == text.find("(values"));
  CHECK(best.text == " total_sum");
  CHECK(engine.options_seen[0].gen_length == 4);
}

TEST_CASE("instruction edit rewrites the enclosing function with minimal edits") {
  FakeEngine engine;
  engine.replies = {"Here it is:\n```python\ndef double(x):\n    return x * 2\n```\n"};
  Pipeline completer{engine};
  std::string text = "import os\n\nclass K:\n    def double(x):\n        return x + x\n";
  size_t cursor = text.find("def double");
  CompletionOutcome outcome = completer.edit(python(text), cursor, cursor, "Use multiplication.", kNever);
  REQUIRE(outcome.candidates.size() == 1);
  const Candidate& candidate = outcome.candidates[0];
  CHECK(candidate.text == "    def double(x):\n        return x * 2");  // the node ends before the final newline
  CHECK(candidate.replacement.begin == text.find("    def double"));
  CHECK(candidate.replacement.end == text.size() - 1);
  REQUIRE(candidate.edits.size() == 1);
  CHECK(candidate.edits[0] == ByteEdit{text.find("x + x") + 2, text.find("x + x") + 5, "* 2"});
  CHECK(candidate.syntax_ok);
  std::string prompt = seedcoder_tokenizer().decode(engine.prompts[0], false);
  CHECK(prompt.find("user\nUse multiplication.\n\ndef double(x):\n    return x + x<[end") != std::string::npos);
  CHECK_THROWS_AS(completer.edit(python(text), cursor, cursor, "  ", kNever), std::invalid_argument);
}

TEST_CASE("an answer's cap is what the prompt leaves of a small model's context, in whole blocks") {
  ModelConfig config;
  config.block_size = 4;
  InfillSettings settings;
  settings.max_new_tokens = 4096;
  settings.max_edit_tokens = 4096;
  Marked at = take_cursor("def add(a, b):\n    return <|>\n");
  SourceDocument doc = python(at.text);
  TokenizerConfig tokens = seed_coder_tokens();
  for (int64_t context : {int64_t(0), int64_t(64), int64_t(203)}) {
    config.max_position_embeddings = context;
    ModelView model{seedcoder_tokenizer(), config, tokens};
    for (const Plan& plan : {plan_inline(model, doc, at.cursor, Trigger::Invoked, settings),
                             plan_edit(model, doc, {0, at.text.size()}, "Rename add to plus.", settings)}) {
      INFO("context " << context << ", prompt " << plan.prompt.size());
      REQUIRE(!plan.candidates.empty());
      for (const DecodeOptions& options : plan.candidates) {
        const int64_t answer = options.gen_length + options.extend_max;
        const int64_t room = (context - int64_t(plan.prompt.size())) / 4 * 4;
        CHECK(answer % 4 == 0);
        // No context to cap against, or a prompt too long for any answer (decoding says so).
        if (context == 0 || room < 4) CHECK(answer == 4096);
        else CHECK(answer == room);
      }
    }
  }
}
