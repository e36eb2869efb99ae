#include <catch2/catch.hpp>

#include "lsp-server/jsonrpc.h"

using namespace maskfill::lsp;

TEST_CASE("messages are classified", "[jsonrpc]") {
  CHECK(parse_message(R"({"jsonrpc":"2.0","id":1,"method":"a","params":{}})").kind == MessageKind::Request);
  CHECK(parse_message(R"({"jsonrpc":"2.0","id":"x","method":"a"})").kind == MessageKind::Request);
  CHECK(parse_message(R"({"jsonrpc":"2.0","method":"a","params":[1]})").kind == MessageKind::Notification);
  CHECK(parse_message(R"({"jsonrpc":"2.0","id":1,"result":null})").kind == MessageKind::Response);
  Message error = parse_message(R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}})");
  CHECK(error.kind == MessageKind::Response);
  CHECK(error.error.has_value());
}

TEST_CASE("bad messages get the right error code", "[jsonrpc]") {
  auto problem = [](const char* body) { return parse_message(body).problem_code; };
  CHECK(problem("{not json") == ErrorCode::ParseError);
  CHECK(problem("[]") == ErrorCode::InvalidRequest);
  CHECK(problem(R"({"id":1,"method":"a"})") == ErrorCode::InvalidRequest);
  CHECK(problem(R"({"jsonrpc":"2.0","id":1.5,"method":"a"})") == ErrorCode::InvalidRequest);
  CHECK(problem(R"({"jsonrpc":"2.0","id":1,"method":3})") == ErrorCode::InvalidRequest);
  CHECK(problem(R"({"jsonrpc":"2.0","id":1,"method":"a","params":3})") == ErrorCode::InvalidRequest);
  CHECK(problem(R"({"jsonrpc":"2.0","id":1})") == ErrorCode::InvalidRequest);
  Message bad = parse_message(R"({"jsonrpc":"1.0","id":7,"method":"a"})");
  CHECK(bad.kind == MessageKind::Invalid);
  CHECK(bad.id == 7);  // the error can still be matched to the request
}

TEST_CASE("ids of different types do not collide", "[jsonrpc]") {
  CHECK(id_key(1) != id_key("1"));
  CHECK(make_error(3, ErrorCode::RequestCancelled, "c")["error"]["code"] == -32800);
}
