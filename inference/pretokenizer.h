// The pre-tokenizer part of an HF tokenizer.json: Split(Regex|String) steps and a final
// ByteLevel step, with HF `tokenizers` (Rust, Oniguruma) semantics, using PCRE2.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_fields.h"

namespace maskfill {

// A PCRE2 pattern compiled from Oniguruma syntax (the escapes whose meaning differs are
// rewritten: \s \S \h \H \w). Thread-safe; matching uses JIT.
class OnigRegex {
 public:
  explicit OnigRegex(const std::string& oniguruma_pattern, bool literal = false);
  OnigRegex(OnigRegex&&) noexcept;
  ~OnigRegex();
  struct Segment {
    size_t begin, end;
    bool is_match;
  };
  // Matches and the gaps between them, covering `text` (Rust onig find_iter semantics: an empty
  // match right after the previous match is skipped). `text` must be valid UTF-8.
  std::vector<Segment> segments(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Rewrites the Oniguruma escapes whose PCRE2 meaning differs; exposed for tests.
std::string oniguruma_to_pcre2(const std::string& pattern);

class PreTokenizer {
 public:
  // Accepts null, ByteLevel, Split and a Sequence of Splits ending in ByteLevel; anything else
  // throws std::runtime_error naming it. `byte_level` reports whether ByteLevel was present.
  explicit PreTokenizer(const JsonField& config);
  PreTokenizer(PreTokenizer&&) noexcept;
  ~PreTokenizer();
  bool has_byte_level() const;

  // Appends the pieces of `text` (valid UTF-8) to `pieces`; pieces that are not views of `text`
  // (a prefix space was added) are kept alive in `storage`.
  void split(std::string_view text, std::vector<std::string_view>& pieces,
             std::deque<std::string>& storage) const;

 private:
  struct Step;
  std::vector<Step> steps_;
};

}  // namespace maskfill
