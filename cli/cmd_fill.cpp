// `maskfill fill FILE (--line L --col C | --range L1:C1-L2:C2)`: inline completion at a cursor or
// fill-in-the-middle of a range, printing the whole new file or a unified diff. The prompt gets
// the same cross-file context an editor's would (same-file definitions, and with --workspace the
// definitions of the project); --show-prompt prints it first, so a user can see why.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>

#include "common/command.h"
#include "inference/engine.h"
#include "inference/tokenizer.h"
#include "infill/plan.h"
#include "infill/file_request.h"
#include "infill/workspace_index.h"

namespace maskfill {
namespace {

int fill(int argc, char** argv) {
  CLI::App app{"Complete at a cursor (--line/--col) or fill a range (--range) of FILE with the model.\n"
               "Lines and columns are 1-based; columns count characters (Unicode code points), not bytes.\n"
               "Prints the whole new file, or a unified diff with --diff (after the prompt with --show-prompt).",
               "maskfill fill"};
  std::string path, range, model_dir = default_model_dir();
  int line = 0, column = 0, candidates = 1;
  bool diff = false, show_prompt = false, allow_syntax_errors = false;
  std::string workspace;
  ContextSettings context_settings;
  DeviceOptions device;
  InfillSettings settings;
  app.add_option("FILE", path, "source file")->required()->check(CLI::ExistingFile);
  auto* line_option = app.add_option("--line", line, "cursor line (1-based)");
  auto* col_option = app.add_option("--col", column, "cursor column in characters (1-based)");
  auto* range_option = app.add_option("--range", range, "range to fill, L1:C1-L2:C2 (1-based, columns in characters)");
  line_option->needs(col_option)->excludes(range_option);
  col_option->needs(line_option)->excludes(range_option);
  app.add_flag("--diff", diff, "print a unified diff instead of the new file");
  app.add_option("--workspace", workspace, "project folder: definitions from its files join the prompt")
      ->check(CLI::ExistingDirectory);
  app.add_option("--context-tokens", context_settings.max_tokens, "token budget of the cross-file context (0: none)")
      ->capture_default_str()->check(CLI::Range(0, 8192));
  app.add_flag("--show-prompt", show_prompt, "print the assembled prompt as text before the result");
  app.add_flag("--allow-syntax-errors", allow_syntax_errors,
               "print the best candidate even when every candidate adds syntax errors");
  app.add_option("--model", model_dir, "model directory (HF snapshot layout)")->capture_default_str();
  app.add_option("--device", device.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  app.add_option("--dtype", device.dtype, "auto | float32 | bfloat16 | float16")->capture_default_str();
  app.add_option("--seed", settings.seed, "sampling seed (candidate i uses seed + i)")->capture_default_str();
  app.add_option("--candidates", candidates, "candidates to generate; the best is printed")->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_option("--max-new-tokens", settings.max_new_tokens, "cap on generated tokens")->capture_default_str()
      ->check(CLI::Range(4, 4096));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  if (range.empty() && !line) {
    std::fprintf(stderr, "maskfill fill: give --line and --col, or --range (see --help)\n");
    return 2;
  }
  if (model_dir.empty()) {
    std::fprintf(stderr, "maskfill fill: no model found; pass --model DIR or set MASKFILL_MODEL_DIR\n");
    return 2;
  }
  // Validate the input before the (slow) model load.
  SourceDocument doc = read_source_file(path);
  ByteRange target = range.empty() ? ByteRange{byte_offset_at(doc.text(), line, column), 0} : parse_range(doc.text(), range);
  settings.candidates_invoked = candidates;
  ContextInputs context;
  context.settings = context_settings;
  context.path = std::filesystem::absolute(path).lexically_normal().string();
  std::shared_ptr<WorkspaceIndex> index;
  if (!workspace.empty()) {
    index = std::make_shared<WorkspaceIndex>(std::vector<std::filesystem::path>{workspace});
    index->build();
    context.index = index;
    context.display_root = std::filesystem::canonical(workspace).string();
    context.path = std::filesystem::weakly_canonical(path).string();
  }
  std::unique_ptr<Engine> engine = load_engine(model_dir, device);
  Plan plan = range.empty() ? plan_inline(ModelView::of(*engine), doc, target.begin, Trigger::Invoked, settings, &context)
                            : plan_fill(ModelView::of(*engine), doc, target, settings, &context);
  if (show_prompt) {
    std::string prompt = engine->tokenizer().decode(plan.prompt, /*skip_special_tokens=*/false);
    std::printf("=== prompt (%zu tokens) ===\n%s\n=== result ===\n", plan.prompt.size(), prompt.c_str());
    std::fprintf(stderr, "maskfill fill: %zu context snippets, %zu context tokens, %zu prompt tokens\n",
                 plan.context.snippets.size(), plan.context.ids.size(), plan.prompt.size());
  }
  CompletionOutcome outcome = execute_plan(*engine, doc, plan, {});
  if (!outcome.declined_reason.empty() || outcome.candidates.empty()) {
    std::fprintf(stderr, "maskfill fill: no completion (%s)\n",
                 outcome.declined_reason.empty() ? "every candidate was empty after post-processing"
                                                 : outcome.declined_reason.c_str());
    return 1;
  }
  const Candidate* best = printable_candidate(outcome, allow_syntax_errors);
  if (!best) {
    std::fprintf(stderr,
                 "maskfill fill: every candidate (%zu) adds syntax errors here, so nothing is printed; "
                 "--candidates N tries more, --allow-syntax-errors prints the best anyway\n",
                 outcome.candidates.size());
    return 1;
  }
  if (!best->syntax_ok) std::fprintf(stderr, "maskfill fill: warning: the best candidate adds syntax errors\n");
  std::fputs(render_result(doc, *best, path, diff).c_str(), stdout);
  return 0;
}

const RegisterCommand command{"fill", "complete at a cursor or fill a range of a file with the model", fill};

}  // namespace
}  // namespace maskfill
