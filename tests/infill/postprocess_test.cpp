// Golden post-processing tests (golden/postprocess.json) and the special-token cut.
#include <catch2/catch.hpp>

#include "infill/postprocess.h"
#include "test_support.h"

using namespace maskfill;
using namespace maskfill::test;

TEST_CASE("golden post-processing cases") {
  for (const auto& entry : read_golden("postprocess.json")) {
    INFO(entry["name"].get<std::string>());
    if (entry["rule"] == "detect") {
      IndentStyle style = detect_indent_style(entry["document"].get<std::string>());
      CHECK(style.tabs == entry["tabs"].get<bool>());
      if (!style.tabs) CHECK(style.width == entry["width"].get<int>());
      continue;
    }
    REQUIRE(entry["rule"] == "pipeline");
    std::string suffix = entry["suffix"];
    PostprocessContext context{suffix, entry["single_line"].get<bool>(),
                               IndentStyle{entry["tabs"].get<bool>(), entry["width"].get<int>()},
                               entry["min_indent"].get<std::string>()};
    std::optional<std::string> out = postprocess_candidate(entry["candidate"].get<std::string>(), context);
    if (entry["expected"].is_null()) {
      CHECK(!out);
    } else {
      REQUIRE(out);
      CHECK(*out == entry["expected"].get<std::string>());
    }
  }
}

TEST_CASE("the fill ends at the first special token") {
  const Tokenizer& tokenizer = seedcoder_tokenizer();
  std::vector<int32_t> tokens = tokenizer.encode("return a + b");
  std::vector<int32_t> with_eos = tokens;
  with_eos.push_back(*tokenizer.token_to_id("<[end▁of▁sentence]>"));
  std::vector<int32_t> more = tokenizer.encode("\nprint(1)");
  with_eos.insert(with_eos.end(), more.begin(), more.end());
  CHECK(text_before_special_tokens(tokenizer, with_eos) == "return a + b");
  std::vector<int32_t> with_fim = tokens;
  with_fim.push_back(*tokenizer.token_to_id("<[fim-suffix]>"));
  with_fim.insert(with_fim.end(), more.begin(), more.end());
  CHECK(text_before_special_tokens(tokenizer, with_fim) == "return a + b");
  CHECK(text_before_special_tokens(tokenizer, tokens) == "return a + b");
}

TEST_CASE("a completion after the line's indentation does not indent its first line twice") {
  PostprocessContext context;
  context.suffix = "\n    return counts\n";
  context.after_indentation = true;
  CHECK(postprocess_candidate("    counts[word] += 1", context) == std::optional<std::string>("counts[word] += 1"));
  context.after_indentation = false;
  CHECK(postprocess_candidate("    counts[word] += 1", context) == std::optional<std::string>("    counts[word] += 1"));
}
