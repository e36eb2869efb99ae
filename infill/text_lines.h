// Small byte-offset helpers over lines of text, shared by the span, prompt and post-processing rules.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace maskfill {

size_t line_start(std::string_view text, size_t offset);  // offset of the first byte of offset's line
size_t line_end(std::string_view text, size_t offset);    // offset of the '\n' (or text end) ending it
std::string_view leading_whitespace(std::string_view line);
std::string_view trim(std::string_view text);
bool is_blank(std::string_view text);
// Lines without their '\n' (a trailing '\n' gives a final empty line).
std::vector<std::string_view> split_lines(std::string_view text);
std::string join_lines(const std::vector<std::string>& lines);
// The indentation every non-blank line of `code` starts with.
std::string common_indent(std::string_view code);
// Every non-blank line with `remove` taken off its start and `add` put before it.
std::string shift_lines(std::string_view code, std::string_view remove, std::string_view add);
// The identifier-like words of `text` in order (runs of letters, digits, `_` and `$`; a run that
// starts with a digit is a word too), by a plain scan: words in comments and strings count.
std::vector<std::string_view> words_in(std::string_view text);

}  // namespace maskfill
