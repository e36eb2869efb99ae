#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "common/progress.h"
#include "inference/plugin.h"

namespace maskfill {
namespace {

namespace fs = std::filesystem;

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

struct Plugin {
  void* handle = nullptr;
  decltype(&maskfill_plugin_load_engine) load_engine = nullptr;
  decltype(&maskfill_plugin_run_command) run_command = nullptr;
};

template <typename F>
F find_symbol(void* handle, const char* name) {
  void* symbol = dlsym(handle, name);
  if (!symbol) throw std::runtime_error(std::string("torch plugin lacks symbol ") + name);
  return reinterpret_cast<F>(symbol);
}

const Plugin& plugin() {
  static std::once_flag once;
  static Plugin loaded;
  static std::string failure;
  std::call_once(once, [] {
    std::string path = plugin_path();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      failure = "cannot load the torch plugin " + path + ": " + dlerror();
      return;
    }
    try {
      auto abi = find_symbol<decltype(&maskfill_plugin_abi_version)>(handle, "maskfill_plugin_abi_version");
      if (abi() != kPluginAbiVersion) {
        failure = "torch plugin " + path + " has ABI " + std::to_string(abi()) + ", expected " +
                  std::to_string(kPluginAbiVersion) + " (rebuild it)";
        return;
      }
      loaded.load_engine = find_symbol<decltype(loaded.load_engine)>(handle, "maskfill_plugin_load_engine");
      loaded.run_command = find_symbol<decltype(loaded.run_command)>(handle, "maskfill_plugin_run_command");
      loaded.handle = handle;
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  if (!loaded.handle) throw std::runtime_error(failure);
  return loaded;
}

}  // namespace

std::string plugin_path() {
  if (const char* env = std::getenv("MASKFILL_PLUGIN")) return env;
  fs::path dir = executable_dir();
  for (const fs::path& candidate : {dir / "libmaskfill_torch.so", dir / "../lib/maskfill/libmaskfill_torch.so"}) {
    if (fs::exists(candidate)) return candidate.lexically_normal().string();
  }
  return (dir / "libmaskfill_torch.so").string();
}

int run_plugin_command(int argc, char** argv) { return plugin().run_command(argc, argv); }

std::unique_ptr<Engine> load_engine(const std::string& model_dir, const DeviceOptions& device) {
  TerminalProgress progress("loading model " + model_dir);  // stderr, only on a terminal
  std::string error;
  Engine* engine = plugin().load_engine(&model_dir, &device, &error);
  if (!engine) throw std::runtime_error(error);
  progress.finish("ready");
  return std::unique_ptr<Engine>(engine);
}

std::string default_model_dir() {
  if (const char* env = std::getenv("MASKFILL_MODEL_DIR")) return env;
  fs::path dir = executable_dir();
  // Build tree (build/cli/maskfill or build/maskfill) and install tree (bin/ + share/maskfill).
  for (fs::path candidate : {dir / "../models/maskfill-tiny", dir / "../../models/maskfill-tiny",
                             dir / "../share/maskfill/models/maskfill-tiny"}) {
    if (fs::exists(candidate / "config.json")) return fs::weakly_canonical(candidate).string();
  }
#ifdef MASKFILL_SOURCE_DIR
  fs::path source_model = fs::path(MASKFILL_SOURCE_DIR) / "models/maskfill-tiny";
  if (fs::exists(source_model / "config.json")) return source_model.string();
#endif
  return {};
}

}  // namespace maskfill
