// Command-line flags shared by the torch commands (generate, bench decode, eval) for choosing a
// model, a device and decoding options.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "inference/engine.h"

namespace maskfill {

struct ModelFlags {
  std::string model;  // empty = bundled model
  DeviceOptions device;
  void add_to(CLI::App& app);
  std::string model_dir() const;  // resolved; throws if no model is bundled and none was given
};

struct DecodeFlags {
  DecodeOptions options;
  double threshold = -1;      // < 0: one top-k schedule, no threshold
  std::string remasking = "low_confidence";
  void add_to(CLI::App& app);
  DecodeOptions resolve() const;
};

}  // namespace maskfill
