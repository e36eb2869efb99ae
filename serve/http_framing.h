// What `maskfill serve` decides from a request head alone, before a byte of the body is read:
// the parser's limits, refusals (drain, unknown transfer coding, missing key, declared length
// over the limit), CORS preflights and the CORS headers every answer carries. Pure functions of
// the parsed head and the policy, so tests/fuzz/serve_http_fuzzer.cpp can drive them with the
// parser configured exactly as the server configures it.
#pragma once

#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace maskfill::serve {

using Headers = std::vector<std::pair<std::string, std::string>>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

struct FramingPolicy {
  size_t max_body = 4 << 20;
  std::optional<std::string> api_key;             // nullopt: no authentication
  std::vector<std::string> public_paths = {"/health"};
  std::vector<std::string> cors_origins;          // empty: CORS off
  bool stopping = false;                          // a drain began: no new requests
};

// An answer given without running the handler; the connection ends after it.
struct EarlyAnswer {
  int status;
  std::string reason;  // for metrics (RejectListener); empty: not a refusal
  std::string body;    // JSON, or empty
  Headers headers = {};
};

// The limits a fresh parser gets before its header is read: 64 KiB of header, and no body limit
// yet (a declared length is judged after authentication, by judge_head).
void prepare_parser(RequestParser& parser);
// Once the head is accepted: the body limit, which also bounds chunked bodies.
void prepare_body(RequestParser& parser, size_t max_body);

// nullopt: go on and read the body. Otherwise the answer (CORS headers for a listed origin
// included, so a browser can read a refusal).
std::optional<EarlyAnswer> judge_head(const RequestParser& parser, const FramingPolicy& policy);

// What a failed read answers (413, 431, 400); nullopt for a closed, reset or timed-out
// connection, which gets no answer.
std::optional<EarlyAnswer> answer_read_error(const boost::beast::error_code& ec, size_t max_body);

// Access-Control-Allow-Origin (and Vary) when the request's Origin is in the allow-list.
Headers cors_headers(const boost::beast::http::request_header<>& header, const std::vector<std::string>& cors_origins);

// The server's whole answer for a client it cannot take (too many connections): 503, closing.
std::string busy_response(const std::string& message);

// {"error": {"message", "type", "param": null, "code"}} as OpenAI writes it.
std::string json_error(const std::string& message, const std::string& type, const std::string& code = "");

// Constant-time equality of a presented token with the key (length leaks, content does not).
bool constant_time_equal(const std::string& presented, const std::string& key);

}  // namespace maskfill::serve
