// SPM FIM prompts within budgets, edit prompts (chat rendering itself is tested with
// inference/chat_template), and code-block extraction.
#include <catch2/catch.hpp>

#include "inference/chat_template.h"
#include "infill/prompt_builder.h"
#include "test_support.h"

using namespace maskfill;
using namespace maskfill::test;

namespace {

TokenizerConfig seed_coder_config() {
  TokenizerConfig config;
  config.bos_token = "<[begin▁of▁sentence]>";
  config.eos_token = "<[end▁of▁sentence]>";
  config.chat_template = seed_coder_chat_template();
  return config;
}

}  // namespace

TEST_CASE("the SPM prompt puts the suffix first") {
  const Tokenizer& tokenizer = seedcoder_tokenizer();
  FimPrompt prompt = build_fim_prompt(tokenizer, "def add(a, b):\n    ", "\n    return result", {}, std::nullopt);
  std::vector<int32_t> expected{*tokenizer.token_to_id("<[fim-suffix]>")};
  for (int32_t id : tokenizer.encode("\n    return result")) expected.push_back(id);
  expected.push_back(*tokenizer.token_to_id("<[fim-prefix]>"));
  for (int32_t id : tokenizer.encode("def add(a, b):\n    ")) expected.push_back(id);
  expected.push_back(*tokenizer.token_to_id("<[fim-middle]>"));
  CHECK(prompt.ids == expected);
  FimPrompt with_bos = build_fim_prompt(tokenizer, "a", "b", {}, 0);
  CHECK(with_bos.ids.front() == 0);
}

TEST_CASE("while the user types, the prompt's beginning stays put (prompt cache hits)") {
  const Tokenizer& tokenizer = seedcoder_tokenizer();
  std::string prefix;
  for (int i = 0; i < 300; ++i) prefix += "value_" + std::to_string(i) + " = compute(" + std::to_string(i) + ")\n";
  const std::string suffix = "\nprint(total)\n";
  std::vector<int32_t> previous;
  int keystrokes = 0, prompt_start_changed = 0;
  for (int line = 0; line < 6; ++line) {
    for (char c : std::string("result_value = compute(total)\n")) {
      prefix += c;
      FimPrompt prompt = build_fim_prompt(tokenizer, prefix, suffix, {384, 128}, std::nullopt);
      // Everything but the prompt's last 16 tokens (the cursor's line and the FIM marker).
      if (!previous.empty()) {
        size_t keep = std::min(previous.size(), prompt.ids.size()) - 16;
        ++keystrokes;
        if (!std::equal(previous.begin(), previous.begin() + keep, prompt.ids.begin())) ++prompt_start_changed;
      }
      previous = prompt.ids;
    }
  }
  INFO(prompt_start_changed << " of " << keystrokes << " keystrokes moved the prompt's start");
  CHECK(prompt_start_changed * 10 <= keystrokes);  // without the grid: nearly every new line's keystrokes
}

TEST_CASE("prefix and suffix windows respect their token budgets, keeping whole lines") {
  const Tokenizer& tokenizer = seedcoder_tokenizer();
  std::string prefix, suffix;
  for (int i = 0; i < 200; ++i) prefix += "value_" + std::to_string(i) + " = compute(" + std::to_string(i) + ")\n";
  prefix += "total = ";
  for (int i = 0; i < 200; ++i) suffix += "print(value_" + std::to_string(i) + ")\n";
  FimPrompt prompt = build_fim_prompt(tokenizer, prefix, suffix, {64, 32}, std::nullopt);
  CHECK(tokenizer.encode(prompt.prefix_window).size() <= 64);
  CHECK(tokenizer.encode(prompt.suffix_window).size() <= 32);
  CHECK(tokenizer.encode(prompt.prefix_window).size() > 20);  // uses the budget, less the grid's lines
  CHECK(prompt.prefix_window.ends_with("total = "));
  CHECK(prompt.prefix_window.starts_with("value_"));
  CHECK(prompt.suffix_window.starts_with("print(value_0)\n"));
  CHECK(prompt.suffix_window.ends_with("\n"));
  // A single line longer than the budget is cut inside, from the far side.
  std::string long_line(600, 'x');
  const std::string text = "a\n" + long_line + " = y";  // the view below points into it
  std::string_view tail = tail_within_tokens(tokenizer, text, 8);
  CHECK(!tail.empty());
  CHECK(tokenizer.encode(tail).size() <= 8);
}

TEST_CASE("a tokenizer without FIM tokens is a clear error") {
  const char* json = R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"}, "added_tokens": []})";
  Tokenizer tokenizer = Tokenizer::from_json_text(json);
  CHECK_THROWS_WITH(build_fim_prompt(tokenizer, "a", "a", {}, std::nullopt), Catch::Contains("fill-in-the-middle"));
}

TEST_CASE("edit prompts carry the code and instruction, replies yield their code block") {
  EditPrompt prompt = build_edit_prompt(seedcoder_tokenizer(), seed_coder_config(), "x = 1", "Use y.");
  CHECK(prompt.text.find("user\nUse y.\n\nx = 1<[end") != std::string::npos);
  CHECK(prompt.ids == seedcoder_tokenizer().encode(prompt.text));
  CHECK(extract_code_block("Sure:\n```python\ny = 1\n```\nDone") == "y = 1");
  CHECK(extract_code_block("```\na\nb") == "a\nb");
  CHECK(extract_code_block("z = 2") == "z = 2");
  // Backticks inside a line are code, not a fence.
  CHECK(extract_code_block("s = r'(```)' + x\n") == "s = r'(```)' + x\n");
  CHECK(extract_code_block("```julia\ns = r'(```)'\n```\n") == "s = r'(```)'");
}

namespace {

// tail_within_tokens as it was before windows: whole lines from the end of the whole text.
size_t reference_tail_begin(const Tokenizer& tokenizer, std::string_view text, int budget) {
  size_t begin = text.size();
  int used = 0;
  while (begin > 0) {
    size_t newline = begin >= 2 ? text.rfind('\n', begin - 2) : std::string_view::npos;
    size_t line_begin = newline == std::string_view::npos ? 0 : newline + 1;
    int cost = int(tokenizer.encode(text.substr(line_begin, begin - line_begin)).size());
    if (used + cost > budget) break;
    used += cost;
    begin = line_begin;
  }
  return begin;
}

size_t reference_head_end(const Tokenizer& tokenizer, std::string_view text, int budget) {
  size_t end = 0;
  int used = 0;
  while (end < text.size()) {
    size_t newline = text.find('\n', end);
    size_t line_end = newline == std::string_view::npos ? text.size() : newline + 1;
    int cost = int(tokenizer.encode(text.substr(end, line_end - end)).size());
    if (used + cost > budget) break;
    used += cost;
    end = line_end;
  }
  return end;
}

}  // namespace

TEST_CASE("windows of a long text look at a bounded part of it and keep the lines whole-text windows keep") {
  const Tokenizer& tokenizer = seedcoder_tokenizer();
  std::string text;
  for (int i = 0; i < 4000; ++i)
    text += std::string(i % 7 * 2, ' ') + "value_" + std::to_string(i) + " = compute(" + std::to_string(i * 31) + ", \"x\")\n";
  for (int budget : {40, 384, 1500}) {  // each at least one line (the cut inside a line is tested above)
    INFO(budget);
    std::string_view tail = tail_within_tokens(tokenizer, text, budget);
    std::string_view head = head_within_tokens(tokenizer, text, budget);
    CHECK(text.size() - tail.size() == reference_tail_begin(tokenizer, text, budget));
    CHECK(head.size() == reference_head_end(tokenizer, text, budget));
    if (budget < 1000) CHECK(tokenizer.tail_window(text, size_t(budget)).size() < text.size());  // the window did cut
  }
  // A FIM prompt over a 4 MB whitespace prefix and suffix: the windows come from
  // budget * max_token_bytes() bytes at each end.
  std::string spaces(4 << 20, ' ');
  FimPrompt prompt = build_fim_prompt(tokenizer, spaces, spaces, {384, 128}, std::nullopt);
  CHECK(prompt.prefix_window.size() <= 384 * tokenizer.max_token_bytes());
  CHECK(prompt.suffix_window.size() <= 128 * tokenizer.max_token_bytes());
  CHECK(tokenizer.encode(prompt.prefix_window).size() <= 384);
  CHECK(tokenizer.encode(prompt.suffix_window).size() <= 128);
}
