#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "common/read_file.h"
#include "inference/chat_template.h"

using namespace maskfill;

namespace {

const std::string kSystem =
    "You are an AI programming assistant, utilizing the Seed-Coder model, developed by ByteDance Seed, and you only "
    "answer questions related to computer science. For politically sensitive questions, security and privacy issues, "
    "and other non-computer science questions, you will refuse to answer.";

TokenizerConfig fixture_config() {
  return parse_tokenizer_config(
      read_file(std::string(MASKFILL_SOURCE_DIR) + "/tests/fixtures/tokenizers/seedcoder-style/tokenizer_config.json"));
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

TEST_CASE("renders the Seed-Coder Instruct prompt exactly") {
  TokenizerConfig config = fixture_config();
  std::string bos = "<[begin▁of▁sentence]>", eos = "<[end▁of▁sentence]>";
  CHECK(render_chat(config, {{"user", "  Write hello world.\n"}}, true) ==
        bos + "system\n" + kSystem + "\n\n" + eos + bos + "user\nWrite hello world." + eos + bos + "assistant\n");
  CHECK(render_chat(config, {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}}, false) ==
        bos + "system\nBe brief." + eos + bos + "user\nHi" + eos + bos + "assistant\nHello" + eos);
}

TEST_CASE("the one-newline variant and reformatted copies are recognized") {
  TokenizerConfig config = fixture_config();
  config.chat_template = replace_all(*config.chat_template, "answer.\\n\\n'", "answer.\\n'");
  CHECK(render_chat(config, {{"user", "x"}}, false).find(kSystem + "\n<[end") != std::string::npos);
  // Whitespace outside literals, whitespace control and a real newline in a literal do not matter.
  std::string reformatted = replace_all(seed_coder_chat_template(), "{% endfor %}", "{%- endfor -%}\n\n  ");
  reformatted = replace_all(reformatted, "'assistant\\n'", "\"assistant\n\"");
  CHECK(is_seed_coder_chat_template(reformatted));
  CHECK(is_seed_coder_chat_template(seed_coder_chat_template()));
}

TEST_CASE("unknown templates and missing pieces are clear errors") {
  TokenizerConfig config = fixture_config();
  TokenizerConfig other = config;
  other.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
  CHECK_THROWS_WITH(render_chat(other, {{"user", "x"}}, true), Catch::Contains("unrecognized chat_template"));
  other.chat_template = replace_all(*config.chat_template, "refuse to answer", "refuse to reply");
  CHECK_THROWS_WITH(render_chat(other, {{"user", "x"}}, true), Catch::Contains("unrecognized chat_template"));
  other.chat_template.reset();
  CHECK_THROWS_WITH(render_chat(other, {{"user", "x"}}, true), Catch::Contains("no chat_template"));
  CHECK_THROWS_WITH(render_chat(config, {}, true), Catch::Contains("at least one message"));
  other = config;
  other.bos_token.clear();
  CHECK_THROWS_WITH(render_chat(other, {{"user", "x"}}, true), Catch::Contains("bos_token"));
}
