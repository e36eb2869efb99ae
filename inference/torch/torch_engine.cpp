#include "inference/torch/torch_engine.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

#include "inference/model_files.h"
#include "inference/safetensors.h"
#include "inference/tokenizer.h"
#include "inference/torch/decoding.h"
#include "inference/torch/transformer.h"

namespace maskfill {
namespace {

std::string dtype_label(torch::Dtype dtype) {
  return dtype == torch::kBFloat16 ? "bfloat16" : dtype == torch::kFloat16 ? "float16" : "float32";
}

torch::Dtype choose_dtype(const DeviceOptions& options, const ModelConfig& config, torch::Device device) {
  if (options.dtype != "auto") {
    auto dtype = parse_dtype(options.dtype);
    if (device.is_cpu() && dtype == torch::kFloat16)
      throw std::runtime_error("float16 is not supported on CPU by this LibTorch; use float32 or bfloat16");
    return dtype;
  }
  // GPUs run the checkpoint's own dtype; CPUs run float32 (exact, and fast enough for small models).
  return device.is_cuda() ? parse_dtype(config.torch_dtype == "float32" ? "bfloat16" : config.torch_dtype)
                          : torch::kFloat32;
}

}  // namespace

// Decoding forwards a 4-token block at a time: a small model's ops are too short to split
// across cores, and OpenMP threads that wait on each other collapse when the editor, the
// compiler or anything else takes a core (measured here: 11 ms per forward on one thread,
// 480 ms on two under load). Only large models get every core.
int default_threads(const ModelConfig& config) {
  const int64_t per_layer = 4 * config.hidden_size * config.hidden_size + 3 * config.hidden_size * config.intermediate_size;
  const int64_t parameters = config.num_hidden_layers * per_layer + 2 * config.vocab_size * config.hidden_size;
  if (parameters < 200'000'000) return 1;
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

namespace {

class TorchEngine final : public Engine {
 public:
  TorchEngine(ModelFiles files, Tokenizer tokenizer, Transformer model, std::string description)
      : files_(std::move(files)), tokenizer_(std::move(tokenizer)), model_(std::move(model)),
        description_(std::move(description)) {}

  const Tokenizer& tokenizer() const override { return tokenizer_; }
  const ModelConfig& config() const override { return files_.config; }
  const TokenizerConfig& tokenizer_config() const override { return files_.tokenizer_config; }
  std::string description() const override { return description_; }

  DecodeResult generate(const std::vector<int32_t>& prompt, const DecodeOptions& options,
                        const CancelCheck& cancel) override {
    if (files_.config.attention == AttentionMode::Causal)
      throw std::runtime_error("this model is autoregressive (causal attention); block diffusion needs a "
                               "block-causal diffusion model");
    DecodeResult result = generate_block_diffusion(
        model_, prompt, options, {files_.config.mask_token_id, files_.config.eos_token_id}, cancel);
    result.text = tokenizer_.decode(result.tokens, /*skip_special_tokens=*/true);
    return result;
  }

  DecodeResult generate_autoregressive(const std::vector<int32_t>& prompt, int max_new_tokens,
                                       const CancelCheck& cancel) override {
    DecodeResult result =
        generate_greedy_autoregressive(model_, prompt, max_new_tokens, files_.config.eos_token_id, cancel);
    result.text = tokenizer_.decode(result.tokens, true);
    return result;
  }

 private:
  ModelFiles files_;
  Tokenizer tokenizer_;
  Transformer model_;
  std::string description_;
};

}  // namespace

std::unique_ptr<Engine> make_torch_engine(const std::string& model_dir, const DeviceOptions& options) {
  ModelFiles files = locate_model_files(model_dir);
  Tokenizer tokenizer = Tokenizer::from_file(files.tokenizer_json_path);
  if (tokenizer.vocab_size() > files.config.vocab_size)
    throw std::runtime_error("tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                             " tokens but the model's vocab_size is " + std::to_string(files.config.vocab_size));
  torch::set_num_threads(options.threads > 0 ? options.threads : default_threads(files.config));
  torch::Device device = resolve_device(options.device);
  torch::Dtype dtype = choose_dtype(options, files.config, device);

  Transformer model(files.config);
  model->to(device, dtype);
  model->eval();
  Checkpoint checkpoint = Checkpoint::open(files.safetensors_paths);
  for (const std::string& name : load_weights(model, checkpoint))
    spdlog::warn("model {}: unexpected tensor {} ignored", model_dir, name);
  std::string name = std::filesystem::path(model_dir).filename().string();
  if (name.empty()) name = std::filesystem::path(model_dir).parent_path().filename().string();
  std::string description = name + " on " + device.str() + "/" + dtype_label(dtype);
  spdlog::info("loaded {}", description);
  return std::make_unique<TorchEngine>(std::move(files), std::move(tokenizer), std::move(model), description);
}

}  // namespace maskfill
