// parse_model_config (config.json) and parse_tokenizer_config (tokenizer_config.json) on
// arbitrary text: either a clear std::runtime_error or a config whose sizes are usable, i.e.
// expected_parameter_shapes can be computed (UBSan catches overflowing products).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "inference/model_files.h"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "model_config_fuzzer: %s\n", what.c_str());
  std::abort();
}

// Library text in an error only counts when the input did not carry it itself.
bool input_has_library_text = false;

void check_model_config(const std::string& text) {
  maskfill::ModelConfig config;
  try {
    config = maskfill::parse_model_config(text);
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).empty()) fail("empty error message");
    if (std::string(e.what()).find("[json.exception") != std::string::npos && !input_has_library_text) fail(std::string("library text in: ") + e.what());
    return;
  }
  if (config.vocab_size <= 0 || config.hidden_size <= 0 || config.num_hidden_layers <= 0 ||
      config.num_attention_heads <= 0 || config.num_key_value_heads <= 0 || config.head_dim <= 0 ||
      config.intermediate_size <= 0 || config.block_size <= 0)
    fail("accepted a config with a non-positive size: " + text);
  if (config.num_attention_heads % config.num_key_value_heads != 0)
    fail("accepted heads not divisible by kv heads: " + text);
  for (int32_t id : {config.bos_token_id, config.eos_token_id, config.mask_token_id})
    if (id < 0 || id >= config.vocab_size) fail("accepted a token id outside the vocabulary: " + text);
  for (const auto& [name, shape] : maskfill::expected_parameter_shapes(config))
    for (int64_t dim : shape)
      if (dim <= 0) fail("parameter " + name + " gets a non-positive dimension from " + text);
}

void check_tokenizer_config(const std::string& text) {
  try {
    maskfill::TokenizerConfig config = maskfill::parse_tokenizer_config(text);
    (void)config;
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).empty()) fail("empty error message");
    if (std::string(e.what()).find("[json.exception") != std::string::npos && !input_has_library_text) fail(std::string("library text in: ") + e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  input_has_library_text = std::string_view(reinterpret_cast<const char*>(data), size).find("[json.exception") != std::string_view::npos;
  check_model_config(text);
  check_tokenizer_config(text);
  return 0;
}
