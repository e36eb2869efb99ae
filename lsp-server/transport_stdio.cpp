#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "lsp-server/transport.h"

namespace maskfill::lsp {
namespace {

class StdioTransport : public Transport {
 public:
  size_t read_some(char* buffer, size_t capacity) override {
    for (;;) {
      ssize_t n = ::read(STDIN_FILENO, buffer, capacity);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return 0;  // a broken stdin ends the session like EOF
    }
  }

  void write(std::string_view bytes) override {
    while (!bytes.empty()) {
      ssize_t n = ::write(STDOUT_FILENO, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(std::string("writing to stdout: ") + std::strerror(errno));
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
};

}  // namespace

std::unique_ptr<Transport> make_stdio_transport() { return std::make_unique<StdioTransport>(); }

}  // namespace maskfill::lsp
