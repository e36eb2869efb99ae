// The server's whole input path, in process: raw bytes -> FrameParser (fed in fuzzer-chosen
// pieces, as reads split them) -> Server::receive -> handlers, exactly as serve() does.
//
// Input layout: byte 0 holds options (bit 0: send a valid `initialize` first so handlers past
// the lifecycle gate are reached; bit 1: offer utf-8 positions; bits 2-4: read size 2^k); the
// rest is the byte stream from the "client".
//
// Checks beyond "no crash / no sanitizer report":
//  - every message the server writes is a JSON-RPC 2.0 object that serializes;
//  - every request the server accepted (and every invalid message carrying an id) is answered
//    exactly once, by the I/O thread or the worker, before the server is destroyed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "lsp-server/framing.h"
#include "lsp-server/jsonrpc.h"
#include "lsp-server/server.h"
#include "lsp-server/transport.h"

namespace {

using maskfill::lsp::json;
namespace lsp = maskfill::lsp;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "lsp_messages_fuzzer: %s\n", what.c_str());
  std::abort();
}

// What the server wrote, counted by response id.
class Recorder {
 public:
  bool input_has_library_text = false;
  void write(const json& message) {
    if (!message.is_object() || message.value("jsonrpc", json()) != "2.0") fail("not a JSON-RPC 2.0 object: " + safe_dump(message));
    std::string serialized = safe_dump(message);  // what serve() would frame; must not throw
    // No library exception text reaches the client (unless the input itself carried it).
    if (!input_has_library_text && serialized.find("json.exception") != std::string::npos)
      fail("library exception text sent to the client: " + serialized);
    if (message.contains("method")) return;     // notification or server->client request
    if (!message.contains("id")) fail("response without id: " + serialized);
    if (message.contains("result") == message.contains("error")) fail("response needs exactly one of result/error: " + serialized);
    if (message.contains("error")) {
      const json& error = message["error"];
      if (!error.is_object() || !error.contains("code") || !error["code"].is_number_integer() ||
          !error.contains("message") || !error["message"].is_string())
        fail("malformed error object: " + serialized);
    }
    std::lock_guard lock(mutex_);
    ++answers_[lsp::id_key(message["id"])];
  }
  std::map<std::string, int> answers() {
    std::lock_guard lock(mutex_);
    return answers_;
  }

  static std::string safe_dump(const json& message) {
    return message.dump(-1, ' ', false, json::error_handler_t::replace);
  }

 private:
  std::mutex mutex_;
  std::map<std::string, int> answers_;
};

std::string initialize_frame(bool utf8) {
  json capabilities = json::object();
  if (utf8) capabilities["general"]["positionEncodings"] = {"utf-8", "utf-16"};
  json request = lsp::make_request("fuzz-init", "initialize", {{"processId", nullptr}, {"capabilities", capabilities}});
  json initialized = lsp::make_notification("initialized", json::object());
  return lsp::frame_message(request.dump()) + lsp::frame_message(initialized.dump());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // the server logs every rejected message
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t options = data[0];
  std::string stream(reinterpret_cast<const char*>(data + 1), size - 1);
  if (options & 1) stream = initialize_frame(options & 2) + stream;
  const size_t read_size = size_t{1} << ((options >> 2) & 7);

  Recorder recorder;
  recorder.input_has_library_text = stream.find("json.exception") != std::string::npos;
  std::map<std::string, int> expected;  // id -> how many answers the server owes
  {
    lsp::ServerOptions server_options;
    server_options.test_methods = true;  // debugDocument / debugWait are reachable from the wire in tests
    server_options.engine_factory = [](const lsp::Config&) -> std::unique_ptr<maskfill::Engine> {
      throw std::runtime_error("no model while fuzzing");
    };
    lsp::Server server(std::move(server_options), [&](const json& message) { recorder.write(message); });
    lsp::register_features(server);
    lsp::FrameParser parser(lsp::FrameLimits{4096, 1 << 20});
    for (size_t at = 0; at < stream.size() && !server.exited(); at += read_size) {
      parser.feed(std::string_view(stream).substr(at, read_size));
      lsp::FrameEvent event;
      while (!server.exited() && parser.next(event)) {
        if (const auto* body = std::get_if<std::string>(&event)) {
          lsp::Message message = lsp::parse_message(*body);
          bool owes_answer = message.kind == lsp::MessageKind::Request ||
                             (message.kind == lsp::MessageKind::Invalid && !message.id.is_null());
          if (owes_answer) ++expected[lsp::id_key(message.id)];
          server.receive(*body);
        } else {
          server.reply_error(nullptr, lsp::ErrorCode::ParseError, std::get<lsp::FrameError>(event).message);
        }
      }
    }
    if (!server.exited()) server.end_of_input();
    server.stop_worker();
  }  // the server is gone: everything it owed has been written

  std::map<std::string, int> answers = recorder.answers();
  for (const auto& [id, count] : expected) {
    auto found = answers.find(id);
    int got = found == answers.end() ? 0 : found->second;
    if (got != count) fail("request id " + id + " answered " + std::to_string(got) + " times, expected " + std::to_string(count));
  }
  for (const auto& [id, count] : answers)
    if (id != "null" && !expected.count(id)) fail("answer to id " + id + ", which no request carried");
  return 0;
}
