// SafetensorsFile::open on arbitrary file contents (it memory-maps a path, so each input is
// written to one temp file first). An accepted file must describe only bytes inside the
// mapping: every tensor's bytes are read, so ASan reports any view that points outside it.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "inference/safetensors.h"

namespace {

std::string temp_path;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "safetensors_fuzzer: %s\n", what.c_str());
  std::abort();
}

// Library text in an error only counts when the input did not carry it itself.
bool input_has_library_text = false;

void write_input(const uint8_t* data, size_t size) {
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_TRUNC);
  if (fd < 0) fail("cannot rewrite " + temp_path);
  for (size_t done = 0; done < size;) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) fail("cannot write " + temp_path);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char pattern[] = "/tmp/maskfill-fuzz-XXXXXX.safetensors";
  int fd = mkstemps(pattern, static_cast<int>(sizeof(".safetensors") - 1));
  if (fd < 0) fail("mkstemps failed");
  ::close(fd);
  temp_path = pattern;
  std::atexit([] { ::unlink(temp_path.c_str()); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  write_input(data, size);
  input_has_library_text = std::string_view(reinterpret_cast<const char*>(data), size).find("[json.exception") != std::string_view::npos;
  std::unique_ptr<maskfill::SafetensorsFile> file;
  try {
    file = maskfill::SafetensorsFile::open(temp_path);
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find("[json.exception") != std::string::npos && !input_has_library_text) fail(std::string("library text in: ") + e.what());
    if (std::string(e.what()).find(temp_path) == std::string::npos)
      fail(std::string("error does not name the file: ") + e.what());
    return 0;
  }
  uint64_t checksum = 0;
  size_t total = 0;
  for (const auto& [name, tensor] : file->tensors()) {
    if (name != tensor.name) fail("tensor map key differs from its name");
    int64_t elements = 1;
    for (int64_t dim : tensor.shape) {
      if (dim < 0) fail("negative dimension accepted in " + name);
      elements *= dim;
    }
    if (static_cast<size_t>(elements) * maskfill::dtype_size(tensor.dtype) != tensor.nbytes)
      fail("shape x dtype size != byte span accepted for " + name);
    if (tensor.nbytes > size) fail("tensor " + name + " claims more bytes than the file has");
    for (size_t i = 0; i < tensor.nbytes; ++i) checksum += tensor.data[i];  // ASan: inside the mapping
    total += tensor.nbytes;
  }
  if (total > size) fail("tensors claim more bytes than the file has (overlap accepted)");
  for (const auto& [key, value] : file->metadata()) checksum += key.size() + value.size();
  volatile uint64_t sink = checksum;
  (void)sink;
  return 0;
}
