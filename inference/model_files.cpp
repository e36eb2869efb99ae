#include "inference/model_files.h"

#include "common/json_fields.h"
#include "common/read_file.h"

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

// Parses `text` and checks that it holds an object; errors name `source`.
json parse_json_object(const std::string& text, const std::string& source) {
  json value = parse_json_text(text, source);
  JsonField(value, source).require_object();
  return value;
}

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

int64_t positive_int_value(const JsonField& value, std::string_view key) {
  const json& number = value.json();
  if (!number.is_number_integer()) value.expected("a positive integer");
  uint64_t n = number.is_number_unsigned() ? number.get<uint64_t>()
                                           : static_cast<uint64_t>(std::max<int64_t>(number.get<int64_t>(), 0));
  if (n == 0) value.expected("a positive integer");
  if (n > static_cast<uint64_t>(upper_bound(key)))
    value.fail("is " + number.dump() + ", above the supported maximum " + std::to_string(upper_bound(key)));
  return static_cast<int64_t>(n);
}

int64_t positive_int(const JsonField& config, const char* key) { return positive_int_value(config.at(key), key); }

int64_t positive_int_or(const JsonField& config, const char* key, int64_t fallback) {
  auto value = config.get(key);
  return value ? positive_int_value(*value, key) : fallback;
}

double positive_number_or(const JsonField& config, const char* key, double fallback) {
  auto value = config.get(key);
  if (!value) return fallback;
  if (!value->json().is_number() || value->json().get<double>() <= 0) value->expected("a positive number");
  return value->json().get<double>();
}

int32_t token_id_value(const JsonField& value) {
  return static_cast<int32_t>(value.integer(0, INT32_MAX));
}

// A token id field that may be an int or a list of ints (the first one is taken).
std::optional<int32_t> token_id(const JsonField& config, const char* key) {
  auto value = config.get(key);
  if (!value) return std::nullopt;
  if (value->json().is_array()) {
    auto items = value->items();
    if (items.empty()) value->expected("a token id or a non-empty list of them");
    return token_id_value(items[0]);
  }
  if (!value->json().is_number_integer()) value->expected("a token id or a list of them");
  return token_id_value(*value);
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

void reject_unsupported_features(const JsonField& config) {
  if (auto act = config.get("hidden_act"); act && act->json() != "silu")
    act->fail("is " + json_describe(act->json()) + ", which is not supported (silu only)");
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (auto value = config.get(key); value && value->boolean())
      value->fail("is true, which is not supported");
  if (auto rope = config.get("rope_scaling"))
    rope->fail("is " + json_describe(rope->json()) + ", which is not supported (only null)");
  if (auto rope = config.get("rope_parameters")) {  // transformers v5 layout
    std::string type = rope->string_or("rope_type", "default");
    if (type != "default") rope->at("rope_type").fail("is '" + type + "', which is not supported (only \"default\")");
  }
}

// A special-token entry of tokenizer_config.json: "text", {"content": "text", ...} or null.
std::string token_string(const JsonField& config, const char* key) {
  auto value = config.get(key);
  if (!value) return {};
  if (value->json().is_string()) return value->string();
  if (value->json().is_object()) return value->at("content").string();
  value->expected("a string or an object with \"content\"");
}

}  // namespace

ModelConfig parse_model_config(const std::string& config_json_text, const std::string& source) {
  json root = parse_json_object(config_json_text, source);
  JsonField config(root, source);
  ModelConfig out;
  JsonField model_type = config.at("model_type");
  if (!model_type.json().is_string() || model_type.json() != "llama")
    throw JsonFieldError(source + ": model_type " + model_type.json().dump(-1, ' ', false, json::error_handler_t::replace) +
                         " is not supported (only \"llama\")");
  out.model_type = "llama";
  if (auto architectures = config.get("architectures"))
    for (const JsonField& name : architectures->items()) out.architectures.push_back(name.string());
  reject_unsupported_features(config);
  out.vocab_size = positive_int(config, "vocab_size");
  out.hidden_size = positive_int(config, "hidden_size");
  out.intermediate_size = positive_int(config, "intermediate_size");
  out.num_hidden_layers = positive_int(config, "num_hidden_layers");
  out.num_attention_heads = positive_int(config, "num_attention_heads");
  out.num_key_value_heads = positive_int_or(config, "num_key_value_heads", out.num_attention_heads);
  if (out.num_attention_heads % out.num_key_value_heads != 0)
    throw std::runtime_error(source + ": num_attention_heads (" + std::to_string(out.num_attention_heads) +
                             ") is not a multiple of num_key_value_heads (" + std::to_string(out.num_key_value_heads) + ")");
  if (!config.has("head_dim") && out.hidden_size % out.num_attention_heads != 0)
    throw std::runtime_error(source + ": hidden_size is not divisible by num_attention_heads and head_dim is not given");
  out.head_dim = positive_int_or(config, "head_dim", out.hidden_size / out.num_attention_heads);
  if (out.head_dim % 2 != 0) throw std::runtime_error(source + ": head_dim must be even for RoPE");
  out.max_position_embeddings = positive_int_or(config, "max_position_embeddings", 2048);
  out.rms_norm_eps = positive_number_or(config, "rms_norm_eps", 1e-6);
  double theta = 10000.0;
  if (auto rope = config.get("rope_parameters")) theta = positive_number_or(*rope, "rope_theta", theta);
  out.rope_theta = positive_number_or(config, "rope_theta", theta);
  out.tie_word_embeddings = config.boolean_or("tie_word_embeddings", false);
  for (const char* key : {"dtype", "torch_dtype"})  // transformers v5 writes "dtype"
    if (auto dtype = config.get(key)) {
      out.torch_dtype = dtype->string();
      break;
    }
  if (auto id = token_id(config, "bos_token_id")) out.bos_token_id = *id;
  if (auto id = token_id(config, "eos_token_id")) out.eos_token_id = *id;

  bool diffcoder = std::find(out.architectures.begin(), out.architectures.end(), "StableDiffcoderForCausalLM") !=
                       out.architectures.end() ||
                   (config.has("auto_map") && mentions_diffcoder(root["auto_map"])) || config.has("block_size");
  out.attention = diffcoder ? AttentionMode::BlockCausal : AttentionMode::Causal;
  out.logit_shift = !diffcoder;
  out.block_size = positive_int_or(config, "block_size", 4);
  if (auto id = token_id(config, "mask_token_id")) out.mask_token_id = *id;
  for (int32_t id : {out.bos_token_id, out.eos_token_id, out.mask_token_id})
    if (id >= out.vocab_size)
      throw std::runtime_error(source + ": token id " + std::to_string(id) + " is outside vocab_size " +
                               std::to_string(out.vocab_size));
  return out;
}

TokenizerConfig parse_tokenizer_config(const std::string& tokenizer_config_json_text, const std::string& source) {
  json root = parse_json_object(tokenizer_config_json_text, source);
  JsonField config(root, source);
  TokenizerConfig out;
  out.add_bos_token = config.boolean_or("add_bos_token", false);
  out.bos_token = token_string(config, "bos_token");
  out.eos_token = token_string(config, "eos_token");
  out.pad_token = token_string(config, "pad_token");
  out.mask_token = token_string(config, "mask_token");
  if (auto value = config.get("chat_template")) {
    if (value->json().is_string()) {
      out.chat_template = value->string();
    } else if (value->json().is_array()) {  // [{name, template}]: the one named "default", else the first
      for (const JsonField& entry : value->items()) {
        std::string text = entry.at("template").string();
        if (!out.chat_template || entry.string_or("name", "") == "default") out.chat_template = text;
      }
    } else {
      value->expected("a string or a list of {name, template}");
    }
  }
  return out;
}

GenerationConfig parse_generation_config(const std::string& generation_config_json_text, const std::string& source) {
  json root = parse_json_object(generation_config_json_text, source);
  JsonField config(root, source);
  GenerationConfig out;
  out.bos_token_id = token_id(config, "bos_token_id");
  out.pad_token_id = token_id(config, "pad_token_id");
  if (auto value = config.get("eos_token_id")) {
    if (value->json().is_array())
      for (const JsonField& id : value->items()) out.eos_token_ids.push_back(token_id_value(id));
    else if (value->json().is_number_integer())
      out.eos_token_ids.push_back(token_id_value(*value));
    else
      value->expected("a token id or a list of them");
  }
  return out;
}

namespace {

// The shard files named by model.safetensors.index.json, in sorted order, each checked to exist.
std::vector<std::string> shards_from_index(const fs::path& dir, const fs::path& index_path) {
  json root = parse_json_object(read_file(index_path.string()), index_path.string());
  JsonField weight_map = JsonField(root, index_path.string()).at("weight_map");
  if (weight_map.members().empty()) weight_map.fail("is empty");
  std::set<std::string> names;
  for (const auto& [tensor, file] : weight_map.members()) {
    std::string name = file.string();
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
  // Every error of the parsers names the file they are given: here, its path.
  auto with_file_name = [](const fs::path& path, auto parse) { return parse(read_file(path.string()), path.string()); };
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
