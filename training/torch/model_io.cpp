#include "training/torch/model_io.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "inference/model_files.h"
#include "inference/safetensors.h"

namespace maskfill::training {
namespace fs = std::filesystem;

ModelConfig tiny_config(const ModelShape& s, int64_t vocab_size, double rope_theta) {
  ModelConfig c;
  c.model_type = "llama";
  c.architectures = {"StableDiffcoderForCausalLM"};
  c.vocab_size = (vocab_size + 63) / 64 * 64;
  c.hidden_size = s.hidden;
  c.intermediate_size = s.intermediate;
  c.num_hidden_layers = s.layers;
  c.num_attention_heads = s.heads;
  c.num_key_value_heads = s.kv_heads;
  c.head_dim = s.hidden / s.heads;
  c.max_position_embeddings = s.context;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = rope_theta;
  c.tie_word_embeddings = false;
  c.torch_dtype = "bfloat16";
  return c;
}

Transformer init_model(const ModelConfig& config, uint64_t seed) {
  torch::manual_seed(seed);
  Transformer model(config);
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    if (p.value().dim() >= 2) p.value().normal_(0.0, 0.02);
    else p.value().fill_(1.0);
  }
  return model;
}

Transformer load_model_for_training(const std::string& dir, AttentionMode attention) {
  ModelFiles files = locate_model_files(dir);
  ModelConfig config = files.config;
  config.attention = attention;
  config.logit_shift = attention == AttentionMode::Causal;
  Transformer model(config);
  Checkpoint checkpoint = Checkpoint::open(files.safetensors_paths);
  load_weights(model, checkpoint);
  return model;
}

namespace {
nlohmann::json config_json(const ModelConfig& c) {
  bool diffusion = c.attention == AttentionMode::BlockCausal;
  nlohmann::json j = {
      {"architectures", {diffusion ? "StableDiffcoderForCausalLM" : "LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"hidden_act", "silu"},
      {"bos_token_id", c.bos_token_id},
      {"eos_token_id", c.eos_token_id},
      {"pad_token_id", 1},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"head_dim", c.head_dim},
      {"max_position_embeddings", c.max_position_embeddings},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"rope_scaling", nullptr},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"torch_dtype", "bfloat16"},
      {"vocab_size", c.vocab_size},
      {"use_cache", true},
  };
  if (diffusion) {
    j["block_size"] = c.block_size;
    j["mask_token_id"] = c.mask_token_id;
  }
  return j;
}
}  // namespace

void export_model(const Transformer& model, const std::string& tokenizer_dir, const std::string& out_dir,
                  torch::Dtype dtype) {
  fs::create_directories(out_dir);
  std::ofstream(fs::path(out_dir) / "config.json") << config_json(model->config()).dump(2) << "\n";
  save_weights(model, (fs::path(out_dir) / "model.safetensors").string(), dtype);
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    fs::path source = fs::path(tokenizer_dir) / name;
    if (fs::equivalent(fs::path(tokenizer_dir), fs::path(out_dir))) continue;
    fs::copy_file(source, fs::path(out_dir) / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace maskfill::training
