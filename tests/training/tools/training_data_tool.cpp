// maskfill-training-data: runs the torch-free data stages from the command line.
//   corpus     --packages training/packages.txt --out DIR
//   tokenizer  --corpus DIR --out MODEL_DIR [--vocab 6144] [--max-mb 20]
//   sft        --corpus DIR --out FILE.jsonl [--seed 1]
//   eval-tasks --corpus DIR --out-dir samples/eval [--max-tasks 80]
//   eval-check --tasks FILE.jsonl   (runs every canonical solution; all must pass)
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "training/bpe_trainer.h"
#include "training/corpus.h"
#include "training/eval_runner.h"
#include "training/eval_tasks.h"
#include "training/sft_synth.h"

using namespace maskfill::training;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int corpus(const std::string& packages, const std::string& out, double validation, const std::string& cache) {
  auto start = std::chrono::steady_clock::now();
  CorpusOptions opt;
  opt.package_list_path = packages;
  opt.validation_fraction = validation;
  opt.cache_dir = cache;
  CorpusManifest m = gather_corpus(opt);
  write_corpus(m, out);
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_language, by_licence;
  uint64_t bytes[2] = {0, 0}, files[2] = {0, 0};
  for (const auto& f : m.files) {
    int s = f.split == Split::Validation;
    bytes[s] += f.bytes;
    ++files[s];
    by_language[f.language].first++;
    by_language[f.language].second += f.bytes;
    by_licence[f.licence].first++;
    by_licence[f.licence].second += f.bytes;
  }
  std::printf("corpus: train %llu files %.2f MB, validation %llu files %.2f MB (%.1f s)\n",
              (unsigned long long)files[0], bytes[0] / 1e6, (unsigned long long)files[1], bytes[1] / 1e6,
              seconds_since(start));
  for (const auto& [k, v] : by_language) std::printf("  language %-12s %6llu files %7.2f MB\n", k.c_str(), (unsigned long long)v.first, v.second / 1e6);
  for (const auto& [k, v] : by_licence) std::printf("  licence  %-12s %6llu files %7.2f MB\n", k.c_str(), (unsigned long long)v.first, v.second / 1e6);
  for (const auto& [k, v] : m.skipped) std::printf("  skipped  %-22s %llu\n", k.c_str(), (unsigned long long)v);
  std::printf("%s", corpus_report(m).c_str());
  return 0;
}

int tokenizer(const std::string& corpus_dir, const std::string& out, int vocab, double max_mb) {
  auto start = std::chrono::steady_clock::now();
  BpeTrainer trainer(BpeOptions{vocab, 2, static_cast<int64_t>(max_mb * 1e6)});
  for_each_document(corpus_dir, Split::Train, [&](const CorpusDocument& d) { trainer.add_text(d.text); });
  double counted = seconds_since(start);
  size_t words = trainer.distinct_words();
  BpeModel model = trainer.train();
  write_tokenizer_files(model, out);
  std::printf("tokenizer: %.2f MB, %zu distinct words counted in %.1f s; %zu tokens, %zu merges; total %.1f s\n",
              trainer.bytes_seen() / 1e6, words, counted, model.vocab.size(), model.merges.size(),
              seconds_since(start));
  return 0;
}

int sft(const std::string& corpus_dir, const std::string& out, uint64_t seed) {
  auto start = std::chrono::steady_clock::now();
  SftOptions opt;
  opt.seed = seed;
  SftSamples s = synthesize_corpus(corpus_dir, opt);
  write_sft_jsonl(s, out);
  std::map<std::string, int> kinds;
  for (const auto& e : s.edits) ++kinds[e.kind];
  for (const auto& f : s.fims) ++kinds["fim-" + f.kind];
  std::printf("sft: %zu edits, %zu fim in %.1f s\n", s.edits.size(), s.fims.size(), seconds_since(start));
  for (const auto& [k, n] : kinds) std::printf("  %-24s %d\n", k.c_str(), n);
  return 0;
}

int eval_tasks(const std::string& corpus_dir, const std::string& out_dir, int max_tasks) {
  auto start = std::chrono::steady_clock::now();
  EvalTaskOptions opt;
  opt.max_tasks = max_tasks;
  EvalTaskSets sets = build_eval_tasks(corpus_dir, opt);
  std::filesystem::create_directories(out_dir);
  write_tasks_jsonl(sets.single_line, out_dir + "/single-line.jsonl");
  write_tasks_jsonl(sets.multi_line, out_dir + "/multi-line.jsonl");
  std::printf("eval tasks: %d functions, %d self-contained, %d with inputs -> %zu single-line, %zu multi-line (%.1f s)\n",
              sets.functions_seen, sets.functions_self_contained, sets.functions_with_inputs, sets.single_line.size(),
              sets.multi_line.size(), seconds_since(start));
  return 0;
}

int eval_check(const std::string& tasks_path) {
  auto tasks = read_tasks_jsonl(tasks_path);
  std::vector<TaskOutcome> outcomes;
  for (const auto& t : tasks) {
    outcomes.push_back(evaluate_completion(t, t.canonical_solution, RunOptions{}));
    if (outcomes.back().test.status != TestStatus::Passed)
      std::fprintf(stderr, "%s: %s\n%s\n", t.task_id.c_str(), status_name(outcomes.back().test.status),
                   outcomes.back().test.output.c_str());
  }
  EvalSummary s = summarize(outcomes);
  std::printf("%s: %d tasks, pass@1 %.3f, exact %.3f\n", tasks_path.c_str(), s.tasks, s.pass_at_1, s.exact_match);
  return s.passed == s.tasks ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("stderr"));
  CLI::App app{"maskfill training data stages (torch-free)"};
  app.require_subcommand(1);
  std::string packages = "training/packages.txt", out, corpus_dir, tasks_path, out_dir = "samples/eval", cache;
  int vocab = 6144, max_tasks = 80;
  double max_mb = 0, validation = 0.1;
  uint64_t seed = 1;
  auto* c = app.add_subcommand("corpus", "gather the corpus");
  c->add_option("--packages", packages);
  c->add_option("--out", out)->required();
  c->add_option("--validation", validation);
  c->add_option("--cache", cache, "unpacked .deb cache for packages that are not installed");
  auto* t = app.add_subcommand("tokenizer", "train the BPE tokenizer");
  t->add_option("--corpus", corpus_dir)->required();
  t->add_option("--out", out)->required();
  t->add_option("--vocab", vocab);
  t->add_option("--max-mb", max_mb);
  auto* s = app.add_subcommand("sft", "synthesize SFT samples");
  s->add_option("--corpus", corpus_dir)->required();
  s->add_option("--out", out)->required();
  s->add_option("--seed", seed);
  auto* e = app.add_subcommand("eval-tasks", "build held-out infilling tasks");
  e->add_option("--corpus", corpus_dir)->required();
  e->add_option("--out-dir", out_dir);
  e->add_option("--max-tasks", max_tasks);
  auto* k = app.add_subcommand("eval-check", "run the canonical solutions of a task file");
  k->add_option("--tasks", tasks_path)->required();
  CLI11_PARSE(app, argc, argv);
  try {
    if (c->parsed()) return corpus(packages, out, validation, cache);
    if (t->parsed()) return tokenizer(corpus_dir, out, vocab, max_mb);
    if (s->parsed()) return sft(corpus_dir, out, seed);
    if (e->parsed()) return eval_tasks(corpus_dir, out_dir, max_tasks);
    if (k->parsed()) return eval_check(tasks_path);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "error: %s\n", ex.what());
    return 1;
  }
  return 0;
}
