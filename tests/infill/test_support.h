// Shared by the infill tests: golden files, the Seed-Coder-style tokenizer fixture, cursor markers.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "common/read_file.h"
#include "inference/tokenizer.h"

namespace maskfill::test {

inline nlohmann::json read_golden(const std::string& name) {
  return nlohmann::json::parse(read_file(std::string(MASKFILL_INFILL_GOLDEN_DIR) + "/" + name));
}

inline const Tokenizer& seedcoder_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::from_file(MASKFILL_SEEDCODER_TOKENIZER);
  return tokenizer;
}

// Splits "text with <|> in it" into the text and the marker's byte offset.
struct Marked {
  std::string text;
  size_t cursor;
};
inline Marked take_cursor(std::string text) {
  size_t at = text.find("<|>");
  if (at == std::string::npos) throw std::runtime_error("no <|> cursor marker in: " + text);
  text.erase(at, 3);
  return {text, at};
}

}  // namespace maskfill::test
