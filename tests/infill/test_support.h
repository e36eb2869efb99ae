// Shared by the infill tests: golden files, the Seed-Coder-style tokenizer fixture, cursor markers.
#pragma once

#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/read_file.h"
#include "inference/tokenizer.h"

namespace maskfill::test {

// A folder of files under /tmp for one test, removed with everything in it afterwards (a file
// without permissions too: unlinking needs only the folder's).
struct TempWorkspace {
  std::filesystem::path root;
  TempWorkspace() {
    char pattern[] = "/tmp/maskfill-test-XXXXXX";
    root = std::filesystem::canonical(mkdtemp(pattern));
  }
  ~TempWorkspace() {
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  }
  TempWorkspace(const TempWorkspace&) = delete;
  TempWorkspace& operator=(const TempWorkspace&) = delete;
  std::filesystem::path write(const std::string& relative, const std::string& text) const {
    std::filesystem::path path = root / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
};

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
