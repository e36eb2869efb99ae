// `maskfill serve`'s request framing, in process: raw bytes -> Beast's request parser configured
// exactly as the server configures it (prepare_parser, then prepare_body once the head is
// accepted), fed in fuzzer-chosen pieces as reads split them -> judge_head -> the body -> the
// next request on a kept-alive connection, as serve/http_server.cpp's Session does.
//
// Input layout: byte 0 holds the policy (bit 0: an API key; bit 1: a CORS allow-list, bit 2
// making it "*"; bit 3: a drain began; bits 4-5: the body limit), byte 1 the read size (2^(b%8));
// the rest is the byte stream from the "client".
//
// Checks beyond "no crash / no sanitizer report":
//  - a head that goes on to its body was authorized (the key, or a public path), declared no
//    length over the limit, used no transfer coding but chunked, and arrived outside a drain;
//  - every refusal and read error is one of the server's statuses with an OpenAI-style JSON body;
//  - a body handed on is never larger than the limit.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "serve/http_framing.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using maskfill::serve::EarlyAnswer;
using maskfill::serve::FramingPolicy;
using maskfill::serve::RequestParser;

const std::string kKey = "secret-key-0123456789";

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "serve_http_fuzzer: %s\n", what.c_str());
  std::abort();
}

FramingPolicy policy_from(uint8_t options) {
  FramingPolicy policy;
  if (options & 1) policy.api_key = kKey;
  if (options & 2) policy.cors_origins = {(options & 4) ? "*" : "https://app.example"};
  policy.stopping = (options & 8) != 0;
  const size_t limits[] = {4 << 20, 16, 0, 1024};
  policy.max_body = limits[(options >> 4) & 3];
  return policy;
}

// The client's bytes as a socket would deliver them: `piece` at a time into the read buffer.
struct Stream {
  std::string_view input;
  size_t piece;
  std::string buffer;  // read, not yet consumed by the parser
  bool read_more() {
    if (input.empty()) return false;
    size_t n = std::min(piece, input.size());
    buffer.append(input.substr(0, n));
    input.remove_prefix(n);
    return true;
  }
};

// At the end of the client's bytes, as Beast's read operations end a message.
beast::error_code end_of_input(RequestParser& parser) {
  if (!parser.got_some()) return http::error::end_of_stream;
  beast::error_code ec;
  parser.put_eof(ec);
  return ec;
}

// Feeds the parser until `done` holds or an error; as http::read_header / http::read do.
template <class Done>
beast::error_code feed(RequestParser& parser, Stream& stream, Done done) {
  beast::error_code ec;
  while (!done()) {
    if (stream.buffer.empty() && !stream.read_more()) return end_of_input(parser);
    size_t used = parser.put(boost::asio::buffer(stream.buffer), ec);
    stream.buffer.erase(0, used);
    if (ec == http::error::need_more) {
      if (!stream.read_more()) return end_of_input(parser);
      ec = {};
      continue;
    }
    if (ec) return ec;
  }
  return ec;
}

void check_answer(const EarlyAnswer& answer, std::initializer_list<int> allowed) {
  if (std::find(allowed.begin(), allowed.end(), answer.status) == allowed.end()) fail("unexpected status " + std::to_string(answer.status));
  if (answer.body.empty()) {
    if (answer.status != 204) fail("a refusal without a body");
    return;
  }
  auto body = nlohmann::json::parse(answer.body, nullptr, false);
  if (body.is_discarded() || !body.contains("error") || !body["error"]["message"].is_string()) fail("not an OpenAI error body: " + answer.body);
}

bool public_path(const std::string& target, const FramingPolicy& policy) {
  std::string path = target.substr(0, target.find('?'));
  return std::find(policy.public_paths.begin(), policy.public_paths.end(), path) != policy.public_paths.end();
}

// What a head that goes on to its body must satisfy.
void check_accepted(const RequestParser& parser, const FramingPolicy& policy) {
  const auto& head = parser.get();
  if (policy.stopping) fail("a request accepted during a drain");
  if (policy.api_key && !public_path(std::string(head.target()), policy)) {
    std::string auth(head[http::field::authorization]);
    if (auth.size() != 7 + kKey.size() || auth.substr(7) != kKey) fail("accepted without the key: " + auth);
  }
  if (auto length = parser.content_length(); length && *length > policy.max_body) fail("a declared length over the limit accepted");
  auto coding = head.find(http::field::transfer_encoding);
  if (coding != head.end() && !parser.chunked()) fail("a transfer coding other than chunked accepted");
}

// One request; false when the connection ends.
bool one_request(Stream& stream, const FramingPolicy& policy) {
  RequestParser parser;
  maskfill::serve::prepare_parser(parser);
  if (auto ec = feed(parser, stream, [&] { return parser.is_header_done(); })) {
    if (auto answer = maskfill::serve::answer_read_error(ec, policy.max_body)) check_answer(*answer, {400, 413, 431});
    return false;
  }
  if (auto early = maskfill::serve::judge_head(parser, policy)) {
    check_answer(*early, {204, 400, 401, 403, 413, 503});
    return false;
  }
  check_accepted(parser, policy);
  maskfill::serve::prepare_body(parser, policy.max_body);
  parser.eager(true);
  if (auto ec = feed(parser, stream, [&] { return parser.is_done(); })) {
    if (auto answer = maskfill::serve::answer_read_error(ec, policy.max_body)) check_answer(*answer, {400, 413, 431});
    return false;
  }
  if (parser.get().body().size() > policy.max_body) fail("a body over the limit handed on");
  (void)maskfill::serve::cors_headers(parser.get(), policy.cors_origins);
  return parser.get().keep_alive();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  FramingPolicy policy = policy_from(data[0]);
  Stream stream{std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2), size_t(1) << (data[1] % 8), {}};
  // Bounded: each request consumes at least one byte, and the count is capped anyway.
  for (int i = 0; i < 256 && one_request(stream, policy); ++i) {
  }
  return 0;
}
