#include "infill/completer.h"

#include <algorithm>
#include <stdexcept>

#include "inference/model_files.h"
#include "inference/tokenizer.h"
#include "infill/mask_length.h"
#include "infill/postprocess.h"
#include "infill/prompt_builder.h"
#include "infill/span_finder.h"
#include "infill/syntax_check.h"
#include "infill/text_lines.h"

namespace maskfill {
namespace {

// One fill-in-the-middle job: replace `span` with a fill of about `estimated_tokens`.
struct FimJob {
  ByteRange span;
  int estimated_tokens = 16;
  int candidates = 1;
  bool single_line = false;
  bool ends_with_newline = false;  // a selection of whole lines: the fill must end a line too
  std::string min_indent;
};

std::string indent_unit(const IndentStyle& style) { return style.tabs ? "\t" : std::string(style.width, ' '); }

std::optional<int32_t> bos_id(const Engine& engine) {
  const TokenizerConfig& config = engine.tokenizer_config();
  if (!config.add_bos_token) return std::nullopt;
  return engine.config().bos_token_id;
}

Candidate make_candidate(const SourceDocument& doc, ByteRange span, std::string text, const DecodeStats& stats) {
  Candidate candidate;
  std::string_view old_text = std::string_view(doc.text()).substr(span.begin, span.end - span.begin);
  candidate.replacement = {span.begin, span.end, text};
  candidate.edits = minimal_edits(old_text, text, span.begin);
  candidate.syntax_ok = check_replacement(doc, span, text).ok();
  candidate.stats = stats;
  candidate.text = std::move(text);
  return candidate;
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

CompletionOutcome run_fim(Engine& engine, const InfillSettings& settings, const SourceDocument& doc, const FimJob& job,
                          const CancelCheck& cancel) {
  const Tokenizer& tokenizer = engine.tokenizer();
  std::string_view text = doc.text();
  FimPrompt prompt = build_fim_prompt(tokenizer, text.substr(0, job.span.begin), text.substr(job.span.end),
                                      {settings.prefix_tokens, settings.suffix_tokens}, bos_id(engine));
  MaskPlan plan{job.estimated_tokens, settings.max_new_tokens, static_cast<int>(engine.config().block_size),
                settings.threshold, settings.max_ms};
  PostprocessContext context{text.substr(job.span.end), job.single_line, detect_indent_style(text), job.min_indent};
  std::string_view line_before = text.substr(line_start(text, job.span.begin), job.span.begin - line_start(text, job.span.begin));
  context.after_indentation = !line_before.empty() && is_blank(line_before);
  CompletionOutcome outcome;
  for (int index = 0; index < job.candidates; ++index) {
    if (cancel && cancel()) {
      outcome.cancelled = true;
      return outcome;
    }
    DecodeResult result = engine.generate(prompt.ids, decode_options_for(plan, index, settings.seed), cancel);
    if (result.stop == StopReason::Cancelled) {
      outcome.cancelled = true;
      return outcome;
    }
    std::optional<std::string> fill = postprocess_candidate(text_before_special_tokens(tokenizer, result.tokens), context);
    if (fill && job.ends_with_newline && !fill->empty() && fill->back() != '\n') fill->push_back('\n');
    if (fill) outcome.candidates.push_back(make_candidate(doc, job.span, std::move(*fill), result.stats));
  }
  rank(outcome.candidates);
  return outcome;
}

// The indentation lines after a completion's first line must keep, per the cursor's line.
std::string min_indent_at(std::string_view text, size_t offset, const IndentStyle& style) {
  size_t start = line_start(text, offset);
  std::string_view before = text.substr(start, offset - start);
  std::string indent(leading_whitespace(before));
  std::string_view stripped = trim(before);
  if (!stripped.empty() && (stripped.back() == ':' || stripped.back() == '{')) indent += indent_unit(style);
  return indent;
}

std::string common_indent(std::string_view code) {
  std::optional<std::string_view> common;
  for (std::string_view line : split_lines(code)) {
    if (is_blank(line)) continue;
    std::string_view indent = leading_whitespace(line);
    if (!common) {
      common = indent;
      continue;
    }
    size_t n = 0;
    while (n < common->size() && n < indent.size() && (*common)[n] == indent[n]) ++n;
    common = common->substr(0, n);
  }
  return std::string(common.value_or(""));
}

std::string shift_lines(std::string_view code, std::string_view remove, std::string_view add) {
  std::vector<std::string> out;
  for (std::string_view line : split_lines(code)) {
    if (is_blank(line)) {
      out.emplace_back();
      continue;
    }
    if (line.starts_with(remove)) line.remove_prefix(remove.size());
    out.push_back(std::string(add) + std::string(line));
  }
  return join_lines(out);
}

}  // namespace

Completer::Completer(Engine& engine, InfillSettings settings) : engine_(engine), settings_(std::move(settings)) {}

CompletionOutcome Completer::complete(const SourceDocument& snapshot, size_t cursor, Trigger trigger,
                                      const CancelCheck& cancel) const {
  InlineSpan span = find_inline_span(snapshot, cursor, trigger == Trigger::Invoked);
  if (!span.declined_reason.empty()) return {{}, span.declined_reason, false};
  FimJob job;
  job.span = {cursor, cursor};
  job.estimated_tokens = span.estimated_tokens;
  job.candidates = trigger == Trigger::Invoked ? std::max(1, settings_.candidates_invoked) : 1;
  job.single_line = span.shape == SpanShape::RestOfLine;
  job.min_indent = min_indent_at(snapshot.text(), cursor, detect_indent_style(snapshot.text()));
  return run_fim(engine_, settings_, snapshot, job, cancel);
}

CompletionOutcome Completer::fill(const SourceDocument& snapshot, size_t begin, size_t end,
                                  const CancelCheck& cancel) const {
  FimJob job;
  job.span = snap_to_token_boundaries(engine_.tokenizer(), snapshot.text(), {begin, end});
  std::string_view selected = std::string_view(snapshot.text()).substr(job.span.begin, job.span.end - job.span.begin);
  // A diffusion model's natural fit: the selection's own length sizes the mask.
  job.estimated_tokens = std::max<int>(4, static_cast<int>(engine_.tokenizer().encode(selected).size()));
  job.candidates = std::max(1, settings_.candidates_invoked);
  job.single_line = selected.find('\n') == std::string_view::npos;
  job.ends_with_newline = selected.ends_with('\n');
  job.min_indent = std::string(leading_whitespace(
      std::string_view(snapshot.text()).substr(line_start(snapshot.text(), job.span.begin))));
  return run_fim(engine_, settings_, snapshot, job, cancel);
}

CompletionOutcome Completer::edit(const SourceDocument& snapshot, size_t begin, size_t end,
                                  const std::string& instruction, const CancelCheck& cancel) const {
  if (trim(instruction).empty()) throw std::invalid_argument("the edit instruction is empty");
  std::optional<ByteRange> found = find_edit_span(snapshot, {begin, end});
  if (!found) return {{}, "no statement, function or class at the cursor; select the code to edit", false};
  std::string_view text = snapshot.text();
  ByteRange span = *found;
  // Rewrite whole lines when only indentation precedes the span, so indentation is handled once.
  size_t start = line_start(text, span.begin);
  if (is_blank(text.substr(start, span.begin - start))) span.begin = start;
  std::string_view code = text.substr(span.begin, span.end - span.begin);
  std::string indent = common_indent(code);
  EditPrompt prompt =
      build_edit_prompt(engine_.tokenizer(), engine_.tokenizer_config(), shift_lines(code, indent, ""), instruction);
  MaskPlan plan{prompt.code_tokens + prompt.code_tokens / 4 + 16, std::max(settings_.max_edit_tokens, 16),
                static_cast<int>(engine_.config().block_size), settings_.threshold, settings_.max_ms};
  CompletionOutcome outcome;
  if (cancel && cancel()) return {{}, "", true};
  DecodeResult result = engine_.generate(prompt.ids, decode_options_for(plan, 0, settings_.seed), cancel);
  if (result.stop == StopReason::Cancelled) return {{}, "", true};
  std::string rewritten = shift_lines(extract_code_block(text_before_special_tokens(engine_.tokenizer(), result.tokens)),
                                      "", indent);
  if (code.ends_with('\n') && !rewritten.ends_with('\n')) rewritten += '\n';
  if (is_blank(rewritten)) return outcome;
  outcome.candidates.push_back(make_candidate(snapshot, span, std::move(rewritten), result.stats));
  return outcome;
}

}  // namespace maskfill
