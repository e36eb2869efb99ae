// An HF snapshot directory: config.json, tokenizer.json, tokenizer_config.json,
// generation_config.json and safetensors shards. Parsing and validation only; no torch here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace maskfill {

enum class AttentionMode { BlockCausal, Causal, Bidirectional };

struct ModelConfig {
  std::string model_type;  // "llama" is the only supported type
  std::vector<std::string> architectures;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_attention_heads unless given
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  std::string torch_dtype = "float32";
  int32_t bos_token_id = 0;
  int32_t eos_token_id = 2;
  // Diffusion facts. Stable-DiffCoder (architectures StableDiffcoderForCausalLM or an auto_map
  // naming a diffcoder module) is block-causal with block 4 and no logit shift; a plain Llama is
  // causal with a logit shift. Optional config keys "block_size", "mask_token_id" override (a
  // "block_size" key also marks the model as block-diffusion).
  AttentionMode attention = AttentionMode::BlockCausal;
  int64_t block_size = 4;
  bool logit_shift = false;
  int32_t mask_token_id = 5;
};

// Throws std::runtime_error naming the missing or invalid field.
// `source` names the file in error messages.
ModelConfig parse_model_config(const std::string& config_json_text, const std::string& source = "config.json");

struct TokenizerConfig {
  bool add_bos_token = false;
  std::string bos_token, eos_token, pad_token, mask_token;
  std::optional<std::string> chat_template;
};
TokenizerConfig parse_tokenizer_config(const std::string& tokenizer_config_json_text,
                                       const std::string& source = "tokenizer_config.json");

// generation_config.json, when the snapshot has one.
struct GenerationConfig {
  std::vector<int32_t> eos_token_ids;  // an int or a list in the file
  std::optional<int32_t> bos_token_id, pad_token_id;
};
GenerationConfig parse_generation_config(const std::string& generation_config_json_text,
                                         const std::string& source = "generation_config.json");

struct ModelFiles {
  std::string dir;
  ModelConfig config;
  TokenizerConfig tokenizer_config;
  std::string tokenizer_json_path;
  std::vector<std::string> safetensors_paths;  // one file, or the shards named by the index
  std::optional<GenerationConfig> generation_config;
};
// Reads and validates the directory layout and the JSON files (not the tensors).
ModelFiles locate_model_files(const std::string& dir);

// Every parameter an HF Llama checkpoint of this config holds, with its shape.
std::map<std::string, std::vector<int64_t>> expected_parameter_shapes(const ModelConfig& config);

}  // namespace maskfill
