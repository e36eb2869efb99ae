#include "lsp-server/jsonrpc.h"

namespace maskfill::lsp {
namespace {

bool valid_id(const json& id) { return id.is_string() || id.is_number_integer(); }

Message invalid(std::string problem, ErrorCode code = ErrorCode::InvalidRequest, json id = nullptr) {
  Message message;
  message.problem = std::move(problem);
  message.problem_code = code;
  message.id = std::move(id);
  return message;
}

Message classify(json& object) {
  if (!object.is_object()) return invalid("a message must be a JSON object (batches are not supported)");
  json id = object.contains("id") ? object["id"] : json();
  bool has_id = object.contains("id");
  if (has_id && !valid_id(id)) return invalid("'id' must be an integer or a string");
  if (object.value("jsonrpc", json()) != "2.0") return invalid("'jsonrpc' must be \"2.0\"", ErrorCode::InvalidRequest, id);

  Message message;
  message.id = id;
  if (object.contains("method")) {
    if (!object["method"].is_string()) return invalid("'method' must be a string", ErrorCode::InvalidRequest, id);
    message.method = object["method"].get<std::string>();
    if (object.contains("params") && !object["params"].is_null()) {  // null: lenient "absent"
      json& params = object["params"];
      if (!params.is_object() && !params.is_array())
        return invalid("'params' must be an object or an array", ErrorCode::InvalidRequest, id);
      message.params = std::move(params);
    }
    message.kind = has_id ? MessageKind::Request : MessageKind::Notification;
    return message;
  }
  bool has_result = object.contains("result");
  bool has_error = object.contains("error");
  if (!has_id || has_result == has_error)
    return invalid("not a request, notification or response", ErrorCode::InvalidRequest, id);
  message.kind = MessageKind::Response;
  if (has_result) message.result = std::move(object["result"]);
  if (has_error) message.error = std::move(object["error"]);
  return message;
}

}  // namespace

// LSP messages nest a few levels; copying, hashing or dumping a value is recursive, so a hostile
// 100k-deep array would overflow the stack long after parsing. Reject it while parsing.
constexpr int kMaxJsonDepth = 256;
struct TooDeep {};

Message parse_message(std::string_view body) {
  auto limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth) throw TooDeep{};
    return true;
  };
  json object;
  try {
    object = json::parse(body, limit_depth, /*allow_exceptions=*/false);
  } catch (const TooDeep&) {
    // json::accept validates without building values (no recursion), so broken JSON still
    // gets -32700 and only valid-but-too-deep JSON gets -32600.
    if (!json::accept(body)) return invalid("invalid JSON", ErrorCode::ParseError);
    return invalid("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels", ErrorCode::InvalidRequest);
  }
  if (object.is_discarded()) return invalid("invalid JSON", ErrorCode::ParseError);
  return classify(object);
}

json make_request(const json& id, std::string_view method, const json& params) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

json make_notification(std::string_view method, const json& params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", params}};
}

json make_result(const json& id, const json& result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", result}};
}

json make_error(const json& id, ErrorCode code, std::string_view message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", static_cast<int>(code)}, {"message", message}}}};
}

std::string id_key(const json& id) { return id.dump(); }

}  // namespace maskfill::lsp
