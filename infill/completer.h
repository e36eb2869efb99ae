// The feature API of `infill`: what the LSP handlers and the CLI call. It decides the span with
// tree-sitter, builds the prompt, runs the engine, post-processes, syntax-checks and returns
// edits in the snapshot's byte offsets. It knows nothing of LSP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "inference/engine.h"
#include "infill/source_document.h"
#include "infill/text_diff.h"  // ByteEdit

namespace maskfill {

enum class Trigger { Automatic, Invoked };

struct InfillSettings {
  int prefix_tokens = 384;        // prompt budget for text before the span
  int suffix_tokens = 128;        // prompt budget for text after the span
  int max_new_tokens = 64;        // cap on masked tokens including extension blocks
  int max_edit_tokens = 512;      // the same cap for instruction edits (a whole rewritten span)
  int candidates_invoked = 3;     // Invoked triggers get several candidates (different seeds)
  std::optional<double> threshold = 0.9;
  int max_ms = 0;                 // per-request time budget (0 = none)
  uint64_t seed = 0;              // candidate i decodes with seed + i
};

struct Candidate {
  std::string text;                // the span's new content after post-processing
  ByteEdit replacement;            // the whole span replaced by `text`
  std::vector<ByteEdit> edits;     // minimal edits with the same effect (line then char diff)
  bool syntax_ok = true;           // no new ERROR/MISSING nodes in the edited region
  DecodeStats stats;
};

struct CompletionOutcome {
  std::vector<Candidate> candidates;  // best first; empty when declined or nothing survived
  std::string declined_reason;        // non-empty when no completion was attempted (comment, string)
  bool cancelled = false;
};

class Completer {
 public:
  Completer(Engine& engine, InfillSettings settings);
  // Inline completion at a cursor byte offset.
  CompletionOutcome complete(const SourceDocument& snapshot, size_t cursor, Trigger trigger,
                             const CancelCheck& cancel) const;
  // Fill-in-the-middle of a selection (snapped to token boundaries).
  CompletionOutcome fill(const SourceDocument& snapshot, size_t begin, size_t end,
                         const CancelCheck& cancel) const;
  // Rewrite of the selection (or, when empty, the smallest enclosing statement/function/class).
  CompletionOutcome edit(const SourceDocument& snapshot, size_t begin, size_t end,
                         const std::string& instruction, const CancelCheck& cancel) const;

 private:
  Engine& engine_;
  InfillSettings settings_;
};

}  // namespace maskfill
