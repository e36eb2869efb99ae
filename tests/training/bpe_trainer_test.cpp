#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "inference/tokenizer.h"
#include "inference/chat_template.h"
#include "training/bpe_trainer.h"

using namespace maskfill::training;

namespace {

const char* const kSample = R"PY(
def mean(values):
    """Return the arithmetic mean of values."""
    total = 0
    for value in values:
        total += value
    return total / len(values)


def variance(values):
    m = mean(values)
    return sum((value - m) ** 2 for value in values) / len(values)


class Counter:
    def __init__(self):
        self.counts = {}

    def add(self, key):
        self.counts[key] = self.counts.get(key, 0) + 1
)PY";

maskfill::Tokenizer train_small(int vocab_size, BpeModel* model_out = nullptr) {
  BpeTrainer trainer(BpeOptions{vocab_size, 2, 0});
  for (int i = 0; i < 5; ++i) trainer.add_text(kSample);
  BpeModel model = trainer.train();
  if (model_out) *model_out = model;
  return maskfill::Tokenizer::from_json_text(tokenizer_json(model));
}

}  // namespace

TEST_CASE("the pre-tokenizer splits like Seed-Coder: digits one by one, words with their space") {
  auto pieces = pretokenize("x = 123  # it's\n\n    return y");
  std::vector<std::string> expected = {"x", " =", " ", "1", "2", "3", " ", " #", " it", "'s", "\n\n", "   ",
                                       " return", " y"};
  CHECK(pieces == expected);
}

TEST_CASE("BPE training reaches the vocabulary size and its tokenizer round-trips") {
  BpeModel model;
  maskfill::Tokenizer tok = train_small(360, &model);
  CHECK(model.vocab.size() == 360);
  CHECK(tok.vocab_size() == 360);
  CHECK(model.merges.size() >= 360 - 265);
  for (const auto& t : kSpecialTokens) {
    CHECK(tok.token_to_id(t.content) == t.id);
    CHECK(tok.is_special(t.id));
  }
  CHECK(tok.token_to_id("<[MASK_TOKEN]>") == 5);
  CHECK(tok.token_to_id("<[fim-middle]>") == 8);

  std::string text = kSample;
  auto ids = tok.encode(text);
  CHECK(ids.size() * 3 < text.size());  // merges learned from this very text compress it well
  CHECK(tok.decode(ids) == text);
  for (std::string unseen : {"naïve café — ∑ 42 \t\r\n", "日本語のテキスト", "x=1;y=2\n\n\n  z"}) {
    auto unseen_ids = tok.encode(unseen);
    CHECK(tok.decode(unseen_ids) == unseen);
  }
  auto with_special = tok.encode("<[fim-suffix]>\n    return m<[fim-prefix]>def f():<[fim-middle]>");
  CHECK(with_special.front() == kFimSuffixId);
  CHECK(std::count(with_special.begin(), with_special.end(), kFimPrefixId) == 1);
  CHECK(with_special.back() == kFimMiddleId);
}

TEST_CASE("training is deterministic and the most frequent pair merges first") {
  BpeModel a, b;
  train_small(300, &a);
  train_small(300, &b);
  CHECK(a.vocab == b.vocab);
  CHECK(a.merges == b.merges);
  // Four-space indentation is the most frequent byte pair of the sample.
  CHECK(a.merges.front() == std::make_pair(std::string("Ġ"), std::string("Ġ")));
}

TEST_CASE("the written tokenizer.json is HF-shaped and the config holds the Seed-Coder template") {
  auto j = nlohmann::json::parse(tokenizer_json(BpeModel{}));
  CHECK(j["model"]["type"] == "BPE");
  CHECK(j["model"]["byte_fallback"] == false);
  CHECK(j["model"]["ignore_merges"] == false);
  CHECK(j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] == kSeedCoderPretokenizerRegex);
  CHECK(j["pre_tokenizer"]["pretokenizers"][0]["behavior"] == "Isolated");
  CHECK(j["pre_tokenizer"]["pretokenizers"][1]["use_regex"] == false);
  CHECK(j["added_tokens"].size() == kSpecialTokens.size());
  CHECK(j["model"]["vocab"].size() == kSpecialTokens.size() + 256);

  auto config = nlohmann::json::parse(tokenizer_config_json());
  CHECK(config["add_bos_token"] == false);
  CHECK(config["mask_token"] == "<[MASK_TOKEN]>");
  maskfill::TokenizerConfig tc;
  tc.bos_token = config["bos_token"];
  tc.eos_token = config["eos_token"];
  tc.pad_token = config["pad_token"];
  tc.mask_token = config["mask_token"];
  tc.chat_template = config["chat_template"].get<std::string>();
  std::string rendered = maskfill::render_chat(tc, {{"user", "Rename x."}}, true);
  CHECK(rendered == std::string("<[begin▁of▁sentence]>system\n") + kSeedCoderDefaultSystemPrompt +
                        "\n\n<[end▁of▁sentence]><[begin▁of▁sentence]>user\nRename x.<[end▁of▁sentence]>"
                        "<[begin▁of▁sentence]>assistant\n");
}

TEST_CASE("a vocabulary smaller than specials plus bytes is refused") {
  CHECK_THROWS_AS(BpeTrainer(BpeOptions{100, 2, 0}), std::invalid_argument);
}
