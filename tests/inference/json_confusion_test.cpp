// Type confusion in every untrusted JSON file the model loader reads: each field of a valid
// document (config.json, generation_config.json, tokenizer_config.json, tokenizer.json, a
// safetensors header) is replaced in turn by null, a number, a string, an array, an object and a
// boolean. Each variant must either load or fail with a std::runtime_error whose message names
// the file and the field and carries no library text. The corpus is generated deterministically.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

#include "common/json_fields.h"
#include "common/read_file.h"
#include "inference/model_files.h"
#include "inference/safetensors.h"
#include "inference/tokenizer.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace maskfill;

namespace {

// Every field of `document` as a JSON pointer, with the names along its path.
struct FieldPath {
  json::json_pointer pointer;
  std::vector<std::string> names;  // object keys along the path (array indexes skipped)
};

void collect(const json& value, const json::json_pointer& at, std::vector<std::string> names,
             std::vector<FieldPath>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      auto child_names = names;
      child_names.push_back(key);
      out.push_back({at / key, child_names});
      collect(child, at / key, child_names, out);
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      out.push_back({at / i, names});
      collect(value[i], at / i, names, out);
    }
  }
}

const std::vector<std::pair<const char*, json>>& replacements() {
  static const std::vector<std::pair<const char*, json>> values = {
      {"null", json(nullptr)},   {"number", json(0)},           {"negative number", json(-7)},
      {"fraction", json(1.5)},   {"huge number", json(1e300)},  {"string", json("x")},
      {"array", json::array()},  {"array of one", json::array({json("x")})},
      {"object", json::object()}, {"boolean", json(true)},
  };
  return values;
}

struct Outcome {
  int loaded = 0, refused = 0;
};

// Runs `load` on every variant of `base`; `file` must appear in every error message.
Outcome confuse(const json& base, const std::string& file, const std::function<void(const json&)>& load) {
  std::vector<FieldPath> fields;
  collect(base, json::json_pointer(), {}, fields);
  REQUIRE(fields.size() > 3);
  Outcome outcome;
  for (const FieldPath& field : fields) {
    for (const auto& [kind, value] : replacements()) {
      json variant = base;
      variant[field.pointer] = value;
      INFO(file << ": " << field.pointer.to_string() << " replaced by " << kind);
      try {
        load(variant);
        ++outcome.loaded;
      } catch (const std::runtime_error& error) {
        ++outcome.refused;
        std::string message = error.what();
        INFO("message: " << message);
        CHECK(message.find("json.exception") == std::string::npos);
        CHECK(message.find(file) != std::string::npos);
        bool names_field = field.names.empty();
        for (const std::string& name : field.names) names_field = names_field || message.find(name) != std::string::npos;
        CHECK(names_field);
      } catch (const std::exception& error) {
        FAIL("not a std::runtime_error: " << error.what());
      }
    }
  }
  return outcome;
}

json config_json() {
  return json::parse(R"({
    "architectures": ["StableDiffcoderForCausalLM"],
    "auto_map": {"AutoModelForCausalLM": "modeling_stable_diffcoder.StableDiffcoderForCausalLM"},
    "attention_bias": false, "mlp_bias": false, "block_size": 4, "bos_token_id": 0, "eos_token_id": [2, 3],
    "head_dim": 8, "hidden_act": "silu", "hidden_size": 32, "intermediate_size": 48, "mask_token_id": 5,
    "max_position_embeddings": 256, "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_scaling": null,
    "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
    "tie_word_embeddings": false, "dtype": "bfloat16", "vocab_size": 64})");
}

json tokenizer_config_json() {
  return json::parse(R"({
    "add_bos_token": true, "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
    "pad_token": null, "mask_token": "<mask>",
    "chat_template": [{"name": "default", "template": "T"}, {"name": "tool_use", "template": "U"}]})");
}

json generation_config_json() {
  return json::parse(R"({"bos_token_id": 0, "eos_token_id": [2, 3], "pad_token_id": 1})");
}

json tokenizer_json() {
  return json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [{"id": 8, "content": "<|end|>", "single_word": false, "lstrip": false, "rstrip": false,
                      "normalized": false, "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": false},
        {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
    "post_processor": null,
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
              "end_of_word_suffix": null, "byte_fallback": false, "ignore_merges": false,
              "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "abc": 5, "Ġa": 6, "bc": 7},
              "merges": ["a b", ["ab", "c"], "Ġ a", "b c"]}})");
}

json safetensors_header() {
  return json::parse(R"({"__metadata__": {"format": "pt"},
    "embed.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "norm.bias": {"dtype": "U8", "shape": [2, 2], "data_offsets": [8, 12]}})");
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("maskfill-confusion-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("the crash input: config.json with \"rope_parameters\": 0 is a clean error") {
  json config = config_json();
  config["rope_parameters"] = 0;
  try {
    parse_model_config(config.dump());
    FAIL("accepted rope_parameters 0");
  } catch (const JsonFieldError& error) {
    CHECK(std::string(error.what()) == "config.json: field 'rope_parameters' must be a JSON object, got number 0");
  }
  // The committed fuzz regression input holds the same value.
  std::string path = std::string(MASKFILL_SOURCE_DIR) + "/tests/fuzz/regressions/model_config/rope_parameters_number.json";
  std::string text = read_file(path);
  CHECK_THROWS_WITH(parse_model_config(text), Catch::Contains("'rope_parameters'") && !Catch::Contains("json.exception"));
}

TEST_CASE("parse errors of the JSON text name the file and the place, without library text") {
  CHECK_THROWS_WITH(parse_model_config("{\n  \"a\": tru\n}"),
                    Catch::Equals("config.json is not valid JSON (line 2, column 11)"));
  CHECK_THROWS_WITH(parse_model_config("{\"a\": "), Catch::StartsWith("config.json is not valid JSON (it ends early"));
  CHECK_THROWS_WITH(parse_generation_config("[1e999999]"), Catch::StartsWith("generation_config.json is not valid JSON"));
  CHECK_THROWS_WITH(parse_tokenizer_config(std::string(600, '[') + std::string(600, ']')),
                    Catch::Contains("tokenizer_config.json is nested deeper than"));
  CHECK_THROWS_WITH(Tokenizer::from_json_text("{\"model\": \xff}"), Catch::StartsWith("tokenizer.json is not valid JSON"));
  CHECK_THROWS_WITH(parse_model_config("\"llama\""), Catch::Equals("config.json must hold a JSON object, got string \"llama\""));
}

TEST_CASE("type confusion in config.json") {
  json base = config_json();
  REQUIRE_NOTHROW(parse_model_config(base.dump()));
  Outcome outcome = confuse(base, "config.json", [](const json& variant) { parse_model_config(variant.dump()); });
  CHECK(outcome.refused > 100);
  CHECK(outcome.loaded > 10);  // null for an optional field, a number for another number, ...
}

TEST_CASE("type confusion in tokenizer_config.json") {
  json base = tokenizer_config_json();
  REQUIRE_NOTHROW(parse_tokenizer_config(base.dump()));
  Outcome outcome =
      confuse(base, "tokenizer_config.json", [](const json& variant) { parse_tokenizer_config(variant.dump()); });
  CHECK(outcome.refused > 20);
}

TEST_CASE("type confusion in generation_config.json") {
  json base = generation_config_json();
  REQUIRE_NOTHROW(parse_generation_config(base.dump()));
  Outcome outcome =
      confuse(base, "generation_config.json", [](const json& variant) { parse_generation_config(variant.dump()); });
  CHECK(outcome.refused > 10);
}

TEST_CASE("type confusion in tokenizer.json") {
  json base = tokenizer_json();
  REQUIRE(Tokenizer::from_json_text(base.dump()).encode("abc abc<|end|>") == std::vector<int32_t>{5, 3, 5, 8});
  Outcome outcome = confuse(base, "tokenizer.json", [](const json& variant) {
    Tokenizer tokenizer = Tokenizer::from_json_text(variant.dump());
    tokenizer.decode(tokenizer.encode("abc abc<|end|>"));  // what loads must also work
  });
  CHECK(outcome.refused > 100);
}

TEST_CASE("type confusion in a safetensors header") {
  TempDir dir;
  std::string path = (dir.path / "model.safetensors").string();
  auto load = [&](const json& header) {
    std::string text = header.dump();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    uint64_t size = text.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>(size >> (8 * i)));
    out << text << std::string(12, '\0');
    out.close();
    SafetensorsFile::open(path);
  };
  json base = safetensors_header();
  REQUIRE_NOTHROW(load(base));
  Outcome outcome = confuse(base, "model.safetensors", load);
  CHECK(outcome.refused > 50);
}

TEST_CASE("JsonField: messages name the source, the dotted path and what was expected") {
  json document = json::parse(R"({"a": {"b": "x", "list": [1, "two"]}, "n": null})");
  JsonField root(document, "settings.json");
  CHECK_THROWS_WITH(root.at("a").at("b").integer(), Catch::Equals("settings.json: field 'a.b' must be an integer, got string \"x\""));
  CHECK_THROWS_WITH(root.at("a").at("list").items()[1].integer(0, 9),
                    Catch::Equals("settings.json: field 'a.list[1]' must be an integer from 0 to 9, got string \"two\""));
  CHECK_THROWS_WITH(root.at("n"), Catch::Equals("settings.json: field 'n' is missing"));
  CHECK_THROWS_WITH(root.at("a").at("c"), Catch::Equals("settings.json: field 'a.c' is missing"));
  CHECK_THROWS_AS(root.at("a").at("b").at("c"), JsonFieldError);
  CHECK_FALSE(root.get("n"));
  CHECK(root.at("a").string_or("missing", "fallback") == "fallback");
  CHECK(root.at("a").at("list").items()[0].integer(0, 9) == 1);
  CHECK_FALSE(root.has("n"));
  CHECK(root.has("a"));
}
