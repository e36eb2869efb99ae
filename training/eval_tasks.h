// Held-out infilling task sets (HumanEval-infilling JSONL) built from validation-split Python.
//
// Usage:
//   EvalTaskOptions opt;  opt.max_tasks = 80;
//   EvalTaskSets sets = build_eval_tasks("data/corpus", opt);   // validation split only
//   write_tasks_jsonl(sets.single_line, "samples/eval/single-line.jsonl");
//   write_tasks_jsonl(sets.multi_line,  "samples/eval/multi-line.jsonl");
//
// A task is one self-contained top-level function (its free names are builtins, its own
// bindings, or names imported from a small list of pure standard modules) with one span blanked:
// a single line, or 2-8 lines of whole sibling statements. The test keeps the original function
// under another name and compares the candidate with it on concrete inputs: a probe run tries a
// fixed pool of argument tuples against the original and keeps those that return
// deterministically (or raise). A task is kept only if the canonical span passes and a `pass`
// in place of the span fails, so every test checks the blanked behaviour.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "training/eval_runner.h"

namespace maskfill::training {

struct EvalTaskOptions {
  uint64_t seed = 1;
  int max_tasks = 80;               // per set
  int max_per_function = 2;         // tasks from one function, per set
  size_t max_function_bytes = 2000;
  int max_inputs = 12;              // argument tuples kept per function
  int jobs = 2;                     // python processes in parallel
  RunOptions run{"", 20.0, true, 2048};
};

struct EvalTaskSets {
  std::vector<InfillTask> single_line, multi_line;
  int functions_seen = 0, functions_self_contained = 0, functions_with_inputs = 0;
};

// Validation-split Python documents of a corpus written by write_corpus.
EvalTaskSets build_eval_tasks(const std::string& corpus_dir, const EvalTaskOptions& options);

// The same from in-memory files (path, text), in the order given; used by the tests.
EvalTaskSets build_eval_tasks_from(const std::vector<std::pair<std::string, std::string>>& files,
                                   const EvalTaskOptions& options);

}  // namespace maskfill::training
