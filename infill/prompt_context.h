// Cross-file context for a prompt: snippets from other open documents, recently edited ranges,
// the definitions of the identifiers around the cursor (open documents and the workspace index)
// and same-file definitions outside the prompt's window, each source under its share of a token
// budget. The snippets go before the SPM FIM part, each under a comment naming its file (the
// model has no file-separator token: docs/context.md), grouped and ordered so that the text
// stays the same while the user types and the prompt cache keeps it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/byte_range.h"
#include "infill/definitions.h"
#include "infill/recent_edits.h"
#include "infill/source_document.h"

namespace maskfill {

class Tokenizer;
class WorkspaceIndex;

enum class ContextSource { OpenDocuments, Definitions, SameFile, RecentEdits };
const char* context_source_name(ContextSource source);  // "open_documents", "definitions", ...

struct ContextSettings {
  int max_tokens = 1024;  // 0: no context at all (the prompt is the file's window only)
  bool open_documents = true, recent_edits = true, definitions = true, same_file = true;
  bool operator==(const ContextSettings&) const = default;
};

struct OpenDocument {
  std::string path;  // or URI: compared with ContextInputs::path, shown relative to `display_root`
  std::shared_ptr<const SourceDocument> doc;
  // find_definitions(*doc), when the caller keeps it per version (else computed per request).
  std::shared_ptr<const std::vector<Definition>> definitions;
};

// What a plan may draw context from. Cheap to build per request: snapshots and a pointer.
struct ContextInputs {
  std::string path;                          // the current document's
  std::string display_root;                  // paths under it are shown relative to it
  std::vector<OpenDocument> open_documents;  // the current one may be among them (skipped)
  std::vector<EditedRange> recent_edits;     // oldest first
  std::shared_ptr<const WorkspaceIndex> index;  // shared: switching the index off mid-request is safe
  ContextSettings settings;
};

struct ContextSnippet {
  ContextSource source;
  std::string path;                   // as given (absolute path or URI)
  int first_line = 0, last_line = 0;  // 0-based, inclusive
  std::string text;                   // as rendered in the prompt, header included
  int tokens = 0;
};

struct PromptContext {
  std::vector<int32_t> ids;             // goes right after BOS, before <[fim-suffix]>
  std::string text;                     // the same, as text
  std::vector<ContextSnippet> snippets; // in prompt order
};

// `window` is the part of `doc` the prompt already shows (nothing inside it is repeated).
PromptContext gather_context(const Tokenizer& tokenizer, const ContextInputs& inputs, const SourceDocument& doc,
                             size_t cursor, ByteRange window);

// `path` relative to `root` when it lies under it (as the prompt shows file paths), else itself.
std::string display_path(const std::string& path, const std::string& root);

}  // namespace maskfill
