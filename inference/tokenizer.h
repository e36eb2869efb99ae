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

  // What one encode() call did, for tests and benchmarks that check work stays bounded.
  struct EncodeWork {
    size_t bytes = 0;           // bytes of text tokenized
    size_t largest_bpe = 0;     // bytes of the largest piece one BPE run saw
    size_t pieces_cut = 0;      // pre-tokenizer pieces longer than kMaxBpeBytes, merged in parts
  };
  // BPE runs on at most this many bytes at once: a longer pre-tokenizer piece (a megabyte of
  // whitespace is one piece) is merged in parts of this size, so memory and time stay linear.
  // Ordinary text never has a piece this long, so its ids are HF's.
  static constexpr size_t kMaxBpeBytes = 2048;

  // Added/special tokens are split out first, then the pre-tokenizer regex, then BPE merges.
  std::vector<int32_t> encode(std::string_view text, EncodeWork* work = nullptr) const;

  // The most bytes one token stands for (vocab and added tokens). Every byte of a text becomes
  // part of some token, so a text longer than N * max_token_bytes() has more than N tokens,
  // unless it holds an added token with lstrip/rstrip (which takes any run of whitespace next to
  // it): the functions below check for those and then tokenize in full. 0 when no bound holds
  // at all (a byte missing from the vocab, with no unk, is dropped).
  size_t max_token_bytes() const;
  // encode(), or nullopt without tokenizing anything when `text` surely has more than
  // `max_tokens` tokens. Tokenizing work is bounded by max_tokens * max_token_bytes() bytes.
  std::optional<std::vector<int32_t>> encode_at_most(std::string_view text, size_t max_tokens,
                                                     EncodeWork* work = nullptr) const;
  // The part of `text` that can hold its last (first) `max_tokens` tokens: at most
  // max_tokens * max_token_bytes() bytes from its end (start), starting after (ending at) a
  // newline when the window holds one, so whole lines keep their ids. The whole text when no
  // bound holds for it.
  std::string_view tail_window(std::string_view text, size_t max_tokens) const;
  std::string_view head_window(std::string_view text, size_t max_tokens) const;
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
