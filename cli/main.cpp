// `maskfill`: one binary, subcommands registered by the files of cli/ (see common/command.h).
// Commands that need LibTorch (generate, train, eval, bench decode) forward to the torch plugin.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "common/command.h"

namespace maskfill {

std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}

namespace {

const Command* find_command(const std::string& name) {
  for (const Command& command : command_registry())
    if (command.name == name) return &command;
  return nullptr;
}

void print_help() {
  std::printf(
      "maskfill %s: a language server that fills and rewrites code with a block-diffusion model\n\n"
      "usage: maskfill <command> [options]   (maskfill <command> --help for its options)\n\n"
      "commands:\n",
      MASKFILL_VERSION);
  for (const Command& command : command_registry())
    if (command.name.rfind("bench-", 0) != 0)
      std::printf("  %-10s %s\n", command.name.c_str(), command.summary.c_str());
  std::printf("\nThe default model is the bundled models/maskfill-tiny (override with --model or "
              "MASKFILL_MODEL_DIR).\n");
}

}  // namespace
}  // namespace maskfill

int main(int argc, char** argv) {
  using namespace maskfill;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("maskfill %s\n", MASKFILL_VERSION);
    return 0;
  }
  // stdout carries each command's result (a file, a diff, JSON, a table) and nothing else: logs,
  // from here and from the torch plugin (same spdlog registry), go to stderr.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "", std::make_shared<spdlog::sinks::stderr_color_sink_mt>(spdlog::color_mode::automatic)));
  const Command* command = find_command(argv[1]);
  if (!command) {
    std::fprintf(stderr, "maskfill: unknown command '%s' (see maskfill --help)\n", argv[1]);
    return 2;
  }
  try {
    return command->run(argc - 1, argv + 1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "maskfill %s: error: %s\n", argv[1], e.what());
    return 1;
  }
}
