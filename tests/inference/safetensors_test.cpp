#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "common/read_file.h"
#include "inference/safetensors.h"

namespace fs = std::filesystem;
using namespace maskfill;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("maskfill-st-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(reinterpret_cast<uintptr_t>(this)));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// A file with the given header text and `data_bytes` bytes of data.
std::string write_raw(const TempDir& dir, const std::string& header, size_t data_bytes, uint64_t declared_length = 0) {
  std::string path = dir.file("raw.safetensors");
  std::ofstream out(path, std::ios::binary);
  uint64_t length = declared_length ? declared_length : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(length >> (8 * i)));
  out << header << std::string(data_bytes, '\0');
  return path;
}

std::string open_error(const std::string& path) {
  try {
    SafetensorsFile::open(path);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("write then read back tensors, metadata and alignment") {
  TempDir dir;
  std::vector<float> weights = {1.5f, -2.f, 3.f, 4.f, 5.f, 6.f};
  std::vector<uint16_t> half = {1, 2, 3};
  std::vector<uint8_t> flags = {1, 0, 1};
  std::string path = dir.file("model.safetensors");
  write_safetensors(path,
                    {{"u", DType::U8, {3}, flags.data(), 3},
                     {"w", DType::F32, {2, 3}, weights.data(), weights.size() * 4},
                     {"h", DType::BF16, {3}, half.data(), 6},
                     {"empty", DType::F32, {0, 4}, nullptr, 0}},
                    {{"format", "pt"}});
  std::ifstream raw(path, std::ios::binary);
  uint64_t header_length = 0;
  raw.read(reinterpret_cast<char*>(&header_length), 8);
  CHECK(header_length % 8 == 0);

  auto file = SafetensorsFile::open(path);
  REQUIRE(file->tensors().size() == 4);
  const TensorView& w = file->tensors().at("w");
  CHECK(w.dtype == DType::F32);
  CHECK(w.shape == std::vector<int64_t>{2, 3});
  REQUIRE(w.nbytes == 24);
  CHECK(std::memcmp(w.data, weights.data(), 24) == 0);
  CHECK(reinterpret_cast<uintptr_t>(w.data) % 4 == 0);
  CHECK(std::memcmp(file->tensors().at("h").data, half.data(), 6) == 0);
  CHECK(file->tensors().at("empty").nbytes == 0);
  CHECK(file->metadata().at("format") == "pt");
  CHECK(dtype_size(DType::BF16) == 2);
  CHECK(std::string(dtype_name(DType::BF16)) == "BF16");
}

TEST_CASE("write_safetensors refuses a byte count that does not match the shape") {
  TempDir dir;
  float x[2] = {};
  CHECK_THROWS_WITH(write_safetensors(dir.file("bad.safetensors"), {{"x", DType::F32, {3}, x, 8}}),
                    Catch::Contains("does not match its shape"));
  CHECK_THROWS_WITH(write_safetensors(dir.file("bad.safetensors"), {{"x", DType::F32, {2}, x, 8}, {"x", DType::F32, {2}, x, 8}}),
                    Catch::Contains("duplicate"));
  CHECK_FALSE(fs::exists(dir.file("bad.safetensors")));
}

TEST_CASE("hostile headers are rejected with the file and tensor named") {
  TempDir dir;
  auto with_header = [&](const std::string& header, size_t data = 16) { return open_error(write_raw(dir, header, data)); };
  const std::string ok_entry = R"("t": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]})";
  CHECK(with_header("{" + ok_entry + "}") == "no error");

  SECTION("truncated file") {
    std::string path = dir.file("short.safetensors");
    std::ofstream(path) << "abc";
    CHECK_THAT(open_error(path), Catch::Contains("truncated") && Catch::Contains("short.safetensors"));
  }
  SECTION("huge header length") {
    CHECK_THAT(open_error(write_raw(dir, "{}", 0, 1ull << 60)), Catch::Contains("exceeds 100 MB"));
  }
  SECTION("header length past the end of the file") {
    CHECK_THAT(open_error(write_raw(dir, "{}", 0, 4096)), Catch::Contains("past the end of the file"));
  }
  SECTION("not JSON, not an object") {
    CHECK_THAT(with_header("{\"t\": "), Catch::Contains("not valid JSON"));
    CHECK_THAT(with_header("[1, 2]"), Catch::Contains("not a JSON object"));
    CHECK_THAT(with_header("{\"t\": 5}"), Catch::Contains("'t'"));
  }
  SECTION("offsets outside the data section") {
    CHECK_THAT(with_header(R"({"t": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})"),
               Catch::Contains("past the data section") && Catch::Contains("'t'"));
    CHECK_THAT(with_header(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})"),
               Catch::Contains("begin 8 > end 4"));
    CHECK_THAT(with_header(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})"),
               Catch::Contains("non-negative"));
  }
  SECTION("overlapping tensors") {
    CHECK_THAT(with_header(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                               "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})"),
               Catch::Contains("overlap"));
  }
  SECTION("shape product does not match the span, or overflows") {
    CHECK_THAT(with_header(R"({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})"),
               Catch::Contains("needs 12 bytes"));
    CHECK_THAT(with_header(R"({"t": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 16]}})"),
               Catch::Contains("overflows"));
    CHECK_THAT(with_header(R"({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})"),
               Catch::Contains("negative"));
  }
  SECTION("unknown dtype, missing fields, bad metadata") {
    CHECK_THAT(with_header(R"({"t": {"dtype": "F8_E9", "shape": [1], "data_offsets": [0, 1]}})"),
               Catch::Contains("unsupported dtype 'F8_E9'"));
    CHECK_THAT(with_header(R"({"t": {"shape": [1], "data_offsets": [0, 1]}})"), Catch::Contains("'dtype' is missing"));
    CHECK_THAT(with_header(R"({"t": {"dtype": "U8", "shape": [1], "data_offsets": [0]}})"), Catch::Contains("data_offsets"));
    CHECK_THAT(with_header(R"({"__metadata__": {"k": 1}})"), Catch::Contains("__metadata__"));
    CHECK_THAT(with_header(R"({"__metadata__": []})"), Catch::Contains("__metadata__"));
  }
}

TEST_CASE("a checkpoint over shards finds every tensor and rejects duplicates") {
  TempDir dir;
  float a[2] = {1, 2}, b[3] = {3, 4, 5};
  write_safetensors(dir.file("s1.safetensors"), {{"a", DType::F32, {2}, a, 8}});
  write_safetensors(dir.file("s2.safetensors"), {{"b", DType::F32, {3}, b, 12}});
  Checkpoint checkpoint = Checkpoint::open({dir.file("s1.safetensors"), dir.file("s2.safetensors")});
  CHECK(checkpoint.names() == std::vector<std::string>{"a", "b"});
  REQUIRE(checkpoint.find("b"));
  CHECK(checkpoint.find("b")->shape == std::vector<int64_t>{3});
  CHECK(checkpoint.find("c") == nullptr);
  write_safetensors(dir.file("s3.safetensors"), {{"a", DType::F32, {2}, a, 8}});
  CHECK_THROWS_WITH(Checkpoint::open({dir.file("s1.safetensors"), dir.file("s3.safetensors")}),
                    Catch::Contains("'a' is in both"));
  CHECK_THROWS_WITH(Checkpoint::open({dir.file("missing.safetensors")}), Catch::Contains("missing.safetensors"));
}

TEST_CASE("randomly corrupted headers either load or throw, never crash") {
  TempDir dir;
  float w[6] = {1, 2, 3, 4, 5, 6};
  std::string good = dir.file("good.safetensors");
  write_safetensors(good, {{"a", DType::F32, {2, 3}, w, 24}, {"b", DType::F32, {2}, w, 8}}, {{"k", "v"}});
  std::string original = read_file(good);
  uint64_t header_length = 0;
  std::memcpy(&header_length, original.data(), 8);
  uint32_t state = 12345;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  int loaded = 0, rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = original;
    int flips = 1 + next() % 3;
    for (int f = 0; f < flips; ++f) {
      size_t at = next() % (8 + header_length);
      bytes[at] = static_cast<char>(round % 2 ? next() : bytes[at] ^ (1 << (next() % 8)));
    }
    if (round % 7 == 0) bytes.resize(next() % bytes.size());
    std::string path = dir.file("mutant.safetensors");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    try {
      auto file = SafetensorsFile::open(path);
      for (const auto& [name, view] : file->tensors()) {
        // Whatever loaded must lie inside the file.
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < view.nbytes; ++i) sink = sink + view.data[i];
      }
      ++loaded;
    } catch (const std::runtime_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("mutant.safetensors"));
      ++rejected;
    }
  }
  CHECK(rejected > 1000);
  CHECK(loaded + rejected == 3000);
}
