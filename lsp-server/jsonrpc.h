// JSON-RPC 2.0 as LSP uses it: classification of incoming messages, error codes, and the
// response/error objects the server sends. Transport-free; see framing.h for the wire format.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace maskfill::lsp {

using json = nlohmann::json;

enum class ErrorCode : int {
  ParseError = -32700,
  InvalidRequest = -32600,
  MethodNotFound = -32601,
  InvalidParams = -32602,
  InternalError = -32603,
  ServerNotInitialized = -32002,
  RequestFailed = -32803,
  ServerCancelled = -32802,
  ContentModified = -32801,
  RequestCancelled = -32800,
};

// Thrown by handlers; the dispatcher turns it into an error response.
class LspError : public std::runtime_error {
 public:
  LspError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

enum class MessageKind { Request, Notification, Response, Invalid };

struct Message {
  MessageKind kind = MessageKind::Invalid;
  json id;              // request/response id (number or string); null when absent or invalid
  std::string method;   // requests and notifications
  json params;          // object or array; null when absent
  json result;          // responses
  std::optional<json> error;  // error responses
  std::string problem;  // why the message is Invalid
  ErrorCode problem_code = ErrorCode::InvalidRequest;
};

// Parses and classifies one body. Never throws: bad JSON or shapes give MessageKind::Invalid
// with `problem` and `problem_code` (-32700 or -32600) set.
Message parse_message(std::string_view body);

json make_request(const json& id, std::string_view method, const json& params);
json make_notification(std::string_view method, const json& params);
json make_result(const json& id, const json& result);
json make_error(const json& id, ErrorCode code, std::string_view message);

// A stable map key for an id (1 and "1" differ).
std::string id_key(const json& id);

}  // namespace maskfill::lsp
