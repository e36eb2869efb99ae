#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "training/eval_runner.h"

using namespace maskfill::training;

namespace {

InfillTask add_task() {
  InfillTask t;
  t.task_id = "test/add/L1";
  t.prompt = "def add(a, b):\n";
  t.canonical_solution = "    return a + b\n";
  t.suffix = "";
  t.test = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate('a', 'b') == 'ab'\n";
  t.entry_point = "add";
  return t;
}

}  // namespace

TEST_CASE("a correct completion passes and a wrong one fails") {
  RunOptions opt;
  opt.timeout_s = 10;
  InfillTask t = add_task();
  TestResult ok = run_task_test(t, t.canonical_solution, opt);
  CHECK(ok.status == TestStatus::Passed);
  INFO(ok.output);
  TestResult wrong = run_task_test(t, "    return a - b\n", opt);
  CHECK(wrong.status == TestStatus::Failed);
  CHECK(wrong.output.find("AssertionError") != std::string::npos);
  TestResult broken = run_task_test(t, "    return a +\n", opt);
  CHECK(broken.status == TestStatus::Failed);
  CHECK(broken.output.find("SyntaxError") != std::string::npos);
}

TEST_CASE("an infinite loop is killed at the timeout") {
  RunOptions opt;
  opt.timeout_s = 1.0;
  InfillTask t = add_task();
  TestResult r = run_task_test(t, "    while True:\n        pass\n", opt);
  CHECK(r.status == TestStatus::TimedOut);
  CHECK(r.seconds < 5.0);
}

TEST_CASE("the sandbox has no network, a private cwd and no inherited environment") {
  RunOptions opt;
  setenv("MASKFILL_SECRET_FOR_TEST", "leak", 1);
  TestResult r = run_python(
      "import os, socket\n"
      "assert 'MASKFILL_SECRET_FOR_TEST' not in os.environ\n"
      "assert os.getcwd().startswith('/tmp') or 'maskfill-eval' in os.getcwd()\n"
      "open('scratch.txt', 'w').write('x')\n"
      "try:\n"
      "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
      "    print('NETWORK')\n"
      "except OSError:\n"
      "    print('NO-NETWORK')\n",
      opt);
  INFO(r.output);
  CHECK(r.status == TestStatus::Passed);
  CHECK(r.output.find("NO-NETWORK") != std::string::npos);
}

TEST_CASE("exact match ignores trailing whitespace and pass@1 aggregates") {
  InfillTask t = add_task();
  CHECK(exact_match(t, "    return a + b"));
  CHECK(exact_match(t, "\n    return a + b   \n\n"));
  CHECK_FALSE(exact_match(t, "  return a + b\n"));
  std::vector<TaskOutcome> outcomes;
  outcomes.push_back(evaluate_completion(t, t.canonical_solution, RunOptions{}));
  outcomes.push_back(evaluate_completion(t, "    return (a + b)\n", RunOptions{}));
  outcomes.push_back(evaluate_completion(t, "    return 0\n", RunOptions{}));
  EvalSummary s = summarize(outcomes);
  CHECK(s.tasks == 3);
  CHECK(s.passed == 2);
  CHECK(s.exact == 1);
  CHECK(s.pass_at_1 == Approx(2.0 / 3));
  CHECK(s.exact_match == Approx(1.0 / 3));
}

TEST_CASE("task files round-trip and malformed lines name the line") {
  auto path = std::filesystem::temp_directory_path() / "maskfill-tasks-test.jsonl";
  write_tasks_jsonl({add_task(), add_task()}, path.string());
  auto tasks = read_tasks_jsonl(path.string());
  REQUIRE(tasks.size() == 2);
  CHECK(tasks[1].canonical_solution == add_task().canonical_solution);
  {
    std::ofstream out(path, std::ios::app);
    out << "{\"task_id\": \"x\"}\n";
  }
  CHECK_THROWS_WITH(read_tasks_jsonl(path.string()), Catch::EndsWith(":3: field 'prompt' is missing"));
  {
    std::ofstream out(path, std::ios::app);
    out << "{\"task_id\": 7}\n";
  }
  std::filesystem::resize_file(path, 0);
  write_tasks_jsonl({add_task()}, path.string());
  {
    std::ofstream out(path, std::ios::app);
    out << "{\"task_id\": 7, \"prompt\": \"\", \"suffix\": \"\", \"canonical_solution\": \"\", \"test\": \"\", \"entry_point\": \"f\"}\n{oops\n";
  }
  CHECK_THROWS_WITH(read_tasks_jsonl(path.string()),
                    Catch::EndsWith(":2: field 'task_id' must be a string, got number 7") && !Catch::Contains("json.exception"));
  std::filesystem::remove(path);
}
