// Tokenizer::from_json_text on arbitrary tokenizer.json text; when it loads, the tokenizer must
// then encode and decode arbitrary text without crashing and with ids inside its vocabulary.
// Input: tokenizer.json text, then optionally a NUL byte and the text to encode.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "inference/tokenizer.h"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "tokenizer_fuzzer: %s\n", what.c_str());
  std::abort();
}

// Library text in an error only counts when the input did not carry it itself.
bool input_has_library_text = false;

const char* kDefaultSample = "def f(x):\n    return x + 1  # \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 <|endoftext|>\r\n\t\xff";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  input_has_library_text = std::string_view(reinterpret_cast<const char*>(data), size).find("[json.exception") != std::string_view::npos;
  size_t split = input.find('\0');
  std::string json_text = input.substr(0, split);
  std::string sample = split == std::string::npos ? kDefaultSample : input.substr(split + 1);

  std::optional<maskfill::Tokenizer> tokenizer;
  try {
    tokenizer.emplace(maskfill::Tokenizer::from_json_text(json_text));
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).empty()) fail("empty error message");
    if (std::string(e.what()).find("[json.exception") != std::string::npos && !input_has_library_text) fail(std::string("library text in: ") + e.what());
    return 0;
  }
  std::vector<int32_t> ids = tokenizer->encode(sample);
  const int32_t vocab = tokenizer->vocab_size();
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab) fail("encode produced id " + std::to_string(id) + " outside vocab_size " + std::to_string(vocab));
    std::string token = tokenizer->id_to_token(id);
    (void)tokenizer->is_special(id);
    (void)tokenizer->token_to_id(token);
  }
  (void)tokenizer->decode(ids, /*skip_special_tokens=*/false);
  (void)tokenizer->decode(ids, /*skip_special_tokens=*/true);
  try {  // ids a model with a padded vocabulary can emit: an error is fine, a crash is not
    (void)tokenizer->decode({-1, vocab, vocab + 1000, INT32_MAX});
  } catch (const std::exception&) {
  }
  (void)tokenizer->pretokenize(sample);
  return 0;
}
