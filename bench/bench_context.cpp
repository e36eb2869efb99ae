// `maskfill bench context --project DIR ... [--json]`: how well the cross-file context finds what
// a completion needs, on real multi-file projects (scripts/bench-context.sh fetches held-out
// Debian source packages). Completion points are chosen mechanically: a line that uses an
// identifier defined only in other files of the project, cut right after that identifier (and
// its opening parenthesis), as when the user has just typed `parse_config(`. The rest of the
// line is removed; the lines after it stay. The editor's own planner builds every prompt.
//   context_recall     share of points whose prompt holds the identifier's defining line
//   context_precision  share of context tokens in snippets that hold a definition of any
//                      identifier of the original line
// Also: the same per budget and per source alone, the latency the context adds to planning,
// prompt sizes, the index's build speed and memory on the largest project, and (with the model)
// prompt tokens recomputed per keystroke while typing with context on.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "bench/bench_stats.h"
#include "common/command.h"
#include "common/read_file.h"
#include "inference/engine.h"
#include "inference/tokenizer.h"
#include "infill/definitions.h"
#include "infill/plan.h"
#include "infill/workspace_index.h"
#include "lsp-server/jsonrpc.h"

namespace maskfill {
namespace {

namespace fs = std::filesystem;
using lsp::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kMinNameLength = 4;
constexpr size_t kMaxDefiners = 3;      // a name defined in more files is ambiguous: not a point
constexpr int kNeighbourDocuments = 3;  // files of the same folder the user has open
constexpr size_t kEditHistory = 3;      // earlier points the user has just written

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Point {
  std::string path;
  std::string text;                     // the document with the line cut at the cursor
  size_t cursor = 0;
  int line = 0;
  std::string name;                     // the identifier the line needs from another file
  std::set<std::pair<std::string, int>> needed;  // (path, line) defining `name` in other files
  std::set<std::pair<std::string, int>> used;    // definitions of every identifier of the line
  std::string typed;                    // the line's text from its indentation to the cursor
  // The harder variant: the whole line still to write, the cursor after its indentation.
  std::string text_at_line_start;
  size_t cursor_at_line_start = 0;
};

struct Project {
  fs::path root;
  std::shared_ptr<WorkspaceIndex> index;
  std::vector<Point> points;
  size_t lines = 0;
  double build_seconds = 0;
};

size_t read_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0) return std::stoul(line.substr(std::strlen(field)));
  return 0;
}

std::vector<fs::path> source_files(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied))
    if (entry.is_regular_file() && !entry.is_symlink() && find_language("", entry.path().string()))
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::set<std::pair<std::string, int>> definers(const WorkspaceIndex& index, std::string_view name, const std::string& except) {
  std::set<std::pair<std::string, int>> out;
  for (const IndexedDefinition& definition : index.lookup(name, 16))
    if (definition.path != except) out.insert({definition.path, definition.line});
  return out;
}

// Every candidate point of one file: per line, the first identifier defined only elsewhere.
void collect_points(const WorkspaceIndex& index, const fs::path& file, std::vector<Point>& out) {
  std::string text;
  try {
    text = read_file(file.string());
  } catch (const std::exception&) {
    return;
  }
  if (text.size() > (1 << 20)) return;
  const LanguageInfo* language = find_language("", file.string());
  SourceDocument doc(text, language);
  std::set<std::string, std::less<>> own;
  for (const Definition& definition : find_definitions(doc)) own.insert(definition.name);
  std::string path = file.string();
  size_t begin = 0;
  for (int line = 0; begin < text.size(); ++line) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string_view content = std::string_view(text).substr(begin, end - begin);
    size_t indent = content.find_first_not_of(" \t");
    bool skip = indent == std::string_view::npos || content.substr(indent).starts_with("#") ||
                content.substr(indent).starts_with("//") || content.substr(indent).starts_with("import ") ||
                content.substr(indent).starts_with("from ") || content.substr(indent).starts_with("use ");
    if (!skip) {
      for (std::string_view name : identifiers_in(content, kMinNameLength)) {
        if (own.contains(name)) continue;
        auto needed = definers(index, name, path);
        if (needed.empty() || needed.size() > kMaxDefiners) continue;
        size_t at = size_t(name.data() - content.data()) + name.size();
        if (at < content.size() && content[at] == '(') ++at;
        Point point{path, "", begin + at, line, std::string(name), needed, {}, std::string(content.substr(indent, at - indent))};
        point.text = text.substr(0, begin + at) + text.substr(end);
        point.cursor_at_line_start = begin + indent;
        point.text_at_line_start = text.substr(0, begin + indent) + text.substr(end);
        for (std::string_view used : identifiers_in(content, 2))
          for (const auto& definition : definers(index, used, ""))
            point.used.insert(definition);
        out.push_back(std::move(point));
        break;
      }
    }
    begin = end + 1;
  }
}

// Every k-th candidate, so the points spread over the whole project.
std::vector<Point> spread(std::vector<Point> all, size_t wanted) {
  if (all.size() <= wanted) return all;
  std::vector<Point> chosen;
  for (size_t i = 0; i < wanted; ++i) chosen.push_back(std::move(all[i * all.size() / wanted]));
  return chosen;
}

struct Measure {
  int points = 0, recalled = 0;
  double context_tokens = 0, useful_tokens = 0;
  std::vector<double> prompt_tokens, added_ms;
  double recall() const { return points ? double(recalled) / points : 0; }
  double precision() const { return context_tokens > 0 ? useful_tokens / context_tokens : 0; }
};

bool covers(const ContextSnippet& snippet, const std::pair<std::string, int>& definition) {
  return snippet.path == definition.first && snippet.first_line <= definition.second &&
         definition.second <= snippet.last_line;
}

// The editor's state at a point: the file open with its folder neighbours, the earlier points
// (in other files) as the user's recent edits.
class Session {
 public:
  ContextInputs inputs_for(const Project& project, const Point& point, const ContextSettings& settings,
                           const RecentEdits& edits) {
    ContextInputs inputs;
    inputs.path = point.path;
    inputs.display_root = project.root.string();
    inputs.index = project.index;
    inputs.settings = settings;
    inputs.recent_edits = edits.snapshot();
    fs::path folder = fs::path(point.path).parent_path();
    std::vector<fs::path> neighbours;
    for (const auto& entry : fs::directory_iterator(folder))
      if (entry.is_regular_file() && entry.path() != point.path && find_language("", entry.path().string()))
        neighbours.push_back(entry.path());
    std::sort(neighbours.begin(), neighbours.end());
    if (neighbours.size() > size_t(kNeighbourDocuments)) neighbours.resize(kNeighbourDocuments);
    for (const fs::path& neighbour : neighbours) inputs.open_documents.push_back(document(neighbour));
    return inputs;
  }

 private:
  // As the language server keeps them: parsed once, definitions once per version.
  const OpenDocument& document(const fs::path& path) {
    OpenDocument& slot = documents_[path.string()];
    if (!slot.doc) {
      auto doc = std::make_shared<SourceDocument>(read_file(path.string()), find_language("", path.string()));
      slot = {path.string(), doc, std::make_shared<const std::vector<Definition>>(find_definitions(*doc))};
    }
    return slot;
  }
  std::map<std::string, OpenDocument> documents_;
};

Measure measure(const ModelView& model, std::vector<Project>& projects, const ContextSettings& settings,
                bool time_it, bool at_line_start = false) {
  Measure m;
  InfillSettings infill;
  Session session;
  for (Project& project : projects) {
    RecentEdits edits(kEditHistory);
    for (const Point& point : project.points) {
      SourceDocument doc(at_line_start ? point.text_at_line_start : point.text, find_language("", point.path));
      size_t cursor = at_line_start ? point.cursor_at_line_start : point.cursor;
      ContextInputs inputs = session.inputs_for(project, point, settings, edits);
      auto started = Clock::now();
      Plan plan = plan_inline(model, doc, cursor, Trigger::Invoked, infill, &inputs);
      double with_ms = ms_since(started);
      edits.record(point.path, point.text, point.line);
      if (!plan.declined_reason.empty()) continue;
      if (time_it) {
        started = Clock::now();
        Plan plain = plan_inline(model, doc, cursor, Trigger::Invoked, infill, nullptr);
        m.added_ms.push_back(std::max(0.0, with_ms - ms_since(started)));
      }
      ++m.points;
      bool found = false;
      for (const ContextSnippet& snippet : plan.context.snippets) {
        bool useful = false;
        for (const auto& definition : point.needed) found = found || covers(snippet, definition);
        for (const auto& definition : point.used) useful = useful || covers(snippet, definition);
        m.context_tokens += snippet.tokens;
        if (useful) m.useful_tokens += snippet.tokens;
      }
      m.recalled += found;
      m.prompt_tokens.push_back(double(plan.prompt.size()));
    }
  }
  return m;
}

// Types each point's line character by character with context on, the prompt cache warm, and
// records the prompt tokens each completion had to compute.
std::vector<double> typing_prompt_computed(Engine& engine, std::vector<Project>& projects, int sessions) {
  std::vector<double> computed;
  InfillSettings infill;
  infill.max_new_tokens = 16;
  Session session;
  ContextSettings settings;
  for (Project& project : projects) {
    int done = 0;
    RecentEdits edits(kEditHistory);
    for (size_t i = 0; i < project.points.size() && done < sessions; i += std::max<size_t>(1, project.points.size() / size_t(sessions)), ++done) {
      const Point& point = project.points[i];
      size_t line_start = point.cursor - point.typed.size();
      for (size_t n = 1; n <= point.typed.size(); ++n) {
        std::string text = point.text.substr(0, line_start) + point.typed.substr(0, n) + point.text.substr(point.cursor);
        SourceDocument doc(text, find_language("", point.path));
        ContextInputs inputs = session.inputs_for(project, point, settings, edits);
        Plan plan = plan_inline(ModelView::of(engine), doc, line_start + n, Trigger::Automatic, infill, &inputs);
        if (!plan.declined_reason.empty()) continue;
        CompletionOutcome outcome = execute_plan(engine, doc, plan, {});
        if (!outcome.candidates.empty()) computed.push_back(outcome.candidates.front().stats.prompt_tokens_computed);
      }
    }
  }
  return computed;
}

int run_bench_context(int argc, char** argv) {
  CLI::App app{"Cross-file context: recall, precision, added latency and index cost on multi-file projects",
               "maskfill bench context"};
  std::vector<std::string> roots;
  std::string model_dir = default_model_dir();
  size_t points_per_project = 60;
  int typing_sessions = 2;
  bool json_output = false;
  app.add_option("--project", roots, "a project folder (repeat; scripts/bench-context.sh fetches a held-out set)")
      ->required()->check(CLI::ExistingDirectory);
  app.add_option("--points-per-project", points_per_project, "completion points per project")->capture_default_str();
  app.add_option("--typing-sessions", typing_sessions, "lines typed per project with the model (0: none)")
      ->capture_default_str();
  app.add_option("--model", model_dir, "model directory (its tokenizer builds the prompts)")->capture_default_str();
  app.add_flag("--json", json_output, "print one JSON object");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  spdlog::set_level(spdlog::level::warn);
  // The largest project (by bytes of source) is indexed first, in a process that has done
  // nothing else yet, so its peak memory is its own (VmHWM reset to the current RSS first).
  std::vector<Project> projects;
  for (const std::string& root : roots) projects.push_back({fs::canonical(root), nullptr, {}, 0, 0});
  auto source_bytes = [](const Project& project) {
    uintmax_t bytes = 0;
    for (const fs::path& file : source_files(project.root)) bytes += fs::file_size(file);
    return bytes;
  };
  std::map<std::string, uintmax_t> bytes;
  for (const Project& project : projects) bytes[project.root.string()] = source_bytes(project);
  std::stable_sort(projects.begin(), projects.end(),
                   [&](const Project& a, const Project& b) { return bytes[a.root.string()] > bytes[b.root.string()]; });
  const size_t largest = 0;
  double index_lines_per_s = 0, index_peak_rss_mb = 0, index_seconds = 0;
  for (size_t i = 0; i < projects.size(); ++i) {
    std::ofstream("/proc/self/clear_refs") << "5";
    size_t rss_before = read_kib("VmRSS:");
    auto started = Clock::now();
    projects[i].index = std::make_shared<WorkspaceIndex>(std::vector<fs::path>{projects[i].root});
    projects[i].index->build();
    projects[i].build_seconds = ms_since(started) / 1000;
    projects[i].lines = projects[i].index->stats().lines;
    if (i == largest) {
      index_seconds = projects[i].build_seconds;
      index_lines_per_s = double(projects[i].lines) / std::max(1e-9, projects[i].build_seconds);
      size_t peak = read_kib("VmHWM:");
      index_peak_rss_mb = double(peak - std::min(rss_before, peak)) / 1024.0;
    }
    std::vector<Point> all;
    for (const fs::path& file : source_files(projects[i].root)) collect_points(*projects[i].index, file, all);
    projects[i].points = spread(std::move(all), points_per_project);
  }
  std::unique_ptr<Engine> engine = load_engine(model_dir, DeviceOptions{});
  ModelView model = ModelView::of(*engine);

  ContextSettings full;
  Measure at_default = measure(model, projects, full, /*time_it=*/true);
  json by_budget = json::object();
  for (int budget : {256, 512, 1024, 2048}) {
    ContextSettings settings;
    settings.max_tokens = budget;
    Measure m = budget == full.max_tokens ? at_default : measure(model, projects, settings, false);
    by_budget[std::to_string(budget)] = {{"recall", m.recall()}, {"precision", m.precision()},
                                         {"prompt_tokens_p50", percentile(m.prompt_tokens, 0.5)}};
  }
  Measure line_start = measure(model, projects, full, false, /*at_line_start=*/true);
  ContextSettings none;
  none.max_tokens = 0;
  Measure baseline = measure(model, projects, none, false);
  json by_source = json::object();
  for (ContextSource source : {ContextSource::OpenDocuments, ContextSource::RecentEdits, ContextSource::Definitions,
                               ContextSource::SameFile}) {
    ContextSettings only;
    only.open_documents = source == ContextSource::OpenDocuments;
    only.recent_edits = source == ContextSource::RecentEdits;
    only.definitions = source == ContextSource::Definitions;
    only.same_file = source == ContextSource::SameFile;
    Measure m = measure(model, projects, only, false);
    by_source[context_source_name(source)] = {{"recall", m.recall()}, {"precision", m.precision()}};
  }
  std::vector<double> typing = typing_sessions > 0 ? typing_prompt_computed(*engine, projects, typing_sessions)
                                                   : std::vector<double>{};
  json per_project = json::array();
  for (const Project& project : projects) {
    per_project.push_back({{"project", project.root.filename().string()}, {"points", project.points.size()},
                           {"lines", project.lines}, {"index_seconds", project.build_seconds}});
  }
  json out = {
      {"points", at_default.points},
      {"context_tokens_budget", full.max_tokens},
      {"context_recall", at_default.recall()},
      {"context_precision", at_default.precision()},
      {"baseline_recall", baseline.recall()},
      {"context_recall_line_start", line_start.recall()},
      {"context_precision_line_start", line_start.precision()},
      {"context_recall_by_budget", by_budget},
      {"context_by_source", by_source},
      {"prompt_tokens_p50", percentile(at_default.prompt_tokens, 0.5)},
      {"baseline_prompt_tokens_p50", percentile(baseline.prompt_tokens, 0.5)},
      {"added_latency_p50_ms", percentile(at_default.added_ms, 0.5)},
      {"added_latency_p95_ms", percentile(at_default.added_ms, 0.95)},
      {"index_project", projects[largest].root.filename().string()},
      {"index_lines", projects[largest].lines},
      {"index_seconds", index_seconds},
      {"index_lines_per_s", index_lines_per_s},
      {"index_peak_rss_mb", index_peak_rss_mb},
      {"typing_completions", typing.size()},
      {"typing_prompt_tokens_computed_p50", percentile(typing, 0.5)},
      {"typing_prompt_tokens_computed_p95", percentile(typing, 0.95)},
      {"projects", per_project},
  };
  if (json_output) {
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("%d points in %zu projects; context budget %d tokens\n", at_default.points, projects.size(), full.max_tokens);
  std::printf("context_recall %.3f (baseline %.3f), context_precision %.3f\n", at_default.recall(), baseline.recall(),
              at_default.precision());
  std::printf("with the whole line still to write: recall %.3f precision %.3f\n", line_start.recall(),
              line_start.precision());
  for (auto& [budget, m] : by_budget.items())
    std::printf("  budget %5s: recall %.3f precision %.3f prompt p50 %.0f tokens\n", budget.c_str(),
                m["recall"].get<double>(), m["precision"].get<double>(), m["prompt_tokens_p50"].get<double>());
  for (auto& [source, m] : by_source.items())
    std::printf("  %-15s alone: recall %.3f precision %.3f\n", source.c_str(), m["recall"].get<double>(),
                m["precision"].get<double>());
  std::printf("added planning latency p50 %.2f ms, p95 %.2f ms\n", percentile(at_default.added_ms, 0.5),
              percentile(at_default.added_ms, 0.95));
  std::printf("index: %s, %zu lines in %.2f s (%.0f lines/s), peak +%.1f MB\n",
              projects[largest].root.filename().c_str(), projects[largest].lines, index_seconds, index_lines_per_s,
              index_peak_rss_mb);
  std::printf("typing with context: %zu completions, prompt tokens computed p50 %.0f p95 %.0f\n", typing.size(),
              percentile(typing, 0.5), percentile(typing, 0.95));
  return 0;
}

const RegisterCommand bench_context_command{"bench-context", "cross-file context recall, precision and cost",
                                            run_bench_context};

}  // namespace
}  // namespace maskfill
