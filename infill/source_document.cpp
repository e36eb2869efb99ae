// SourceDocument: text plus an incrementally maintained tree-sitter tree.
#include "infill/source_document.h"

#include <tree_sitter/api.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>

namespace maskfill {

struct SourceDocument::ParserHolder {
  TSParser* parser = ts_parser_new();
  ~ParserHolder() { ts_parser_delete(parser); }
};

namespace {

// The tree-sitter point (row, byte column) just after text[0, offset).
TSPoint point_at(const std::string& text, size_t offset) {
  auto end = text.begin() + static_cast<std::ptrdiff_t>(offset);
  uint32_t row = static_cast<uint32_t>(std::count(text.begin(), end, '\n'));
  size_t last_newline = std::string_view(text).substr(0, offset).rfind('\n');
  size_t line_start = last_newline == std::string_view::npos ? 0 : last_newline + 1;
  return {row, static_cast<uint32_t>(offset - line_start)};
}

// The point reached from `start` after inserting `inserted`.
TSPoint advance(TSPoint start, std::string_view inserted) {
  size_t last_newline = inserted.rfind('\n');
  if (last_newline == std::string_view::npos)
    return {start.row, start.column + static_cast<uint32_t>(inserted.size())};
  uint32_t rows = 0;
  for (char c : inserted) rows += c == '\n';
  return {start.row + rows, static_cast<uint32_t>(inserted.size() - last_newline - 1)};
}

// Bookworm's tree-sitter (0.20) corrupts its heap when it frees the tree of a document with
// more than 65,535 unclosed brackets (seen with `[`, `(` and `{`, in Python and JavaScript),
// and no real source nests brackets thousands deep. Such a document is kept without a tree,
// like a language without a grammar: every feature still works on its text.
constexpr int kMaxOpenBrackets = 4096;

// The text is the pieces in order (a document with an edit applied, without building it).
bool too_deep_to_parse(std::initializer_list<std::string_view> pieces) {
  int open = 0;
  for (std::string_view piece : pieces)
    for (char c : piece) {
      if (c == '(' || c == '[' || c == '{') {
        if (++open > kMaxOpenBrackets) return true;
      } else if ((c == ')' || c == ']' || c == '}') && open > 0) {
        --open;
      }
    }
  return false;
}

bool has_any_of(std::string_view text, std::string_view chars) {
  return text.find_first_of(chars) != std::string_view::npos;
}

}  // namespace

SourceDocument::SourceDocument(std::string text, const LanguageInfo* language)
    : text_(std::move(text)), language_(language) {
  if (language_) {
    parser_ = std::make_shared<ParserHolder>();
    if (!ts_parser_set_language(parser_->parser, language_->grammar))
      throw std::runtime_error("tree-sitter rejected the " + language_->name + " grammar (ABI mismatch)");
    parse_fresh();
  }
}

SourceDocument::SourceDocument(const SourceDocument& other)
    : text_(other.text_), language_(other.language_), tree_(other.tree_ ? ts_tree_copy(other.tree_) : nullptr) {
  // A copy gets its own parser: snapshots travel to other threads and a TSParser is not thread-safe.
  if (language_) {
    parser_ = std::make_shared<ParserHolder>();
    ts_parser_set_language(parser_->parser, language_->grammar);
  }
}

SourceDocument& SourceDocument::operator=(const SourceDocument& other) {
  if (this != &other) {
    SourceDocument copy(other);
    *this = std::move(copy);
  }
  return *this;
}

SourceDocument::SourceDocument(SourceDocument&& other) noexcept
    : text_(std::move(other.text_)),
      language_(other.language_),
      tree_(std::exchange(other.tree_, nullptr)),
      parser_(std::move(other.parser_)) {}

SourceDocument& SourceDocument::operator=(SourceDocument&& other) noexcept {
  if (this != &other) {
    if (tree_) ts_tree_delete(tree_);
    text_ = std::move(other.text_);
    language_ = other.language_;
    tree_ = std::exchange(other.tree_, nullptr);
    parser_ = std::move(other.parser_);
  }
  return *this;
}

SourceDocument::~SourceDocument() {
  if (tree_) ts_tree_delete(tree_);
}

void SourceDocument::parse_fresh() {
  if (!language_) return;
  if (tree_) ts_tree_delete(tree_);
  tree_ = nullptr;
  if (too_deep_to_parse({text_})) return;
  tree_ = ts_parser_parse_string(parser_->parser, nullptr, text_.data(), static_cast<uint32_t>(text_.size()));
}

void SourceDocument::replace(size_t begin, size_t end, std::string_view replacement) {
  if (begin > end || end > text_.size())
    throw std::out_of_range("edit [" + std::to_string(begin) + ", " + std::to_string(end) +
                            ") outside a document of " + std::to_string(text_.size()) + " bytes");
  if (!tree_) {
    text_.replace(begin, end - begin, replacement);
    if (language_) parse_fresh();  // kept without a tree while too deep: maybe no longer
    return;
  }
  // Only an opening bracket typed or a closing one deleted can nest the document too deep.
  const std::string_view text(text_);
  if ((has_any_of(replacement, "([{") || has_any_of(text.substr(begin, end - begin), ")]}")) &&
      too_deep_to_parse({text.substr(0, begin), replacement, text.substr(end)})) {
    text_.replace(begin, end - begin, replacement);
    ts_tree_delete(tree_);
    tree_ = nullptr;
    return;
  }
  TSInputEdit edit;
  edit.start_byte = static_cast<uint32_t>(begin);
  edit.old_end_byte = static_cast<uint32_t>(end);
  edit.new_end_byte = static_cast<uint32_t>(begin + replacement.size());
  edit.start_point = point_at(text_, begin);
  edit.old_end_point = advance(edit.start_point, std::string_view(text_).substr(begin, end - begin));
  edit.new_end_point = advance(edit.start_point, replacement);
  text_.replace(begin, end - begin, replacement);
  ts_tree_edit(tree_, &edit);
  TSTree* new_tree =
      ts_parser_parse_string(parser_->parser, tree_, text_.data(), static_cast<uint32_t>(text_.size()));
  ts_tree_delete(tree_);
  tree_ = new_tree;
}

void SourceDocument::set_text(std::string text) {
  text_ = std::move(text);
  parse_fresh();
}

std::string SourceDocument::tree_sexp() const {
  if (!tree_) return "";
  char* raw = ts_node_string(ts_tree_root_node(tree_));
  std::string sexp(raw);
  std::free(raw);
  return sexp;
}

}  // namespace maskfill
