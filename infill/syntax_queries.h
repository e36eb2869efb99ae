// Per-language tree-sitter queries (infill/queries/<language>/*.scm) and the captures they make
// around a position. The captures the span rules rely on:
//   decline.scm  @decline  comments and string literals (automatic completion declines inside)
//   blocks.scm   @body     block-like bodies (empty ones make a completion multi-line)
//                @call     argument lists (an unfinished one makes a completion multi-line)
//   scopes.scm   @scope    statements, functions, classes (instruction-edit scopes)
//   tags.scm     @definition, @name   definitions and their names (cross-file context)
#pragma once

#include <tree_sitter/api.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "infill/source_document.h"

namespace maskfill {

enum class QueryKind { Decline, Blocks, Scopes, Tags };

// The compiled query, built once per (language, kind) and shared (TSQuery is read-only once
// built). Throws std::runtime_error naming the file and offset if a query fails to compile.
const TSQuery& syntax_query(const LanguageInfo& language, QueryKind kind);

struct Capture {
  std::string name;  // capture name without '@'
  TSNode node;
};

// Captures of `kind` whose nodes touch [begin, end] (inclusive ends, so a cursor at a node's edge
// counts). Empty for documents without a tree.
std::vector<Capture> captures_touching(const SourceDocument& doc, QueryKind kind, size_t begin, size_t end);

}  // namespace maskfill
