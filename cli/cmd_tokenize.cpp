// `maskfill tokenize`: ids of a text as JSON (the tokenizer parity suite drives this), and
// `maskfill bench tokenize`: encode throughput in MB/s.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "common/command.h"
#include "common/read_file.h"
#include "inference/engine.h"
#include "inference/tokenizer.h"

namespace maskfill {
namespace {


// About `bytes` of Python source from the system's standard library, in a fixed order.
std::string python_stdlib_sample(size_t bytes) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& lib : fs::directory_iterator("/usr/lib", ec))
    if (lib.path().filename().string().rfind("python3.", 0) == 0)
      for (const auto& entry : fs::directory_iterator(lib.path(), ec))
        if (entry.path().extension() == ".py") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::string text;
  for (const auto& path : files) {
    if (text.size() >= bytes) break;
    text += read_file(path);
  }
  if (text.size() > bytes) text.resize(bytes);
  return text;
}

std::string default_tokenizer_path() {
  std::string dir = default_model_dir();
  return dir.empty() ? std::string() : dir + "/tokenizer.json";
}

Tokenizer load_tokenizer(const std::string& path) {
  if (path.empty()) throw std::runtime_error("no bundled model found; pass --tokenizer PATH/tokenizer.json");
  return Tokenizer::from_file(path);
}

// One JSON line per input line: a JSON string or {"text": ...}.
int tokenize_jsonl(const Tokenizer& tokenizer, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    auto value = nlohmann::json::parse(line, nullptr, false);
    if (value.is_object() && value.contains("text")) value = value["text"];
    if (!value.is_string())
      throw std::runtime_error(path + ":" + std::to_string(number) + ": expected a JSON string or {\"text\": ...}");
    std::vector<int32_t> ids = tokenizer.encode(value.get<std::string>());
    nlohmann::json out = {{"ids", ids},
                          {"decoded", tokenizer.decode(ids, false)},
                          {"decoded_skip_special", tokenizer.decode(ids, true)}};
    std::cout << out.dump() << '\n';
  }
  return 0;
}

int tokenize(int argc, char** argv) {
  CLI::App app{"Print the token ids of a text as JSON"};
  std::string tokenizer_path = default_tokenizer_path(), text, file, jsonl;
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json (default: the bundled model's)");
  auto* text_option = app.add_option("--text", text, "text to encode");
  auto* file_option = app.add_option("--file", file, "file whose contents to encode");
  auto* jsonl_option = app.add_option("--jsonl", jsonl,
                                      "JSONL of texts; prints {ids, decoded, decoded_skip_special} per line");
  text_option->excludes(file_option, jsonl_option);
  file_option->excludes(jsonl_option);
  CLI11_PARSE(app, argc, argv);
  if (text_option->count() + file_option->count() + jsonl_option->count() != 1)
    throw std::runtime_error("give one of --text, --file or --jsonl");
  Tokenizer tokenizer = load_tokenizer(tokenizer_path);
  if (!jsonl.empty()) return tokenize_jsonl(tokenizer, jsonl);
  std::string input = file.empty() ? text : read_file(file);
  std::cout << nlohmann::json(tokenizer.encode(input)).dump() << '\n';
  return 0;
}

int bench_tokenize(int argc, char** argv) {
  CLI::App app{"Encode throughput of the tokenizer on a source file (cold cache, then warm)"};
  std::string tokenizer_path = default_tokenizer_path(), file;
  int repeats = 3;
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json (default: the bundled model's)");
  app.add_option("--file", file, "text to encode (default: 1 MB of the Python standard library)");
  app.add_option("--repeats", repeats, "warm-cache repetitions")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  std::string text;
  if (!file.empty()) {
    text = read_file(file);
  } else {
    text = python_stdlib_sample(1 << 20);
  }
  if (text.empty()) throw std::runtime_error("nothing to encode");
  auto load_start = std::chrono::steady_clock::now();
  Tokenizer tokenizer = load_tokenizer(tokenizer_path);
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
  auto time_encode = [&](size_t& tokens) {
    auto start = std::chrono::steady_clock::now();
    tokens = tokenizer.encode(text).size();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  size_t tokens = 0;
  double cold = time_encode(tokens), warm = 1e30;
  for (int i = 0; i < repeats; ++i) warm = std::min(warm, time_encode(tokens));
  double megabytes = text.size() / 1e6;
  std::printf("tokenizer      %s (loaded in %.1f ms, vocab %d)\n", tokenizer_path.c_str(), load_ms, tokenizer.vocab_size());
  std::printf("input          %.2f MB, %zu tokens (%.2f bytes/token)\n", megabytes, tokens, text.size() / double(tokens));
  std::printf("encode cold    %.1f MB/s\n", megabytes / cold);
  std::printf("encode warm    %.1f MB/s (best of %d)\n", megabytes / warm, repeats);
  return 0;
}

const RegisterCommand tokenize_command{"tokenize", "print the token ids of a text as JSON", tokenize};
const RegisterCommand bench_tokenize_command{"bench-tokenize", "tokenizer encode throughput (MB/s)", bench_tokenize};

}  // namespace
}  // namespace maskfill
