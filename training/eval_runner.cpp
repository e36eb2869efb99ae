#include "training/eval_runner.h"

#include "common/json_fields.h"
#include "common/read_file.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;
using nlohmann::json;

namespace maskfill::training {

std::vector<InfillTask> read_tasks_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<InfillTask> tasks;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = path + ":" + std::to_string(line_no);
    json j = parse_json_text(line, where);
    JsonField task(j, where);
    tasks.push_back({task.at("task_id").string(), task.at("prompt").string(), task.at("suffix").string(),
                     task.at("canonical_solution").string(), task.at("test").string(), task.at("entry_point").string()});
  }
  return tasks;
}

void write_tasks_jsonl(const std::vector<InfillTask>& tasks, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& t : tasks)
    out << nlohmann::ordered_json{{"task_id", t.task_id},   {"prompt", t.prompt},
                                  {"suffix", t.suffix},     {"canonical_solution", t.canonical_solution},
                                  {"test", t.test},         {"entry_point", t.entry_point}}
               .dump()
        << '\n';
  if (!out) throw std::runtime_error("cannot write " + path);
}

const char* status_name(TestStatus status) {
  switch (status) {
    case TestStatus::Passed: return "passed";
    case TestStatus::Failed: return "failed";
    case TestStatus::TimedOut: return "timed-out";
    case TestStatus::Error: return "error";
  }
  return "?";
}

namespace {

constexpr int kExecFailed = 127;

std::string resolve_python(const std::string& requested) {
  std::string name = requested.empty() ? (fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3") : requested;
  if (name.find('/') != std::string::npos) return name;
  // Resolve now: the child gets a stripped PATH.
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && access((fs::path(dir) / name).c_str(), X_OK) == 0) return (fs::path(dir) / name).string();
  return name;
}

struct Child {
  int exit_code = -1;
  bool timed_out = false;
  double seconds = 0;
};

// fork + exec `argv` in `dir` with `env`, output to `log`; kills the process group at the timeout.
Child spawn_and_wait(const std::vector<std::string>& argv, const std::vector<std::string>& env, const fs::path& dir,
                     const fs::path& log, const RunOptions& opt) {
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {  // child: only async-signal-safe calls from here on
    setpgid(0, 0);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (chdir(dir.c_str()) != 0) _exit(kExecFailed);
    rlim_t cpu = static_cast<rlim_t>(opt.timeout_s) + 2;
    rlimit limit{cpu, cpu};
    setrlimit(RLIMIT_CPU, &limit);
    limit = {static_cast<rlim_t>(opt.memory_mb) << 20, static_cast<rlim_t>(opt.memory_mb) << 20};
    setrlimit(RLIMIT_AS, &limit);
    limit = {64u << 20, 64u << 20};
    setrlimit(RLIMIT_FSIZE, &limit);
    limit = {0, 0};
    setrlimit(RLIMIT_CORE, &limit);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(kExecFailed);
  }
  setpgid(pid, pid);  // also from the parent, so the kill below cannot race the child's call
  Child result;
  auto deadline = start + std::chrono::duration<double>(opt.timeout_s);
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(-pid, SIGKILL);  // leftovers the program forked
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  if (!result.timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) result.timed_out = true;
  return result;
}

std::string tail(const fs::path& file, size_t max_bytes) {
  std::string text;
  try {
    text = read_file(file.string());
  } catch (const std::runtime_error&) {  // no output file: nothing to show
  }
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

bool network_isolation_available() {
  static const bool available = [] {
    if (access("/usr/bin/unshare", X_OK) != 0) return false;
    fs::path dir = fs::temp_directory_path();
    RunOptions probe;
    probe.timeout_s = 5;
    Child c = spawn_and_wait({"/usr/bin/unshare", "-n", "/bin/true"}, {"PATH=/usr/bin:/bin"}, dir,
                             "/dev/null", probe);
    if (c.exit_code != 0)
      spdlog::warn("eval: `unshare -n` is not permitted here; tests run without network isolation "
                   "(stripped environment, temp dir and rlimits only)");
    return c.exit_code == 0;
  }();
  return available;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "maskfill-eval-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary directory");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string trim_lines(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  size_t first = 0;
  while (first < lines.size() && lines[first].empty()) ++first;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

}  // namespace

TestResult run_python(const std::string& source, const RunOptions& opt) {
  TempDir dir;
  {
    std::ofstream out(dir.path / "program.py", std::ios::binary);
    out << source;
    if (!out) throw std::runtime_error("cannot write the test program");
  }
  std::vector<std::string> argv;
  if (opt.isolate_network && network_isolation_available()) argv = {"/usr/bin/unshare", "-n"};
  // The environment is ours alone (so no -E): a fixed hash seed keeps set and dict orders, and
  // so generated task files and test outcomes, reproducible.
  argv.insert(argv.end(), {resolve_python(opt.python), "-s", "-S", "-B", "program.py"});
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=" + dir.path.string(), "LANG=C.UTF-8",
                                  "TMPDIR=" + dir.path.string(), "PYTHONHASHSEED=0", "PYTHONNOUSERSITE=1"};
  Child child = spawn_and_wait(argv, env, dir.path, dir.path / "output.txt", opt);
  TestResult result;
  result.exit_code = child.exit_code;
  result.seconds = child.seconds;
  result.output = tail(dir.path / "output.txt", 4096);
  if (child.timed_out) result.status = TestStatus::TimedOut;
  else if (child.exit_code == 0) result.status = TestStatus::Passed;
  else if (child.exit_code == kExecFailed) result.status = TestStatus::Error;
  else result.status = TestStatus::Failed;
  return result;
}

std::string task_program(const InfillTask& task, const std::string& completion) {
  return task.prompt + completion + task.suffix + "\n" + task.test + "\n" + "check(" + task.entry_point + ")\n";
}

TestResult run_task_test(const InfillTask& task, const std::string& completion, const RunOptions& options) {
  return run_python(task_program(task, completion), options);
}

bool exact_match(const InfillTask& task, const std::string& completion) {
  return trim_lines(task.canonical_solution) == trim_lines(completion);
}

TaskOutcome evaluate_completion(const InfillTask& task, const std::string& completion, const RunOptions& options) {
  return {task.task_id, completion, run_task_test(task, completion, options), exact_match(task, completion)};
}

EvalSummary summarize(const std::vector<TaskOutcome>& outcomes) {
  EvalSummary s;
  s.tasks = static_cast<int>(outcomes.size());
  for (const auto& o : outcomes) {
    s.passed += o.test.status == TestStatus::Passed;
    s.exact += o.exact;
    s.timed_out += o.test.status == TestStatus::TimedOut;
  }
  if (s.tasks > 0) {
    s.pass_at_1 = static_cast<double>(s.passed) / s.tasks;
    s.exact_match = static_cast<double>(s.exact) / s.tasks;
  }
  return s;
}

}  // namespace maskfill::training
