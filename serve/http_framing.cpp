#include "serve/http_framing.h"

#include <boost/algorithm/string/trim.hpp>
#include <boost/beast/core/string.hpp>
#include <cstdint>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>

namespace maskfill::serve {

namespace beast = boost::beast;
namespace http = beast::http;

std::string json_error(const std::string& message, const std::string& type, const std::string& code) {
  nlohmann::json body = {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code.empty() ? nlohmann::json() : nlohmann::json(code)}}}};
  // replace: a message quoting client bytes (a transfer coding) may hold invalid UTF-8.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool constant_time_equal(const std::string& presented, const std::string& key) {
  // The loop runs over the key's length whatever is presented.
  unsigned char diff = presented.size() == key.size() ? 0 : 1;
  for (size_t i = 0; i < key.size(); ++i) {
    unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= p ^ static_cast<unsigned char>(key[i]);
  }
  return diff == 0;
}

void prepare_parser(RequestParser& parser) {
  // Not boost::none: Beast 1.74 compares a length with an empty limit as "too large".
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(64 * 1024);
}

void prepare_body(RequestParser& parser, size_t max_body) { parser.body_limit(max_body); }

namespace {

bool authorized(const http::request_header<>& header, const FramingPolicy& policy) {
  if (!policy.api_key) return true;
  std::string path(header.target());
  path = path.substr(0, path.find('?'));
  for (const std::string& p : policy.public_paths)
    if (path == p) return true;
  auto field = header.find(http::field::authorization);
  if (field == header.end()) return false;
  std::string value(field->value());
  const std::string scheme = "Bearer ";
  if (value.size() < scheme.size() || !beast::iequals(value.substr(0, scheme.size()), scheme)) return false;
  return constant_time_equal(value.substr(scheme.size()), *policy.api_key);
}

// The Origin a browser sent, when the CORS allow-list (opt-in) lists it ("*": any).
std::optional<std::string> allowed_origin(const http::request_header<>& header, const std::vector<std::string>& cors_origins) {
  auto origin = header.find(http::field::origin);
  if (cors_origins.empty() || origin == header.end()) return std::nullopt;
  std::string value(origin->value());
  for (const std::string& allowed : cors_origins)
    if (allowed == "*" || allowed == value) return value;
  return std::nullopt;
}

// A browser's preflight carries no credentials, so it is answered before authentication.
std::optional<EarlyAnswer> answer_preflight(const http::request_header<>& header, const FramingPolicy& policy) {
  if (policy.cors_origins.empty() || header.method() != http::verb::options ||
      header.find(http::field::access_control_request_method) == header.end())
    return std::nullopt;
  if (!allowed_origin(header, policy.cors_origins))
    return EarlyAnswer{403, "cors", json_error("This origin is not in the server's CORS allow-list (--cors-origin)", "invalid_request_error")};
  return EarlyAnswer{204, "", "", {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                                   {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                                   {"Access-Control-Max-Age", "600"}}};
}

EarlyAnswer too_large(size_t max_body) {
  return {413, "too_large",
          json_error("The request body is larger than " + std::to_string(max_body) + " bytes", "invalid_request_error", "request_too_large")};
}

// Why the transfer coding is refused: one Transfer-Encoding field saying "chunked" is all this
// server reads (a second field, even "chunked", could be read differently by a proxy).
std::optional<std::string> unsupported_coding(const http::request_header<>& header) {
  auto [begin, end] = header.equal_range(http::field::transfer_encoding);
  if (begin == end) return std::nullopt;
  std::string value(begin->value());
  if (std::next(begin) != end) return "Transfer-Encoding is given more than once (only one, chunked, is supported)";
  if (beast::iequals(boost::algorithm::trim_copy(value), "chunked")) return std::nullopt;
  return "Transfer-Encoding '" + value.substr(0, 64) + "' is not supported (only chunked)";
}

// The refusal itself, before CORS headers are added.
std::optional<EarlyAnswer> refusal(const RequestParser& parser, const FramingPolicy& policy) {
  const auto& header = parser.get();
  if (policy.stopping)  // a drain began while this connection waited: only requests in flight finish
    return EarlyAnswer{503, "busy", json_error("server is shutting down", "server_error", "shutting_down")};
  // Only chunked framing is understood. Any other transfer coding (gzip, "gzip, chunked") would
  // leave the body's end unknown, and bytes after it could be read as a second request
  // (smuggling): refuse it and close, as RFC 9112 asks of a server.
  if (auto coding = unsupported_coding(header))
    return EarlyAnswer{400, "bad_request", json_error(*coding, "invalid_request_error")};
  if (auto preflight = answer_preflight(header, policy)) return preflight;
  if (!authorized(header, policy))
    return EarlyAnswer{401, "unauthorized",
                       json_error("Missing or wrong API key (send Authorization: Bearer <key>)", "invalid_request_error", "invalid_api_key")};
  if (auto length = parser.content_length(); length && *length > policy.max_body) return too_large(policy.max_body);
  return std::nullopt;
}

}  // namespace

Headers cors_headers(const http::request_header<>& header, const std::vector<std::string>& cors_origins) {
  if (auto origin = allowed_origin(header, cors_origins)) return {{"Access-Control-Allow-Origin", *origin}, {"Vary", "Origin"}};
  return {};
}

std::optional<EarlyAnswer> judge_head(const RequestParser& parser, const FramingPolicy& policy) {
  std::optional<EarlyAnswer> early = refusal(parser, policy);
  if (early)
    for (auto& h : cors_headers(parser.get(), policy.cors_origins)) early->headers.push_back(std::move(h));
  return early;
}

std::optional<EarlyAnswer> answer_read_error(const beast::error_code& ec, size_t max_body) {
  if (ec == http::error::body_limit) return too_large(max_body);
  if (ec == http::error::header_limit)
    return EarlyAnswer{431, "too_large", json_error("The request headers are too large", "invalid_request_error")};
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category() && ec != http::error::end_of_stream &&
      ec != http::error::partial_message)
    return EarlyAnswer{400, "bad_request", json_error("Malformed HTTP request: " + ec.message(), "invalid_request_error")};
  return std::nullopt;
}

std::string busy_response(const std::string& message) {
  std::string body = json_error(message, "server_error", "too_many_connections");
  return "HTTP/1.1 503 Service Unavailable\r\nServer: maskfill\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
         "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace maskfill::serve
