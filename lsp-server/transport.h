// Byte streams the server talks over: stdio (the default) or one loopback TCP connection.
// Both are blocking; the I/O thread reads, and writes are serialized by serve().
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "lsp-server/framing.h"
#include "lsp-server/server.h"

namespace maskfill::lsp {

class Transport {
 public:
  virtual ~Transport() = default;
  // Blocks until some bytes arrive; returns 0 at end of input (EOF, closed socket).
  virtual size_t read_some(char* buffer, size_t capacity) = 0;
  // Writes everything or throws std::runtime_error.
  virtual void write(std::string_view bytes) = 0;
};

std::unique_ptr<Transport> make_stdio_transport();

struct ListenOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 0;  // 0: any free port (printed on stderr)
  bool allow_remote = false;
};
// Parses "HOST:PORT" ("127.0.0.1:7000", "[::1]:7000", "localhost:7000"). Throws
// std::invalid_argument with a readable message.
ListenOptions parse_listen_address(const std::string& text);
// Binds, reports "listening on HOST:PORT" through `on_listening`, accepts one client. Refuses a
// non-loopback address unless allow_remote (std::runtime_error).
std::unique_ptr<Transport> accept_tcp_client(const ListenOptions& options,
                                             const std::function<void(const std::string&)>& on_listening);

// Runs a session until `exit` or end of input; returns the process exit code. The worker is
// stopped and joined before it returns.
int serve(Transport& transport, ServerOptions options, FrameLimits limits = {});

}  // namespace maskfill::lsp
