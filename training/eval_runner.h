// The torch-free half of `maskfill eval infill`: HumanEval-infilling tasks, running a task's
// test with python3 in a sandboxed subprocess, exact match and pass@1.
//
// Usage:
//   auto tasks = read_tasks_jsonl("samples/eval/single-line.jsonl");
//   RunOptions run;                               // python3, 10 s, no network, temp dir
//   std::vector<TaskOutcome> outcomes;
//   for (auto& t : tasks) {
//     std::string middle = ...;                   // the model's fill of t.prompt / t.suffix
//     outcomes.push_back(evaluate_completion(t, middle, run));
//   }
//   EvalSummary s = summarize(outcomes);          // s.pass_at_1, s.exact_match
//
// The program run is HumanEval-infilling's: prompt + completion + suffix + "\n" + test +
// "\n" + "check(ENTRY_POINT)\n". Sandbox: a fresh temporary directory as cwd and HOME, a
// stripped environment (PYTHONHASHSEED=0), `python3 -s -S`, rlimits on CPU time, memory and file size, the
// whole process group killed at the timeout, and no network (`unshare -n` when the kernel
// allows it; otherwise only the other measures, said once on stderr).
#pragma once

#include <string>
#include <vector>

namespace maskfill::training {

struct InfillTask {
  std::string task_id, prompt, suffix, canonical_solution, test, entry_point;
};
// Throws std::runtime_error naming the file and line on malformed input or missing fields.
std::vector<InfillTask> read_tasks_jsonl(const std::string& path);
void write_tasks_jsonl(const std::vector<InfillTask>& tasks, const std::string& path);

struct RunOptions {
  std::string python = "";     // empty: /usr/bin/python3 if present, else python3 from PATH
  double timeout_s = 10.0;
  bool isolate_network = true;  // try `unshare -n`
  long memory_mb = 2048;
};

enum class TestStatus { Passed, Failed, TimedOut, Error };
const char* status_name(TestStatus status);

struct TestResult {
  TestStatus status = TestStatus::Error;
  int exit_code = -1;
  std::string output;  // the last few KB of stdout+stderr
  double seconds = 0;
};

// Runs `source` as a Python program in the sandbox. Thread-safe.
TestResult run_python(const std::string& source, const RunOptions& options);

std::string task_program(const InfillTask& task, const std::string& completion);
TestResult run_task_test(const InfillTask& task, const std::string& completion, const RunOptions& options);
// Equal after dropping trailing whitespace on each line and blank lines at both ends.
bool exact_match(const InfillTask& task, const std::string& completion);

struct TaskOutcome {
  std::string task_id;
  std::string completion;
  TestResult test;
  bool exact = false;
};
TaskOutcome evaluate_completion(const InfillTask& task, const std::string& completion, const RunOptions& options);

struct EvalSummary {
  int tasks = 0, passed = 0, exact = 0, timed_out = 0;
  double pass_at_1 = 0, exact_match = 0;  // fractions in [0, 1]
};
// One completion per task (greedy), so pass@1 is the fraction of tasks whose test passed.
EvalSummary summarize(const std::vector<TaskOutcome>& outcomes);

}  // namespace maskfill::training
