// The LSP base protocol: "Content-Length: N\r\n[other headers]\r\n\r\n" followed by N bytes of
// JSON. FrameParser is incremental: feed it whatever a read returned (a fragment of a message,
// or several messages at once) and pop complete bodies. Malformed headers are reported and
// skipped so one bad frame does not end the session.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <variant>

namespace maskfill::lsp {

struct FrameLimits {
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 64 * 1024 * 1024;
};

struct FrameError {
  std::string message;
};

// One parser output: a complete message body or a framing error.
using FrameEvent = std::variant<std::string, FrameError>;

class FrameParser {
 public:
  explicit FrameParser(FrameLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes);
  // Next complete body or error, in stream order; false when more input is needed.
  bool next(FrameEvent& event);
  size_t buffered_bytes() const { return buffer_.size(); }

 private:
  void parse_available();
  bool parse_header();  // false when the header is incomplete
  void resync_after_bad_header(size_t from);

  FrameLimits limits_;
  std::string buffer_;
  size_t body_length_ = 0;
  bool in_body_ = false;
  size_t skip_bytes_ = 0;  // body of an oversized message being discarded
  std::deque<FrameEvent> events_;
};

// Wraps a body in its header.
std::string frame_message(std::string_view body);

}  // namespace maskfill::lsp
