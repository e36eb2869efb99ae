#include <catch2/catch.hpp>

#include <random>

#include "lsp-server/framing.h"

using namespace maskfill::lsp;

namespace {

std::vector<FrameEvent> drain(FrameParser& parser) {
  std::vector<FrameEvent> events;
  FrameEvent event;
  while (parser.next(event)) events.push_back(event);
  return events;
}

std::vector<std::string> bodies(const std::vector<FrameEvent>& events) {
  std::vector<std::string> out;
  for (const FrameEvent& event : events) {
    REQUIRE(std::holds_alternative<std::string>(event));
    out.push_back(std::get<std::string>(event));
  }
  return out;
}

}  // namespace

TEST_CASE("frames survive random split and coalesced reads", "[framing]") {
  std::mt19937 random(1234);
  std::vector<std::string> expected;
  std::string stream;
  for (int i = 0; i < 200; ++i) {
    std::string body = "{\"n\":" + std::to_string(i) + ",\"s\":\"" + std::string(random() % 300, 'x') + "\u00e9\"}";
    expected.push_back(body);
    stream += i % 3 == 0 ? "Content-Length: " + std::to_string(body.size()) +
                               "\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + body
                         : frame_message(body);
  }
  for (int trial = 0; trial < 20; ++trial) {
    FrameParser parser;
    std::vector<std::string> received;
    size_t offset = 0;
    while (offset < stream.size()) {
      size_t chunk = std::min<size_t>(stream.size() - offset, 1 + random() % (trial % 2 ? 7 : 2000));
      parser.feed(std::string_view(stream).substr(offset, chunk));
      offset += chunk;
      for (auto& body : bodies(drain(parser))) received.push_back(body);
    }
    CHECK(received == expected);
    CHECK(parser.buffered_bytes() == 0);
  }
}

TEST_CASE("header names are case-insensitive and whitespace is tolerated", "[framing]") {
  FrameParser parser;
  parser.feed("content-length:   2 \r\n\r\n{}");
  CHECK(bodies(drain(parser)) == std::vector<std::string>{"{}"});
}

TEST_CASE("a header without Content-Length is reported and the next frame still arrives", "[framing]") {
  FrameParser parser;
  parser.feed("Content-Type: x\r\n\r\n{\"lost\":1}" + frame_message("{\"kept\":1}"));
  auto events = drain(parser);
  REQUIRE(events.size() == 2);
  CHECK(std::get<FrameError>(events[0]).message.find("without Content-Length") != std::string::npos);
  CHECK(std::get<std::string>(events[1]) == "{\"kept\":1}");
}

TEST_CASE("garbage before a header costs no message", "[framing]") {
  FrameParser parser;
  parser.feed("junk" + frame_message("{}"));
  auto events = drain(parser);
  REQUIRE(events.size() == 2);
  CHECK(std::holds_alternative<FrameError>(events[0]));
  CHECK(std::get<std::string>(events[1]) == "{}");
}

TEST_CASE("an invalid Content-Length is reported", "[framing]") {
  FrameParser parser;
  parser.feed("Content-Length: 12x\r\n\r\n" + frame_message("[1]"));
  auto events = drain(parser);
  REQUIRE(events.size() == 2);
  CHECK(std::get<FrameError>(events[0]).message.find("invalid Content-Length '12x'") != std::string::npos);
  CHECK(std::get<std::string>(events[1]) == "[1]");
}

TEST_CASE("oversized bodies are skipped, even when they arrive in pieces", "[framing]") {
  FrameParser parser(FrameLimits{64, 10});
  std::string big(25, 'a');
  std::string stream = frame_message(big) + frame_message("{}");
  for (char c : stream) parser.feed(std::string_view(&c, 1));
  auto events = drain(parser);
  REQUIRE(events.size() == 2);
  CHECK(std::get<FrameError>(events[0]).message.find("exceeds the limit of 10 bytes") != std::string::npos);
  CHECK(std::get<std::string>(events[1]) == "{}");
}

TEST_CASE("a header that never ends is bounded", "[framing]") {
  FrameParser parser(FrameLimits{32, 1000});
  parser.feed(std::string(100, 'h'));
  auto events = drain(parser);
  REQUIRE(events.size() == 1);
  CHECK(std::get<FrameError>(events[0]).message.find("header longer than 32 bytes") != std::string::npos);
  CHECK(parser.buffered_bytes() == 0);
  parser.feed(frame_message("{}"));
  CHECK(bodies(drain(parser)) == std::vector<std::string>{"{}"});
}
