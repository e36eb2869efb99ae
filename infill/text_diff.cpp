#include "infill/text_diff.h"

#include <dtl/dtl.hpp>

#include <sstream>

#include "common/utf8.h"

namespace maskfill {
namespace {

// Above this many characters per hunk a character diff costs more than it saves: replace lines.
constexpr size_t kMaxCharDiff = 4000;
// Character edits closer than this are merged, so a changed word is one edit, not confetti.
constexpr size_t kMergeGap = 3;

// Lines with their '\n' kept, so that concatenation reproduces the text.
std::vector<std::string> lines_with_breaks(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t newline = text.find('\n', start);
    size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
    lines.emplace_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

// UTF-8 characters (a malformed byte counts as one character).
std::vector<std::string> characters(std::string_view text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    size_t length = std::min(utf8::sequence_length(text[i]), text.size() - i);
    out.emplace_back(text.substr(i, length));
    i += length;
  }
  return out;
}

// Runs of non-common elements of a diff of `a` into `b`, as edits in element units mapped to
// bytes through the elements' sizes.
std::vector<ByteEdit> diff_runs(const std::vector<std::string>& a, const std::vector<std::string>& b, size_t base) {
  dtl::Diff<std::string, std::vector<std::string>> diff(a, b);
  diff.compose();
  std::vector<ByteEdit> edits;
  size_t old_offset = base;
  bool open = false;
  for (const auto& [element, info] : diff.getSes().getSequence()) {
    if (info.type == dtl::SES_COMMON) {
      open = false;
      old_offset += element.size();
      continue;
    }
    if (!open) edits.push_back({old_offset, old_offset, ""});
    open = true;
    if (info.type == dtl::SES_DELETE) {
      old_offset += element.size();
      edits.back().end = old_offset;
    } else {
      edits.back().text += element;
    }
  }
  return edits;
}

std::vector<ByteEdit> merge_close(std::vector<ByteEdit> edits, std::string_view old_text, size_t base) {
  std::vector<ByteEdit> merged;
  for (ByteEdit& edit : edits) {
    if (!merged.empty() && edit.begin - merged.back().end < kMergeGap) {
      merged.back().text += std::string(old_text.substr(merged.back().end - base, edit.begin - merged.back().end));
      merged.back().text += edit.text;
      merged.back().end = edit.end;
    } else {
      merged.push_back(std::move(edit));
    }
  }
  return merged;
}

}  // namespace

std::vector<ByteEdit> minimal_edits(std::string_view old_text, std::string_view new_text, size_t base) {
  std::vector<ByteEdit> edits;
  for (const ByteEdit& hunk : diff_runs(lines_with_breaks(old_text), lines_with_breaks(new_text), base)) {
    std::string_view old_hunk = old_text.substr(hunk.begin - base, hunk.end - hunk.begin);
    if (old_hunk.empty() || hunk.text.empty() || old_hunk.size() + hunk.text.size() > kMaxCharDiff) {
      edits.push_back(hunk);
      continue;
    }
    std::vector<ByteEdit> inner = diff_runs(characters(old_hunk), characters(hunk.text), hunk.begin);
    for (ByteEdit& edit : merge_close(std::move(inner), old_text, base)) edits.push_back(std::move(edit));
  }
  return edits;
}

std::string apply_edits(std::string_view text, const std::vector<ByteEdit>& edits) {
  std::string out;
  size_t at = 0;
  for (const ByteEdit& edit : edits) {
    out.append(text.substr(at, edit.begin - at));
    out += edit.text;
    at = edit.end;
  }
  out.append(text.substr(at));
  return out;
}

std::string unified_diff(std::string_view old_text, std::string_view new_text, std::string_view old_name,
                         std::string_view new_name) {
  // dtl prints each element after its +/-/space mark, so lines are compared without '\n' and a
  // missing final newline is reported the way diff(1) does.
  auto split = [](std::string_view text) {
    std::vector<std::string> lines;
    for (std::string& line : lines_with_breaks(text)) {
      if (line.ends_with('\n')) line.pop_back();
      else line += "\n\\ No newline at end of file";
      lines.push_back(std::move(line));
    }
    return lines;
  };
  std::vector<std::string> a = split(old_text), b = split(new_text);
  dtl::Diff<std::string, std::vector<std::string>> diff(a, b);
  diff.compose();
  if (diff.getEditDistance() == 0) return "";
  diff.composeUnifiedHunks();
  std::ostringstream out;
  out << "--- " << old_name << "\n+++ " << new_name << "\n";
  diff.printUnifiedFormat(out);
  return out.str();
}

}  // namespace maskfill
