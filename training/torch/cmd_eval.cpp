// `maskfill eval infill --tasks FILE.jsonl`: fills each HumanEval-infilling task's middle with the
// same prompt builder and engine the server uses, runs the task's test with python3 in the
// sandbox of training/eval_runner, and reports pass@1 and exact match.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/command.h"
#include "inference/model_files.h"
#include "inference/tokenizer.h"
#include "inference/torch/decode_flags.h"
#include "inference/torch/torch_engine.h"
#include "infill/postprocess.h"
#include "infill/prompt_builder.h"
#include "training/eval_runner.h"

namespace maskfill::training {
namespace {

struct EvalFlags {
  std::vector<std::string> tasks;
  std::string report;
  bool ar = false;
  int limit = 0;
  PromptBudget budget;
};

std::string fill_middle(Engine& engine, const InfillTask& task, const DecodeOptions& options, const EvalFlags& flags) {
  std::optional<int32_t> bos;
  if (engine.tokenizer_config().add_bos_token) bos = engine.config().bos_token_id;
  FimPrompt prompt = build_fim_prompt(engine.tokenizer(), task.prompt, task.suffix, flags.budget, bos);
  DecodeResult result = flags.ar ? engine.generate_autoregressive(prompt.ids, options.gen_length + options.extend_max, {})
                                 : engine.generate(prompt.ids, options, {});
  // The server's post-processing: special tokens cut, suffix overlap removed, and for the
  // benchmark's single-line tasks (task ids "SingleLine...", as HumanEval-infilling names them)
  // only the first line is kept.
  PostprocessContext context{task.suffix, task.task_id.rfind("SingleLine", 0) == 0,
                             detect_indent_style(task.prompt + task.suffix), ""};
  std::string fill = postprocess_candidate(text_before_special_tokens(engine.tokenizer(), result.tokens), context)
                         .value_or("");
  // The middle replaces whole lines: the prompt ends and the suffix starts at a line boundary.
  if (!fill.empty() && fill.back() != '\n') fill += '\n';
  return fill;
}

int run_eval(int argc, char** argv) {
  CLI::App app{"Evaluate infilling: pass@1 and exact match on HumanEval-infilling JSONL tasks"};
  app.require_subcommand(1);
  auto* infill = app.add_subcommand("infill", "fill the middle of each task and run its test");
  ModelFlags model_flags;
  DecodeFlags decode_flags;
  decode_flags.options.gen_length = 64;
  decode_flags.options.extend_max = 64;
  EvalFlags flags;
  model_flags.add_to(*infill);
  decode_flags.add_to(*infill);
  infill->add_option("--tasks", flags.tasks, "task files (JSONL)")->required();
  infill->add_flag("--ar", flags.ar, "decode autoregressively (for AR-only models)");
  infill->add_option("--limit", flags.limit, "evaluate only the first N tasks of each file");
  infill->add_option("--report", flags.report, "write per-task outcomes as JSONL");
  infill->add_option("--prefix-tokens", flags.budget.prefix_tokens)->capture_default_str();
  infill->add_option("--suffix-tokens", flags.budget.suffix_tokens)->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto engine = make_torch_engine(model_flags.model_dir(), model_flags.device);
  DecodeOptions options = decode_flags.resolve();
  RunOptions run;
  std::ofstream report;
  if (!flags.report.empty()) report.open(flags.report);
  std::printf("%-28s %6s %8s %8s %9s\n", "tasks", "n", "pass@1", "exact", "timeouts");
  for (const std::string& file : flags.tasks) {
    std::vector<InfillTask> tasks = read_tasks_jsonl(file);
    if (flags.limit > 0 && int(tasks.size()) > flags.limit) tasks.resize(flags.limit);
    std::vector<TaskOutcome> outcomes;
    for (const InfillTask& task : tasks) {
      outcomes.push_back(evaluate_completion(task, fill_middle(*engine, task, options, flags), run));
      if (report.is_open())
        report << nlohmann::json{{"file", file},
                                 {"task_id", task.task_id},
                                 {"completion", outcomes.back().completion},
                                 {"status", status_name(outcomes.back().test.status)},
                                 {"exact", outcomes.back().exact}}
                      .dump()
               << "\n";
    }
    EvalSummary s = summarize(outcomes);
    std::string name = std::filesystem::path(file).filename().string();
    std::printf("%-28s %6d %7.1f%% %7.1f%% %9d\n", name.c_str(), s.tasks, 100 * s.pass_at_1, 100 * s.exact_match,
                s.timed_out);
    std::fflush(stdout);
  }
  std::printf("(%s, %s decoding)\n", engine->description().c_str(), flags.ar ? "autoregressive" : "block diffusion");
  return 0;
}

const RegisterCommand eval_command{"eval", "evaluate infilling on HumanEval-infilling style tasks", run_eval};

}  // namespace
}  // namespace maskfill::training
