// Byte-level BPE tokenizer training with Seed-Coder's pre-tokenizer, written as Hugging Face
// tokenizer.json + tokenizer_config.json that load in maskfill::Tokenizer and HF `tokenizers`.
//
// Usage:
//   BpeTrainer trainer(BpeOptions{.vocab_size = 6144});
//   for_each_document(corpus_dir, Split::Train, [&](auto& d) { trainer.add_text(d.text); });
//   BpeModel model = trainer.train();
//   write_tokenizer_files(model, "models/maskfill-tiny");   // tokenizer.json, tokenizer_config.json
//
// Ids: 0..8 are the special tokens below (Seed-Coder's strings; ids 0, 1, 2, 5 match
// Stable-DiffCoder, the others are ours), 9..264 the 256 byte tokens in byte order, then one
// token per merge. Words are counted once (pre-tokenizer pieces), pair counts are updated
// incrementally and the best pair comes from a lazy max-heap, so ~20 MB trains in minutes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace maskfill::training {

// Seed-Coder's pre-tokenizer regex (tokenizer.json Split pattern, quoted by llama.cpp).
extern const char* const kSeedCoderPretokenizerRegex;

struct SpecialToken {
  int32_t id;
  const char* content;
};
// BOS 0, PAD 1, EOS 2, SEP 3, UNK 4, MASK 5, FIM suffix 6, FIM prefix 7, FIM middle 8.
extern const std::vector<SpecialToken> kSpecialTokens;
inline constexpr int32_t kBosId = 0, kPadId = 1, kEosId = 2, kSepId = 3, kUnkId = 4, kMaskId = 5,
                         kFimSuffixId = 6, kFimPrefixId = 7, kFimMiddleId = 8, kFirstByteId = 9;

// Seed-Coder-Instruct chat template with the two-newline default system prompt.
extern const char* const kSeedCoderChatTemplate;
extern const char* const kSeedCoderDefaultSystemPrompt;  // without the trailing "\n\n"

struct BpeOptions {
  int32_t vocab_size = 6144;  // including the 9 special and 256 byte tokens
  int64_t min_pair_count = 2;  // stop merging when the best pair is rarer than this
  int64_t max_input_bytes = 0; // stop accepting text after this many bytes (0 = no cap)
};

struct BpeModel {
  std::vector<std::string> vocab;                          // id -> token (byte-level alphabet)
  std::vector<std::pair<std::string, std::string>> merges; // in rank order
};

class BpeTrainer {
 public:
  explicit BpeTrainer(BpeOptions options);
  // Splits `text` with the pre-tokenizer and counts its pieces. Returns false once
  // max_input_bytes is reached (the text is then ignored).
  bool add_text(std::string_view text);
  // Runs the merges. The counted words are consumed.
  BpeModel train();
  int64_t bytes_seen() const { return bytes_seen_; }
  size_t distinct_words() const { return word_counts_.size(); }

 private:
  BpeOptions options_;
  std::unordered_map<std::string, int64_t> word_counts_;
  int64_t bytes_seen_ = 0;
};

// The pre-tokenizer's pieces, the same way maskfill::Tokenizer splits (it is what runs).
// `text` must be valid UTF-8 (BpeTrainer::add_text skips text that is not).
std::vector<std::string> pretokenize(std::string_view text);

// tokenizer.json text for a model (an empty model gives just specials and bytes).
std::string tokenizer_json(const BpeModel& model);
std::string tokenizer_config_json();
// Writes DIR/tokenizer.json and DIR/tokenizer_config.json (creates DIR).
void write_tokenizer_files(const BpeModel& model, const std::string& dir);

}  // namespace maskfill::training
