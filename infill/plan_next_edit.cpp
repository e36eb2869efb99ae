// Next-edit suggestions (issue #24): after an edit, the sites it implies come from the syntax
// tree (infill/next_edit_sites.h), and each site gets a sequence of its own, after a header of
// the recent diffs and the changed definition that all of them share; all of them decode
// as one batch. The model writes only the site's tokens: MaskedSpans masks exactly the site in an
// SPM prompt, Instruction asks for the site's lines rewritten and keeps the answer only when the
// text around the site came back unchanged. Either way nothing outside a site can change, and a
// site's answer is shown only when the model was confident of every token, did not write back
// the name the user just replaced, and the code still parses.
#include <algorithm>
#include <cctype>
#include <functional>

#include "inference/tokenizer.h"
#include "infill/definitions.h"
#include "infill/mask_length.h"
#include "infill/plan.h"
#include "infill/plan_steps.h"
#include "infill/prompt_builder.h"
#include "infill/prompt_context.h"
#include "infill/text_lines.h"

namespace maskfill {
namespace {

using plan_steps::bos_id;

constexpr int kHeaderTokens = 384;       // the diff history before every site
constexpr int kEditsInHeader = 4;        // newest entries first, while they fit
constexpr int kAddedArgumentTokens = 6;  // a new argument's tokens, when estimating a site's mask
constexpr int kSlackBlocks = 2;          // extension allowed past a site's estimate
constexpr int kDefinitionLines = 24;     // the changed definition after the diffs: its head,
constexpr int kDefinitionTokens = 256;   // fewer lines while it is longer than this
constexpr int kMaxSiteTokens = 256;      // a site is a small span (a name, a call, a line); a call
                                         // spanning a whole table is left to the user

std::shared_ptr<const SourceDocument> open_document(const std::vector<OpenDocument>& open_documents,
                                                    const std::string& path) {
  for (const OpenDocument& open : open_documents)
    if (open.path == path) return open.doc;
  return nullptr;
}

const EditEntry* newest_edit_of(const std::vector<EditEntry>& history, const std::string& path) {
  for (auto it = history.rbegin(); it != history.rend(); ++it)
    if (it->path == path) return it->whole ? &*it : nullptr;
  return nullptr;
}

// The recent edits as unified diffs under a comment naming the file, oldest first, the newest
// always included: what the user is doing, before every site's own text.
std::string render_edit_header(const Tokenizer& tokenizer, const std::vector<EditEntry>& history,
                               const LanguageInfo* language, const std::string& display_root) {
  std::vector<std::string> parts;  // newest first
  int tokens = 0;
  for (auto it = history.rbegin(); it != history.rend() && int(parts.size()) < kEditsInHeader; ++it) {
    if (it->diff.empty()) continue;
    std::string part =
        std::string(line_comment(language)) + " Edited " + display_path(it->path, display_root) + ":\n" + it->diff;
    if (!part.ends_with('\n')) part += '\n';
    part += '\n';
    int cost = static_cast<int>(tokenizer.encode(part).size());
    if (parts.empty() && cost > kHeaderTokens) {
      // The newest edit on lines too long to show (a generated table): what it replaced by what,
      // without the lines around it; nothing if even that is too long.
      part = std::string(line_comment(language)) + " Edited " + display_path(it->path, display_root) + " line " +
             std::to_string(it->first_line + 1) + ":\n-" + it->removed + "\n+" + it->inserted + "\n\n";
      cost = static_cast<int>(tokenizer.encode(part).size());
      if (cost > kHeaderTokens) break;
    }
    if (!parts.empty() && tokens + cost > kHeaderTokens) break;
    tokens += cost;
    parts.push_back(std::move(part));
  }
  std::string header;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) header += *it;
  return header;
}

// The definition the edit changed, as it reads now, under a comment naming it: with the diffs,
// the edit evidence before every site (../shared/reference/next-edit.md, section 3; Zeta 2 adds
// symbol definitions to its prompt). The diff shows three lines around the change; this shows
// what the function is called and takes, or the whole of a short one. The innermost definition
// of more than one line that holds the change (a local's own line says less than its function),
// else the innermost one; at most its head.
std::string render_changed_definition(const Tokenizer& tokenizer, const SourceDocument& doc, const EditEntry& edit,
                                      const std::string& path, const std::string& display_root) {
  std::string_view text = doc.text();
  const Definition* innermost = nullptr;
  const Definition* multiline = nullptr;
  std::vector<Definition> definitions = find_definitions_around(doc, edit.begin, edit.end);
  auto smaller = [](const Definition& a, const Definition* b) { return !b || a.end - a.begin < b->end - b->begin; };
  for (const Definition& definition : definitions) {
    if (definition.begin > edit.begin || edit.end > definition.end || definition.end > text.size()) continue;
    if (smaller(definition, innermost)) innermost = &definition;
    bool lines = text.substr(definition.begin, definition.end - definition.begin).find('\n') != std::string_view::npos;
    if (lines && smaller(definition, multiline)) multiline = &definition;
  }
  const Definition* changed = multiline ? multiline : innermost;
  if (!changed) return "";
  const std::string title = std::string(line_comment(doc.language())) + " `" + changed->name + "` in " +
                            display_path(path, display_root) + " now reads:\n";
  for (int lines = kDefinitionLines; lines > 0; lines /= 2) {
    std::string part = title + definition_head(text, *changed, lines, size_t(kDefinitionTokens) * 8) + "\n";
    if (int(tokenizer.encode(part).size()) <= kDefinitionTokens) return part;
  }
  return "";  // even its first line is too long (a generated table): the diff has to do
}

// Whether a site is small enough to rewrite: checked before its prompt is made, which in the
// Instruction form holds its whole lines.
bool small_site(const ModelView& model, const SourceDocument& doc, ByteRange span) {
  std::string_view text = std::string_view(doc.text()).substr(span.begin, span.size());
  return text.size() <= size_t(kMaxSiteTokens) * 16 && int(model.tokenizer.encode(text).size()) <= kMaxSiteTokens;
}

// The instruction form rewrites a site's whole lines, so sites that share a line become one,
// spanning from the first to the last: two prompts over the same line would each get the line
// back with every use renamed, and neither answer could leave the other site as it was. The
// merged site takes the place of its nearest part.
std::vector<NextEditSite> merge_sites_sharing_lines(std::vector<NextEditSite> sites,
                                                    const std::function<std::string_view(const NextEditSite&)>& text_of) {
  auto lines = [&](const NextEditSite& site) {
    std::string_view text = text_of(site);
    return ByteRange{line_start(text, site.span.begin), line_end(text, site.span.end)};
  };
  for (size_t i = 0; i < sites.size(); ++i)
    for (size_t j = i + 1; j < sites.size(); ++j) {
      ByteRange a = lines(sites[i]), b = lines(sites[j]);
      if (sites[j].path != sites[i].path || a.end < b.begin || b.end < a.begin) continue;
      sites[i].span = {std::min(sites[i].span.begin, sites[j].span.begin), std::max(sites[i].span.end, sites[j].span.end)};
      sites.erase(sites.begin() + static_cast<std::ptrdiff_t>(j));
      j = i;  // the grown site may now share a line with one passed over
    }
  return sites;
}

// Whether a site's prompt and answer fit the model's context (its lines may be long).
bool fits_the_context(const ModelView& model, const PlanSite& site) {
  const int64_t context = model.config.max_position_embeddings;
  return context <= 0 || int64_t(site.prompt.size()) + site.options.gen_length + site.options.extend_max <= context;
}

bool exact_site_tokens(const NextEdit& edit) {
  return edit.kind == NextEditKind::Rename || edit.kind == NextEditKind::Literal;
}

// Masked tokens for a site: a rename writes the new name, a changed literal the new literal; a
// call after a parameter change writes its argument list with room for the added arguments; a
// call repeating a changed call grows as much as the edited call did; a use after a type or
// return shape change is rewritten at about its length (the slack blocks give room).
int estimated_site_tokens(const ModelView& model, const NextEdit& edit, std::string_view old_text) {
  int old_tokens = static_cast<int>(model.tokenizer.encode(old_text).size());
  if (edit.kind == NextEditKind::Rename || edit.kind == NextEditKind::Literal)
    return static_cast<int>(model.tokenizer.encode(edit.new_name).size());
  if (edit.kind == NextEditKind::CallPattern) {
    int grown = static_cast<int>(model.tokenizer.encode(edit.new_name).size()) -
                static_cast<int>(model.tokenizer.encode(edit.old_name).size());
    return old_tokens + std::max(0, grown);
  }
  return old_tokens + std::max(0, edit.new_parameters - edit.old_parameters) * kAddedArgumentTokens;
}

// Masked tokens for the part of a site that must change: the callee's new words, or the
// arguments the edited call appended (a new parameter's argument: about kAddedArgumentTokens).
int estimated_part_tokens(const ModelView& model, const NextEdit& edit) {
  if (edit.kind == NextEditKind::CallPattern) return static_cast<int>(model.tokenizer.encode(edit.part_text).size());
  return std::max(1, edit.new_parameters - edit.old_parameters) * kAddedArgumentTokens;
}

std::string site_instruction(const NextEdit& edit) {
  if (edit.kind == NextEditKind::Rename)
    return "Rename `" + edit.old_name + "` to `" + edit.new_name + "` in this code, as the edit above did. "
           "Change nothing else.";
  if (edit.kind == NextEditKind::Literal)
    return "The edit above changed `" + edit.old_name + "` to `" + edit.new_name + "`. Make the same change here. "
           "Change nothing else.";
  if (edit.kind == NextEditKind::ReturnType || edit.kind == NextEditKind::ReturnShape)
    return "The function `" + edit.function + "` now returns `" + edit.new_name + "` instead of `" + edit.old_name +
           "`, as the edit above shows. Update this use of its result to match. Change nothing else.";
  if (edit.kind == NextEditKind::CallPattern)
    return "The edit above changed the call `" + edit.old_name + "` to `" + edit.new_name +
           "`. Make the same change to this call of `" + edit.function + "`. Change nothing else.";
  if (edit.kind == NextEditKind::ParameterType)
    return "The parameter `" + edit.parameter + "` of `" + edit.function + "` now has the type `" + edit.new_name +
           "` instead of `" + edit.old_name + "`, as the edit above shows. Update the argument passed for it "
           "here to match. Change nothing else.";
  return "The function `" + edit.new_name + "` now takes " + std::to_string(edit.new_parameters) +
         " parameters instead of " + std::to_string(edit.old_parameters) +
         ", as the edit above shows. Update this call to match. Change nothing else.";
}

std::vector<int32_t> with_header(const ModelView& model, std::vector<int32_t> prompt,
                                 const std::vector<int32_t>& header) {
  prompt.insert(prompt.begin() + (bos_id(model) ? 1 : 0), header.begin(), header.end());
  return prompt;
}

// A rename's site takes one name: the answer ends at the first character that no name holds
// (punctuation the new name itself lacks), as a one-line site's ends at its line. The model that
// goes on past the name writes nothing the site can use, and the batch need not wait for it.
std::vector<std::string> name_stops(std::string_view new_name) {
  std::vector<std::string> stops{"\n"};
  for (char c : std::string_view("()[]{}<>,;:.=+-*/%!?&|^~\"'`@#\\"))
    if (new_name.find(c) == std::string_view::npos) stops.emplace_back(1, c);
  return stops;
}

// True when `text` is one name: no blanks, and no punctuation the new name lacks.
bool is_one_name(std::string_view text, std::string_view new_name) {
  if (text.empty()) return false;
  for (char c : text) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '_' || c == '$' || byte >= 0x80) continue;
    if (std::isspace(byte) || new_name.find(c) == std::string_view::npos) return false;
  }
  return true;
}

// Whether the model writes only part of the site (NextEditSite::part): the rest stays in view.
bool writes_part(const NextEditSite& found) {
  return found.part.begin >= found.span.begin && found.part.end <= found.span.end &&
         (found.part.begin != found.span.begin || found.part.end != found.span.end);
}

// A site whose answer is one name: a rename's use of the old name, a callee's changed words.
bool takes_one_name(const NextEdit& edit, std::string_view old_text, bool part) {
  return (edit.kind == NextEditKind::Rename && old_text == edit.old_name) || (part && edit.part == SitePart::CalleeWords);
}

// The site's masked tokens and its window. Only the part of the site that must change is masked
// (the whole site unless the edit narrows it): the call's arguments, the arguments a call
// passes already, stay in view and need not be written again.
PlanSite masked_site(const ModelView& model, const SourceDocument& doc, const NextEditSite& found,
                     const NextEdit& edit, const std::vector<int32_t>& header, const InfillSettings& settings) {
  std::string_view text = doc.text();
  PlanSite site;
  site.span = found.span;
  const bool part = writes_part(found);
  site.rewritten = part ? found.part : found.span;
  site.reason = found.reason;
  // What the model needs to work out the answer is in the header (the new name or literal, the
  // edited call) or in the site itself when only part of it is masked: the narrow window.
  const bool exact = exact_site_tokens(edit) || (part && edit.part == SitePart::CalleeWords);
  const PromptBudget window = exact || part
                                  ? PromptBudget{settings.next_edit_exact_prefix_tokens, settings.next_edit_exact_suffix_tokens}
                                  : PromptBudget{settings.next_edit_prefix_tokens, settings.next_edit_suffix_tokens};
  FimPrompt prompt = build_fim_prompt(model.tokenizer, text.substr(0, site.rewritten.begin),
                                      text.substr(site.rewritten.end), window, bos_id(model));
  site.prompt = with_header(model, std::move(prompt.ids), header);
  std::string_view old_text = text.substr(found.span.begin, found.span.size());
  // A site's answer is about as long as the estimate says (a name, an argument list): room for
  // two blocks more, no further. One rambling site would otherwise hold the whole batch.
  const int block = static_cast<int>(model.config.block_size);
  const int estimated = part ? estimated_part_tokens(model, edit) : estimated_site_tokens(model, edit, old_text);
  // A rename, a changed literal or a callee's words are text known to the token (the new name,
  // literal or callee): no slack, since a longer answer is wrong whatever it says, and the batch
  // waits for its longest site.
  const int slack = exact ? 0 : kSlackBlocks;
  // A site is an edit, capped as edits are: a call spanning a few lines (up to kMaxSiteTokens)
  // needs more than an inline completion's 64 tokens, or its right answer could never fit.
  MaskPlan mask{estimated, std::min(settings.max_edit_tokens, round_up_to_block(estimated, block) + slack * block),
                block, settings.threshold, settings.max_ms, settings.entropy_bound};
  site.options = decode_options_for(mask, 0, settings.seed);
  if (takes_one_name(edit, old_text, part)) site.options.stop = name_stops(part ? edit.part_text : edit.new_name);
  else if (part || old_text.find('\n') == std::string_view::npos) site.options.stop = {"\n"};
  return site;
}

PlanSite instruction_site(const ModelView& model, const SourceDocument& doc, const NextEditSite& found,
                          const NextEdit& edit, const std::vector<int32_t>& header,
                          const InfillSettings& settings) {
  std::string_view text = doc.text();
  PlanSite site;
  site.span = found.span;
  site.reason = found.reason;
  size_t end = line_end(text, found.span.end);
  site.rewritten = {line_start(text, found.span.begin), end < text.size() ? end + 1 : end};
  std::string_view code = text.substr(site.rewritten.begin, site.rewritten.size());
  site.edit_indent = common_indent(code);
  EditPrompt prompt = build_edit_prompt(model.tokenizer, model.tokenizer_config,
                                        shift_lines(code, site.edit_indent, ""), site_instruction(edit));
  site.prompt = with_header(model, std::move(prompt.ids), header);
  // The site's lines rewritten are about as long as they are now.
  const int block = static_cast<int>(model.config.block_size);
  const int estimated = prompt.code_tokens + prompt.code_tokens / 4 + 8;
  MaskPlan mask{estimated, std::min(settings.max_edit_tokens, round_up_to_block(estimated, block) + kSlackBlocks * block),
                block, settings.threshold, settings.max_ms, settings.entropy_bound};
  site.options = decode_options_for(mask, 0, settings.seed);
  return site;
}

// The site's new text from a MaskedSpans answer (the first line for a one-line site), with the
// part of the site that was not masked around it as it reads.
std::optional<std::string> masked_answer(const Tokenizer& tokenizer, const SourceDocument& doc, const PlanSite& site,
                                         const DecodeResult& result) {
  std::string_view text = doc.text();
  PostprocessContext context;
  context.style = detect_indent_style(text);
  // A site keeps the indentation of its own lines: a tab-indented call in a file indented with
  // spaces is not rewritten with spaces. The document decides where its lines have none.
  std::string_view old_text = text.substr(site.span.begin, site.span.size());
  if (old_text.find("\n\t") != std::string_view::npos || old_text.find("\n ") != std::string_view::npos)
    context.style.tabs = detect_indent_style(old_text).tabs;
  context.suffix = text.substr(site.rewritten.end);
  context.single_line = !site.options.stop.empty();
  // A stop string ended the answer: its text is cut before it (the tokens may run past it).
  std::optional<std::string> written = postprocess_candidate(
      result.stop == StopReason::StopString ? result.text : text_before_special_tokens(tokenizer, result.tokens), context);
  if (!written) return std::nullopt;
  return std::string(text.substr(site.span.begin, site.rewritten.begin - site.span.begin)) + *written +
         std::string(text.substr(site.rewritten.end, site.span.end - site.rewritten.end));
}

// The site's new text from an Instruction answer: the rewritten lines must keep every byte
// around the site, or the answer is not used (it would change text outside the site).
std::optional<std::string> instruction_answer(const Tokenizer& tokenizer, const SourceDocument& doc,
                                              const PlanSite& site, const DecodeResult& result) {
  std::string_view text = doc.text();
  std::string_view code = text.substr(site.rewritten.begin, site.rewritten.size());
  std::string rewritten = shift_lines(
      extract_code_block(text_before_special_tokens(tokenizer, result.tokens)), "", site.edit_indent);
  // The chat template trims the message, so the model never sees the blanks that end the lines
  // (a tab left after a statement): they are put back as they were, not asked of it.
  auto without_tail = [](std::string_view lines) { return lines.substr(0, lines.find_last_not_of(" \t\r\n") + 1); };
  rewritten = std::string(without_tail(rewritten)) + std::string(code.substr(without_tail(code).size()));
  std::string_view before = text.substr(site.rewritten.begin, site.span.begin - site.rewritten.begin);
  std::string_view after = text.substr(site.span.end, site.rewritten.end - site.span.end);
  if (rewritten.size() < before.size() + after.size() || !rewritten.starts_with(before) || !rewritten.ends_with(after))
    return std::nullopt;
  return rewritten.substr(before.size(), rewritten.size() - before.size() - after.size());
}

bool has_word(std::string_view text, std::string_view word) {
  auto part_of_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  for (size_t at = text.find(word); !word.empty() && at != std::string_view::npos; at = text.find(word, at + 1)) {
    size_t end = at + word.size();
    if ((at == 0 || !part_of_word(text[at - 1])) && (end == text.size() || !part_of_word(text[end]))) return true;
  }
  return false;
}

std::string low_confidence(const Candidate& candidate) {
  return "low confidence (" + std::to_string(candidate.stats.min_confidence) + ")";
}

// Why a site's answer is held back ("" = shown). The syntax check, which reparses the document,
// runs last: most answers a weak model writes are held back for their confidence already.
std::string gate(const Plan& plan, const SourceDocument& doc, const PlanSite& site, Candidate& candidate) {
  std::string_view old_text = std::string_view(doc.text()).substr(site.span.begin, site.span.size());
  // First: at a rename's site the old name is also "no change", but it is the reversal to count.
  if (plan.next_edit.kind == NextEditKind::Rename && has_word(candidate.text, plan.next_edit.old_name))
    return "writes back `" + plan.next_edit.old_name + "`, the name the user replaced";
  if (candidate.text == old_text) return "no change";
  if (candidate.stats.min_confidence < plan.min_confidence) return low_confidence(candidate);
  // A site that is one use of the old name, or a callee's words, takes one name (name_stops).
  const bool part = plan.next_edit_form == NextEditForm::MaskedSpans &&
                    (site.rewritten.begin != site.span.begin || site.rewritten.end != site.span.end);
  if (takes_one_name(plan.next_edit, old_text, part)) {
    // The written part: the candidate without the site's kept bytes around it.
    const size_t kept = part ? site.span.size() - site.rewritten.size() : 0;
    std::string_view written = candidate.text.size() < kept ? "" : std::string_view(candidate.text).substr(
                                   part ? site.rewritten.begin - site.span.begin : 0, candidate.text.size() - kept);
    if (!is_one_name(written, part ? plan.next_edit.part_text : plan.next_edit.new_name)) return "not a name";
  }
  // A site is a small part of a document the user just left parsing: an answer that breaks it
  // anywhere is held back, not only one whose error lands inside the site.
  plan_steps::check_syntax(doc, candidate);
  if (!candidate.syntax_ok || candidate.breaks_clean_document) return "adds syntax errors";
  return "";
}

}  // namespace

const char* next_edit_form_name(NextEditForm form) {
  return form == NextEditForm::Instruction ? "instruction" : "masked";
}

Plan plan_next_edit(const ModelView& model, const SourceDocument& doc, const std::string& path,
                    const std::vector<EditEntry>& history, const InfillSettings& settings,
                    const std::string& display_root, const std::vector<OpenDocument>& open_documents,
                    const WorkspaceIndex* index) {
  Plan plan;
  plan.mode = PlanMode::NextEdit;
  plan.next_edit_form = settings.next_edit_form;
  plan.rule = next_edit_form_name(settings.next_edit_form);
  plan.min_confidence = settings.next_edit_min_confidence;
  const EditEntry* edit = newest_edit_of(history, path);
  std::optional<std::string> before_text = edit ? text_before(*edit, doc.text()) : std::nullopt;
  if (!before_text) {
    plan.declined_reason = "no recent edit of this document to follow";
    return plan;
  }
  SourceDocument before(std::move(*before_text), doc.language());
  NextEditLimits limits;
  limits.max_sites = static_cast<size_t>(std::max(1, settings.next_edit_max_sites));
  plan.next_edit = find_next_edit_sites(before, doc, path, open_documents, limits, index);
  if (plan.next_edit.sites.empty()) {
    plan.declined_reason = "the last edit implies no other change";
    return plan;
  }
  plan.edit_header = render_edit_header(model.tokenizer, history, doc.language(), display_root) +
                     render_changed_definition(model.tokenizer, doc, *edit, path, display_root);
  std::vector<int32_t> header = model.tokenizer.encode(plan.edit_header);
  plan.span = plan.next_edit.sites.front().span;
  auto document_of = [&](const NextEditSite& found) {
    return found.doc ? found.doc : found.path == path ? nullptr : open_document(open_documents, found.path);
  };
  std::vector<NextEditSite> found_sites;
  for (const NextEditSite& found : plan.next_edit.sites)
    if (found.path == path || document_of(found)) found_sites.push_back(found);
  if (settings.next_edit_form == NextEditForm::Instruction)
    found_sites = merge_sites_sharing_lines(std::move(found_sites), [&](const NextEditSite& found) {
      std::shared_ptr<const SourceDocument> other = document_of(found);
      return std::string_view(other ? other->text() : doc.text());
    });
  int too_large = 0;
  for (const NextEditSite& found : found_sites) {
    std::shared_ptr<const SourceDocument> other = document_of(found);
    const SourceDocument& site_doc = other ? *other : doc;
    if (!small_site(model, site_doc, found.span)) {
      ++too_large;
      continue;
    }
    PlanSite site = settings.next_edit_form == NextEditForm::Instruction
                        ? instruction_site(model, site_doc, found, plan.next_edit, header, settings)
                        : masked_site(model, site_doc, found, plan.next_edit, header, settings);
    if (!fits_the_context(model, site)) {
      ++too_large;
      continue;
    }
    if (settings.next_edit_stop_when_unsure) site.options.stop_below_confidence = settings.next_edit_min_confidence;
    site.path = found.path;
    site.doc = std::move(other);
    site.on_disk = found.doc != nullptr;
    plan.sites.push_back(std::move(site));
    // `span` covers the sites of the plan's own document.
    if (found.path == path)
      plan.span = {std::min(plan.span.begin, found.span.begin), std::max(plan.span.end, found.span.end)};
  }
  if (plan.sites.empty() && too_large > 0) plan.declined_reason = "every site the edit implies is too long to rewrite";
  return plan;
}

namespace plan_steps {

CompletionOutcome execute_next_edit(Engine& engine, const SourceDocument& doc, const Plan& plan,
                                    const CancelCheck& cancel) {
  CompletionOutcome outcome;
  std::vector<SequenceRequest> requests;
  for (const PlanSite& site : plan.sites) requests.push_back({site.prompt, site.options});
  std::vector<DecodeResult> results = generate_together(engine, requests, cancel);
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].stop == StopReason::Cancelled) {
      outcome = {};
      outcome.cancelled = true;
      return outcome;
    }
    const PlanSite& site = plan.sites[i];
    const SourceDocument& site_doc = site.doc ? *site.doc : doc;
    std::optional<std::string> text = plan.next_edit_form == NextEditForm::Instruction
                                          ? instruction_answer(engine.tokenizer(), site_doc, site, results[i])
                                          : masked_answer(engine.tokenizer(), site_doc, site, results[i]);
    Candidate candidate = plan_steps::unchecked_candidate(site_doc, site.span, text.value_or(""), results[i].stats);
    candidate.site = static_cast<int>(i);
    if (results[i].stop == StopReason::Unsure)  // stopped at its first unsure token: a partial answer
      candidate.withheld = low_confidence(candidate);
    else if (!text)
      candidate.withheld = plan.next_edit_form == NextEditForm::Instruction ? "changes text outside the site"
                                                                             : "nothing usable";
    else
      candidate.withheld = gate(plan, site_doc, site, candidate);
    (candidate.withheld.empty() ? outcome.candidates : outcome.withheld).push_back(std::move(candidate));
  }
  return outcome;
}

}  // namespace plan_steps
}  // namespace maskfill
