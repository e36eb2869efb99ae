#include "infill/text_lines.h"

#include <cctype>
#include <optional>

namespace maskfill {

size_t line_start(std::string_view text, size_t offset) {
  size_t newline = text.substr(0, offset).rfind('\n');
  return newline == std::string_view::npos ? 0 : newline + 1;
}

size_t line_end(std::string_view text, size_t offset) {
  size_t newline = text.find('\n', offset);
  return newline == std::string_view::npos ? text.size() : newline;
}

std::string_view leading_whitespace(std::string_view line) {
  size_t n = line.find_first_not_of(" \t");
  return line.substr(0, n == std::string_view::npos ? line.size() : n);
}

std::string_view trim(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool is_blank(std::string_view text) { return trim(text).empty(); }

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (true) {
    size_t newline = text.find('\n', start);
    if (newline == std::string_view::npos) {
      lines.push_back(text.substr(start));
      return lines;
    }
    lines.push_back(text.substr(start, newline - start));
    start = newline + 1;
  }
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    out += lines[i];
  }
  return out;
}

std::string common_indent(std::string_view code) {
  std::optional<std::string_view> common;
  for (std::string_view line : split_lines(code)) {
    if (is_blank(line)) continue;
    std::string_view indent = leading_whitespace(line);
    if (!common) {
      common = indent;
      continue;
    }
    size_t n = 0;
    while (n < common->size() && n < indent.size() && (*common)[n] == indent[n]) ++n;
    common = common->substr(0, n);
  }
  return std::string(common.value_or(""));
}

std::string shift_lines(std::string_view code, std::string_view remove, std::string_view add) {
  std::vector<std::string> out;
  for (std::string_view line : split_lines(code)) {
    if (is_blank(line)) {
      out.emplace_back();
      continue;
    }
    if (line.starts_with(remove)) line.remove_prefix(remove.size());
    out.push_back(std::string(add) + std::string(line));
  }
  return join_lines(out);
}

std::vector<std::string_view> words_in(std::string_view text) {
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  std::vector<std::string_view> words;
  for (size_t i = 0; i < text.size();) {
    if (!word_char(text[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && word_char(text[end])) ++end;
    words.push_back(text.substr(i, end - i));
    i = end;
  }
  return words;
}

}  // namespace maskfill
