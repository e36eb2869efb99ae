// Server settings from the command line, `initializationOptions` and
// `workspace/didChangeConfiguration`. Each source may hold the settings at the top level or
// under a "maskfill" key. Invalid fields are reported and keep their previous value, so a typo
// never loses the rest of the configuration.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infill/completer.h"
#include "inference/engine.h"

namespace maskfill::lsp {

struct Config {
  std::string model_path;  // empty: default_model_dir()
  DeviceOptions device;
  InfillSettings infill;

  // What load_engine depends on: a change means the engine must be reloaded.
  bool same_model(const Config& other) const {
    return model_path == other.model_path && device.device == other.device.device &&
           device.dtype == other.device.dtype && device.threads == other.device.threads;
  }
};

struct ConfigUpdate {
  Config config;
  std::vector<std::string> errors;    // invalid fields (kept at their previous value)
  std::vector<std::string> warnings;  // unknown fields
};

// Applies `settings` on top of `base`. Never throws.
ConfigUpdate apply_settings(const Config& base, const nlohmann::json& settings);

nlohmann::json config_to_json(const Config& config);

}  // namespace maskfill::lsp
