#include <spdlog/spdlog.h>

#include <mutex>

#include "lsp-server/transport.h"

namespace maskfill::lsp {
namespace {

void handle_frame_event(Server& server, FrameEvent& event) {
  if (auto* body = std::get_if<std::string>(&event)) return server.receive(*body);
  const FrameError& error = std::get<FrameError>(event);
  spdlog::error("framing: {}", error.message);
  server.reply_error(nullptr, ErrorCode::ParseError, error.message);
}

}  // namespace

int serve(Transport& transport, ServerOptions options, FrameLimits limits) {
  std::mutex write_mutex;
  auto sink = [&](const json& message) {
    // Replace (not throw on) invalid UTF-8 so one odd string cannot kill the session.
    std::string framed = frame_message(message.dump(-1, ' ', false, json::error_handler_t::replace));
    std::lock_guard lock(write_mutex);
    try {
      transport.write(framed);
    } catch (const std::exception& e) {
      spdlog::warn("{}", e.what());
    }
  };
  Server server(std::move(options), sink);
  register_features(server);
  FrameParser parser(limits);
  std::string buffer(64 * 1024, '\0');
  while (!server.exited()) {
    size_t n = transport.read_some(buffer.data(), buffer.size());
    if (n == 0) {
      server.end_of_input();
      break;
    }
    parser.feed(std::string_view(buffer.data(), n));
    FrameEvent event;
    while (!server.exited() && parser.next(event)) handle_frame_event(server, event);
  }
  server.stop_worker();
  return server.exit_code();
}

}  // namespace maskfill::lsp
