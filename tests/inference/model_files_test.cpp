#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "inference/model_files.h"
#include "inference/safetensors.h"

namespace fs = std::filesystem;
using namespace maskfill;
using json = nlohmann::json;

namespace {

// Stable-DiffCoder-8B-Base config.json as published (reference notes §1.1).
json stable_diffcoder_8b() {
  return json::parse(R"({
    "architectures": ["StableDiffcoderForCausalLM"],
    "auto_map": {"AutoModel": "modeling_stable_diffcoder.StableDiffcoderForCausalLM",
                 "AutoModelForCausalLM": "modeling_stable_diffcoder.StableDiffcoderForCausalLM"},
    "attention_bias": false, "attention_dropout": 0.1, "bos_token_id": 0, "eos_token_id": 2,
    "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.009882118, "intermediate_size": 14336,
    "layer_norm_eps": null, "max_position_embeddings": 8192, "mlp_bias": false, "model_type": "llama",
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "resid_pdrop": 0.1,
    "rms_norm_eps": 1e-6, "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
    "transformers_version": "5.3.0", "use_cache": true, "vocab_size": 155136})");
}

std::string config_error(const json& config) {
  try {
    parse_model_config(config.dump());
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("maskfill-mf-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(reinterpret_cast<uintptr_t>(this)));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};

}  // namespace

TEST_CASE("Stable-DiffCoder-8B config: block-causal, block 4, no shift, every shape") {
  ModelConfig c = parse_model_config(stable_diffcoder_8b().dump());
  CHECK(c.model_type == "llama");
  CHECK(c.head_dim == 128);
  CHECK(c.num_key_value_heads == 8);
  CHECK(c.rope_theta == 500000.0);
  CHECK(c.rms_norm_eps == 1e-6);
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK(c.torch_dtype == "bfloat16");
  CHECK(c.attention == AttentionMode::BlockCausal);
  CHECK(c.block_size == 4);
  CHECK_FALSE(c.logit_shift);
  CHECK(c.mask_token_id == 5);

  auto shapes = expected_parameter_shapes(c);
  CHECK(shapes.size() == 3 + 32 * 9);
  CHECK(shapes.at("model.embed_tokens.weight") == std::vector<int64_t>{155136, 4096});
  CHECK(shapes.at("lm_head.weight") == std::vector<int64_t>{155136, 4096});
  CHECK(shapes.at("model.layers.31.self_attn.k_proj.weight") == std::vector<int64_t>{1024, 4096});
  CHECK(shapes.at("model.layers.0.self_attn.o_proj.weight") == std::vector<int64_t>{4096, 4096});
  CHECK(shapes.at("model.layers.7.mlp.down_proj.weight") == std::vector<int64_t>{4096, 14336});
  CHECK(shapes.at("model.layers.7.post_attention_layernorm.weight") == std::vector<int64_t>{4096});
  int64_t parameters = 0;
  for (const auto& [name, shape] : shapes) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    parameters += n;
  }
  CHECK(parameters > 8'200'000'000);
  CHECK(parameters < 8'300'000'000);
}

TEST_CASE("older Instruct config: auto_map names the diffcoder module") {
  json config = stable_diffcoder_8b();
  config["architectures"] = {"LlamaForCausalLM"};
  config["auto_map"] = {{"AutoModelForCausalLM", "modeling_seed_diffcoder.SeedDiffcoderForCausalLM"}};
  config["head_dim"] = 128;
  config["rope_scaling"] = nullptr;
  CHECK(parse_model_config(config.dump()).attention == AttentionMode::BlockCausal);
}

TEST_CASE("a plain Llama is causal with a logit shift, tied embeddings drop lm_head") {
  json config = stable_diffcoder_8b();
  config.erase("auto_map");
  config["architectures"] = {"LlamaForCausalLM"};
  config["tie_word_embeddings"] = true;
  config["eos_token_id"] = {128001, 128009};
  config["vocab_size"] = 128256;
  ModelConfig c = parse_model_config(config.dump());
  CHECK(c.attention == AttentionMode::Causal);
  CHECK(c.logit_shift);
  CHECK(c.eos_token_id == 128001);
  CHECK(expected_parameter_shapes(c).count("lm_head.weight") == 0);
}

TEST_CASE("block_size and mask_token_id override") {
  json config = stable_diffcoder_8b();
  config["block_size"] = 8;
  config["mask_token_id"] = 7;
  ModelConfig c = parse_model_config(config.dump());
  CHECK(c.block_size == 8);
  CHECK(c.mask_token_id == 7);
  config.erase("auto_map");
  config["architectures"] = {"LlamaForCausalLM"};
  CHECK(parse_model_config(config.dump()).attention == AttentionMode::BlockCausal);  // block_size marks diffusion
}

TEST_CASE("config errors name the field") {
  json config = stable_diffcoder_8b();
  CHECK_THAT(config_error(json::array()), Catch::Contains("JSON object"));
  config.erase("hidden_size");
  CHECK_THAT(config_error(config), Catch::Contains("'hidden_size' is missing"));
  config = stable_diffcoder_8b();
  config["num_hidden_layers"] = "32";
  CHECK_THAT(config_error(config), Catch::Contains("'num_hidden_layers' must be a positive integer"));
  config = stable_diffcoder_8b();
  config["model_type"] = "mistral";
  CHECK_THAT(config_error(config), Catch::Contains("model_type \"mistral\" is not supported"));
  config.erase("model_type");
  CHECK_THAT(config_error(config), Catch::Contains("'model_type' is missing"));
  config = stable_diffcoder_8b();
  config["num_key_value_heads"] = 5;
  CHECK_THAT(config_error(config), Catch::Contains("num_key_value_heads"));
  config = stable_diffcoder_8b();
  config["rope_scaling"] = {{"rope_type", "llama3"}};
  CHECK_THAT(config_error(config), Catch::Contains("rope_scaling"));
  config = stable_diffcoder_8b();
  config["hidden_act"] = "gelu";
  CHECK_THAT(config_error(config), Catch::Contains("hidden_act"));
  config = stable_diffcoder_8b();
  config["vocab_size"] = 4;
  CHECK_THAT(config_error(config), Catch::Contains("outside vocab_size"));
  CHECK_THAT(config_error(json::parse("{}")), Catch::Contains("model_type"));
  CHECK_THROWS_WITH(parse_model_config("{oops"), Catch::Contains("not valid JSON"));
}

TEST_CASE("tokenizer_config: token strings or objects, chat_template string or list") {
  TokenizerConfig a = parse_tokenizer_config(R"({"add_bos_token": true, "bos_token": {"content": "<s>", "lstrip": false},
      "eos_token": "</s>", "pad_token": null, "chat_template": "T"})");
  CHECK(a.add_bos_token);
  CHECK(a.bos_token == "<s>");
  CHECK(a.eos_token == "</s>");
  CHECK(a.pad_token.empty());
  CHECK(a.chat_template == "T");
  TokenizerConfig b = parse_tokenizer_config(
      R"({"chat_template": [{"name": "tool_use", "template": "X"}, {"name": "default", "template": "D"}]})");
  CHECK(b.chat_template == "D");
  CHECK_FALSE(b.add_bos_token);
  CHECK_FALSE(parse_tokenizer_config("{}").chat_template);
  CHECK_THROWS_WITH(parse_tokenizer_config(R"({"eos_token": 5})"), Catch::Contains("eos_token"));
  CHECK_THROWS_WITH(parse_tokenizer_config(R"({"chat_template": 5})"), Catch::Contains("chat_template"));
}

TEST_CASE("locate_model_files: single file, shards, generation_config, errors") {
  TempDir dir;
  CHECK_THROWS_WITH(locate_model_files((dir.path / "nope").string()), Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(locate_model_files(dir.path.string()), Catch::Contains("config.json is missing"));
  dir.write("config.json", stable_diffcoder_8b().dump());
  CHECK_THROWS_WITH(locate_model_files(dir.path.string()), Catch::Contains("tokenizer.json is missing"));
  dir.write("tokenizer.json", "{}");
  CHECK_THROWS_WITH(locate_model_files(dir.path.string()), Catch::Contains("model.safetensors"));

  dir.write("model.safetensors.index.json",
            R"({"metadata": {}, "weight_map": {"a": "model-00002-of-00002.safetensors", "b": "model-00001-of-00002.safetensors"}})");
  CHECK_THROWS_WITH(locate_model_files(dir.path.string()), Catch::Contains("which is missing"));
  dir.write("model-00001-of-00002.safetensors", "");
  dir.write("model-00002-of-00002.safetensors", "");
  dir.write("generation_config.json", R"({"bos_token_id": 0, "eos_token_id": [2, 7]})");
  dir.write("tokenizer_config.json", R"({"eos_token": "<e>"})");
  ModelFiles files = locate_model_files(dir.path.string());
  REQUIRE(files.safetensors_paths.size() == 2);
  CHECK(fs::path(files.safetensors_paths[0]).filename() == "model-00001-of-00002.safetensors");
  REQUIRE(files.generation_config);
  CHECK(files.generation_config->eos_token_ids == std::vector<int32_t>{2, 7});
  CHECK(files.tokenizer_config.eos_token == "<e>");
  CHECK(files.config.hidden_size == 4096);

  dir.write("model.safetensors.index.json", R"({"weight_map": {"a": "../evil.safetensors"}})");
  CHECK_THROWS_WITH(locate_model_files(dir.path.string()), Catch::Contains("plain file name"));
  dir.write("model.safetensors", "");
  CHECK(locate_model_files(dir.path.string()).safetensors_paths.size() == 1);
  dir.write("config.json", "{\"model_type\": \"llama\"}");
  CHECK_THROWS_WITH(locate_model_files(dir.path.string()), Catch::Contains("config.json") && Catch::Contains("vocab_size"));
}
