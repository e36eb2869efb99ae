// Rule: the fill must not repeat what already follows it (users' top complaint after latency:
// duplicated lines and doubled closing brackets next to editor auto-closed pairs).
#include <algorithm>
#include <string>
#include <vector>

#include "infill/postprocess.h"
#include "infill/text_lines.h"

namespace maskfill {
namespace {

constexpr size_t kMaxOverlapLines = 20;

struct LineRef {
  std::string_view trimmed;
  size_t begin;  // offset of the line's first byte in its text
};

std::vector<LineRef> nonblank_lines(std::string_view text) {
  std::vector<LineRef> lines;
  size_t offset = 0;
  for (std::string_view line : split_lines(text)) {
    if (!is_blank(line)) lines.push_back({trim(line), offset});
    offset += line.size() + 1;
  }
  return lines;
}

// Drops trailing candidate lines that equal the first non-blank lines of the suffix. The first
// candidate line only counts when the candidate starts a line of its own.
std::string drop_repeated_lines(std::string_view candidate, std::string_view suffix) {
  std::vector<LineRef> ours = nonblank_lines(candidate);
  std::vector<LineRef> theirs = nonblank_lines(suffix);
  size_t limit = std::min({ours.size(), theirs.size(), kMaxOverlapLines});
  for (size_t k = limit; k > 0; --k) {
    bool same = true;
    for (size_t i = 0; i < k && same; ++i) same = ours[ours.size() - k + i].trimmed == theirs[i].trimmed;
    if (!same) continue;
    size_t cut = ours[ours.size() - k].begin;
    return std::string(candidate.substr(0, cut == 0 ? 0 : cut - 1));  // also drop the '\n' before
  }
  return std::string(candidate);
}

int balance(std::string_view text, char open, char close) {
  int depth = 0;
  for (char c : text) depth += c == open ? 1 : c == close ? -1 : 0;
  return depth;
}

// Whether removing `tail` (closers the suffix already has) leaves the candidate no more unbalanced
// than it was meant to be: a closer is only redundant when the candidate over-closes it.
bool tail_is_redundant(std::string_view candidate, std::string_view tail) {
  for (auto [open, close] : {std::pair{'(', ')'}, std::pair{'[', ']'}, std::pair{'{', '}'}}) {
    int in_tail = static_cast<int>(std::count(tail.begin(), tail.end(), close));
    if (in_tail && balance(candidate, open, close) > -in_tail) return false;
  }
  for (char quote : {'"', '\'', '`'})
    if (std::count(tail.begin(), tail.end(), quote) && std::count(candidate.begin(), candidate.end(), quote) % 2 == 0)
      return false;
  return true;
}

std::string drop_repeated_closers(std::string_view candidate, std::string_view suffix) {
  std::string_view head = suffix.substr(0, suffix.find('\n'));
  size_t closers = head.find_first_not_of(")]};,\"'`");
  head = head.substr(0, closers == std::string_view::npos ? head.size() : closers);
  std::string_view body = candidate;
  while (!body.empty() && (body.back() == ' ' || body.back() == '\t')) body.remove_suffix(1);
  for (size_t k = std::min(head.size(), body.size()); k > 0; --k) {
    std::string_view tail = head.substr(0, k);
    if (body.ends_with(tail) && tail_is_redundant(body, tail)) return std::string(body.substr(0, body.size() - k));
  }
  return std::string(candidate);
}

}  // namespace

std::string remove_suffix_overlap(std::string_view candidate, std::string_view suffix) {
  return drop_repeated_closers(drop_repeated_lines(candidate, suffix), suffix);
}

}  // namespace maskfill
