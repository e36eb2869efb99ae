// Definitions in a document (tree-sitter tags queries, infill/queries/<language>/tags.scm) and
// the identifiers a cursor's neighbourhood uses: the raw material of cross-file context. A
// definition's snippet is its head (signature, first lines of the body), the unit that tells a
// caller how to call it at a fraction of the whole body's tokens.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "infill/source_document.h"

namespace maskfill {

struct Definition {
  std::string name;
  size_t begin = 0, end = 0;  // bytes of the whole definition
  int line = 0;               // 0-based line of `begin`
};

// Every definition of the document, in text order; empty without a tree. A definition longer
// than `max_definitions` entries is cut there (a generated file must not cost unbounded memory).
std::vector<Definition> find_definitions(const SourceDocument& doc, size_t max_definitions = 100000);

// The definitions in the top-level declarations that overlap bytes [begin, end]: those that
// can enclose an edit there, at the cost of those declarations, not of the whole document (an
// edit history entry for a keystroke in a 50 MB file).
std::vector<Definition> find_definitions_around(const SourceDocument& doc, size_t begin, size_t end);

// The head of a definition: its first `max_lines` lines, at most `max_bytes` (whole lines
// where possible), with the indentation of its first line removed from every line.
std::string definition_head(std::string_view text, const Definition& definition, int max_lines = 8,
                            size_t max_bytes = 512);

// Identifiers ([A-Za-z_][A-Za-z0-9_]*, at least `min_length` bytes) in text order, with repeats.
std::vector<std::string_view> identifiers_in(std::string_view text, size_t min_length = 3);

// The identifier that ends at byte `at` of `text` (the word being typed at a cursor), when it is
// at least `min_length` bytes and starts like an identifier; empty otherwise.
std::string_view identifier_before(std::string_view text, size_t at, size_t min_length = 3);

// The whole identifier containing bytes [begin, end) of `text` (or touching them when the range
// is empty): the word an edit changed. Empty when the range holds a non-identifier byte or the
// word does not start like an identifier (a number).
std::string_view identifier_around(std::string_view text, size_t begin, size_t end);

// The line-comment marker of a language ("#" for Python, "//" for the C family, Go, Rust, ...).
std::string_view line_comment(const LanguageInfo* language);

}  // namespace maskfill
