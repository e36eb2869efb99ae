#include "infill/plan.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "inference/tokenizer.h"
#include "infill/mask_length.h"
#include "infill/plan_steps.h"
#include "infill/prompt_builder.h"
#include "infill/span_finder.h"
#include "infill/syntax_check.h"
#include "infill/text_lines.h"

namespace maskfill {
namespace plan_steps {

std::optional<int32_t> bos_id(const ModelView& model) {
  if (!model.tokenizer_config.add_bos_token) return std::nullopt;
  return model.config.bos_token_id;
}

Candidate unchecked_candidate(const SourceDocument& doc, ByteRange span, std::string text, const DecodeStats& stats) {
  Candidate candidate;
  std::string_view old_text = std::string_view(doc.text()).substr(span.begin, span.end - span.begin);
  candidate.replacement = {span.begin, span.end, text};
  candidate.edits = minimal_edits(old_text, text, span.begin);
  candidate.stats = stats;
  candidate.text = std::move(text);
  return candidate;
}

void check_syntax(const SourceDocument& doc, Candidate& candidate) {
  SyntaxVerdict syntax = check_replacement(doc, {candidate.replacement.begin, candidate.replacement.end}, candidate.text);
  candidate.syntax_ok = syntax.ok();
  candidate.breaks_clean_document = syntax.breaks_clean_document;
}

Candidate make_candidate(const SourceDocument& doc, ByteRange span, std::string text, const DecodeStats& stats) {
  Candidate candidate = unchecked_candidate(doc, span, std::move(text), stats);
  check_syntax(doc, candidate);
  return candidate;
}

}  // namespace plan_steps

namespace {

using plan_steps::bos_id;
using plan_steps::make_candidate;

std::string indent_unit(const IndentStyle& style) { return style.tabs ? "\t" : std::string(style.width, ' '); }

// The indentation lines after a completion's first line must keep, per the cursor's line.
std::string min_indent_at(std::string_view text, size_t offset, const IndentStyle& style) {
  size_t start = line_start(text, offset);
  std::string_view before = text.substr(start, offset - start);
  std::string indent(leading_whitespace(before));
  std::string_view stripped = trim(before);
  if (!stripped.empty() && (stripped.back() == ':' || stripped.back() == '{')) indent += indent_unit(style);
  return indent;
}

// A fill-in-the-middle plan for `span`: the SPM prompt, one decode option set per candidate.
// Cross-file context goes right after BOS, before <[fim-suffix]>: the part of the prompt that
// changes least while the user types, so the prompt cache keeps it.
void add_context(const ModelView& model, const SourceDocument& doc, size_t cursor, ByteRange window,
                 const ContextInputs& inputs, Plan& plan) {
  plan.context = gather_context(model.tokenizer, inputs, doc, cursor, window);
  if (plan.context.ids.empty()) return;
  auto at = plan.prompt.begin() + (bos_id(model) ? 1 : 0);
  plan.prompt.insert(at, plan.context.ids.begin(), plan.context.ids.end());
}

// The cap on an answer's tokens: the one asked for, but no more than the prompt leaves of the
// model's context, so a large max_new_tokens (or a long prompt) on a small-context model caps
// the answer instead of failing every request. Whole blocks; a prompt that leaves not even one
// block keeps the cap, and decoding says the prompt is too long.
int answer_cap(const ModelView& model, const Plan& plan, int cap) {
  const int64_t context = model.config.max_position_embeddings;
  const int64_t block = std::max<int64_t>(1, model.config.block_size);
  const int64_t room = (context - int64_t(plan.prompt.size())) / block * block;
  return context > 0 && room >= block ? int(std::min<int64_t>(cap, room)) : cap;
}

Plan plan_fim(const ModelView& model, const SourceDocument& doc, ByteRange span, int estimated_tokens, int candidates,
              const InfillSettings& settings, const ContextInputs* context) {
  std::string_view text = doc.text();
  Plan plan;
  plan.span = span;
  FimPrompt prompt = build_fim_prompt(model.tokenizer, text.substr(0, span.begin), text.substr(span.end),
                                      {settings.prefix_tokens, settings.suffix_tokens}, bos_id(model));
  plan.prompt = std::move(prompt.ids);
  if (context) {
    size_t window_begin = size_t(prompt.prefix_window.data() - text.data());
    size_t window_end = span.end + prompt.suffix_window.size();
    add_context(model, doc, span.begin, {window_begin, window_end}, *context, plan);
  }
  MaskPlan mask{estimated_tokens, answer_cap(model, plan, settings.max_new_tokens),
                static_cast<int>(model.config.block_size), settings.threshold, settings.max_ms, settings.entropy_bound};
  for (int index = 0; index < std::max(1, candidates); ++index)
    plan.candidates.push_back(decode_options_for(mask, index, settings.seed));
  plan.postprocess.style = detect_indent_style(text);
  size_t line_begin = line_start(text, span.begin);
  std::string_view line_before = text.substr(line_begin, span.begin - line_begin);
  plan.postprocess.after_indentation = !line_before.empty() && is_blank(line_before);
  return plan;
}

// Drops duplicate texts (keeping the earlier, more likely one) and puts candidates that parse first.
void rank(std::vector<Candidate>& candidates) {
  std::vector<Candidate> unique;
  for (Candidate& candidate : candidates)
    if (std::none_of(unique.begin(), unique.end(), [&](const Candidate& kept) { return kept.text == candidate.text; }))
      unique.push_back(std::move(candidate));
  std::stable_partition(unique.begin(), unique.end(), [](const Candidate& c) { return c.syntax_ok; });
  candidates = std::move(unique);
}

std::optional<std::string> finish_fill(const Tokenizer& tokenizer, const SourceDocument& doc, const Plan& plan,
                                       const DecodeResult& result) {
  PostprocessContext context = plan.postprocess;
  context.suffix = std::string_view(doc.text()).substr(plan.span.end);
  std::optional<std::string> fill = postprocess_candidate(text_before_special_tokens(tokenizer, result.tokens), context);
  if (fill && plan.ends_with_newline && !fill->empty() && fill->back() != '\n') fill->push_back('\n');
  return fill;
}

std::optional<std::string> finish_edit(const Tokenizer& tokenizer, const SourceDocument& doc, const Plan& plan,
                                       const DecodeResult& result) {
  std::string_view code = std::string_view(doc.text()).substr(plan.span.begin, plan.span.size());
  std::string rewritten =
      shift_lines(extract_code_block(text_before_special_tokens(tokenizer, result.tokens)), "", plan.edit_indent);
  if (code.ends_with('\n') && !rewritten.ends_with('\n')) rewritten += '\n';
  if (is_blank(rewritten)) return std::nullopt;
  return rewritten;
}

// A one-line fill keeps only its first line (first_line_only), so decoding stops at the first
// line break: committed tokens are final, so the kept text is the same, minus the forwards that
// would have written lines nobody sees.
void keep_first_line(Plan& plan) {
  plan.postprocess.single_line = true;
  for (DecodeOptions& options : plan.candidates) options.stop = {"\n"};
}

const char* mode_name(PlanMode mode) {
  switch (mode) {
    case PlanMode::Inline: return "inline";
    case PlanMode::Fill: return "fill";
    case PlanMode::Edit: return "edit";
    case PlanMode::NextEdit: return "next_edit";
  }
  return "?";
}

}  // namespace

Plan plan_inline(const ModelView& model, const SourceDocument& doc, size_t cursor, Trigger trigger,
                 const InfillSettings& settings, const ContextInputs* context) {
  InlineSpan span = find_inline_span(doc, cursor, trigger == Trigger::Invoked);
  if (!span.declined_reason.empty()) {
    Plan plan;
    plan.declined_reason = span.declined_reason;
    plan.rule = span.rule;
    plan.span = {cursor, cursor};
    return plan;
  }
  int candidates = trigger == Trigger::Invoked ? std::max(1, settings.candidates_invoked) : 1;
  Plan plan = plan_fim(model, doc, {cursor, cursor}, span.estimated_tokens, candidates, settings, context);
  plan.mode = PlanMode::Inline;
  plan.rule = span.rule;
  if (span.shape == SpanShape::RestOfLine) keep_first_line(plan);
  plan.postprocess.min_indent = min_indent_at(doc.text(), cursor, plan.postprocess.style);
  return plan;
}

Plan plan_fill(const ModelView& model, const SourceDocument& doc, ByteRange selection, const InfillSettings& settings,
               const ContextInputs* context) {
  std::string_view text = doc.text();
  ByteRange span = snap_to_token_boundaries(model.tokenizer, text, selection);
  std::string_view selected = text.substr(span.begin, span.size());
  // A diffusion model's natural fit: the selection's own length sizes the mask.
  int estimated = std::max<int>(4, static_cast<int>(model.tokenizer.encode(selected).size()));
  Plan plan = plan_fim(model, doc, span, estimated, std::max(1, settings.candidates_invoked), settings, context);
  plan.mode = PlanMode::Fill;
  plan.rule = "selection";
  if (selected.find('\n') == std::string_view::npos) keep_first_line(plan);
  plan.ends_with_newline = selected.ends_with('\n');
  plan.postprocess.min_indent = std::string(leading_whitespace(text.substr(line_start(text, span.begin))));
  return plan;
}

Plan plan_edit(const ModelView& model, const SourceDocument& doc, ByteRange selection, const std::string& instruction,
               const InfillSettings& settings, const ContextInputs* context) {
  if (trim(instruction).empty()) throw std::invalid_argument("the edit instruction is empty");
  Plan plan;
  plan.mode = PlanMode::Edit;
  std::optional<ByteRange> found = find_edit_span(doc, selection);
  if (!found) {
    plan.declined_reason = "no statement, function or class at the cursor; select the code to edit";
    plan.span = selection;
    return plan;
  }
  std::string_view text = doc.text();
  ByteRange span = *found;
  // Rewrite whole lines when only indentation precedes the span, so indentation is handled once.
  size_t start = line_start(text, span.begin);
  if (is_blank(text.substr(start, span.begin - start))) span.begin = start;
  std::string_view code = text.substr(span.begin, span.size());
  plan.span = span;
  plan.rule = selection.empty() ? "enclosing scope" : "selection";
  plan.edit_indent = common_indent(code);
  EditPrompt prompt =
      build_edit_prompt(model.tokenizer, model.tokenizer_config, shift_lines(code, plan.edit_indent, ""), instruction);
  plan.prompt = std::move(prompt.ids);
  if (context) add_context(model, doc, span.begin, span, *context, plan);
  MaskPlan mask{prompt.code_tokens + prompt.code_tokens / 4 + 16,
                answer_cap(model, plan, std::max(settings.max_edit_tokens, 16)),
                static_cast<int>(model.config.block_size), settings.threshold, settings.max_ms,
                settings.entropy_bound};
  plan.candidates.push_back(decode_options_for(mask, 0, settings.seed));
  return plan;
}

CompletionOutcome execute_plan(Engine& engine, const SourceDocument& doc, const Plan& plan, const CancelCheck& cancel) {
  CompletionOutcome outcome;
  if (!plan.declined_reason.empty()) {
    outcome.declined_reason = plan.declined_reason;
    return outcome;
  }
  if (cancel && cancel()) {
    outcome.cancelled = true;
    return outcome;
  }
  if (plan.mode == PlanMode::NextEdit) return plan_steps::execute_next_edit(engine, doc, plan, cancel);
  std::vector<SequenceRequest> requests;
  for (const DecodeOptions& options : plan.candidates) requests.push_back({plan.prompt, options});
  std::vector<DecodeResult> results = generate_together(engine, requests, cancel);
  for (const DecodeResult& result : results) {
    if (result.stop == StopReason::Cancelled) {
      outcome.cancelled = true;
      outcome.candidates.clear();
      return outcome;
    }
    std::optional<std::string> text = plan.mode == PlanMode::Edit ? finish_edit(engine.tokenizer(), doc, plan, result)
                                                                   : finish_fill(engine.tokenizer(), doc, plan, result);
    if (text) outcome.candidates.push_back(make_candidate(doc, plan.span, std::move(*text), result.stats));
  }
  rank(outcome.candidates);
  return outcome;
}

std::string describe_plan(const Plan& plan, const Tokenizer& tokenizer) {
  std::ostringstream out;
  out << "mode: " << mode_name(plan.mode) << "\n";
  if (!plan.declined_reason.empty()) out << "declined: " << plan.declined_reason << "\n";
  out << "rule: " << plan.rule << "\n";
  out << "span: " << plan.span.begin << "-" << plan.span.end << "\n";
  out << "prompt tokens: " << plan.prompt.size() << "\n";
  for (const ContextSnippet& snippet : plan.context.snippets)
    out << "context: " << context_source_name(snippet.source) << " " << snippet.path << ":" << snippet.first_line + 1
        << "-" << snippet.last_line + 1 << " (" << snippet.tokens << " tokens)\n";
  if (!plan.prompt.empty()) out << "prompt: " << tokenizer.decode(plan.prompt, /*skip_special_tokens=*/false) << "\n";
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    const DecodeOptions& o = plan.candidates[i];
    out << "candidate " << i << ": gen_length " << o.gen_length << ", extend_max " << o.extend_max << ", threshold "
        << (o.threshold ? std::to_string(*o.threshold) : std::string("none")) << ", temperature " << o.temperature
        << ", seed " << o.seed << (o.stop.empty() ? "" : ", stops at line end") << "\n";
  }
  if (plan.mode == PlanMode::NextEdit) {
    out << "next edit: " << next_edit_kind_name(plan.next_edit.kind) << " `" << plan.next_edit.old_name << "` -> `"
        << plan.next_edit.new_name << "`, min confidence " << plan.min_confidence << "\n";
    for (const PlanSite& site : plan.sites)
      out << "site " << site.span.begin << "-" << site.span.end << " (" << site.reason << "): prompt "
          << site.prompt.size() << " tokens, gen_length " << site.options.gen_length << "\n";
    return out.str();
  }
  if (plan.mode != PlanMode::Edit) {
    out << "postprocess: single_line " << plan.postprocess.single_line << ", after_indentation "
        << plan.postprocess.after_indentation << ", min_indent '" << plan.postprocess.min_indent << "', ends_with_newline "
        << plan.ends_with_newline << "\n";
  } else {
    out << "edit indent: '" << plan.edit_indent << "'\n";
  }
  return out.str();
}

}  // namespace maskfill
