// maskfill serve's request handling on arbitrary bodies: the bytes go, as the body of a request,
// through Service::handle (the code the HTTP server calls: the depth-limited JSON parse, the
// OpenAI / llama.cpp request parsers, planning, the batcher) over a fake engine that plays canned
// text on the bundled model's tokenizer and config. Every answer must be a status below 500 with
// a JSON body whose error, if any, names no library exception.
// Input: one byte choosing the route, then the body (for GET /v1/models/{id}: the id).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "serve/service.h"
#include "tests/support/fake_engine.h"

namespace {

using maskfill::serve::HttpRequest;
using maskfill::serve::HttpResponder;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "serve_json_fuzzer: %s\n", what.c_str());
  std::abort();
}

bool input_has_library_text = false;

// Checks each answer as it is sent; a stream's events must be JSON too (but "[DONE]").
class CheckingResponder final : public HttpResponder {
 public:
  void send(int status, const std::string& type, const std::string& body) override {
    answered = true;
    if (status >= 500) fail("status " + std::to_string(status) + ": " + body.substr(0, 300));
    if (type == "application/json") check_json(body);
  }
  bool start_events() override {
    answered = true;
    return true;
  }
  bool send_event(const std::string& data) override {
    if (data != "[DONE]") check_json(data);
    return true;
  }
  void end_events() override {}
  bool client_gone() override { return false; }
  bool answered = false;

 private:
  static void check_json(const std::string& body) {
    nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
    if (parsed.is_discarded()) fail("not JSON: " + body.substr(0, 300));
    if (!input_has_library_text && body.find("[json.exception") != std::string::npos) fail("library text in: " + body.substr(0, 300));
    if (parsed.is_object() && parsed.contains("error")) {
      const auto& error = parsed["error"];
      if (!error.is_object() || !error.contains("message") || !error["message"].is_string() ||
          error["message"].get_ref<const std::string&>().empty())
        fail("error without a message: " + body.substr(0, 300));
    }
  }
};

struct Fixture {
  maskfill::testing::FakeScript script;
  std::unique_ptr<maskfill::testing::FakeEngine> engine;
  std::unique_ptr<maskfill::serve::Service> service;
  Fixture() {
    script.cap_to_length = true;
    script.outputs = {"return a + b", "x\n}\n"};
    engine = std::make_unique<maskfill::testing::FakeEngine>(script);
    maskfill::serve::ServiceOptions options;
    options.model_dir = maskfill::testing::bundled_model_dir();
    options.api.model_id = "maskfill-tiny";
    options.batch.max_batch = 4;
    service = std::make_unique<maskfill::serve::Service>(*engine, options);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();  // one engine and batcher for the whole run
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  input_has_library_text = body.find("[json.exception") != std::string_view::npos;
  HttpRequest request;
  request.peer = "127.0.0.1:1";
  request.method = "POST";
  switch (data[0] % 5) {
    case 0: request.target = "/v1/completions"; break;
    case 1: request.target = "/v1/chat/completions"; break;
    case 2: request.target = "/infill"; break;
    case 3: request.target = "/v1/completions?stream"; break;  // a query string on the route
    default:
      request.method = "GET";
      request.target = "/v1/models/" + std::string(body);
      break;
  }
  if (request.method == "POST") request.body = std::string(body);
  CheckingResponder responder;
  fixture->service->handle(request, responder);
  if (!responder.answered) fail("no answer for " + request.target);
  return 0;
}
