// Subcommand registration shared by the `maskfill` binary and the torch plugin. Each module
// (the executable, libmaskfill_torch.so) has its own registry, defined once in that module.
#pragma once

#include <string>
#include <vector>

namespace maskfill {

struct Command {
  std::string name;     // "lsp", "fill", "bench-decode", ...
  std::string summary;  // one line for `maskfill --help`
  int (*run)(int argc, char** argv);  // argv[0] is the command name
};

std::vector<Command>& command_registry();

struct RegisterCommand {
  RegisterCommand(std::string name, std::string summary, int (*run)(int, char**)) {
    command_registry().push_back({std::move(name), std::move(summary), run});
  }
};

}  // namespace maskfill
