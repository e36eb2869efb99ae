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

TEST_CASE("edit prompts carry the code and instruction; replies yield their code block") {
  EditPrompt prompt = build_edit_prompt(seedcoder_tokenizer(), seed_coder_config(), "x = 1", "Use y.");
  CHECK(prompt.text.find("user\nUse y.\n\nx = 1<[end") != std::string::npos);
  CHECK(prompt.ids == seedcoder_tokenizer().encode(prompt.text));
  CHECK(extract_code_block("Sure:\n```python\ny = 1\n```\nDone") == "y = 1");
  CHECK(extract_code_block("```\na\nb") == "a\nb");
  CHECK(extract_code_block("z = 2") == "z = 2");
}
