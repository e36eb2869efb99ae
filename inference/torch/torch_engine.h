#pragma once

#include <memory>
#include <string>

#include "inference/engine.h"
#include "inference/model_files.h"

namespace maskfill {

// Loads an HF snapshot into a LibTorch transformer on the chosen device and dtype.
// Torch CPU threads when the user sets none: 1 for small models (see the .cpp), else all cores.
int default_threads(const ModelConfig& config);

std::unique_ptr<Engine> make_torch_engine(const std::string& model_dir, const DeviceOptions& device);

}  // namespace maskfill
