// Entry points of libmaskfill_torch.so (see inference/plugin.h) and the plugin's own command
// registry (generate, train, eval, bench-decode).
#include <cstdio>
#include <string>

#include "common/command.h"
#include "inference/model_files.h"
#include "inference/plugin.h"
#include "inference/torch/torch_engine.h"

#define MASKFILL_EXPORT __attribute__((visibility("default")))

namespace maskfill {
std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace maskfill

extern "C" MASKFILL_EXPORT int maskfill_plugin_abi_version() { return maskfill::kPluginAbiVersion; }

extern "C" MASKFILL_EXPORT maskfill::Engine* maskfill_plugin_load_engine(const std::string* model_dir,
                                                                         const maskfill::DeviceOptions* device,
                                                                         std::string* error) {
  try {
    return maskfill::make_torch_engine(*model_dir, *device).release();
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

extern "C" MASKFILL_EXPORT int maskfill_plugin_run_command(int argc, char** argv) {
  std::string name = argv[0];
  for (const maskfill::Command& command : maskfill::command_registry()) {
    if (command.name != name) continue;
    try {
      return command.run(argc, argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "maskfill %s: error: %s\n", name.c_str(), e.what());
      return 1;
    }
  }
  std::fprintf(stderr,
               "maskfill: the torch plugin has no command '%s' (a build with -DMASKFILL_TRAINER=OFF, such as the "
               "demo's, leaves out train, eval and bench decode: scripts/build.sh -DMASKFILL_TRAINER=ON builds them)\n",
               name.c_str());
  return 2;
}
