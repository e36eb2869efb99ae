#include "infill/prompt_context.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "inference/tokenizer.h"
#include "infill/definitions.h"
#include "infill/workspace_index.h"

namespace maskfill {
namespace {

// Identifiers this close to the cursor (lines before, after) name what the model needs defined.
constexpr int kNameLinesBefore = 12, kNameLinesAfter = 4;
constexpr size_t kMaxWantedNames = 24;
constexpr double kImportedNameWeight = 0.25;  // imported but not used near the cursor
constexpr size_t kDefinitionsPerName = 2;     // overloads, or the same name in two modules
constexpr size_t kIndexLookupLimit = 16;
// The word being typed at the cursor (`normalise_sc|`): definitions whose names start with it,
// when it has at least this many bytes, at most kPrefixMatches of them.
constexpr size_t kMinTypedPrefix = 3, kPrefixMatches = 3;
// Similar windows of other open documents (Copilot's neighbouring tabs).
constexpr int kWindowLines = 20, kWindowStep = 10;
constexpr int kQueryLines = 24, kQueryGrid = 8;
constexpr double kMinSimilarity = 0.12;
constexpr size_t kMaxSimilarDocuments = 2;
constexpr size_t kMaxScannedLines = 4000;  // per open document
// Shares of the budget; what one source leaves unused goes to the others.
constexpr double kDefinitionsShare = 0.5, kEditsShare = 0.25, kOpenDocumentsShare = 0.25;

struct Lines {
  explicit Lines(std::string_view text) : text(text) {
    starts.push_back(0);
    for (size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') starts.push_back(i + 1);
  }
  int count() const { return int(starts.size()); }
  int line_of(size_t offset) const {
    return int(std::upper_bound(starts.begin(), starts.end(), offset) - starts.begin()) - 1;
  }
  // Lines [first, last), clamped.
  std::string_view range(int first, int last) const {
    first = std::clamp(first, 0, count());
    last = std::clamp(last, first, count());
    size_t begin = first < count() ? starts[size_t(first)] : text.size();
    size_t end = last < count() ? starts[size_t(last)] : text.size();
    return text.substr(begin, end - begin);
  }
  std::string_view text;
  std::vector<size_t> starts;
};

enum Group { kOpenGroup, kDefinitionGroup, kEditGroup, kGroups };

Group group_of(ContextSource source) {
  switch (source) {
    case ContextSource::OpenDocuments: return kOpenGroup;
    case ContextSource::RecentEdits: return kEditGroup;
    default: return kDefinitionGroup;
  }
}

struct Candidate {
  ContextSource source;
  std::string path;
  int first_line = 0, last_line = 0;
  std::string body;
  size_t order = 0;  // recent edits: chronological position
};

std::string render(const Candidate& candidate, const std::string& root) {
  std::string text(line_comment(find_language("", candidate.path)));
  text += " Path: " + display_path(candidate.path, root) + "\n" + candidate.body;
  if (!text.ends_with('\n')) text += '\n';
  return text + "\n";
}

// Encodings of rendered snippets, shared by all requests: while the user types, the same
// snippets come back every keystroke and tokenizing them again would be most of the cost.
std::vector<int32_t> encoding_of(const Tokenizer& tokenizer, const std::string& text) {
  static std::mutex mutex;
  static std::unordered_map<const Tokenizer*, std::unordered_map<std::string, std::vector<int32_t>>> cache;
  constexpr size_t kCapacity = 4096;
  std::lock_guard lock(mutex);
  auto& entries = cache[&tokenizer];
  auto it = entries.find(text);
  if (it != entries.end()) return it->second;
  if (entries.size() >= kCapacity) entries.clear();  // rare; a cold start costs one tokenization each
  return entries.emplace(text, tokenizer.encode(text)).first->second;
}

size_t common_folder_depth(const std::string& a, const std::string& b) {
  size_t depth = 0;
  for (size_t i = 0; i < a.size() && i < b.size() && a[i] == b[i]; ++i)
    if (a[i] == '/') ++depth;
  return depth;
}

bool is_import_line(std::string_view line) {
  size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos) return false;
  line.remove_prefix(start);
  for (std::string_view keyword : {"import ", "from ", "#include", "use ", "using ", "require(", "package "})
    if (line.starts_with(keyword)) return true;
  return line.find("require(") != std::string_view::npos || line.find("= import(") != std::string_view::npos;
}

// Names used around the cursor (nearer lines weigh more) and imported names, best first.
std::vector<std::pair<std::string, double>> wanted_names(const Lines& lines, int cursor_line,
                                                         const std::set<std::string, std::less<>>& visible) {
  std::map<std::string, double, std::less<>> weight;
  auto consider = [&](std::string_view name, double w) {
    if (visible.contains(name)) return;
    auto [it, inserted] = weight.emplace(std::string(name), w);
    if (!inserted) it->second = std::max(it->second, w);
  };
  for (int line = std::max(0, cursor_line - kNameLinesBefore); line <= cursor_line + kNameLinesAfter && line < lines.count(); ++line)
    for (std::string_view name : identifiers_in(lines.range(line, line + 1)))
      consider(name, 1.0 / (1.0 + std::abs(line - cursor_line)));
  for (int line = 0; line < std::min(lines.count(), 200); ++line) {
    std::string_view text = lines.range(line, line + 1);
    if (is_import_line(text))
      for (std::string_view name : identifiers_in(text)) consider(name, kImportedNameWeight);
  }
  std::vector<std::pair<std::string, double>> names(weight.begin(), weight.end());
  std::stable_sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (names.size() > kMaxWantedNames) names.resize(kMaxWantedNames);
  return names;
}

std::unordered_set<std::string_view> word_set(std::string_view text) {
  std::vector<std::string_view> words = identifiers_in(text, 2);
  return {words.begin(), words.end()};
}

double jaccard(const std::unordered_set<std::string_view>& a, const std::unordered_set<std::string_view>& b) {
  if (a.empty() || b.empty()) return 0;
  size_t shared = 0;
  for (std::string_view word : a) shared += b.count(word);
  return double(shared) / double(a.size() + b.size() - shared);
}

class Gatherer {
 public:
  Gatherer(const ContextInputs& inputs, const SourceDocument& doc, size_t cursor, ByteRange window)
      : inputs_(inputs), doc_(doc), lines_(doc.text()), cursor_(cursor), cursor_line_(lines_.line_of(cursor)),
        window_first_(lines_.line_of(window.begin)), window_last_(lines_.line_of(window.end)) {}

  std::vector<Candidate> definitions() {
    std::vector<Definition> own = find_definitions(doc_);
    std::set<std::string, std::less<>> visible;
    for (const Definition& definition : own)
      if (in_window(definition.line)) visible.insert(definition.name);
    std::vector<Candidate> out;
    // The word being typed first: `normalise_sc|` needs `def normalise_scores(...)` (Copilot and
    // Tabby find it through the editor's symbols). Its exact name is a wanted name like the rest.
    if (std::string_view typed = identifier_before(doc_.text(), cursor_, kMinTypedPrefix); !typed.empty()) {
      auto continues = [&](std::string_view name) { return name.size() > typed.size() && name.starts_with(typed); };
      out = definitions_where(own, continues, kPrefixMatches,
                              [&] { return inputs_.index->lookup_prefix(typed, kIndexLookupLimit); });
    }
    for (const auto& wanted : wanted_names(lines_, cursor_line_, visible)) {
      const std::string& name = wanted.first;  // not a structured binding: clang 14 cannot capture one
      auto named = [&](std::string_view candidate) { return candidate == name; };
      std::vector<Candidate> found = definitions_where(own, named, kDefinitionsPerName,
                                                       [&] { return inputs_.index->lookup(name, kIndexLookupLimit); });
      out.insert(out.end(), found.begin(), found.end());
    }
    return out;
  }

  // Definitions whose names pass `wanted`: this file's outside the window, the other open
  // documents', and the index's (`from_index`, for files not open); the same file first, then the
  // files nearest the current one, at most `keep`.
  template <class Wanted, class FromIndex>
  std::vector<Candidate> definitions_where(const std::vector<Definition>& own, Wanted wanted, size_t keep,
                                           FromIndex from_index) {
    std::vector<Candidate> found;
    if (inputs_.settings.same_file)
      for (const Definition& definition : own)
        if (wanted(definition.name) && !in_window(definition.line))
          found.push_back(definition_candidate(ContextSource::SameFile, inputs_.path, doc_.text(), definition));
    if (inputs_.settings.definitions) {
      for (const OpenDocument* open : other_documents())
        for (const Definition& definition : definitions_of(open))
          if (wanted(definition.name))
            found.push_back(definition_candidate(ContextSource::Definitions, open->path, open->doc->text(), definition));
      if (inputs_.index)
        for (const IndexedDefinition& definition : from_index()) {
          if (definition.path == inputs_.path || is_open(definition.path)) continue;  // the open text wins
          int lines = int(std::count(definition.head.begin(), definition.head.end(), '\n'));
          found.push_back({ContextSource::Definitions, definition.path, definition.line,
                           definition.line + std::max(0, lines - 1), definition.head});
        }
    }
    std::stable_sort(found.begin(), found.end(), [&](const Candidate& a, const Candidate& b) {
      return std::pair(a.source == ContextSource::SameFile, common_folder_depth(a.path, inputs_.path)) >
             std::pair(b.source == ContextSource::SameFile, common_folder_depth(b.path, inputs_.path));
    });
    if (found.size() > keep) found.resize(keep);
    return found;
  }

  std::vector<Candidate> similar_windows() {
    std::vector<std::pair<double, Candidate>> scored;
    // The query ends on a grid line, so it changes every kQueryGrid lines, not every keystroke.
    int end = cursor_line_ - cursor_line_ % kQueryGrid;
    if (end == 0) end = cursor_line_;
    auto query = word_set(lines_.range(end - kQueryLines, end));
    const LanguageInfo* language = doc_.language();
    for (const OpenDocument* open : other_documents()) {
      if (open->doc->language() != language) continue;  // other languages' tabs do not help (Copilot)
      Lines lines(open->doc->text());
      double best = 0;
      int best_line = 0;
      for (int first = 0; first < std::min(lines.count(), int(kMaxScannedLines)); first += kWindowStep) {
        double score = jaccard(query, word_set(lines.range(first, first + kWindowLines)));
        if (score > best) best = score, best_line = first;
      }
      if (best < kMinSimilarity) continue;
      int last = std::min(lines.count(), best_line + kWindowLines) - 1;
      scored.push_back({best, {ContextSource::OpenDocuments, open->path, best_line, last,
                               std::string(lines.range(best_line, last + 1))}});
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<Candidate> out;
    for (size_t i = 0; i < scored.size() && i < kMaxSimilarDocuments; ++i) out.push_back(std::move(scored[i].second));
    return out;
  }

  std::vector<Candidate> recent_edits() {
    std::vector<Candidate> out;
    const std::vector<EditedRange>& edits = inputs_.recent_edits;
    for (size_t i = edits.size(); i-- > 0;) {  // newest first: they are the most likely to matter
      const EditedRange& edit = edits[i];
      if (edit.path == inputs_.path && edit.last_line >= window_first_ && edit.first_line <= window_last_) continue;
      if (edit.text.find_first_not_of(" \t\r\n") == std::string::npos) continue;
      out.push_back({ContextSource::RecentEdits, edit.path, edit.first_line, edit.last_line, edit.text, i});
    }
    return out;
  }

 private:
  bool in_window(int line) const { return line >= window_first_ && line <= window_last_; }
  bool is_open(const std::string& path) const {
    for (const OpenDocument& open : inputs_.open_documents)
      if (open.path == path) return true;
    return false;
  }
  const std::vector<const OpenDocument*>& other_documents() {
    if (!others_) {
      others_.emplace();
      for (const OpenDocument& open : inputs_.open_documents)
        if (open.doc && open.path != inputs_.path) others_->push_back(&open);
    }
    return *others_;
  }
  const std::vector<Definition>& definitions_of(const OpenDocument* open) {
    if (open->definitions) return *open->definitions;
    auto it = definitions_.find(open);
    if (it == definitions_.end()) it = definitions_.emplace(open, find_definitions(*open->doc)).first;
    return it->second;
  }
  Candidate definition_candidate(ContextSource source, const std::string& path, std::string_view text,
                                 const Definition& definition) {
    std::string head = definition_head(text, definition);
    int lines = int(std::count(head.begin(), head.end(), '\n'));
    return {source, path, definition.line, definition.line + std::max(0, lines - 1), std::move(head)};
  }

  const ContextInputs& inputs_;
  const SourceDocument& doc_;
  Lines lines_;
  size_t cursor_;
  int cursor_line_, window_first_, window_last_;
  std::optional<std::vector<const OpenDocument*>> others_;
  std::map<const OpenDocument*, std::vector<Definition>> definitions_;
};

bool overlaps(const ContextSnippet& a, const Candidate& b) {
  return a.path == b.path && a.first_line <= b.last_line && b.first_line <= a.last_line;
}

}  // namespace

std::string display_path(const std::string& path, const std::string& root) {
  if (!root.empty() && path.size() > root.size() + 1 && path.starts_with(root) && path[root.size()] == '/')
    return path.substr(root.size() + 1);
  return path;
}

const char* context_source_name(ContextSource source) {
  switch (source) {
    case ContextSource::OpenDocuments: return "open_documents";
    case ContextSource::Definitions: return "definitions";
    case ContextSource::SameFile: return "same_file";
    case ContextSource::RecentEdits: return "recent_edits";
  }
  return "?";
}

PromptContext gather_context(const Tokenizer& tokenizer, const ContextInputs& inputs, const SourceDocument& doc,
                             size_t cursor, ByteRange window) {
  PromptContext context;
  const ContextSettings& settings = inputs.settings;
  if (settings.max_tokens <= 0) return context;
  Gatherer gatherer(inputs, doc, cursor, window);
  std::vector<Candidate> groups[kGroups];
  if (settings.definitions || settings.same_file) groups[kDefinitionGroup] = gatherer.definitions();
  if (settings.recent_edits) groups[kEditGroup] = gatherer.recent_edits();
  if (settings.open_documents) groups[kOpenGroup] = gatherer.similar_windows();

  const double shares[kGroups] = {kOpenDocumentsShare, kDefinitionsShare, kEditsShare};
  std::vector<std::pair<ContextSnippet, size_t>> chosen;  // (snippet, order)
  std::vector<bool> taken[kGroups];
  int used_total = 0, used[kGroups] = {};
  auto try_take = [&](Group group, size_t index, int limit) {
    const Candidate& candidate = groups[group][index];
    for (const auto& [snippet, _] : chosen)
      if (overlaps(snippet, candidate)) return true;  // already shown: done with it
    std::string text = render(candidate, inputs.display_root);
    int cost = int(encoding_of(tokenizer, text).size());
    if (used[group] + cost > limit || used_total + cost > settings.max_tokens) return false;
    used[group] += cost, used_total += cost;
    chosen.push_back({{candidate.source, candidate.path, candidate.first_line, candidate.last_line, std::move(text), cost},
                      candidate.order});
    return true;
  };
  // Each source within its share first, then whatever is left, in the same order of priority.
  for (Group group : {kDefinitionGroup, kEditGroup, kOpenGroup}) {
    taken[group].assign(groups[group].size(), false);
    int limit = int(shares[group] * settings.max_tokens);
    for (size_t i = 0; i < groups[group].size(); ++i) taken[group][i] = try_take(group, i, limit);
  }
  for (Group group : {kDefinitionGroup, kEditGroup, kOpenGroup})
    for (size_t i = 0; i < groups[group].size(); ++i)
      if (!taken[group][i]) taken[group][i] = try_take(group, i, settings.max_tokens);

  // Prompt order: the most stable group first, and a fixed order within each, so the text
  // changes only where the choice did.
  std::stable_sort(chosen.begin(), chosen.end(), [](const auto& a, const auto& b) {
    Group ga = group_of(a.first.source), gb = group_of(b.first.source);
    if (ga != gb) return ga < gb;
    if (ga == kEditGroup) return a.second < b.second;
    return std::pair(a.first.path, a.first.first_line) < std::pair(b.first.path, b.first.first_line);
  });
  for (auto& [snippet, _] : chosen) {
    std::vector<int32_t> ids = encoding_of(tokenizer, snippet.text);
    context.ids.insert(context.ids.end(), ids.begin(), ids.end());
    context.text += snippet.text;
    context.snippets.push_back(std::move(snippet));
  }
  return context;
}

}  // namespace maskfill
