// `maskfill eval infill --tasks FILE.jsonl`: completes each HumanEval-infilling task's middle
// through the one request pipeline the language server uses (plan_inline + execute_plan, the
// editor's situation of an empty line between prompt and suffix), runs the task's test with
// python3 in the sandbox of training/eval_runner, and reports pass@1, exact match, tokens per
// forward and tokens/s.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/command.h"
#include "inference/model_files.h"
#include "inference/tokenizer.h"
#include "inference/autoregressive_engine.h"
#include "inference/torch/decode_flags.h"
#include "inference/torch/torch_engine.h"
#include "infill/plan.h"
#include "training/eval_runner.h"

namespace maskfill::training {
namespace {

struct EvalFlags {
  std::vector<std::string> tasks;
  std::string report;
  int limit = 0;
};

// The editor's situation for a task: the cursor on an empty line between the prompt and the
// suffix, where the user is about to write the missing middle.
struct EditorSituation {
  std::string text;
  size_t cursor = 0;
};

EditorSituation situation_of(const InfillTask& task) { return {task.prompt + "\n" + task.suffix, task.prompt.size()}; }

// The inline completion the language server would show there (Automatic trigger: what appears
// while typing), through the one request pipeline; the middle is that text ending its line.
struct EvalCompletion {
  std::string insert_text;  // exactly what the server's inline item inserts
  std::string middle;       // insert_text as the task's middle (whole lines)
  DecodeStats stats;
};

EvalCompletion complete_task(Engine& engine, const InfillTask& task, const InfillSettings& settings) {
  EditorSituation situation = situation_of(task);
  SourceDocument doc(situation.text, find_language_by_name("python"));
  Plan plan = plan_inline(ModelView::of(engine), doc, situation.cursor, Trigger::Automatic, settings);
  CompletionOutcome outcome = execute_plan(engine, doc, plan, {});
  EvalCompletion completion;
  // The server shows only candidates that parse for Automatic triggers.
  for (const Candidate& candidate : outcome.candidates) {
    if (!candidate.syntax_ok) continue;
    completion.insert_text = candidate.replacement.text;
    completion.stats = candidate.stats;
    break;
  }
  completion.middle = completion.insert_text;
  if (!completion.middle.empty() && completion.middle.back() != '\n') completion.middle += '\n';
  return completion;
}

int run_eval(int argc, char** argv) {
  CLI::App app{"Evaluate infilling through the editor's pipeline: for each HumanEval-infilling task the\n"
               "inline completion the language server would show on an empty line between prompt and\n"
               "suffix; runs the task's test and reports pass@1, exact match and decoding speed"};
  app.require_subcommand(1);
  auto* infill = app.add_subcommand("infill", "complete each task's middle and run its test");
  ModelFlags model_flags;
  EvalFlags flags;
  InfillSettings settings;
  double threshold = *settings.threshold;
  bool one_per_step = false, ar = false, json_output = false;
  model_flags.add_to(*infill);
  infill->add_option("--tasks", flags.tasks, "task files (JSONL)")->required();
  infill->add_option("--threshold", threshold, "parallel-commit confidence threshold")->capture_default_str();
  infill->add_flag("--one-per-step", one_per_step, "commit one token per step (no threshold)");
  infill->add_option("--entropy-bound", settings.entropy_bound,
                     "commit by an entropy budget in nats instead of the threshold (EB-sampler)");
  infill->add_flag("--ar", ar, "decode the same prompts autoregressively (greedy, causal attention)");
  infill->add_option("--max-new-tokens", settings.max_new_tokens)->capture_default_str();
  infill->add_option("--prefix-tokens", settings.prefix_tokens)->capture_default_str();
  infill->add_option("--suffix-tokens", settings.suffix_tokens)->capture_default_str();
  infill->add_option("--limit", flags.limit, "evaluate only the first N tasks of each file");
  infill->add_option("--report", flags.report, "write per-task outcomes as JSONL");
  infill->add_flag("--json", json_output, "print one JSON object instead of the table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  settings.threshold = one_per_step ? std::nullopt : std::optional<double>(threshold);
  auto engine = make_torch_engine(model_flags.model_dir(), model_flags.device);
  // AR decoding runs the same plans: only the engine's decoding differs.
  AutoregressiveEngine ar_engine(*engine);
  Engine& decoder = ar ? static_cast<Engine&>(ar_engine) : *engine;
  RunOptions run;
  std::ofstream report;
  if (!flags.report.empty()) report.open(flags.report);
  nlohmann::json results = nlohmann::json::array();
  if (!json_output)
    std::printf("%-22s %5s %8s %8s %6s %10s %9s\n", "tasks", "n", "pass@1", "exact", "tok/fw", "tok/s", "timeouts");
  for (const std::string& file : flags.tasks) {
    std::vector<InfillTask> tasks = read_tasks_jsonl(file);
    if (flags.limit > 0 && int(tasks.size()) > flags.limit) tasks.resize(flags.limit);
    std::vector<TaskOutcome> outcomes;
    int64_t generated = 0, forwards = 0;
    double decode_ms = 0;
    for (size_t i = 0; i < tasks.size(); ++i) {
      const InfillTask& task = tasks[i];
      EvalCompletion completion = complete_task(decoder, task, settings);
      generated += completion.stats.generated_tokens;
      forwards += completion.stats.forwards;
      decode_ms += completion.stats.decode_ms;
      outcomes.push_back(evaluate_completion(task, completion.middle, run));
      if (report.is_open()) {
        EditorSituation situation = situation_of(task);
        report << nlohmann::json{{"file", file},
                                 {"task_id", task.task_id},
                                 {"document", situation.text},
                                 {"cursor", situation.cursor},
                                 {"insert_text", completion.insert_text},
                                 {"completion", outcomes.back().completion},
                                 {"status", status_name(outcomes.back().test.status)},
                                 {"exact", outcomes.back().exact}}
                      .dump()
               << "\n";
      }
      if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%s: %zu/%zu", file.c_str(), i + 1, tasks.size());
    }
    if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
    EvalSummary s = summarize(outcomes);
    std::string name = std::filesystem::path(file).filename().string();
    double per_forward = forwards ? double(generated) / double(forwards) : 0;
    double per_second = decode_ms > 0 ? 1000.0 * double(generated) / decode_ms : 0;
    results.push_back({{"tasks", name}, {"n", s.tasks}, {"pass_at_1", s.pass_at_1}, {"exact_match", s.exact_match},
                       {"tokens_per_forward", per_forward}, {"tokens_per_second", per_second},
                       {"generated_tokens", generated}, {"forwards", forwards}, {"timeouts", s.timed_out}});
    if (!json_output)
      std::printf("%-22s %5d %7.1f%% %7.1f%% %6.2f %10.1f %9d\n", name.c_str(), s.tasks, 100 * s.pass_at_1,
                  100 * s.exact_match, per_forward, per_second, s.timed_out);
    std::fflush(stdout);
  }
  std::string decoding = ar ? "autoregressive greedy"
                            : settings.entropy_bound ? "block diffusion, entropy bound " + std::to_string(*settings.entropy_bound)
                            : one_per_step           ? "block diffusion, one token per step"
                                                     : "block diffusion, threshold " + std::to_string(threshold);
  if (json_output)
    std::printf("%s\n", nlohmann::json{{"model", engine->description()}, {"decoding", decoding}, {"results", results}}
                             .dump(2)
                             .c_str());
  else
    std::printf("(%s, %s)\n", engine->description().c_str(), decoding.c_str());
  return 0;
}

const RegisterCommand eval_command{"eval", "evaluate infilling on HumanEval-infilling style tasks", run_eval};

}  // namespace
}  // namespace maskfill::training
