// Cleaning a raw model fill before it is offered: cut at special tokens, keep one line for
// rest-of-line completions, drop text that repeats the suffix (duplicated lines, closing
// brackets the editor already inserted), match the document's indentation, and drop
// whitespace-only results. Each rule is a function of its own, golden-tested in
// tests/infill/golden/postprocess.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace maskfill {

class Tokenizer;

// Decodes `tokens` up to the first special token (EOS, FIM markers, PAD, ...).
std::string text_before_special_tokens(const Tokenizer& tokenizer, const std::vector<int32_t>& tokens);

std::string first_line_only(std::string_view candidate);

// Removes trailing candidate lines equal (ignoring surrounding whitespace) to the suffix's first
// non-blank lines, then trailing closers/terminators the suffix's current line already starts
// with when the candidate would otherwise over-close them.
std::string remove_suffix_overlap(std::string_view candidate, std::string_view suffix);

struct IndentStyle {
  bool tabs = false;
  int width = 4;  // spaces per level (for tabs: the width a tab stands for)
  bool operator==(const IndentStyle&) const = default;
};

// The document's indentation: tabs if most indented lines start with a tab, else the most common
// step between consecutive indentation levels.
IndentStyle detect_indent_style(std::string_view document);

// Converts the leading whitespace of the candidate's lines after the first (the first continues at
// the cursor) to the document's style, and shifts them right when the first indented line sits
// left of `min_indent` (the body level the completion belongs to).
std::string match_indentation(std::string_view candidate, const IndentStyle& style, std::string_view min_indent);

struct PostprocessContext {
  std::string_view suffix;  // document text after the span
  bool single_line = false;
  IndentStyle style;
  std::string min_indent;
  // The cursor sits after the line's indentation (nothing but whitespace before it on its
  // line): the first line's own leading whitespace would indent twice, so it is dropped.
  bool after_indentation = false;
};

// All rules in order; nullopt when nothing worth offering is left.
std::optional<std::string> postprocess_candidate(std::string_view raw, const PostprocessContext& context);

}  // namespace maskfill
