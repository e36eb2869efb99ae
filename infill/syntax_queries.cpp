#include "infill/syntax_queries.h"

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "infill/embedded_queries.h"

namespace maskfill {
namespace {

std::string_view kind_name(QueryKind kind) {
  switch (kind) {
    case QueryKind::Decline: return "decline";
    case QueryKind::Blocks: return "blocks";
    case QueryKind::Scopes: return "scopes";
    case QueryKind::Tags: return "tags";
  }
  return "";
}

// TSX is TypeScript plus JSX: the same node names, so it shares TypeScript's query files.
std::string_view query_folder(const LanguageInfo& language) {
  return language.name == "tsx" ? std::string_view("typescript") : std::string_view(language.name);
}

const char* query_error_name(TSQueryError error) {
  switch (error) {
    case TSQueryErrorSyntax: return "syntax error";
    case TSQueryErrorNodeType: return "unknown node type";
    case TSQueryErrorField: return "unknown field";
    case TSQueryErrorCapture: return "unknown capture";
    case TSQueryErrorStructure: return "impossible pattern";
    default: return "error";
  }
}

struct QueryDeleter {
  void operator()(TSQuery* query) const { ts_query_delete(query); }
};

TSQuery* compile(const LanguageInfo& language, QueryKind kind) {
  std::string_view folder = query_folder(language);
  for (const EmbeddedQuery& query : embedded_queries()) {
    if (query.language != folder || query.kind != kind_name(kind)) continue;
    uint32_t error_offset = 0;
    TSQueryError error = TSQueryErrorNone;
    TSQuery* compiled = ts_query_new(language.grammar, query.text.data(), static_cast<uint32_t>(query.text.size()),
                                     &error_offset, &error);
    if (!compiled)
      throw std::runtime_error("queries/" + std::string(folder) + "/" + std::string(kind_name(kind)) + ".scm: " +
                               query_error_name(error) + " at byte " + std::to_string(error_offset));
    return compiled;
  }
  throw std::runtime_error("no query queries/" + std::string(folder) + "/" + std::string(kind_name(kind)) + ".scm");
}

}  // namespace

const TSQuery& syntax_query(const LanguageInfo& language, QueryKind kind) {
  static std::mutex mutex;
  static std::map<std::pair<const LanguageInfo*, QueryKind>, std::unique_ptr<TSQuery, QueryDeleter>> cache;
  std::lock_guard lock(mutex);
  auto& slot = cache[{&language, kind}];
  if (!slot) slot.reset(compile(language, kind));
  return *slot;
}

std::vector<Capture> captures_touching(const SourceDocument& doc, QueryKind kind, size_t begin, size_t end) {
  std::vector<Capture> captures;
  if (!doc.tree() || !doc.language()) return captures;
  const TSQuery& query = syntax_query(*doc.language(), kind);
  TSQueryCursor* cursor = ts_query_cursor_new();
  // The cursor's range is half-open; widen by one byte on each side so edge positions count.
  uint32_t from = begin > 0 ? static_cast<uint32_t>(begin - 1) : 0;
  ts_query_cursor_set_byte_range(cursor, from, static_cast<uint32_t>(end + 1));
  ts_query_cursor_exec(cursor, &query, ts_tree_root_node(doc.tree()));
  TSQueryMatch match;
  uint32_t capture_index = 0;
  while (ts_query_cursor_next_capture(cursor, &match, &capture_index)) {
    const TSQueryCapture& capture = match.captures[capture_index];
    uint32_t start = ts_node_start_byte(capture.node), stop = ts_node_end_byte(capture.node);
    if (start > end || stop < begin) continue;
    uint32_t length = 0;
    const char* name = ts_query_capture_name_for_id(&query, capture.index, &length);
    captures.push_back({std::string(name, length), capture.node});
  }
  ts_query_cursor_delete(cursor);
  return captures;
}

}  // namespace maskfill
