#pragma once

#include <memory>
#include <string>

#include "inference/engine.h"

namespace maskfill {

// Loads an HF snapshot into a LibTorch transformer on the chosen device and dtype.
std::unique_ptr<Engine> make_torch_engine(const std::string& model_dir, const DeviceOptions& device);

}  // namespace maskfill
