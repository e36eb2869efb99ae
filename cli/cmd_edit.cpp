// `maskfill edit FILE --range L1:C1-L2:C2 --instruction TEXT`: rewrite a range (or, for an empty
// range, the statement/function/class around it) as instructed, printing the new file or a diff.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "common/command.h"
#include "inference/engine.h"
#include "infill/plan.h"
#include "infill/file_request.h"

namespace maskfill {
namespace {

int edit(int argc, char** argv) {
  CLI::App app{"Rewrite a range of FILE following an instruction. An empty range (L:C-L:C) rewrites the\n"
               "smallest statement, function or class around it. Lines and columns are 1-based; columns\n"
               "count characters (Unicode code points), not bytes. Prints the whole new file, or a\n"
               "unified diff with --diff.",
               "maskfill edit"};
  std::string path, range, instruction, model_dir = default_model_dir();
  bool diff = false, allow_syntax_errors = false;
  DeviceOptions device;
  InfillSettings settings;
  app.add_option("FILE", path, "source file")->required()->check(CLI::ExistingFile);
  app.add_option("--range", range, "range to rewrite, L1:C1-L2:C2 (1-based, columns in characters)")->required();
  app.add_option("--instruction", instruction, "what to change")->required();
  app.add_flag("--diff", diff, "print a unified diff instead of the new file");
  app.add_flag("--allow-syntax-errors", allow_syntax_errors, "print the rewrite even when it adds syntax errors");
  app.add_option("--model", model_dir, "model directory (HF snapshot layout, with a chat template)")
      ->capture_default_str();
  app.add_option("--device", device.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  app.add_option("--dtype", device.dtype, "auto | float32 | bfloat16 | float16")->capture_default_str();
  app.add_option("--seed", settings.seed, "sampling seed")->capture_default_str();
  app.add_option("--max-new-tokens", settings.max_edit_tokens, "cap on generated tokens")->capture_default_str()
      ->check(CLI::Range(16, 8192));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  if (model_dir.empty()) {
    std::fprintf(stderr, "maskfill edit: no model found; pass --model DIR or set MASKFILL_MODEL_DIR\n");
    return 2;
  }
  SourceDocument doc = read_source_file(path);
  ByteRange selection = parse_range(doc.text(), range);
  std::unique_ptr<Engine> engine = load_engine(model_dir, device);
  Plan plan = plan_edit(ModelView::of(*engine), doc, selection, instruction, settings);
  CompletionOutcome outcome = execute_plan(*engine, doc, plan, {});
  if (!outcome.declined_reason.empty() || outcome.candidates.empty()) {
    std::fprintf(stderr, "maskfill edit: no edit (%s)\n",
                 outcome.declined_reason.empty() ? "the model returned no code" : outcome.declined_reason.c_str());
    return 1;
  }
  const Candidate* best = printable_candidate(outcome, allow_syntax_errors);
  if (!best) {
    std::fprintf(stderr, "maskfill edit: the rewrite adds syntax errors, so nothing is printed; "
                         "--seed N tries another, --allow-syntax-errors prints it anyway\n");
    return 1;
  }
  if (!best->syntax_ok) std::fprintf(stderr, "maskfill edit: warning: the rewrite adds syntax errors\n");
  std::fputs(render_result(doc, *best, path, diff).c_str(), stdout);
  return 0;
}

const RegisterCommand command{"edit", "rewrite a range of a file following an instruction", edit};

}  // namespace
}  // namespace maskfill
