#include "inference/model_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

namespace maskfill {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

json parse_json_object(const std::string& text, const std::string& what) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) throw std::runtime_error(what + " is not valid JSON");
  if (!value.is_object()) throw std::runtime_error(what + " must hold a JSON object");
  return value;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool present(const json& config, const char* key) { return config.contains(key) && !config[key].is_null(); }

// Upper bounds far above any real model (the 8B has 32 layers, hidden 4096, vocab 155136): a
// lying config must fail here, not allocate or loop for hours later.
int64_t upper_bound(std::string_view key) {
  if (key == "num_hidden_layers" || key == "num_attention_heads" || key == "num_key_value_heads" ||
      key == "head_dim" || key == "block_size")
    return 1 << 12;
  if (key == "hidden_size") return 1 << 17;
  if (key == "intermediate_size") return 1 << 20;
  return int64_t(1) << 24;  // vocab_size, max_position_embeddings
}

int64_t positive_int(const json& config, const char* key) {
  if (!present(config, key)) throw std::runtime_error(std::string("config.json: field '") + key + "' is missing");
  const json& value = config[key];
  if (!value.is_number_integer() || value.get<int64_t>() <= 0)
    throw std::runtime_error(std::string("config.json: field '") + key + "' must be a positive integer, not " +
                             value.dump());
  if (value.get<int64_t>() > upper_bound(key))
    throw std::runtime_error(std::string("config.json: field '") + key + "' is " + value.dump() +
                             ", above the supported maximum " + std::to_string(upper_bound(key)));
  return value.get<int64_t>();
}

int64_t positive_int_or(const json& config, const char* key, int64_t fallback) {
  return present(config, key) ? positive_int(config, key) : fallback;
}

double positive_number_or(const json& config, const char* key, double fallback) {
  if (!present(config, key)) return fallback;
  const json& value = config[key];
  if (!value.is_number() || value.get<double>() <= 0)
    throw std::runtime_error(std::string("config.json: field '") + key + "' must be a positive number, not " +
                             value.dump());
  return value.get<double>();
}

// A token id field that may be an int or a list of ints (the first one is taken).
std::optional<int32_t> token_id(const json& config, const char* key, const std::string& file) {
  if (!present(config, key)) return std::nullopt;
  const json& value = config[key];
  const json& first = value.is_array() && !value.empty() ? value[0] : value;
  if (!first.is_number_integer() || first.get<int64_t>() < 0 || first.get<int64_t>() > INT32_MAX)
    throw std::runtime_error(file + ": field '" + key + "' must be a token id, not " + value.dump());
  return first.get<int32_t>();
}

bool mentions_diffcoder(const json& value) {
  if (value.is_string()) {
    std::string text = value.get<std::string>();
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text.find("diffcoder") != std::string::npos;
  }
  if (value.is_object() || value.is_array())
    for (const auto& item : value) if (mentions_diffcoder(item)) return true;
  return false;
}

void reject_unsupported_features(const json& config) {
  if (config.contains("hidden_act") && config["hidden_act"] != "silu")
    throw std::runtime_error("config.json: hidden_act " + config["hidden_act"].dump() + " is not supported (silu only)");
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (config.contains(key) && config[key] == true)
      throw std::runtime_error(std::string("config.json: ") + key + " = true is not supported");
  if (present(config, "rope_scaling"))
    throw std::runtime_error("config.json: rope_scaling " + config["rope_scaling"].dump() + " is not supported");
  if (present(config, "rope_parameters")) {  // transformers v5 layout
    const json& rope = config["rope_parameters"];
    std::string type = rope.value("rope_type", std::string("default"));
    if (type != "default")
      throw std::runtime_error("config.json: rope_parameters.rope_type '" + type + "' is not supported");
  }
}

// A special-token entry of tokenizer_config.json: "text", {"content": "text", ...} or null.
std::string token_string(const json& config, const char* key) {
  if (!present(config, key)) return {};
  const json& value = config[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  throw std::runtime_error(std::string("tokenizer_config.json: '") + key +
                           "' must be a string or an object with \"content\"");
}

}  // namespace

ModelConfig parse_model_config(const std::string& config_json_text) {
  json config = parse_json_object(config_json_text, "config.json");
  ModelConfig out;
  if (!present(config, "model_type")) throw std::runtime_error("config.json: field 'model_type' is missing");
  if (!config["model_type"].is_string() || config["model_type"] != "llama")
    throw std::runtime_error("config.json: model_type " + config["model_type"].dump() +
                             " is not supported (only \"llama\")");
  out.model_type = "llama";
  if (present(config, "architectures")) {
    if (!config["architectures"].is_array()) throw std::runtime_error("config.json: 'architectures' must be a list");
    for (const auto& name : config["architectures"])
      if (name.is_string()) out.architectures.push_back(name.get<std::string>());
  }
  reject_unsupported_features(config);
  out.vocab_size = positive_int(config, "vocab_size");
  out.hidden_size = positive_int(config, "hidden_size");
  out.intermediate_size = positive_int(config, "intermediate_size");
  out.num_hidden_layers = positive_int(config, "num_hidden_layers");
  out.num_attention_heads = positive_int(config, "num_attention_heads");
  out.num_key_value_heads = positive_int_or(config, "num_key_value_heads", out.num_attention_heads);
  if (out.num_attention_heads % out.num_key_value_heads != 0)
    throw std::runtime_error("config.json: num_attention_heads (" + std::to_string(out.num_attention_heads) +
                             ") is not a multiple of num_key_value_heads (" + std::to_string(out.num_key_value_heads) + ")");
  if (!present(config, "head_dim") && out.hidden_size % out.num_attention_heads != 0)
    throw std::runtime_error("config.json: hidden_size is not divisible by num_attention_heads and head_dim is not given");
  out.head_dim = positive_int_or(config, "head_dim", out.hidden_size / out.num_attention_heads);
  if (out.head_dim % 2 != 0) throw std::runtime_error("config.json: head_dim must be even for RoPE");
  out.max_position_embeddings = positive_int_or(config, "max_position_embeddings", 2048);
  out.rms_norm_eps = positive_number_or(config, "rms_norm_eps", 1e-6);
  double theta = 10000.0;
  if (present(config, "rope_parameters")) theta = positive_number_or(config["rope_parameters"], "rope_theta", theta);
  out.rope_theta = positive_number_or(config, "rope_theta", theta);
  if (present(config, "tie_word_embeddings")) {
    if (!config["tie_word_embeddings"].is_boolean()) throw std::runtime_error("config.json: 'tie_word_embeddings' must be true or false");
    out.tie_word_embeddings = config["tie_word_embeddings"].get<bool>();
  }
  for (const char* key : {"dtype", "torch_dtype"})  // transformers v5 writes "dtype"
    if (present(config, key) && config[key].is_string()) {
      out.torch_dtype = config[key].get<std::string>();
      break;
    }
  if (auto id = token_id(config, "bos_token_id", "config.json")) out.bos_token_id = *id;
  if (auto id = token_id(config, "eos_token_id", "config.json")) out.eos_token_id = *id;

  bool diffcoder = std::find(out.architectures.begin(), out.architectures.end(), "StableDiffcoderForCausalLM") !=
                       out.architectures.end() ||
                   (config.contains("auto_map") && mentions_diffcoder(config["auto_map"])) || present(config, "block_size");
  out.attention = diffcoder ? AttentionMode::BlockCausal : AttentionMode::Causal;
  out.logit_shift = !diffcoder;
  out.block_size = positive_int_or(config, "block_size", 4);
  if (auto id = token_id(config, "mask_token_id", "config.json")) out.mask_token_id = *id;
  for (int32_t id : {out.bos_token_id, out.eos_token_id, out.mask_token_id})
    if (id >= out.vocab_size)
      throw std::runtime_error("config.json: token id " + std::to_string(id) + " is outside vocab_size " +
                               std::to_string(out.vocab_size));
  return out;
}

TokenizerConfig parse_tokenizer_config(const std::string& tokenizer_config_json_text) {
  json config = parse_json_object(tokenizer_config_json_text, "tokenizer_config.json");
  TokenizerConfig out;
  if (present(config, "add_bos_token")) {
    if (!config["add_bos_token"].is_boolean()) throw std::runtime_error("tokenizer_config.json: 'add_bos_token' must be true or false");
    out.add_bos_token = config["add_bos_token"].get<bool>();
  }
  out.bos_token = token_string(config, "bos_token");
  out.eos_token = token_string(config, "eos_token");
  out.pad_token = token_string(config, "pad_token");
  out.mask_token = token_string(config, "mask_token");
  if (present(config, "chat_template")) {
    const json& value = config["chat_template"];
    if (value.is_string()) {
      out.chat_template = value.get<std::string>();
    } else if (value.is_array()) {  // [{name, template}]: the one named "default", else the first
      for (const auto& entry : value) {
        if (!entry.is_object() || !entry.contains("template") || !entry["template"].is_string())
          throw std::runtime_error("tokenizer_config.json: chat_template entries must be {name, template}");
        if (!out.chat_template || entry.value("name", std::string()) == "default")
          out.chat_template = entry["template"].get<std::string>();
      }
    } else {
      throw std::runtime_error("tokenizer_config.json: chat_template must be a string or a list of {name, template}");
    }
  }
  return out;
}

GenerationConfig parse_generation_config(const std::string& generation_config_json_text) {
  json config = parse_json_object(generation_config_json_text, "generation_config.json");
  GenerationConfig out;
  out.bos_token_id = token_id(config, "bos_token_id", "generation_config.json");
  out.pad_token_id = token_id(config, "pad_token_id", "generation_config.json");
  if (present(config, "eos_token_id")) {
    const json& value = config["eos_token_id"];
    for (const json& id : value.is_array() ? value : json::array({value})) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
        throw std::runtime_error("generation_config.json: 'eos_token_id' must be a token id or a list of them");
      out.eos_token_ids.push_back(id.get<int32_t>());
    }
  }
  return out;
}

namespace {

// The shard files named by model.safetensors.index.json, in sorted order, each checked to exist.
std::vector<std::string> shards_from_index(const fs::path& dir, const fs::path& index_path) {
  json index = parse_json_object(read_text(index_path), index_path.string());
  if (!index.contains("weight_map") || !index["weight_map"].is_object() || index["weight_map"].empty())
    throw std::runtime_error(index_path.string() + ": 'weight_map' is missing or empty");
  std::set<std::string> names;
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    if (!file.is_string()) throw std::runtime_error(index_path.string() + ": shard of '" + tensor + "' is not a file name");
    std::string name = file.get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      throw std::runtime_error(index_path.string() + ": shard name '" + name + "' must be a plain file name");
    names.insert(name);
  }
  std::vector<std::string> paths;
  for (const std::string& name : names) {
    fs::path path = dir / name;
    if (!fs::is_regular_file(path)) throw std::runtime_error(index_path.string() + " names " + name + ", which is missing");
    paths.push_back(path.string());
  }
  return paths;
}

}  // namespace

ModelFiles locate_model_files(const std::string& dir_text) {
  fs::path dir(dir_text);
  if (!fs::is_directory(dir)) throw std::runtime_error("model directory " + dir_text + " does not exist");
  ModelFiles files;
  files.dir = dir_text;
  auto with_file_name = [](const fs::path& path, auto parse) {
    std::string text = read_text(path);
    try {
      return parse(text);
    } catch (const std::exception& error) {
      throw std::runtime_error(path.string() + ": " + error.what());
    }
  };
  fs::path config_path = dir / "config.json";
  if (!fs::is_regular_file(config_path)) throw std::runtime_error(dir_text + ": config.json is missing");
  files.config = with_file_name(config_path, parse_model_config);

  fs::path tokenizer_path = dir / "tokenizer.json";
  if (!fs::is_regular_file(tokenizer_path)) throw std::runtime_error(dir_text + ": tokenizer.json is missing");
  files.tokenizer_json_path = tokenizer_path.string();
  if (fs::path path = dir / "tokenizer_config.json"; fs::is_regular_file(path))
    files.tokenizer_config = with_file_name(path, parse_tokenizer_config);
  if (fs::path path = dir / "generation_config.json"; fs::is_regular_file(path))
    files.generation_config = with_file_name(path, parse_generation_config);

  if (fs::path single = dir / "model.safetensors"; fs::is_regular_file(single))
    files.safetensors_paths = {single.string()};
  else if (fs::path index = dir / "model.safetensors.index.json"; fs::is_regular_file(index))
    files.safetensors_paths = shards_from_index(dir, index);
  else
    throw std::runtime_error(dir_text + ": neither model.safetensors nor model.safetensors.index.json is present");
  return files;
}

std::map<std::string, std::vector<int64_t>> expected_parameter_shapes(const ModelConfig& c) {
  std::map<std::string, std::vector<int64_t>> shapes;
  const int64_t q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  shapes["model.embed_tokens.weight"] = {c.vocab_size, c.hidden_size};
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    std::string layer = "model.layers." + std::to_string(i) + ".";
    shapes[layer + "self_attn.q_proj.weight"] = {q, c.hidden_size};
    shapes[layer + "self_attn.k_proj.weight"] = {kv, c.hidden_size};
    shapes[layer + "self_attn.v_proj.weight"] = {kv, c.hidden_size};
    shapes[layer + "self_attn.o_proj.weight"] = {c.hidden_size, q};
    shapes[layer + "mlp.gate_proj.weight"] = {c.intermediate_size, c.hidden_size};
    shapes[layer + "mlp.up_proj.weight"] = {c.intermediate_size, c.hidden_size};
    shapes[layer + "mlp.down_proj.weight"] = {c.hidden_size, c.intermediate_size};
    shapes[layer + "input_layernorm.weight"] = {c.hidden_size};
    shapes[layer + "post_attention_layernorm.weight"] = {c.hidden_size};
  }
  shapes["model.norm.weight"] = {c.hidden_size};
  if (!c.tie_word_embeddings) shapes["lm_head.weight"] = {c.vocab_size, c.hidden_size};
  return shapes;
}

}  // namespace maskfill
