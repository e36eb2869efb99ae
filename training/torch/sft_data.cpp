#include "training/torch/sft_data.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <random>
#include <sstream>

#include "common/edit_prompt.h"
#include "common/read_file.h"
#include "inference/chat_template.h"
#include "inference/model_files.h"
#include "training/next_edit_synth.h"
#include "training/sft_synth.h"
#include "training/corpus.h"

namespace maskfill::training {
namespace {

// False (nothing appended) when the sample does not fit `max_tokens`.
bool append_sample(TokenStream& stream, const std::vector<int32_t>& prompt, const std::vector<int32_t>& response,
                   int32_t eos, int eos_count, int64_t max_tokens) {
  if (int64_t(prompt.size() + response.size()) + eos_count > max_tokens) return false;
  stream.starts.push_back(stream.ids.size());
  stream.ids.insert(stream.ids.end(), prompt.begin(), prompt.end());
  stream.trainable.insert(stream.trainable.end(), prompt.size(), 0);
  stream.ids.insert(stream.ids.end(), response.begin(), response.end());
  stream.trainable.insert(stream.trainable.end(), response.size(), 1);
  stream.ids.insert(stream.ids.end(), eos_count, eos);
  stream.trainable.insert(stream.trainable.end(), eos_count, 1);
  return true;
}


// Next-edit samples of the training-split documents in order, until `wanted` (the planner costs
// more than reading a file: a large corpus is not planned through for samples that go unused).
// Made once per corpus and seed.
const std::vector<NextEditSample>& next_edit_corpus(const std::string& corpus_dir, const ModelView& model,
                                                    uint64_t seed, int64_t wanted) {
  static std::map<std::pair<std::string, uint64_t>, std::vector<NextEditSample>> cache;
  auto key = std::make_pair(corpus_dir, seed);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  std::vector<NextEditSample> all;
  std::mt19937_64 rng(seed);
  for_each_document(corpus_dir, Split::Train, [&](const CorpusDocument& d) {
    if (int64_t(all.size()) >= wanted) return;
    auto samples = next_edit_samples(d.path, d.text, d.language, model, NextEditSynthOptions{}, rng);
    std::move(samples.begin(), samples.end(), std::back_inserter(all));
  });
  return cache[key] = std::move(all);
}

}  // namespace

TokenStream build_sft_stream(const std::string& corpus_dir, const Tokenizer& tokenizer,
                             const std::string& tokenizer_config_path, const SftMix& mix, int64_t samples,
                             uint64_t seed, bool validation, int64_t max_sample_tokens) {
  TokenizerConfig chat = parse_tokenizer_config(maskfill::read_file(tokenizer_config_path));
  SpecialIds special = SpecialIds::from(tokenizer);
  SftOptions options;
  options.seed = seed;
  // The train and validation streams come from one synthesis (split by position below).
  static std::map<std::pair<std::string, uint64_t>, SftSamples> cache;
  auto key = std::make_pair(corpus_dir, seed);
  if (!cache.count(key)) cache[key] = synthesize_corpus(corpus_dir, options);
  const SftSamples& synthesized = cache[key];
  std::mt19937_64 rng(seed + (validation ? 1 : 0));
  std::uniform_int_distribution<int> eos_count(1, 4);
  // Every 20th sample (by position) is held out for validation.
  auto held_out = [](size_t index) { return index % 20 == 19; };
  const std::vector<NextEditSample> no_next_edits;
  const std::vector<NextEditSample>& next_edits =
      mix.next_edit_share > 0
          ? next_edit_corpus(corpus_dir, {tokenizer, mix.config, chat}, seed, mix.max_next_edit_samples)
          : no_next_edits;
  TokenStream stream;
  int64_t edits = 0, fims = 0, next_edit_count = 0, too_long = 0;
  size_t e = 0, f = 0, n = 0;
  // Next-edit samples keep their share of the stream while they last.
  auto next_edit_due = [&] {
    const int64_t taken = edits + fims + next_edit_count;
    return n < next_edits.size() && double(next_edit_count) < mix.next_edit_share * double(taken + 1);
  };
  while (edits + fims + next_edit_count < samples &&
         (e < synthesized.edits.size() || f < synthesized.fims.size() || n < next_edits.size())) {
    if (next_edit_due() || (e >= synthesized.edits.size() && f >= synthesized.fims.size())) {
      const NextEditSample& s = next_edits[n];
      if (held_out(n++) != validation) continue;
      if (append_sample(stream, s.prompt, s.response, special.eos, eos_count(rng), max_sample_tokens))
        ++next_edit_count;
      else
        ++too_long;
      continue;
    }
    bool take_edit = e < synthesized.edits.size() && (f >= synthesized.fims.size() || (e + f) % 2 == 0);
    if (take_edit) {
      const EditSample& s = synthesized.edits[e];
      if (held_out(e++) != validation) continue;
      std::string prompt = render_chat(chat, {{"user", edit_user_message(s.instruction, s.input)}}, true);
      if (append_sample(stream, tokenizer.encode(prompt), tokenizer.encode(s.output), special.eos, eos_count(rng),
                        max_sample_tokens))
        ++edits;
      else
        ++too_long;
    } else {
      const FimSample& s = synthesized.fims[f];
      if (held_out(f++) != validation) continue;
      std::vector<int32_t> prompt{special.fim_suffix};
      auto add = [&](const std::string& text) {
        auto ids = tokenizer.encode(text);
        prompt.insert(prompt.end(), ids.begin(), ids.end());
      };
      add(s.suffix);
      prompt.push_back(special.fim_prefix);
      add(s.prefix);
      prompt.push_back(special.fim_middle);
      if (append_sample(stream, prompt, tokenizer.encode(s.middle), special.eos, eos_count(rng), max_sample_tokens))
        ++fims;
      else
        ++too_long;
    }
  }
  spdlog::info("sft {} stream: {} edit, {} FIM and {} next-edit samples, {} tokens; {} samples longer than {} tokens left out",
               validation ? "validation" : "train", edits, fims, next_edit_count, stream.ids.size(), too_long,
               max_sample_tokens);
  return stream;
}

}  // namespace maskfill::training
