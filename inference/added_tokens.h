// HF added tokens (special or not) and the splitter that cuts them out of text before
// pre-tokenization, with the Rust `tokenizers` AddedVocabulary rules: leftmost-longest match,
// lstrip/rstrip eat neighbouring whitespace, single_word needs non-word characters around.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace maskfill {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

struct TextSection {
  std::string_view text;
  int32_t added_token_id = -1;  // -1: ordinary text to pre-tokenize
};

class AddedTokenSplitter {
 public:
  explicit AddedTokenSplitter(std::vector<AddedToken> tokens);
  bool empty() const { return tokens_.empty(); }
  // Appends the sections of `text` (valid UTF-8) to `out`.
  void split(std::string_view text, std::vector<TextSection>& out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;
    int32_t token = -1;  // index into tokens_ when a token ends here
  };
  // Longest token starting at text[at]: token index and length, or -1.
  std::pair<int32_t, size_t> longest_at(std::string_view text, size_t at) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> trie_;
  std::array<bool, 256> can_start_{};
};

}  // namespace maskfill
