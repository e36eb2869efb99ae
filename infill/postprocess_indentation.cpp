// Rule: the fill's indentation follows the document (tabs vs spaces, and at least the level of
// the body it completes).
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "infill/postprocess.h"
#include "infill/text_lines.h"

namespace maskfill {
namespace {

size_t count_leading(std::string_view text, char c) {
  size_t n = 0;
  while (n < text.size() && text[n] == c) ++n;
  return n;
}

// The smallest non-zero run of leading spaces among the lines (the candidate's own unit).
size_t space_unit(const std::vector<std::string_view>& lines) {
  size_t unit = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t spaces = count_leading(lines[i], ' ');
    if (spaces && !is_blank(lines[i]) && (!unit || spaces < unit)) unit = spaces;
  }
  return unit ? unit : 4;
}

std::string restyle(std::string_view indent, const IndentStyle& style, size_t candidate_unit) {
  size_t tabs = count_leading(indent, '\t');
  size_t spaces = indent.size() - tabs;  // mixed indentation keeps its trailing spaces
  if (style.tabs) {
    size_t levels = tabs + spaces / candidate_unit;
    return std::string(levels, '\t') + std::string(spaces % candidate_unit, ' ');
  }
  return std::string(tabs * style.width + spaces, ' ');
}

size_t width_of(std::string_view indent, const IndentStyle& style) {
  size_t tabs = count_leading(indent, '\t');
  return tabs * style.width + (indent.size() - tabs);
}

}  // namespace

IndentStyle detect_indent_style(std::string_view document) {
  int tab_lines = 0, space_lines = 0;
  std::map<size_t, int> steps;
  size_t previous = 0;
  for (std::string_view line : split_lines(document)) {
    if (is_blank(line)) continue;
    std::string_view indent = leading_whitespace(line);
    if (!indent.empty()) (indent[0] == '\t' ? tab_lines : space_lines)++;
    size_t spaces = count_leading(line, ' ');
    if (spaces > previous) steps[spaces - previous]++;
    previous = spaces;
  }
  IndentStyle style;
  style.tabs = tab_lines > space_lines;
  if (!style.tabs && !steps.empty())
    style.width = static_cast<int>(std::max_element(steps.begin(), steps.end(), [](auto& a, auto& b) {
                                     return a.second < b.second;
                                   })->first);
  return style;
}

std::string match_indentation(std::string_view candidate, const IndentStyle& style, std::string_view min_indent) {
  std::vector<std::string_view> lines = split_lines(candidate);
  if (lines.size() < 2) return std::string(candidate);
  size_t unit = space_unit(lines);
  std::vector<std::string> out{std::string(lines[0])};
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view indent = leading_whitespace(lines[i]);
    out.push_back(is_blank(lines[i]) ? std::string() : restyle(indent, style, unit) + std::string(lines[i].substr(indent.size())));
  }
  // Shift right when the first indented line sits left of the body level.
  size_t wanted = width_of(min_indent, style);
  auto first = std::find_if(out.begin() + 1, out.end(), [](const std::string& line) { return !is_blank(line); });
  if (first != out.end()) {
    size_t have = width_of(leading_whitespace(*first), style);
    if (have < wanted) {
      std::string shift = style.tabs ? std::string((wanted - have) / style.width, '\t') + std::string((wanted - have) % style.width, ' ')
                                     : std::string(wanted - have, ' ');
      for (auto line = out.begin() + 1; line != out.end(); ++line)
        if (!is_blank(*line)) *line = shift + *line;
    }
  }
  return join_lines(out);
}

}  // namespace maskfill
