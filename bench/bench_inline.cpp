// `maskfill bench inline`: end-to-end inline completion latency with the bundled model on this
// machine, over cursor positions (line ends and empty lines) in samples/: (a) the feature
// alone (plan_inline + execute_plan: span, prompt, engine, post-processing, syntax check) and (b) the whole
// server path (JSON-RPC message in, worker, JSON-RPC answer out) at the same positions, in one
// run. Server overhead = (b) - (a) per position, since decoding is greedy and deterministic.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "common/command.h"
#include "common/read_file.h"
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

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
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

int run_bench_inline(int argc, char** argv) {
  CLI::App app{"Inline completion latency with the bundled model: feature alone vs whole server path"};
  int positions = 60, max_new_tokens = 32;
  std::string samples = (fs::path(MASKFILL_SOURCE_DIR) / "samples").string();
  app.add_option("--positions", positions)->capture_default_str();
  app.add_option("--samples", samples)->capture_default_str();
  app.add_option("--max-new-tokens", max_new_tokens, "cap on masked tokens per completion")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_level(spdlog::level::warn);
  std::string model = default_model_dir();
  if (model.empty()) throw std::runtime_error("no bundled model found");
  auto engine = load_engine(model, {});
  InfillSettings settings;
  settings.max_new_tokens = max_new_tokens;
  std::vector<Cursor> cursors = cursors_in(samples, positions);

  InProcessServer in_process(lsp::ServerOptions{});
  in_process.request(1, "initialize",
                     {{"capabilities", json::object()}, {"initializationOptions", {{"maxNewTokens", max_new_tokens}}}});
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

  std::printf("inline completion (Automatic trigger, one candidate), %s, %zu positions in %s\n",
              engine->description().c_str(), feature_ms.size(), samples.c_str());
  std::printf("  generated tokens per completion: p50 %.0f, max %.0f\n", percentile(tokens, 0.5), percentile(tokens, 1.0));
  std::printf("  feature alone (plan+exec) p50 %7.1f ms   p95 %7.1f ms\n", percentile(feature_ms, 0.5), percentile(feature_ms, 0.95));
  std::printf("  whole server path          p50 %7.1f ms   p95 %7.1f ms   (goal p50 < 150 ms at <= 32 tokens)\n",
              percentile(server_ms, 0.5), percentile(server_ms, 0.95));
  std::printf("  server overhead            p50 %7.2f ms   p95 %7.2f ms   (goal < 5 ms)\n", percentile(overhead_ms, 0.5),
              percentile(overhead_ms, 0.95));
  return 0;
}

const RegisterCommand bench_inline_command{"bench-inline", "inline completion latency with the bundled model",
                                           run_bench_inline};

}  // namespace
}  // namespace maskfill
