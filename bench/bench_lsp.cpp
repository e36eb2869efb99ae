// `maskfill bench lsp`: didChange + incremental tree-sitter reparse latency on a generated
// 10,000-line Python file (through the server's real message path: JSON parse, position
// mapping, edit, reparse), and the resident memory of an idle `maskfill lsp` process.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <spdlog/spdlog.h>

#include "bench/bench_stats.h"
#include "common/command.h"
#include "lsp-server/framing.h"
#include "lsp-server/server.h"

extern char** environ;

namespace maskfill {
namespace {

using lsp::json;

std::string generate_python(int lines) {
  std::string text = "import os\nimport sys\n\n";
  int line = 3;
  for (int f = 0; line < lines; ++f) {
    text += "def function_" + std::to_string(f) + "(a, b=None):\n";
    text += "    \"\"\"Docstring " + std::to_string(f) + ".\"\"\"\n";
    text += "    total = 0\n";
    text += "    for i in range(a):\n";
    text += "        if i % 3 == 0:\n";
    text += "            total += i * " + std::to_string(f) + "\n";
    text += "    return {'total': total, 'name': \"f" + std::to_string(f) + "\"}\n\n";
    line += 8;
  }
  return text;
}

json change_message(const std::string& uri, int version, uint32_t line, uint32_t character, uint32_t end_character,
                    const std::string& text) {
  json range = {{"start", {{"line", line}, {"character", character}}},
                {"end", {{"line", line}, {"character", end_character}}}};
  return {{"jsonrpc", "2.0"},
          {"method", "textDocument/didChange"},
          {"params", {{"textDocument", {{"uri", uri}, {"version", version}}},
                      {"contentChanges", {{{"range", range}, {"text", text}}}}}}};
}

// Typing that keeps the file valid Python, as most keystrokes do: a character typed into an
// identifier, then deleted, on random "    total = 0" lines (line 8k + 5), so every version
// parses and error recovery does not pile up over the run.
void bench_did_change(int lines, int edits) {
  lsp::Server server(lsp::ServerOptions{}, [](const json&) {});
  server.receive(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}})");
  std::string uri = "file:///bench/big.py";
  json open = {{"jsonrpc", "2.0"},
               {"method", "textDocument/didOpen"},
               {"params", {{"textDocument", {{"uri", uri}, {"languageId", "python"}, {"version", 1},
                                             {"text", generate_python(lines)}}}}}};
  auto open_start = std::chrono::steady_clock::now();
  server.receive(open.dump());
  double open_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - open_start).count();

  std::mt19937 random(1);
  std::vector<double> times;
  int version = 1;
  uint32_t line = 5;
  for (int i = 0; i < edits; ++i) {
    bool insert = i % 2 == 0;
    if (insert) line = 5 + 8 * (random() % ((lines - 8) / 8));
    json message = insert ? change_message(uri, ++version, line, 6, 6, "x")
                          : change_message(uri, ++version, line, 6, 7, "");
    std::string body = message.dump();  // the client's serialization is not ours to time
    auto start = std::chrono::steady_clock::now();
    server.receive(body);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  auto document = server.documents().snapshot(uri);
  if (!document || document->version != version || document->source.text() != generate_python(lines) ||
      document->source.tree_sexp().find("ERROR") != std::string::npos)
    throw std::runtime_error("the edits were not applied as expected");
  std::printf("didChange + incremental reparse, %d-line Python file (%zu bytes), %d edits:\n", lines,
              document->source.text().size(), edits);
  std::printf("  didOpen (full parse)  %.2f ms\n", open_ms);
  std::printf("  p50 %.3f ms   p99 %.3f ms   max %.3f ms   (goal p99 < 5 ms)\n", percentile(times, 0.5),
              percentile(times, 0.99), *std::max_element(times.begin(), times.end()));
}

long vm_rss_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

void write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) throw std::runtime_error("writing to the server failed");
    done += static_cast<size_t>(n);
  }
}

std::string read_message(int fd, lsp::FrameParser& parser) {
  lsp::FrameEvent event;
  char buffer[65536];
  while (!parser.next(event)) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) throw std::runtime_error("the server closed its output");
    parser.feed(std::string_view(buffer, n));
  }
  if (auto* body = std::get_if<std::string>(&event)) return *body;
  throw std::runtime_error("bad frame from the server");
}

// Spawns `maskfill lsp`, initializes it, and reads VmRSS while idle, then with the big file open.
void bench_idle_rss(int lines) {
  int to_server[2], from_server[2];
  if (pipe(to_server) || pipe(from_server)) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_server[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, from_server[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, to_server[1]);
  posix_spawn_file_actions_addclose(&actions, from_server[0]);
  // --enable-test-methods: maskfill/debugDocument is the barrier that waits for the open.
  std::string exe = "/proc/self/exe", command = "lsp", level = "--log-level", off = "off", test = "--enable-test-methods";
  char* argv[] = {exe.data(), command.data(), test.data(), level.data(), off.data(), nullptr};
  pid_t pid;
  if (posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, environ) != 0)
    throw std::runtime_error("cannot spawn maskfill lsp");
  posix_spawn_file_actions_destroy(&actions);
  close(to_server[0]);
  close(from_server[1]);

  lsp::FrameParser parser;
  auto request = [&](int id, const std::string& method, const json& params) {
    write_all(to_server[1], lsp::frame_message(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method},
                                                    {"params", params}}.dump()));
    return read_message(from_server[0], parser);
  };
  request(1, "initialize", {{"capabilities", json::object()}});
  long idle = vm_rss_kb(pid);
  write_all(to_server[1], lsp::frame_message(json{{"jsonrpc", "2.0"}, {"method", "textDocument/didOpen"},
                                                  {"params", {{"textDocument", {{"uri", "file:///big.py"},
                                                                                {"languageId", "python"},
                                                                                {"version", 1},
                                                                                {"text", generate_python(lines)}}}}}}
                                                 .dump()));
  request(2, "maskfill/debugDocument", {{"uri", "file:///big.py"}});  // waits until the open is done
  long with_file = vm_rss_kb(pid);
  request(3, "shutdown", nullptr);
  write_all(to_server[1], lsp::frame_message(R"({"jsonrpc":"2.0","method":"exit"})"));
  close(to_server[1]);
  close(from_server[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::printf("maskfill lsp resident memory (VmRSS), no model:\n");
  std::printf("  idle after initialize %.1f MB   (goal < 30 MB)\n", idle / 1024.0);
  std::printf("  with the %d-line file open %.1f MB\n", lines, with_file / 1024.0);
  std::printf("  exit status after shutdown+exit: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int run_bench_lsp(int argc, char** argv) {
  CLI::App app{"didChange + reparse latency and idle RSS of the language server", "maskfill bench lsp"};
  int lines = 10000, edits = 2000;
  app.add_option("--lines", lines, "lines in the generated Python file")->check(CLI::Range(100, 10000000));
  app.add_option("--edits", edits, "didChange notifications to time")->check(CLI::Range(1, 10000000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_level(spdlog::level::warn);
  bench_did_change(lines, edits);
  bench_idle_rss(lines);
  return 0;
}

const RegisterCommand bench_lsp_command{"bench-lsp", "didChange + reparse latency, idle server RSS", run_bench_lsp};

}  // namespace
}  // namespace maskfill
