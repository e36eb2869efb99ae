// A document's text plus its tree-sitter tree, kept in sync incrementally (ts_tree_edit, then
// reparse with the old tree). Used by the LSP document store and by the CLI. Byte offsets only:
// LSP position encodings are the lsp-server's business.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct TSLanguage;
struct TSTree;

namespace maskfill {

struct LanguageInfo {
  std::string name;            // "python", "javascript", "typescript", "tsx", "c", "cpp", "go", "rust", "java"
  const TSLanguage* grammar;   // never null
};

// By LSP languageId first ("python", "typescriptreact", "cpp", ...), then by the file
// extension of `path_or_uri`. nullptr for languages without a grammar (synced without a tree).
const LanguageInfo* find_language(std::string_view language_id, std::string_view path_or_uri);
const LanguageInfo* find_language_by_name(std::string_view name);

class SourceDocument {
 public:
  SourceDocument(std::string text, const LanguageInfo* language);  // parses if language != null
  SourceDocument(const SourceDocument& other);                    // snapshot: copies text, ts_tree_copy
  SourceDocument& operator=(const SourceDocument& other);
  SourceDocument(SourceDocument&&) noexcept;
  SourceDocument& operator=(SourceDocument&&) noexcept;
  ~SourceDocument();

  // Replaces bytes [begin, end) with `replacement`; edits the tree and reparses incrementally.
  // Throws std::out_of_range if begin > end or end > text().size().
  void replace(size_t begin, size_t end, std::string_view replacement);
  void set_text(std::string text);  // full replacement: fresh parse

  const std::string& text() const { return text_; }
  const LanguageInfo* language() const { return language_; }
  // Null without a language, or while the document nests brackets too deep for tree-sitter.
  const TSTree* tree() const { return tree_; }
  std::string tree_sexp() const;               // ts_node_string of the root ("" without a tree)

 private:
  void parse_fresh();
  std::string text_;
  const LanguageInfo* language_ = nullptr;
  TSTree* tree_ = nullptr;
  struct ParserHolder;
  std::shared_ptr<ParserHolder> parser_;  // one TSParser per document (not thread-safe to share)
};

}  // namespace maskfill
