#include "infill/edit_history.h"

#include <algorithm>
#include <charconv>

#include "infill/definitions.h"
#include "infill/text_diff.h"
#include "infill/text_lines.h"

namespace maskfill {
namespace {

// A change larger than this (removed or inserted bytes) is recorded without its text: a paste of
// a generated file must not keep megabytes per ring entry.
constexpr size_t kMaxKeptBytes = 16 * 1024;
// The lines quoted by a diff, both sides together; a minified one-line file quotes nothing.
constexpr size_t kMaxDiffWindowBytes = 32 * 1024;
constexpr int kDiffContextLines = 3;

bool continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

bool has_newline(std::string_view text) { return text.find('\n') != std::string_view::npos; }

// The text before a change, read through the text after it and the bytes the change removed:
// the history never needs a copy of the whole document.
class BeforeText {
 public:
  BeforeText(std::string_view after, const TextChange& change, std::string_view removed)
      : head_(after.substr(0, change.begin)), removed_(removed), tail_(after.substr(change.new_end)) {}

  size_t size() const { return head_.size() + removed_.size() + tail_.size(); }

  std::string substr(size_t pos, size_t count) const {
    size_t end = std::min(size(), pos + std::min(count, size()));
    std::string out;
    size_t piece_begin = 0;
    for (std::string_view piece : {head_, removed_, tail_}) {
      size_t from = std::max(pos, piece_begin), to = std::min(end, piece_begin + piece.size());
      if (from < to) out.append(piece.substr(from - piece_begin, to - from));
      piece_begin += piece.size();
    }
    return out;
  }

 private:
  std::string_view head_, removed_, tail_;
};

// The bytes of the change a client reported, when its range agrees with the texts' sizes.
bool hint_fits(std::string_view before, std::string_view after, size_t begin, size_t end) {
  if (begin > end || end > before.size() || begin > after.size()) return false;
  return after.size() + (end - begin) >= before.size();
}

// Offset of the start of the line `lines` lines above the one holding `offset`.
size_t lines_up(std::string_view text, size_t offset, int lines) {
  size_t start = line_start(text, offset);
  for (int i = 0; i < lines && start > 0; ++i) start = line_start(text, start - 1);
  return start;
}

// Offset just past the '\n' ending the line `lines` lines below the one holding `offset`.
size_t lines_down(std::string_view text, size_t offset, int lines) {
  size_t end = line_end(text, offset);
  for (int i = 0; i < lines && end < text.size(); ++i) end = line_end(text, end + 1);
  return std::min(end + 1, text.size());
}

// dtl numbers a diff's lines from the start of the texts it is given; the texts here are a
// window of the document, so its hunk headers move down by the window's first line.
std::string shift_hunk_headers(std::string_view diff, int lines) {
  std::string out;
  for (std::string_view line : split_lines(diff)) {
    int old_start = 0, old_count = 0, new_start = 0, new_count = 0;
    bool header = line.starts_with("@@ -");
    if (header) {
      const char* at = line.data() + 4;
      const char* stop = line.data() + line.size();
      auto number = [&](int& value, char skip) {
        std::from_chars_result parsed = std::from_chars(at, stop, value);
        header = header && parsed.ec == std::errc() && parsed.ptr < stop && *parsed.ptr == skip;
        at = header ? parsed.ptr + 1 : stop;
      };
      number(old_start, ',');
      number(old_count, ' ');
      if (header && at < stop && *at == '+') ++at;
      number(new_start, ',');
      number(new_count, ' ');
    }
    if (header)
      out += "@@ -" + std::to_string(old_start + lines) + "," + std::to_string(old_count) + " +" +
             std::to_string(new_start + lines) + "," + std::to_string(new_count) + " @@";
    else
      out.append(line);
    out.push_back('\n');
  }
  if (!out.empty()) out.pop_back();  // the '\n' added after the last line, or after the final empty one
  return out;
}

// The diff of the entry's lines (with context) between the text before its first keystroke and
// `after`, numbered as in the document.
std::string entry_diff(const EditEntry& entry, std::string_view after) {
  size_t window_begin = lines_up(after, entry.begin, kDiffContextLines);
  size_t window_end = lines_down(after, entry.end, kDiffContextLines);
  if (window_end - window_begin + entry.removed.size() > kMaxDiffWindowBytes) return "";
  std::string_view new_window = after.substr(window_begin, window_end - window_begin);
  std::string old_window(after.substr(window_begin, entry.begin - window_begin));
  old_window += entry.removed;
  old_window.append(after.substr(entry.end, window_end - entry.end));
  int window_line = static_cast<int>(std::count(after.begin(), after.begin() + window_begin, '\n'));
  return shift_hunk_headers(unified_diff(old_window, new_window, entry.path, entry.path), window_line);
}

// The innermost of `definitions` whose bytes hold [begin, end], else the identifier there.
std::string enclosing_symbol(std::string_view text, const std::vector<Definition>& definitions, size_t begin,
                             size_t end) {
  const Definition* innermost = nullptr;
  for (const Definition& definition : definitions)
    if (definition.begin <= begin && end <= definition.end &&
        (!innermost || definition.end - definition.begin < innermost->end - innermost->begin))
      innermost = &definition;
  if (innermost) return innermost->name;
  return std::string(identifier_around(text, begin, end));
}

// Fills the fields derived from the entry's change and the document after it.
void describe(EditEntry& entry, std::string_view after, const std::vector<Definition>& definitions) {
  entry.first_line = static_cast<int>(std::count(after.begin(), after.begin() + entry.begin, '\n'));
  entry.last_line = entry.first_line;
  if (entry.end > entry.begin)
    entry.last_line += static_cast<int>(std::count(after.begin() + entry.begin, after.begin() + entry.end - 1, '\n'));
  entry.symbol = enclosing_symbol(after, definitions, entry.begin, entry.end);
  entry.diff = entry.whole ? entry_diff(entry, after) : "";
}

// Whether `change` of `before` continues the typing recorded by `entry` (the newest entry): the
// same file, on one line, touching the entry's bytes, which `before` still holds.
bool continues(const EditEntry& entry, const std::string& path, const BeforeText& before, std::string_view after,
               const TextChange& change, std::string_view removed) {
  if (entry.path != path || !entry.whole) return false;
  if (change.begin > entry.end || change.old_end < entry.begin || entry.end > before.size()) return false;
  if (before.substr(entry.begin, entry.inserted.size()) != entry.inserted) return false;
  return !has_newline(removed) && !has_newline(after.substr(change.begin, change.new_end - change.begin));
}

// Widens `entry` to cover `change` too: its removed bytes become those the union of both
// replaced originally, its inserted bytes what the union holds now.
void extend(EditEntry& entry, const BeforeText& before, std::string_view after, const TextChange& change) {
  size_t union_begin = std::min(entry.begin, change.begin);
  size_t union_old_end = std::max(entry.end, change.old_end);  // in `before`
  size_t union_new_end = union_old_end + change.new_end - change.old_end;
  std::string removed = before.substr(union_begin, entry.begin - union_begin);
  removed += entry.removed;
  removed += before.substr(entry.end, union_old_end - entry.end);
  entry.removed = std::move(removed);
  entry.inserted = std::string(after.substr(union_begin, union_new_end - union_begin));
  entry.begin = union_begin;
  entry.end = union_new_end;
  ++entry.edits;
  if (entry.removed.size() > kMaxKeptBytes || entry.inserted.size() > kMaxKeptBytes) {
    entry.whole = false;
    entry.removed.clear();
    entry.inserted.clear();
  }
}

EditEntry new_entry(const std::string& path, std::string_view removed, std::string_view after,
                    const TextChange& change) {
  EditEntry entry;
  entry.path = path;
  entry.begin = change.begin;
  entry.end = change.new_end;
  entry.whole = change.old_end - change.begin <= kMaxKeptBytes && change.new_end - change.begin <= kMaxKeptBytes;
  if (entry.whole) {
    entry.removed = std::string(removed);
    entry.inserted = std::string(after.substr(change.begin, change.new_end - change.begin));
  }
  return entry;
}

}  // namespace

TextChange find_change(std::string_view before, std::string_view after, size_t hint_begin, size_t hint_end) {
  TextChange change{0, before.size(), after.size()};
  if (hint_end != std::string_view::npos && hint_fits(before, after, hint_begin, hint_end))
    change = {hint_begin, hint_end, after.size() - (before.size() - hint_end)};
  while (change.begin < change.old_end && change.begin < change.new_end &&
         before[change.begin] == after[change.begin])
    ++change.begin;
  while (change.old_end > change.begin && change.new_end > change.begin &&
         before[change.old_end - 1] == after[change.new_end - 1]) {
    --change.old_end;
    --change.new_end;
  }
  // Whole UTF-8 characters: "é" and "è" share their first byte, which belongs to the change.
  while (change.begin > 0 && ((change.begin < before.size() && continuation_byte(before[change.begin])) ||
                              (change.begin < after.size() && continuation_byte(after[change.begin]))))
    --change.begin;
  while (change.old_end < before.size() && change.new_end < after.size() && continuation_byte(before[change.old_end])) {
    ++change.old_end;
    ++change.new_end;
  }
  return change;
}

std::optional<std::string> text_before(const EditEntry& entry, std::string_view after) {
  if (!entry.whole || entry.begin > entry.end || entry.end > after.size()) return {};
  if (after.substr(entry.begin, entry.end - entry.begin) != entry.inserted) return {};
  std::string text(after.substr(0, entry.begin));
  text += entry.removed;
  text.append(after.substr(entry.end));
  return text;
}

void EditHistory::record(const std::string& path, std::string_view before, const SourceDocument& after, size_t begin,
                         size_t end) {
  TextChange change = find_change(before, after.text(), begin, end);
  record(path, change, before.substr(change.begin, change.old_end - change.begin), after);
}

void EditHistory::record(const std::string& path, const TextChange& reported, std::string_view removed,
                         const SourceDocument& after) {
  std::string_view after_text = after.text();
  if (reported.begin > reported.new_end || reported.new_end > after_text.size() ||
      reported.old_end - reported.begin != removed.size())
    return;  // not a change of this text
  // Trimmed to the bytes that differ ("total" retyped as "totals" is the "s"), compared within
  // the change alone.
  TextChange change = find_change(removed, after_text.substr(reported.begin, reported.new_end - reported.begin));
  removed = removed.substr(change.begin, change.old_end - change.begin);
  change = {reported.begin + change.begin, reported.begin + change.old_end, reported.begin + change.new_end};
  if (change.empty()) return;
  const BeforeText before(after_text, change, removed);
  // Only the declarations around the change can enclose it. The query runs before taking the lock
  // that snapshot() waits on.
  std::vector<Definition> definitions = find_definitions_around(after, change.begin, change.new_end);
  std::lock_guard lock(mutex_);
  if (!entries_.empty() && continues(entries_.back(), path, before, after_text, change, removed)) {
    extend(entries_.back(), before, after_text, change);
    if (entries_.back().whole && entries_.back().removed == entries_.back().inserted) {
      entries_.pop_back();  // typed and erased again: nothing changed
      return;
    }
  } else {
    entries_.push_back(new_entry(path, removed, after_text, change));
    while (entries_.size() > capacity_) entries_.pop_front();
  }
  describe(entries_.back(), after_text, definitions);
}

std::vector<EditEntry> EditHistory::snapshot() const {
  std::lock_guard lock(mutex_);
  return {entries_.begin(), entries_.end()};
}

void EditHistory::forget(const std::string& path) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const EditEntry& entry) { return entry.path == path; });
}

void EditHistory::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

}  // namespace maskfill
