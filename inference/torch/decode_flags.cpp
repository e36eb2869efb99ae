#include "inference/torch/decode_flags.h"

#include <stdexcept>

namespace maskfill {

void ModelFlags::add_to(CLI::App& app) {
  app.add_option("--model", model, "HF snapshot directory (default: the bundled maskfill-tiny)");
  app.add_option("--device", device.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--dtype", device.dtype, "auto, float32, bfloat16 or float16")->capture_default_str();
  app.add_option("--threads", device.threads, "CPU threads (0 = all cores)");
}

std::string ModelFlags::model_dir() const {
  if (!model.empty()) return model;
  std::string bundled = default_model_dir();
  if (bundled.empty())
    throw std::runtime_error("no --model given and no bundled model found (models/maskfill-tiny)");
  return bundled;
}

void DecodeFlags::add_to(CLI::App& app) {
  app.add_option("--gen-length", options.gen_length, "masked tokens to generate")->capture_default_str();
  app.add_option("--steps", options.steps, "total denoising steps (0 = gen-length: one token per step)");
  app.add_option("--block", options.block_length, "block length (0 = the model's, 4)");
  app.add_option("--threshold", threshold, "parallel commit threshold, e.g. 0.9 (negative = off)");
  app.add_option("--temperature", options.temperature, "Gumbel noise temperature (0 = greedy)");
  app.add_option("--remasking", remasking, "low_confidence or random")->capture_default_str();
  app.add_option("--seed", options.seed, "random seed");
  app.add_option("--extend", options.extend_max, "extra tokens allowed when no EOS was produced");
  app.add_option("--max-ms", options.max_ms, "time budget in ms (0 = none)");
}

DecodeOptions DecodeFlags::resolve() const {
  DecodeOptions out = options;
  if (threshold >= 0) out.threshold = threshold;
  if (remasking == "random") out.remasking = Remasking::Random;
  else if (remasking != "low_confidence") throw std::runtime_error("unknown remasking '" + remasking + "'");
  return out;
}

}  // namespace maskfill
