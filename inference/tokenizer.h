// Byte-level BPE tokenizer read from a Hugging Face tokenizer.json; identical ids to HF
// `tokenizers` (parity-tested against @huggingface/tokenizers). No torch here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace maskfill {

class Tokenizer {
 public:
  // Throws std::runtime_error naming the problem (missing file, unsupported model type,
  // pre-tokenizer or normalizer, bad regex, broken merges).
  static Tokenizer from_file(const std::string& tokenizer_json_path);
  // `source` names the file in error messages.
  static Tokenizer from_json_text(const std::string& tokenizer_json_text,
                                  const std::string& source = "tokenizer.json");

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Added/special tokens are split out first, then the pre-tokenizer regex, then BPE merges.
  std::vector<int32_t> encode(std::string_view text) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::string id_to_token(int32_t id) const;  // empty for out-of-range ids
  bool is_special(int32_t id) const;          // added token with "special": true
  int32_t vocab_size() const;                 // highest id + 1 (vocab and added tokens)

  // The pre-tokenizer's pieces of `text` (after the regex split, before byte-level mapping);
  // used by the BPE trainer so training and encoding split text the same way.
  std::vector<std::string> pretokenize(std::string_view text) const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace maskfill
