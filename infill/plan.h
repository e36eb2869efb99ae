// The one request pipeline. Planning is a value: plan_inline / plan_fill / plan_edit turn a
// document snapshot and settings into a Plan (span, prompt ids, decode options per candidate,
// post-processing context); execute_plan runs a plan on an engine (all candidates decoded
// together, one forward per step) and returns ranked candidates. The LSP features, `maskfill
// fill|edit`, `maskfill eval infill` and every benchmark use these and nothing else, so what is
// measured is what an editor user gets. Planning needs only a ModelView (tokenizer and
// configs), never weights, so plans are golden-testable without a model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/byte_range.h"
#include "inference/engine.h"
#include "inference/model_files.h"
#include "infill/edit_history.h"
#include "infill/next_edit_sites.h"
#include "infill/postprocess.h"
#include "infill/prompt_context.h"
#include "infill/source_document.h"
#include "infill/text_diff.h"  // ByteEdit

namespace maskfill {

class Tokenizer;

enum class Trigger { Automatic, Invoked };
enum class PlanMode { Inline, Fill, Edit, NextEdit };
// How a next-edit plan asks the model for each site (issue #24; both are kept and compared by
// `maskfill bench next-edit`): MaskedSpans masks only the site's tokens in an SPM prompt;
// Instruction asks for the site's lines rewritten ("rename X to Y here").
enum class NextEditForm { MaskedSpans, Instruction };
const char* next_edit_form_name(NextEditForm form);  // "masked", "instruction"

struct InfillSettings {
  int prefix_tokens = 384;        // prompt budget for text before the span
  int suffix_tokens = 128;        // prompt budget for text after the span
  int max_new_tokens = 64;        // cap on masked tokens including extension blocks (and, at most,
                                  // what the prompt leaves of the model's context)
  int max_edit_tokens = 512;      // the same cap for instruction edits (a whole rewritten span)
  int candidates_invoked = 3;     // Invoked triggers get several candidates (different seeds)
  // Chosen by the decoding sweep (models/maskfill-tiny/README.md): the lowest threshold whose
  // pass@1 and exact match equal one token per step.
  std::optional<double> threshold = 0.3;
  std::optional<double> entropy_bound;  // the entropy-bounded rule instead (eval sweep; off by default)
  int max_ms = 0;                 // per-request time budget (0 = none)
  uint64_t seed = 0;              // candidate i decodes with seed + i
  // Next-edit suggestions: at most this many sites per plan (one batch), each shown only when
  // its lowest token confidence reaches the bound (what the model was unsure of is not shown).
  int next_edit_max_sites = 8;
  // Each site's own window: the edit's diff comes first in every site's prompt, so a site needs
  // only its neighbourhood, and a small window keeps k sites' prefills near the cost of one.
  // A site whose answer is worked out there (a call's arguments, a use of a changed type):
  int next_edit_prefix_tokens = 64;
  int next_edit_suffix_tokens = 32;
  // A rename's or a changed literal's site, whose answer is in the diff header: the rest of its
  // line tells the model it is a use. Measured with a model trained on the format, 500 rename
  // sites (docs/next-edit.md): exact match before the gate 29.0% with 64/32, 30.2% with 24/8,
  // 32.0% with 16/4 (less text competes with the header); 8 sites prefill far fewer tokens.
  int next_edit_exact_prefix_tokens = 16;
  int next_edit_exact_suffix_tokens = 4;
  double next_edit_min_confidence = 0.5;
  // A site stops decoding as soon as a token it keeps falls below the bound: it can no longer be
  // shown, and the batch stops waiting for it. Off only to see every answer to its end (the
  // benchmark's before-the-gate figures).
  bool next_edit_stop_when_unsure = true;
  NextEditForm next_edit_form = NextEditForm::MaskedSpans;
};

// What planning needs of a model: its tokenizer and configuration files, no weights.
struct ModelView {
  const Tokenizer& tokenizer;
  const ModelConfig& config;
  const TokenizerConfig& tokenizer_config;
  static ModelView of(const Engine& engine) {
    return {engine.tokenizer(), engine.config(), engine.tokenizer_config()};
  }
};

// One site of a next-edit plan: a sequence of its own, decoded in one batch with the others.
struct PlanSite {
  std::string path;               // the document it is in: the plan's own, an open one, or a file
  std::shared_ptr<const SourceDocument> doc;  // that document; null: the plan's own
  bool on_disk = false;           // a workspace file that is not open: `doc` is its text as read
  ByteRange span;                 // the bytes its answer replaces (the text outside never changes)
  ByteRange rewritten;            // what the model writes: Instruction form, the whole lines
                                  // (they hold span); MaskedSpans, the part of span the edit
                                  // changes (span, or less: the rest is kept as it reads)
  std::vector<int32_t> prompt;
  DecodeOptions options;
  std::string edit_indent;        // Instruction form: indentation removed in the prompt
  std::string reason;             // why the site was chosen ("uses `count`, renamed to `total`")
};

struct Plan {
  PlanMode mode = PlanMode::Inline;
  std::string declined_reason;           // non-empty: nothing to run (comment, string, no scope)
  std::string rule;                      // which span rule chose the shape (logs, golden tests)
  ByteRange span;                        // what every candidate replaces
  std::vector<int32_t> prompt;           // SPM FIM prompt, or the chat prompt for edits
  std::vector<DecodeOptions> candidates; // one per candidate, decoded as one batch
  // Post-processing of a fill (Inline, Fill); its `suffix` is set from the document at execution.
  PostprocessContext postprocess;
  bool ends_with_newline = false;        // a selection of whole lines: the fill ends a line too
  // Post-processing of an edit: the code's common indentation is removed in the prompt and
  // restored on the answer.
  std::string edit_indent;
  PromptContext context;                 // cross-file snippets at the prompt's start (may be empty)
  // NextEdit plans: the edit that implies the sites, and one sequence per site. `prompt` and
  // `candidates` stay empty; `span` covers every site.
  NextEdit next_edit;
  NextEditForm next_edit_form = NextEditForm::MaskedSpans;
  std::vector<PlanSite> sites;
  std::string edit_header;               // the diff history every site's prompt starts with
  double min_confidence = 0;             // the gate (InfillSettings::next_edit_min_confidence)
};

// `context`: where cross-file context may come from (infill/prompt_context.h); null for none, and
// then the prompt is exactly the file's window.
Plan plan_inline(const ModelView& model, const SourceDocument& doc, size_t cursor, Trigger trigger,
                 const InfillSettings& settings, const ContextInputs* context = nullptr);
Plan plan_fill(const ModelView& model, const SourceDocument& doc, ByteRange selection, const InfillSettings& settings,
               const ContextInputs* context = nullptr);
// Throws std::invalid_argument when the instruction is empty.
Plan plan_edit(const ModelView& model, const SourceDocument& doc, ByteRange selection, const std::string& instruction,
               const InfillSettings& settings, const ContextInputs* context = nullptr);

struct Candidate {
  std::string text;                // the span's new content after post-processing
  ByteEdit replacement;            // the whole span replaced by `text`
  std::vector<ByteEdit> edits;     // minimal edits with the same effect (line then char diff)
  bool syntax_ok = true;           // no new ERROR/MISSING nodes in the edited region (a next-edit
                                   // answer held back before its syntax check: not checked)
  bool breaks_clean_document = false;  // the document parsed cleanly before and not after
  DecodeStats stats;
  int site = -1;                   // NextEdit: the index of its site in plan.sites
  std::string withheld;            // NextEdit: why the gate held it back (empty: shown)
};

struct CompletionOutcome {
  std::vector<Candidate> candidates;  // best first; empty when declined or nothing survived
  std::string declined_reason;        // non-empty when no completion was attempted
  bool cancelled = false;
  std::vector<Candidate> withheld;    // NextEdit: site answers the gate held back (with why)
};

CompletionOutcome execute_plan(Engine& engine, const SourceDocument& doc, const Plan& plan, const CancelCheck& cancel);

// Next-edit suggestions for `doc` (at `path`) after the newest whole entry of `history` (oldest
// first, EditHistory::snapshot) that edited `path`: the sites that edit implies in `doc`
// (infill/next_edit_sites.h), nearest first, one sequence each. Declined when the document has no
// recent edit or the edit implies nothing. A rename's or a signature's sites in
// `open_documents` (the edited one among them is skipped) follow those in `doc`; each such site
// keeps its document; then those in the files of `index` that are not open (read from disk). The
// diff header shows paths relative to `display_root` (the workspace folder), as the cross-file
// context does.
Plan plan_next_edit(const ModelView& model, const SourceDocument& doc, const std::string& path,
                    const std::vector<EditEntry>& history, const InfillSettings& settings,
                    const std::string& display_root = "", const std::vector<OpenDocument>& open_documents = {},
                    const WorkspaceIndex* index = nullptr);

// A readable, stable description of a plan (golden tests, `--explain`).
std::string describe_plan(const Plan& plan, const Tokenizer& tokenizer);

}  // namespace maskfill
