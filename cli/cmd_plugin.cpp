// Commands implemented inside the torch plugin: forwarded with their arguments unchanged.
#include <cstdio>
#include <string>
#include <vector>

#include "common/command.h"
#include "inference/plugin.h"

namespace maskfill {
namespace {

int forward(int argc, char** argv) { return run_plugin_command(argc, argv); }

const RegisterCommand generate_command{"generate", "decode a prompt with the model (block diffusion or AR)", forward};
const RegisterCommand train_command{"train", "corpus, tokenizer and AR -> block-diffusion -> SFT training", forward};
const RegisterCommand eval_command{"eval", "evaluate infilling on HumanEval-infilling style tasks", forward};
const RegisterCommand bench_decode_command{"bench-decode", "ms per forward and decoding throughput", forward};

// `maskfill bench NAME ...` runs the command "bench-NAME" (here or in the plugin).
int bench(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::printf("usage: maskfill bench <name> [options]\n\nbenchmarks:\n");
    for (const Command& command : command_registry())
      if (command.name.rfind("bench-", 0) == 0)
        std::printf("  %-10s %s\n", command.name.substr(6).c_str(), command.summary.c_str());
    return argc < 2 ? 2 : 0;
  }
  std::string name = std::string("bench-") + argv[1];
  for (const Command& command : command_registry()) {
    if (command.name != name) continue;
    std::vector<char*> args(argv + 1, argv + argc);
    std::string full_name = name;
    args[0] = full_name.data();
    return command.run(static_cast<int>(args.size()), args.data());
  }
  std::fprintf(stderr, "maskfill bench: unknown benchmark '%s'\n", argv[1]);
  return 2;
}
const RegisterCommand bench_command{"bench", "run a benchmark (maskfill bench --help lists them)", bench};

}  // namespace
}  // namespace maskfill
