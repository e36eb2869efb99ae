// Next-edit SFT samples (training/next_edit_synth.h): prompts are the planner's own, the answer is
// the new name, and the new name is only to be read in the diff header.
#include <catch2/catch.hpp>

#include <cctype>
#include <random>

#include "inference/model_files.h"
#include "inference/tokenizer.h"
#include "training/next_edit_synth.h"

using namespace maskfill;
using namespace maskfill::training;

namespace {

bool is_identifier(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

bool ends_with(const std::string& text, std::string_view tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

struct Bundled {
  ModelFiles files = locate_model_files(std::string(MASKFILL_SOURCE_DIR) + "/models/maskfill-tiny");
  Tokenizer tokenizer = Tokenizer::from_file(files.tokenizer_json_path);
  ModelView view() const { return {tokenizer, files.config, files.tokenizer_config}; }
};

constexpr const char* kPython = R"(import os


def scaled_total(values, factor):
    total = 0
    for value in values:
        total += value * factor
    return total


def report(paths):
    sizes = [os.path.getsize(path) for path in paths]
    result = scaled_total(sizes, 2)
    print(result)
    return scaled_total(sizes, 1) + result
)";

}  // namespace

TEST_CASE("synthetic new names are identifiers, new, and never the benchmark's suffix") {
  std::mt19937_64 rng(7);
  for (const std::string name : {"count", "getUserName", "MAX_SIZE", "_private_value", "__dunder__", "Parser", "x1",
                                 "read_next", "nextItem"}) {
    for (int i = 0; i < 200; ++i) {
      const std::string renamed = synthetic_new_name(name, rng);
      CHECK(renamed != name);
      CHECK(is_identifier(renamed));
      CHECK(!ends_with(renamed, "_next"));
      CHECK(!ends_with(renamed, "Next"));
      if (name.rfind("__", 0) == 0) CHECK(renamed.rfind("__", 0) == 0);  // underscores kept
    }
  }
  std::mt19937_64 a(3), b(3);
  CHECK(synthetic_new_name("getUserName", a) == synthetic_new_name("getUserName", b));
}

TEST_CASE("next-edit samples are the planner's site prompts with the new name as the answer") {
  Bundled model;
  std::mt19937_64 rng(11);
  NextEditSynthOptions options;
  options.renames_per_file = 4;
  options.sites_per_rename = 8;
  std::vector<NextEditSample> samples = next_edit_samples("pkg/src/stats.py", kPython, "python", model.view(), options, rng);
  REQUIRE(!samples.empty());
  const int32_t fim_middle = model.tokenizer.token_to_id("<[fim-middle]>").value();
  for (const NextEditSample& sample : samples) {
    CAPTURE(sample.old_name, sample.new_name);
    CHECK(sample.old_name != sample.new_name);
    CHECK(model.tokenizer.decode(sample.response) == sample.new_name);
    REQUIRE(!sample.prompt.empty());
    CHECK(sample.prompt.back() == fim_middle);
    // The new name is written where the user renamed the definition, which the diff header
    // shows; the site itself is masked, so the prompt holds the new name through the header.
    const std::string prompt = model.tokenizer.decode(sample.prompt);
    CHECK(prompt.find("+") != std::string::npos);
    CHECK(prompt.find(sample.new_name) != std::string::npos);
  }
  // Deterministic: the same seed gives the same samples.
  std::mt19937_64 again(11);
  std::vector<NextEditSample> repeated = next_edit_samples("pkg/src/stats.py", kPython, "python", model.view(), options, again);
  REQUIRE(repeated.size() == samples.size());
  for (size_t i = 0; i < samples.size(); ++i) CHECK(repeated[i].prompt == samples[i].prompt);
}

TEST_CASE("next-edit samples: a file that does not parse or an unknown language gives none") {
  Bundled model;
  std::mt19937_64 rng(1);
  CHECK(next_edit_samples("a.py", "def broken(:\n  return (\n", "python", model.view(), {}, rng).empty());
  CHECK(next_edit_samples("a.xyz", kPython, "no-such-language", model.view(), {}, rng).empty());
}
