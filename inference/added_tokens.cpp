#include "inference/added_tokens.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "common/utf8.h"
#include "inference/byte_level.h"

namespace maskfill {
namespace {

// Rust char::is_alphanumeric() || '_' (Alphabetic or Numeric), for single_word tokens.
bool is_word_char(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  static pcre2_code* word = [] {
    int error;
    PCRE2_SIZE offset;
    const char* pattern = R"(^[\p{Alphabetic}\p{N}])";
    return pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                         &error, &offset, nullptr);
  }();
  std::string encoded = utf8::encode(c);
  pcre2_match_data* match = pcre2_match_data_create(1, nullptr);
  int rc = pcre2_match(word, reinterpret_cast<PCRE2_SPTR>(encoded.data()), encoded.size(), 0, 0, match, nullptr);
  pcre2_match_data_free(match);
  return rc >= 0;
}

// Start of the whitespace run that ends `s`.
size_t whitespace_run_start(std::string_view s) {
  size_t i = s.size();
  while (i > 0) {
    size_t lead = utf8::char_start(s, i - 1);
    size_t length;
    if (!byte_level::is_unicode_whitespace(utf8::decode(s, lead, length))) break;
    i = lead;
  }
  return i;
}

// Length of the whitespace run that starts `s`.
size_t whitespace_run_length(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t length;
    if (!byte_level::is_unicode_whitespace(utf8::decode(s, i, length))) break;
    i += length;
  }
  return i;
}

}  // namespace

AddedTokenSplitter::AddedTokenSplitter(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  trie_.emplace_back();
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& content = tokens_[t].content;
    if (content.empty()) continue;
    can_start_[static_cast<uint8_t>(content[0])] = true;
    int32_t node = 0;
    for (char c : content) {
      uint8_t byte = static_cast<uint8_t>(c);
      auto& children = trie_[node].children;
      auto it = std::find_if(children.begin(), children.end(), [&](const auto& child) { return child.first == byte; });
      if (it != children.end()) {
        node = it->second;
      } else {
        int32_t child = static_cast<int32_t>(trie_.size());
        trie_[node].children.emplace_back(byte, child);
        trie_.emplace_back();
        node = child;
      }
    }
    trie_[node].token = static_cast<int32_t>(t);
  }
}

std::pair<int32_t, size_t> AddedTokenSplitter::longest_at(std::string_view text, size_t at) const {
  int32_t node = 0, best = -1;
  size_t best_length = 0;
  for (size_t i = at; i < text.size(); ++i) {
    uint8_t byte = static_cast<uint8_t>(text[i]);
    const auto& children = trie_[node].children;
    auto it = std::find_if(children.begin(), children.end(), [&](const auto& child) { return child.first == byte; });
    if (it == children.end()) break;
    node = it->second;
    if (trie_[node].token >= 0) best = trie_[node].token, best_length = i + 1 - at;
  }
  return {best, best_length};
}

void AddedTokenSplitter::split(std::string_view text, std::vector<TextSection>& out) const {
  if (tokens_.empty()) {
    if (!text.empty()) out.push_back({text, -1});
    return;
  }
  size_t section_start = 0;  // end of the previous token (HF: start_offset)
  size_t at = 0;
  while (at < text.size()) {
    if (!can_start_[static_cast<uint8_t>(text[at])]) {
      ++at;
      continue;
    }
    auto [index, length] = longest_at(text, at);
    if (index < 0) {
      ++at;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t start = at, stop = at + length;
    if (token.single_word) {
      bool space_before = start == 0 || !is_word_char(utf8::decode_last(text.substr(0, start)));
      size_t after_length;
      bool space_after =
          stop == text.size() || !is_word_char(utf8::decode(text, stop, after_length));
      if (!space_before || !space_after) {
        at = stop;  // the match is dropped; scanning resumes after it, like aho-corasick's iterator
        continue;
      }
    }
    if (token.lstrip) start = std::max(whitespace_run_start(text.substr(0, start)), section_start);
    if (token.rstrip) stop += whitespace_run_length(text.substr(stop));
    if (start > section_start) out.push_back({text.substr(section_start, start - section_start), -1});
    out.push_back({text.substr(start, stop - start), token.id});
    section_start = at = stop;
  }
  if (section_start < text.size()) out.push_back({text.substr(section_start), -1});
}

}  // namespace maskfill
