#include "training/next_edit_tasks.h"

#include <algorithm>
#include <map>

#include "infill/source_document.h"

namespace maskfill::edit_tasks {

std::string after_text(const Task& task) {
  return task.before.substr(0, task.edit.begin) + task.edit_text + task.before.substr(task.edit.end);
}

ByteRange shifted(const Task& task, ByteRange span) {
  size_t delta_plus = task.edit_text.size(), delta_minus = task.edit.size();
  if (span.begin >= task.edit.begin) return {span.begin + delta_plus - delta_minus, span.end + delta_plus - delta_minus};
  if (span.end >= task.edit.end) return {span.begin, span.end + delta_plus - delta_minus};
  return span;
}

std::vector<ByteRange> identifier_tokens(const SourceDocument& doc, std::string_view name) {
  std::vector<ByteRange> out;
  std::string_view text = doc.text();
  for_each_node(doc, [&](TSNode node) {
    uint32_t begin = ts_node_start_byte(node), end = ts_node_end_byte(node);
    if (ts_node_child_count(node) == 0 && std::string_view(ts_node_type(node)).find("identifier") != std::string_view::npos &&
        text.substr(begin, end - begin) == name)
      out.push_back({begin, end});
  });
  return out;
}

std::vector<const Definition*> unique_definitions(const std::vector<Definition>& definitions) {
  std::map<std::string, int> defined;
  for (const Definition& definition : definitions) ++defined[definition.name];
  std::vector<const Definition*> out;
  for (const Definition& definition : definitions)
    if (definition.name.size() >= kMinNameLength && defined[definition.name] == 1) out.push_back(&definition);
  return out;
}

std::vector<ByteRange>::const_iterator own_token(const std::vector<ByteRange>& tokens, const Definition& definition) {
  return std::find_if(tokens.begin(), tokens.end(),
                      [&](const ByteRange& t) { return t.begin >= definition.begin && t.end <= definition.end; });
}

void rename_tasks(const std::string& path, const SourceDocument& doc, const std::vector<Definition>& definitions,
                  const NewName& new_name, int per_file, std::vector<Task>& out) {
  int made = 0;
  for (const Definition* candidate : unique_definitions(definitions)) {
    const Definition& definition = *candidate;
    if (made == per_file) break;
    std::vector<ByteRange> tokens = identifier_tokens(doc, definition.name);
    auto own = own_token(tokens, definition);
    if (own == tokens.end() || tokens.size() < 2 || tokens.size() > kMaxTruthSites) continue;
    Task task{"rename", doc.language()->name, path, doc.text(), *own, new_name(definition.name), definition.name, {}};
    for (const ByteRange& token : tokens)
      if (token.begin != own->begin) task.truth.push_back({shifted(task, token), task.edit_text});
    out.push_back(std::move(task));
    ++made;
  }
}

Edited apply_user_edit(const Task& task) {
  const LanguageInfo* language = find_language_by_name(task.language);
  Edited edited{SourceDocument(after_text(task), language), {}};
  EditHistory history;
  history.record(task.path, task.before, edited.doc, task.edit.begin, task.edit.end);
  edited.history = history.snapshot();
  return edited;
}

Expected expected_at(const Task& task, std::string_view text, ByteRange span) {
  std::vector<const TruthSite*> inside;
  for (const TruthSite& truth : task.truth) {
    if (truth.span.end <= span.begin || span.end <= truth.span.begin) continue;
    if (truth.span.begin < span.begin || truth.span.end > span.end) return {};
    inside.push_back(&truth);
  }
  std::sort(inside.begin(), inside.end(), [](const TruthSite* a, const TruthSite* b) { return a->span.begin < b->span.begin; });
  Expected expected;
  size_t at = span.begin;
  for (const TruthSite* truth : inside) {
    expected.text += std::string(text.substr(at, truth->span.begin - at)) + truth->new_text;
    at = truth->span.end;
  }
  expected.text += std::string(text.substr(at, span.end - at));
  expected.sites = inside.size();
  return expected;
}


}  // namespace maskfill::edit_tasks
