// Safetensors layout: 8-byte little-endian header length N, N bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data
// section, to which the offsets are relative. Every number in the header is untrusted.
#include "inference/safetensors.h"

#include "common/json_fields.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

namespace maskfill {
namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2}, {DType::F64, "F64", 8},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2},   {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& entry : kDTypes)
    if (entry.dtype == dtype) return entry;
  throw std::logic_error("unknown DType");
}

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error("safetensors file " + path + ": " + problem);
}

// Element count times element size, or nullopt on overflow or a negative dimension.
std::optional<uint64_t> byte_size(const std::vector<int64_t>& shape, size_t element_size) {
  uint64_t total = element_size;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && total > UINT64_MAX / static_cast<uint64_t>(dim)) return std::nullopt;
    total *= static_cast<uint64_t>(dim);
  }
  return total;
}

TensorView parse_tensor(const std::string& path, const std::string& name, const json& json_entry,
                        const uint8_t* data, uint64_t data_size) {
  auto bad = [&](const std::string& problem) { fail(path, "tensor '" + name + "': " + problem); };
  JsonField entry(json_entry, "safetensors file " + path + ": tensor '" + name + "'");
  entry.require_object();
  std::string dtype = entry.at("dtype").string();
  JsonField shape = entry.at("shape").require_array();
  JsonField offsets = entry.at("data_offsets").require_array();
  if (offsets.size() != 2) offsets.expected("[begin, end]");
  TensorView view;
  view.name = name;
  const DTypeInfo* found = nullptr;
  for (const auto& candidate : kDTypes)
    if (dtype == candidate.name) found = &candidate;
  if (!found) bad("unsupported dtype '" + dtype + "'");
  view.dtype = found->dtype;
  for (const JsonField& dim : shape.items()) {
    if (!dim.json().is_number_unsigned()) bad("shape " + shape.json().dump() + " has a non-integer or negative dimension");
    if (dim.json().get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) bad("shape dimension too large");
    view.shape.push_back(dim.json().get<int64_t>());
  }
  const json& offset_values = offsets.json();
  if (!offset_values[0].is_number_unsigned() || !offset_values[1].is_number_unsigned())
    bad("data_offsets must be non-negative integers");
  uint64_t begin = offset_values[0].get<uint64_t>(), end = offset_values[1].get<uint64_t>();
  if (begin > end) bad("data_offsets begin " + std::to_string(begin) + " > end " + std::to_string(end));
  if (end > data_size)
    bad("data_offsets end " + std::to_string(end) + " is past the data section (" + std::to_string(data_size) + " bytes)");
  auto expected = byte_size(view.shape, found->size);
  if (!expected) bad("shape " + shape.json().dump() + " overflows");
  if (*expected != end - begin)
    bad("shape " + shape.json().dump() + " of " + dtype + " needs " + std::to_string(*expected) +
        " bytes but data_offsets span " + std::to_string(end - begin));
  view.data = data + begin;
  view.nbytes = static_cast<size_t>(end - begin);
  return view;
}

}  // namespace

size_t dtype_size(DType dtype) { return info(dtype).size; }
const char* dtype_name(DType dtype) { return info(dtype).name; }

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    fail(path, "truncated: " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  }
  void* mapping = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping == MAP_FAILED) fail(path, std::string("cannot map: ") + std::strerror(errno));
  file->mapping_ = mapping;
  file->mapping_size_ = file_size;
  const auto* bytes = static_cast<const uint8_t*>(mapping);

  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > kMaxHeaderBytes) fail(path, "header length " + std::to_string(header_size) + " exceeds 100 MB");
  if (header_size > file_size - 8)
    fail(path, "header length " + std::to_string(header_size) + " is past the end of the file (" +
                   std::to_string(file_size) + " bytes)");
  json header = parse_json_text(std::string_view(reinterpret_cast<const char*>(bytes + 8), header_size),
                                "safetensors file " + path + ": header");
  if (!header.is_object()) fail(path, std::string("header is not a JSON object, got ") + json_kind(header));

  const uint8_t* data = bytes + 8 + header_size;
  uint64_t data_size = file_size - 8 - header_size;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path, "__metadata__ is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) fail(path, "__metadata__ value of '" + key + "' is not a string");
        file->metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    file->tensors_[name] = parse_tensor(path, name, entry, data, data_size);
  }
  // Non-empty spans must not overlap.
  std::vector<const TensorView*> by_offset;
  for (const auto& [name, view] : file->tensors_)
    if (view.nbytes > 0) by_offset.push_back(&view);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->data < b->data; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i - 1]->data + by_offset[i - 1]->nbytes > by_offset[i]->data)
      fail(path, "tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap");
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_) munmap(mapping_, mapping_size_);
}

Checkpoint Checkpoint::open(const std::vector<std::string>& paths) {
  if (paths.empty()) throw std::runtime_error("checkpoint: no safetensors files given");
  Checkpoint checkpoint;
  std::map<std::string, std::string> owner;
  for (const std::string& path : paths) {
    checkpoint.files_.push_back(SafetensorsFile::open(path));
    for (const auto& [name, view] : checkpoint.files_.back()->tensors()) {
      auto [it, inserted] = owner.emplace(name, path);
      if (!inserted) throw std::runtime_error("checkpoint: tensor '" + name + "' is in both " + it->second + " and " + path);
      checkpoint.index_[name] = &view;
    }
  }
  return checkpoint;
}

const TensorView* Checkpoint::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, view] : index_) out.push_back(name);
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Largest elements first, then by name (as the Python writer does): with contiguous data every
  // tensor then starts at a multiple of its element size.
  std::vector<const TensorToWrite*> order;
  std::set<std::string> names;
  for (const auto& tensor : tensors) {
    if (tensor.name == "__metadata__" || !names.insert(tensor.name).second)
      throw std::runtime_error("write_safetensors " + path + ": duplicate or reserved tensor name '" + tensor.name + "'");
    auto expected = byte_size(tensor.shape, dtype_size(tensor.dtype));
    if (!expected || *expected != tensor.nbytes)
      throw std::runtime_error("write_safetensors " + path + ": tensor '" + tensor.name + "' has " +
                               std::to_string(tensor.nbytes) + " bytes, which does not match its shape");
    order.push_back(&tensor);
  }
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) {
    size_t sa = dtype_size(a->dtype), sb = dtype_size(b->dtype);
    return sa != sb ? sa > sb : a->name < b->name;
  });
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto* tensor : order) {
    header[tensor->name] = {{"dtype", dtype_name(tensor->dtype)},
                            {"shape", tensor->shape},
                            {"data_offsets", {offset, offset + tensor->nbytes}}};
    offset += tensor->nbytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // data starts 8-byte aligned

  // Write beside the target and rename, so a failed write never leaves a half file in place.
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("write_safetensors: cannot create " + temporary);
    uint8_t length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(static_cast<uint64_t>(header_text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(length), 8);
    out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
    for (const auto* tensor : order) out.write(static_cast<const char*>(tensor->data), static_cast<std::streamsize>(tensor->nbytes));
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw std::runtime_error("write_safetensors: writing " + temporary + " failed");
    }
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace maskfill
