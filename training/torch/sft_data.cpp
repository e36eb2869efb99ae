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


}  // namespace

TokenStream build_sft_stream(const std::string& corpus_dir, const Tokenizer& tokenizer,
                             const std::string& tokenizer_config_path, int64_t samples, uint64_t seed,
                             bool validation, int64_t max_sample_tokens) {
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
  TokenStream stream;
  int64_t edits = 0, fims = 0, too_long = 0;
  size_t e = 0, f = 0;
  while (edits + fims < samples && (e < synthesized.edits.size() || f < synthesized.fims.size())) {
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
  spdlog::info("sft {} stream: {} edit and {} FIM samples, {} tokens; {} samples longer than {} tokens left out",
               validation ? "validation" : "train", edits, fims, stream.ids.size(), too_long, max_sample_tokens);
  return stream;
}

}  // namespace maskfill::training
