#include <catch2/catch.hpp>

#include "training/eval_tasks.h"

using namespace maskfill::training;

namespace {

const char* const kModule = R"PY(import re
import os
from math import sqrt

_CACHE = {}
SEP = "-"


def slugify(text):
    """Lower-case words joined by dashes."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    joined = SEP.join(words)
    return joined


def hypot_sum(values):
    total = 0
    for v in values:
        total += v * v
    return sqrt(total)


def uses_global(x):
    return _CACHE.get(x)


def touches_disk(path):
    return os.path.exists(path)


def run_length(text):
    out = []
    prev = None
    count = 0
    for ch in text:
        if ch == prev:
            count += 1
        else:
            if prev is not None:
                out.append((prev, count))
            prev = ch
            count = 1
    if prev is not None:
        out.append((prev, count))
    return out
)PY";

}  // namespace

TEST_CASE("eval tasks come only from self-contained functions and their tests check the span") {
  EvalTaskOptions opt;
  opt.max_tasks = 10;
  EvalTaskSets sets = build_eval_tasks_from({{"/tmp/example_module.py", kModule}}, opt);
  CHECK(sets.functions_seen == 5);
  CHECK(sets.functions_self_contained == 3);  // not uses_global (mutable module state), not touches_disk (os)
  CHECK(sets.functions_with_inputs == 3);
  REQUIRE(sets.single_line.size() >= 2);
  REQUIRE(sets.multi_line.size() >= 2);
  for (const auto* set : {&sets.single_line, &sets.multi_line}) {
    for (const auto& t : *set) {
      INFO(t.task_id);
      CHECK(t.entry_point != "uses_global");
      CHECK(t.entry_point != "touches_disk");
      CHECK(run_task_test(t, t.canonical_solution, opt.run).status == TestStatus::Passed);
      // A plausible but wrong fill fails: the test compares behaviour with the original.
      std::string indent = t.canonical_solution.substr(0, t.canonical_solution.find_first_not_of(' '));
      CHECK(run_task_test(t, indent + "return None\n", opt.run).status == TestStatus::Failed);
    }
  }
  for (const auto& t : sets.single_line) CHECK(std::count(t.canonical_solution.begin(), t.canonical_solution.end(), '\n') == 1);
  for (const auto& t : sets.multi_line) CHECK(std::count(t.canonical_solution.begin(), t.canonical_solution.end(), '\n') >= 2);
  // The slugify prompt keeps its import and the constant it uses, so the program runs on its own.
  for (const auto& t : sets.single_line)
    if (t.entry_point == "slugify") {
      CHECK(t.prompt.rfind("import re\n", 0) == 0);
      CHECK(t.prompt.find("SEP = \"-\"\n") != std::string::npos);
    }
}
