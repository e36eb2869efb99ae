// `maskfill bench inline`: end-to-end inline completion latency with the bundled model on this
// machine, over cursor positions (line ends and empty lines) in samples/: (a) the feature
// alone (plan_inline + execute_plan: span, prompt, engine, post-processing, syntax check) and (b) the whole
// server path (JSON-RPC message in, worker, JSON-RPC answer out) at the same positions, in one
// run. Server overhead = (b) - (a) per position, since decoding is greedy and deterministic.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "common/command.h"
#include "common/read_file.h"
#include "bench/bench_stats.h"
#include "infill/plan.h"
#include "lsp-server/transport.h"

namespace maskfill {
namespace {

namespace fs = std::filesystem;
using lsp::json;
using Clock = std::chrono::steady_clock;

struct Cursor {
  std::string path, language, text;
  size_t offset;
  uint32_t line, character;  // ASCII samples: characters are bytes
};

std::vector<Cursor> cursors_in(const fs::path& samples, int limit) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(samples))
    if (entry.is_regular_file() && entry.path().extension() != ".jsonl") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<Cursor> cursors;
  for (size_t round = 0; int(cursors.size()) < limit && round < 50; ++round) {
    for (const fs::path& file : files) {
      const LanguageInfo* language = find_language("", file.string());
      if (!language) continue;
      std::string text = read_file(file.string());
      // The `round`-th line end past the first quarter of the file, every 7 lines.
      size_t offset = 0;
      uint32_t line = 0, wanted = uint32_t(5 + 7 * round);
      while (line < wanted && offset != std::string::npos) {
        offset = text.find('\n', offset);
        if (offset != std::string::npos) ++offset, ++line;
      }
      if (offset == std::string::npos || offset >= text.size()) continue;
      size_t end = text.find('\n', offset);
      if (end == std::string::npos) continue;
      cursors.push_back({file.string(), language->name, text, end, line, uint32_t(end - offset)});
      if (int(cursors.size()) >= limit) break;
    }
  }
  return cursors;
}

// An in-process server whose answers are collected by id.
struct InProcessServer {
  std::mutex mutex;
  std::condition_variable arrived;
  std::map<int64_t, json> answers;
  std::unique_ptr<lsp::Server> server;

  explicit InProcessServer(lsp::ServerOptions options) {
    server = std::make_unique<lsp::Server>(std::move(options), [this](const json& message) {
      if (!message.contains("id") || !message["id"].is_number_integer() || message.contains("method")) return;
      std::lock_guard lock(mutex);
      answers[message["id"].get<int64_t>()] = message;
      arrived.notify_all();
    });
    lsp::register_features(*server);
  }
  json request(int64_t id, const std::string& method, const json& params) {
    server->receive(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump());
    std::unique_lock lock(mutex);
    arrived.wait(lock, [&] { return answers.count(id) > 0; });
    return answers[id];
  }
  void notify(const std::string& method, const json& params) {
    server->receive(json{{"jsonrpc", "2.0"}, {"method", method}, {"params", params}}.dump());
  }
};

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Keystroke {
  std::string text;
  size_t cursor;
};

// A scripted user typing `typed` character by character on a new line inserted before line
// `line` of `text`; one document snapshot per keystroke.
std::vector<Keystroke> typing_session(const std::string& text, size_t line, const std::string& typed) {
  size_t offset = 0;
  for (size_t i = 0; i < line && offset != std::string::npos; ++i) offset = text.find('\n', offset) + 1;
  if (offset == std::string::npos || offset > text.size()) offset = text.size();
  std::vector<Keystroke> keystrokes;
  for (size_t n = 1; n <= typed.size(); ++n) {
    std::string typed_so_far = typed.substr(0, n);
    keystrokes.push_back({text.substr(0, offset) + typed_so_far + "\n" + text.substr(offset), offset + n});
  }
  return keystrokes;
}

struct TypingResult {
  std::vector<double> ms, prompt_computed, prompt_tokens, generated;
};

// Runs the editor's inline completion at every keystroke; `cold` clears the prompt cache first.
TypingResult type_through(Engine& engine, const LanguageInfo* language, const std::vector<Keystroke>& keystrokes,
                          const InfillSettings& settings, bool cold) {
  TypingResult out;
  for (const Keystroke& key : keystrokes) {
    SourceDocument doc(key.text, language);
    if (cold) engine.clear_prompt_cache();
    auto t = Clock::now();
    Plan plan = plan_inline(ModelView::of(engine), doc, key.cursor, Trigger::Automatic, settings);
    CompletionOutcome outcome = execute_plan(engine, doc, plan, {});
    double ms = ms_since(t);
    if (!plan.declined_reason.empty() || outcome.candidates.empty()) continue;
    const DecodeStats& stats = outcome.candidates.front().stats;
    out.ms.push_back(ms);
    out.prompt_computed.push_back(stats.prompt_tokens_computed);
    out.prompt_tokens.push_back(stats.prompt_tokens);
    out.generated.push_back(stats.generated_tokens);
  }
  return out;
}

struct CandidatesComparison {
  int requests = 0;  // per side: requests whose greedy candidate offered a completion
  double one_ms_p50 = 0, three_ms_p50 = 0;
  double one_steps_p50 = 0, three_steps_p50 = 0;  // batch steps per request: the most forwards an offered candidate ran
};

// Inline completions at `cursors` with 1 and with 3 candidates decoded together (Invoked
// trigger), the prompt cache cleared before each. The two run back to back at every cursor, in
// alternating order and `rounds` times, so a load change on a shared machine hits both alike.
// Only cursors where one candidate offers a completion count: where the model writes nothing
// (an empty first line) both sides are a prefill and a forward, which says nothing about batching.
CandidatesComparison compare_candidates(Engine& engine, const std::vector<Cursor>& cursors, InfillSettings settings,
                                        int rounds) {
  struct Run {
    double ms = 0;
    int steps = 0;
    bool offered = false;
  };
  auto run = [&](const SourceDocument& doc, size_t offset, int candidates) {
    settings.candidates_invoked = candidates;
    engine.clear_prompt_cache();
    auto t = Clock::now();
    Plan plan = plan_inline(ModelView::of(engine), doc, offset, Trigger::Invoked, settings);
    CompletionOutcome outcome = execute_plan(engine, doc, plan, {});
    Run r{ms_since(t), 0, !outcome.candidates.empty()};
    for (const Candidate& candidate : outcome.candidates) r.steps = std::max(r.steps, candidate.stats.forwards);
    return r;
  };
  std::vector<double> ms[2], steps[2];
  for (int round = 0; round < rounds; ++round) {
    for (size_t i = 0; i < cursors.size(); ++i) {
      SourceDocument doc(cursors[i].text, find_language_by_name(cursors[i].language));
      Run one, three;
      if ((i + size_t(round)) % 2) {
        three = run(doc, cursors[i].offset, 3);
        one = run(doc, cursors[i].offset, 1);
      } else {
        one = run(doc, cursors[i].offset, 1);
        three = run(doc, cursors[i].offset, 3);
      }
      if (!one.offered) continue;
      ms[0].push_back(one.ms), ms[1].push_back(three.ms);
      steps[0].push_back(one.steps), steps[1].push_back(three.steps);
    }
  }
  return {int(ms[0].size()), percentile(ms[0], 0.5), percentile(ms[1], 0.5), percentile(steps[0], 0.5),
          percentile(steps[1], 0.5)};
}

// A Python document whose text before the cursor holds well over `prompt_tokens` tokens, the
// cursor after "    total = " in a new function; each `variant` is another cold prompt.
std::pair<std::string, size_t> long_document(const fs::path& samples, int64_t prompt_tokens, int variant) {
  // The variant's comment every 4 lines: whatever window the prompt takes, it shares at most a
  // few lines with another variant's, so the prompt cache cannot serve it.
  const std::string marker = "# variant " + std::to_string(variant) + "\n";
  const std::string stats = read_file((samples / "python" / "stats.py").string());
  std::string body;
  int line = 0;
  while (int64_t(body.size()) < prompt_tokens * 6) {
    for (size_t begin = 0; begin < stats.size();) {
      size_t end = stats.find('\n', begin);
      end = end == std::string::npos ? stats.size() : end + 1;
      if (line++ % 4 == 0) body += marker;
      body += stats.substr(begin, end - begin);
      begin = end;
    }
    body += "\n";
  }
  body += "\ndef target_function(values, limit):\n    total = ";
  const size_t cursor = body.size();
  body += "\n    return total\n\n\nprint(target_function([1, 2, 3], 2))\n";
  return {body, cursor};
}

// Inline completions through the whole server path at long prompts, for the GPU check: per
// prompt length, cold (a new document: nothing cached), and warm (the user typed one character
// since the last request: the prompt cache holds all but the tail), with four tokens committed
// per step (threshold ~0: every masked slot of the block) and with one token per step.
// What each long-prompt request decodes, through the feature path (plan_inline + execute_plan,
// what the server runs): tokens generated, forwards, prompt tokens and how many were computed,
// for the warm request of one document per length and mode. The server does not report these.
json long_prompt_stats(const std::string& model, const DeviceOptions& device, const fs::path& samples,
                       const std::vector<int64_t>& lengths, int max_new_tokens) {
  auto engine = load_engine(model, device);
  const LanguageInfo* python = find_language_by_name("python");
  json out = json::object();
  for (int64_t length : lengths) {
    for (int mode = 0; mode < 2; ++mode) {
      InfillSettings settings;
      settings.prefix_tokens = int(length);
      settings.suffix_tokens = 64;
      settings.max_new_tokens = max_new_tokens;
      settings.candidates_invoked = 1;
      settings.threshold = mode == 0 ? std::optional<double>(1e-9) : std::nullopt;
      auto [text, cursor] = long_document(samples, length, int(1000 * length + 10 * mode + 9));
      json row;
      for (int request = 0; request < 2; ++request) {
        if (request == 1) text.insert(cursor++, "v");
        SourceDocument doc(text, python);
        // The plan's first candidate decoded as execute_plan decodes it, without the
        // post-processing that drops an empty or broken text (random weights write both).
        auto t = Clock::now();
        Plan plan = plan_inline(ModelView::of(*engine), doc, cursor, Trigger::Invoked, settings);
        if (plan.candidates.empty()) {
          row["declined"] = plan.declined_reason;
          break;
        }
        DecodeResult result = engine->generate(plan.prompt, plan.candidates.front(), {});
        const double ms = ms_since(t);
        const DecodeStats& stats = result.stats;
        row[request == 0 ? "cold" : "warm"] = {{"ms", ms}, {"generated_tokens", stats.generated_tokens},
                                               {"forwards", stats.forwards}, {"prompt_tokens", stats.prompt_tokens},
                                               {"prompt_tokens_computed", stats.prompt_tokens_computed},
                                               {"prefill_ms", stats.prefill_ms}, {"decode_ms", stats.decode_ms}};
      }
      out[std::to_string(length)][mode == 0 ? "forced4" : "1step"] = row;
    }
  }
  return out;
}

json long_prompt_bench(const std::string& model, const DeviceOptions& device, const fs::path& samples,
                       const std::vector<int64_t>& lengths, int max_new_tokens, int repeats) {
  lsp::ServerOptions server_options;
  server_options.config.model_path = model;
  server_options.config.device = device;
  InProcessServer server(server_options);
  server.request(1, "initialize", {{"capabilities", json::object()},
                                   {"initializationOptions", {{"inlineCompletion", {{"debounceMs", 0}}}}}});
  server.notify("initialized", json::object());
  server.request(2, "maskfill/status", json::object());  // waits for the model load
  int64_t id = 10;
  int version = 1;
  json out = json::object();
  auto complete = [&](const std::string& uri, const std::string& text, size_t cursor) {
    // ASCII document: the cursor's character is its byte offset within its line.
    const uint32_t line = uint32_t(std::count(text.begin(), text.begin() + long(cursor), '\n'));
    const uint32_t character = uint32_t(cursor - (text.rfind('\n', cursor - 1) + 1));
    server.notify("textDocument/didChange", {{"textDocument", {{"uri", uri}, {"version", ++version}}},
                                             {"contentChanges", json::array({{{"text", text}}})}});
    auto t = Clock::now();
    json answer = server.request(id++, "textDocument/inlineCompletion",
                                 {{"textDocument", {{"uri", uri}}},
                                  {"position", {{"line", line}, {"character", character}}},
                                  {"context", {{"triggerKind", 1}}}});
    double ms = ms_since(t);
    if (answer.contains("error")) throw std::runtime_error("server error: " + answer.dump());
    return ms;
  };
  for (int64_t length : lengths) {
    const std::string label = length % 1024 == 0 ? std::to_string(length / 1024) + "k" : std::to_string(length);
    std::vector<double> cold, forced4, one_step;
    for (int mode = 0; mode < 2; ++mode) {
      json threshold = mode == 0 ? json(1e-9) : json(nullptr);
      server.notify("workspace/didChangeConfiguration",
                    {{"settings", {{"maskfill", {{"prefixTokens", length}, {"suffixTokens", 64}, {"candidates", 1},
                                                 {"maxNewTokens", max_new_tokens}, {"threshold", threshold}}}}}});
      for (int r = 0; r < repeats; ++r) {
        auto [text, cursor] = long_document(samples, length, int(1000 * length + 10 * mode + r));
        std::string uri = "file:///bench/long_" + label + "_" + std::to_string(mode) + "_" + std::to_string(r) + ".py";
        server.notify("textDocument/didOpen",
                      {{"textDocument", {{"uri", uri}, {"languageId", "python"}, {"version", version}, {"text", text}}}});
        double first = complete(uri, text, cursor);
        if (mode == 0) cold.push_back(first);
        text.insert(cursor, "v");  // one keystroke: everything before it stays cached
        (mode == 0 ? forced4 : one_step).push_back(complete(uri, text, cursor + 1));
        server.notify("textDocument/didClose", {{"textDocument", {{"uri", uri}}}});
      }
    }
    out["inline32_" + label + "_forced4_p50_ms"] = percentile(forced4, 0.5);
    out["inline32_" + label + "_1step_p50_ms"] = percentile(one_step, 0.5);
    out["inline32_" + label + "_cold_forced4_p50_ms"] = percentile(cold, 0.5);
    std::fprintf(stderr, "inline at a %lld-token prompt budget: warm forced-4 p50 %.1f ms, warm 1-step p50 %.1f ms, cold forced-4 p50 %.1f ms\n",
                 (long long)length, percentile(forced4, 0.5), percentile(one_step, 0.5), percentile(cold, 0.5));
  }
  server.request(id++, "shutdown", nullptr);
  server.server->stop_worker();
  return out;
}

int run_bench_inline(int argc, char** argv) {
  CLI::App app{"Inline completion latency with the bundled model: feature alone vs whole server path"};
  int positions = 60, max_new_tokens = 32;
  std::string samples = (fs::path(MASKFILL_SOURCE_DIR) / "samples").string();
  app.add_option("--positions", positions)->capture_default_str();
  app.add_option("--samples", samples)->capture_default_str();
  std::string model = default_model_dir();
  DeviceOptions device;
  bool json_output = false;
  int keystrokes = 24;
  app.add_option("--model", model, "model directory (HF snapshot layout)")->capture_default_str();
  app.add_option("--device", device.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  app.add_option("--dtype", device.dtype, "auto | float32 | bfloat16 | float16")->capture_default_str();
  app.add_option("--keystrokes", keystrokes, "keystrokes per typing session")->capture_default_str();
  app.add_flag("--json", json_output, "print one JSON object (keys in README's benchmark section)");
  app.add_option("--max-new-tokens", max_new_tokens, "cap on masked tokens per completion")->capture_default_str();
  std::vector<int64_t> long_prompts;
  int repeats = 5;
  app.add_option("--long-prompts", long_prompts,
                 "only the server path at these prompt budgets (e.g. 512,2048,4096): cold, warm four tokens per "
                 "step and warm one token per step (the GPU check)")
      ->delimiter(',');
  app.add_option("--repeats", repeats, "requests per figure with --long-prompts")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_level(spdlog::level::warn);
  if (model.empty()) throw std::runtime_error("no model: pass --model DIR");
  if (!long_prompts.empty()) {
    // The feature path's stats first, its engine released before the server loads its own.
    json stats = long_prompt_stats(model, device, samples, long_prompts, max_new_tokens);
    json summary = long_prompt_bench(model, device, samples, long_prompts, max_new_tokens, repeats);
    summary["feature_path"] = stats;
    double load[1] = {0};
    summary["load_average_1m"] = getloadavg(load, 1) == 1 ? load[0] : -1;
    summary["max_new_tokens"] = max_new_tokens;
    summary["repeats"] = repeats;
    std::printf("%s\n", summary.dump(2).c_str());
    return 0;
  }
  auto engine = load_engine(model, device);
  InfillSettings settings;
  settings.max_new_tokens = max_new_tokens;
  std::vector<Cursor> cursors = cursors_in(samples, positions);

  lsp::ServerOptions server_options;
  server_options.config.model_path = model;
  server_options.config.device = device;
  InProcessServer in_process(server_options);
  in_process.request(1, "initialize",
                     {{"capabilities", json::object()}, {"initializationOptions", {{"maxNewTokens", max_new_tokens}, {"inlineCompletion", {{"debounceMs", 0}}}}}});
  in_process.notify("initialized", json::object());
  in_process.request(2, "maskfill/status", json::object());

  std::vector<double> feature_ms, server_ms, overhead_ms, tokens;
  int64_t id = 10;
  for (const Cursor& cursor : cursors) {
    SourceDocument doc(cursor.text, find_language_by_name(cursor.language));
    auto t0 = Clock::now();
    Plan plan = plan_inline(ModelView::of(*engine), doc, cursor.offset, Trigger::Automatic, settings);
    CompletionOutcome outcome = execute_plan(*engine, doc, plan, {});
    double a = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!outcome.declined_reason.empty()) continue;  // comments and strings are declined at once
    std::string uri = "file://" + cursor.path;
    in_process.notify("textDocument/didOpen",
                      {{"textDocument", {{"uri", uri}, {"languageId", cursor.language}, {"version", 1}, {"text", cursor.text}}}});
    auto t1 = Clock::now();
    json answer = in_process.request(id++, "textDocument/inlineCompletion",
                                     {{"textDocument", {{"uri", uri}}},
                                      {"position", {{"line", cursor.line}, {"character", cursor.character}}},
                                      {"context", {{"triggerKind", 2}}}});
    double b = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
    in_process.notify("textDocument/didClose", {{"textDocument", {{"uri", uri}}}});
    if (answer.contains("error")) throw std::runtime_error("server error: " + answer.dump());
    feature_ms.push_back(a);
    server_ms.push_back(b);
    overhead_ms.push_back(b - a);
    if (!outcome.candidates.empty()) tokens.push_back(outcome.candidates.front().stats.generated_tokens);
  }
  in_process.request(id++, "shutdown", nullptr);
  in_process.server->stop_worker();

  // Typing sessions: a user writes a new line in the middle of each sample, one completion per
  // keystroke, prompt cache on (as in the editor).
  const std::string typed = std::string("result = compute(values, limit)").substr(0, size_t(std::max(1, keystrokes)));
  std::vector<double> computed, typing_ms, typing_prompt;
  for (const Cursor& cursor : cursors_in(samples, 8)) {
    const LanguageInfo* language = find_language_by_name(cursor.language);
    size_t lines = size_t(std::count(cursor.text.begin(), cursor.text.end(), '\n'));
    TypingResult warm = type_through(*engine, language, typing_session(cursor.text, lines / 2, typed), settings, false);
    computed.insert(computed.end(), warm.prompt_computed.begin() + (warm.prompt_computed.empty() ? 0 : 1),
                    warm.prompt_computed.end());  // the session's first completion has nothing cached
    typing_ms.insert(typing_ms.end(), warm.ms.begin(), warm.ms.end());
    typing_prompt.insert(typing_prompt.end(), warm.prompt_tokens.begin(), warm.prompt_tokens.end());
  }
  // The same at a ~2K-token prompt (a long file, budgets raised), with and without the cache.
  InfillSettings long_settings = settings;
  long_settings.prefix_tokens = 1600;
  long_settings.suffix_tokens = 300;
  std::string long_text;
  for (int round = 0; round < 50 && long_text.size() < 9000; ++round)
    for (const Cursor& cursor : cursors_in(samples, 8))
      if (cursor.language == "python" && long_text.size() < 9000) long_text += cursor.text + "\n";
  const LanguageInfo* python = find_language_by_name("python");
  auto long_session = typing_session(long_text, size_t(std::count(long_text.begin(), long_text.end(), '\n')) * 3 / 4, typed);
  TypingResult long_warm = type_through(*engine, python, long_session, long_settings, false);
  TypingResult long_cold = type_through(*engine, python, long_session, long_settings, true);
  double cache_speedup = percentile(long_cold.ms, 0.5) / std::max(1e-9, percentile(long_warm.ms, 0.5));
  // Three candidates decoded together vs one, no cache.
  std::vector<Cursor> candidate_cursors = cursors_in(samples, 24);
  CandidatesComparison candidates = compare_candidates(*engine, candidate_cursors, settings, 2);
  const double one_ms = candidates.one_ms_p50, three_ms = candidates.three_ms_p50;
  PromptCacheStats cache = engine->prompt_cache_stats();

  double load[1] = {0};
  json summary = {
      {"model", engine->description()},
      {"load_average_1m", getloadavg(load, 1) == 1 ? load[0] : -1},
      {"positions", feature_ms.size()},
      {"generated_tokens_p50", percentile(tokens, 0.5)},
      {"feature_ms_p50", percentile(feature_ms, 0.5)},
      {"feature_ms_p95", percentile(feature_ms, 0.95)},
      {"server_ms_p50", percentile(server_ms, 0.5)},
      {"server_ms_p95", percentile(server_ms, 0.95)},
      {"server_overhead_ms_p50", percentile(overhead_ms, 0.5)},
      {"server_overhead_ms_p95", percentile(overhead_ms, 0.95)},
      {"typing_completions", typing_ms.size()},
      {"typing_ms_p50", percentile(typing_ms, 0.5)},
      {"typing_prompt_tokens_p50", percentile(typing_prompt, 0.5)},
      {"typing_prompt_tokens_computed_p50", percentile(computed, 0.5)},
      {"typing_prompt_tokens_computed_p95", percentile(computed, 0.95)},
      {"long_prompt_tokens_p50", percentile(long_warm.prompt_tokens, 0.5)},
      {"long_typing_ms_p50_cached", percentile(long_warm.ms, 0.5)},
      {"long_typing_ms_p50_uncached", percentile(long_cold.ms, 0.5)},
      {"prompt_cache_speedup_p50", cache_speedup},
      {"candidates1_ms_p50", one_ms},
      {"candidates3_ms_p50", three_ms},
      {"candidates3_cost_ratio", three_ms / std::max(1e-9, one_ms)},
      {"candidates_requests", candidates.requests},
      {"candidates1_steps_p50", candidates.one_steps_p50},
      {"candidates3_steps_p50", candidates.three_steps_p50},
      {"prompt_cache", {{"lookups", cache.lookups}, {"hits", cache.hits}, {"tokens_reused", cache.tokens_reused},
                        {"tokens_computed", cache.tokens_computed}, {"entries", cache.entries}, {"bytes", cache.bytes}}}};
  if (json_output) {
    std::printf("%s\n", summary.dump(2).c_str());
    return 0;
  }
  std::printf("inline completion (Automatic trigger, one candidate), %s, %zu positions in %s\n",
              engine->description().c_str(), feature_ms.size(), samples.c_str());
  std::printf("  generated tokens per completion: p50 %.0f, max %.0f\n", percentile(tokens, 0.5), percentile(tokens, 1.0));
  std::printf("  feature alone (plan+exec) p50 %7.1f ms   p95 %7.1f ms\n", percentile(feature_ms, 0.5), percentile(feature_ms, 0.95));
  std::printf("  whole server path          p50 %7.1f ms   p95 %7.1f ms   (goal p50 < 150 ms at <= 32 tokens)\n",
              percentile(server_ms, 0.5), percentile(server_ms, 0.95));
  std::printf("  server overhead            p50 %7.2f ms   p95 %7.2f ms   (goal < 5 ms)\n", percentile(overhead_ms, 0.5),
              percentile(overhead_ms, 0.95));
  std::printf("typing (%zu completions, one per keystroke, prompt cache on)\n", typing_ms.size());
  std::printf("  latency p50 %.1f ms; prompt %.0f tokens, of which computed p50 %.0f (p95 %.0f)\n",
              percentile(typing_ms, 0.5), percentile(typing_prompt, 0.5), percentile(computed, 0.5),
              percentile(computed, 0.95));
  std::printf("typing at a %.0f-token prompt: p50 %.1f ms cached, %.1f ms uncached (speedup %.2fx)\n",
              percentile(long_warm.prompt_tokens, 0.5), percentile(long_warm.ms, 0.5), percentile(long_cold.ms, 0.5),
              cache_speedup);
  std::printf("candidates decoded together, no cache: 1 in %.1f ms, 3 in %.1f ms (ratio %.2f)\n", one_ms, three_ms,
              three_ms / std::max(1e-9, one_ms));
  return 0;
}

const RegisterCommand bench_inline_command{"bench-inline", "inline completion latency with the bundled model",
                                           run_bench_inline};

}  // namespace
}  // namespace maskfill
