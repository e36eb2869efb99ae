// The boundary to libmaskfill_torch.so. The `maskfill` binary does not link LibTorch: it
// dlopens the plugin the first time a model or a torch command is needed, so `maskfill lsp`
// starts fast and stays small until a model is loaded.
#pragma once

#include <memory>
#include <string>

#include "inference/engine.h"

namespace maskfill {

constexpr int kPluginAbiVersion = 1;

// Runs a command registered inside the plugin (generate, train, eval, bench-decode, ...).
// Returns the command's exit code; throws std::runtime_error if the plugin cannot be loaded.
int run_plugin_command(int argc, char** argv);

// Path of the plugin that would be loaded (MASKFILL_PLUGIN, or next to the executable).
std::string plugin_path();

}  // namespace maskfill

// Exported by the plugin (C linkage so dlsym finds them by plain name).
extern "C" {
int maskfill_plugin_abi_version();
maskfill::Engine* maskfill_plugin_load_engine(const std::string* model_dir,
                                              const maskfill::DeviceOptions* device,
                                              std::string* error);
int maskfill_plugin_run_command(int argc, char** argv);
}
