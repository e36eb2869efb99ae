#include "training/next_edit_synth.h"

#include <tree_sitter/api.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "inference/tokenizer.h"
#include "infill/definitions.h"
#include "infill/source_document.h"
#include "training/next_edit_tasks.h"

namespace maskfill::training {
namespace {

constexpr size_t kMaxFileBytes = 64 << 10;  // bigger files: their tree walks cost more than they teach

// Words a renamed identifier may take in, replace or drop. Never "next": the benchmark's renames
// append it, and a model that learnt the suffix would score without reading the header.
constexpr const char* kWords[] = {
    "value",  "item",   "data",   "index", "result", "total",  "count",  "name",   "node",   "buffer",
    "config", "path",   "size",   "entry", "key",    "record", "list",   "map",    "cache",  "state",
    "options", "handle", "target", "source", "input", "output", "limit", "offset", "label",  "field",
    "token",  "parser", "reader", "writer", "window", "block",  "group",  "child",  "parent", "first",
    "last",   "current", "previous", "local", "remote", "text",  "line",   "file",   "user",   "info",
    "new",    "old",    "tmp",    "raw",   "max",    "min",    "all",    "is",     "get",    "set"};

enum class Style { Snake, Camel, Pascal, Upper };

Style style_of(const std::string& name) {
  const bool has_lower = std::any_of(name.begin(), name.end(), [](unsigned char c) { return std::islower(c); });
  const bool has_upper = std::any_of(name.begin(), name.end(), [](unsigned char c) { return std::isupper(c); });
  if (!has_lower && has_upper) return Style::Upper;
  if (name.find('_') != std::string::npos || !has_upper) return Style::Snake;
  return std::isupper(static_cast<unsigned char>(name[0])) ? Style::Pascal : Style::Camel;
}

// Lower-case words of an identifier: `get_user_name`, `getUserName` and `GET_USER_NAME` all give
// get, user, name. Leading and trailing underscores are kept aside by the caller.
std::vector<std::string> words_of(const std::string& name) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(word);
    word.clear();
  };
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '_') {
      flush();
      continue;
    }
    if (std::isupper(c) && i > 0 && std::islower(static_cast<unsigned char>(name[i - 1]))) flush();
    word += static_cast<char>(std::tolower(c));
  }
  flush();
  return words;
}

std::string joined(const std::vector<std::string>& words, Style style) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string word = words[i];
    auto upper = [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); };
    if (style == Style::Upper) std::transform(word.begin(), word.end(), word.begin(), upper);
    if ((style == Style::Camel && i > 0) || style == Style::Pascal) word[0] = upper(word[0]);
    if ((style == Style::Snake || style == Style::Upper) && i > 0) out += '_';
    out += word;
  }
  return out;
}

bool ends_like_the_benchmark(const std::string& name) {
  auto ends_with = [&](std::string_view tail) {
    return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
  };
  return ends_with("_next") || ends_with("Next") || ends_with("_NEXT");
}

}  // namespace

std::string synthetic_new_name(const std::string& name, std::mt19937_64& rng) {
  const size_t lead = name.find_first_not_of('_');
  if (lead == std::string::npos) return name + "_value";
  const size_t trail = name.size() - 1 - name.find_last_not_of('_');
  const std::string core = name.substr(lead, name.size() - lead - trail);
  const Style style = style_of(core);
  std::vector<std::string> words = words_of(core);
  if (words.empty()) return name + "_value";
  auto word = [&] { return std::string(kWords[rng() % std::size(kWords)]); };
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::vector<std::string> changed = words;
    Style out_style = style;
    switch (rng() % 5) {
      case 0: changed[rng() % changed.size()] = word(); break;     // one word replaced
      case 1: changed.insert(changed.begin(), word()); break;      // a word before
      case 2: changed.push_back(word()); break;                    // a word after
      case 3:                                                      // a word dropped
        if (changed.size() > 1) changed.erase(changed.begin() + long(rng() % changed.size()));
        break;
      default:  // the other case style, for a name of several words
        if (changed.size() > 1 && (style == Style::Snake || style == Style::Camel))
          out_style = style == Style::Snake ? Style::Camel : Style::Snake;
        break;
    }
    std::string candidate = name.substr(0, lead) + joined(changed, out_style) + name.substr(name.size() - trail);
    if (candidate != name && !ends_like_the_benchmark(candidate)) return candidate;
  }
  const char* tail = style == Style::Upper ? "_VALUE" : style == Style::Snake ? "_value" : "Value";
  return name.substr(0, lead) + joined(words, style) + tail + name.substr(name.size() - trail);
}

std::vector<NextEditSample> next_edit_samples(const std::string& path, const std::string& text,
                                              const std::string& language, const ModelView& model,
                                              const NextEditSynthOptions& options, std::mt19937_64& rng) {
  const LanguageInfo* info = find_language_by_name(language);
  if (!info || text.size() > kMaxFileBytes) return {};
  SourceDocument doc(text, info);
  if (!doc.tree() || ts_node_has_error(ts_tree_root_node(doc.tree()))) return {};
  const std::vector<Definition> definitions = find_definitions(doc);
  std::vector<const Definition*> unique = edit_tasks::unique_definitions(definitions);
  std::shuffle(unique.begin(), unique.end(), rng);
  // A few more than wanted: a name used only where it is defined makes no task.
  std::vector<Definition> picked;
  for (size_t i = 0; i < unique.size() && int(i) < 4 * options.renames_per_file; ++i) picked.push_back(*unique[i]);
  std::sort(picked.begin(), picked.end(), [](const Definition& a, const Definition& b) { return a.begin < b.begin; });
  std::vector<edit_tasks::Task> tasks;
  edit_tasks::rename_tasks(
      path, doc, picked, [&](const std::string& old) { return synthetic_new_name(old, rng); }, -1, tasks);
  std::shuffle(tasks.begin(), tasks.end(), rng);
  if (int(tasks.size()) > options.renames_per_file) tasks.resize(size_t(options.renames_per_file));

  InfillSettings settings;
  settings.next_edit_form = NextEditForm::MaskedSpans;
  settings.next_edit_max_sites = static_cast<int>(edit_tasks::kMaxTruthSites);
  // The header names the file from two folders up, as an editor's workspace folder would.
  const std::string root = std::filesystem::path(path).parent_path().parent_path().string();
  std::vector<NextEditSample> samples;
  for (const edit_tasks::Task& task : tasks) {
    edit_tasks::Edited edited = edit_tasks::apply_user_edit(task);
    Plan plan = plan_next_edit(model, edited.doc, path, edited.history, settings, root);
    std::vector<NextEditSample> from_task;
    for (const PlanSite& site : plan.sites) {
      if (site.doc) continue;  // another document's site: the truth covers this file only
      edit_tasks::Expected expected = edit_tasks::expected_at(task, edited.doc.text(), site.span);
      if (expected.sites != 1) continue;
      from_task.push_back({path, language, task.old_name, task.edit_text, site.prompt, model.tokenizer.encode(expected.text)});
    }
    std::shuffle(from_task.begin(), from_task.end(), rng);
    if (int(from_task.size()) > options.sites_per_rename) from_task.resize(size_t(options.sites_per_rename));
    std::move(from_task.begin(), from_task.end(), std::back_inserter(samples));
  }
  return samples;
}

}  // namespace maskfill::training
