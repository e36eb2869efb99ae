#include "infill/recent_edits.h"

#include <algorithm>

namespace maskfill {
namespace {

// Lines [first, last] of `text` (clamped), and the index of the last one kept.
std::string lines_of(std::string_view text, int first, int& last) {
  size_t begin = 0;
  for (int line = 0; line < first && begin < text.size(); ++line) {
    size_t newline = text.find('\n', begin);
    begin = newline == std::string_view::npos ? text.size() : newline + 1;
  }
  size_t end = begin;
  int line = first;
  for (; line <= last && end < text.size(); ++line) {
    size_t newline = text.find('\n', end);
    end = newline == std::string_view::npos ? text.size() : newline + 1;
  }
  last = std::max(first, line - 1);
  return std::string(text.substr(begin, end - begin));
}

}  // namespace

void RecentEdits::record(const std::string& path, std::string_view text, int line) {
  std::lock_guard lock(mutex_);
  for (EditedRange& range : ranges_)
    if (range.path == path && line >= range.first_line && line <= range.last_line) {
      int last = range.last_line;
      range.text = lines_of(text, range.first_line, last);
      return;
    }
  EditedRange range{path, std::max(0, line - context_lines_), line + context_lines_, ""};
  range.text = lines_of(text, range.first_line, range.last_line);
  ranges_.push_back(std::move(range));
  while (ranges_.size() > capacity_) ranges_.pop_front();
}

std::vector<EditedRange> RecentEdits::snapshot() const {
  std::lock_guard lock(mutex_);
  return {ranges_.begin(), ranges_.end()};
}

void RecentEdits::forget(const std::string& path) {
  std::lock_guard lock(mutex_);
  std::erase_if(ranges_, [&](const EditedRange& range) { return range.path == path; });
}

}  // namespace maskfill
