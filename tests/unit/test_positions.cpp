#include <catch2/catch.hpp>

#include <random>

#include "lsp-server/positions.h"

using namespace maskfill::lsp;

namespace {
const auto U16 = PositionEncoding::Utf16;
const auto U8 = PositionEncoding::Utf8;
// "a😀é" then CRLF, "xy" then CR, "z" then LF, an empty last line.
const std::string kText = "a\xF0\x9F\x98\x80\xC3\xA9\r\nxy\rz\n";
}  // namespace

TEST_CASE("UTF-16 positions count surrogate pairs", "[positions]") {
  CHECK(to_offset(kText, {0, 0}, U16) == 0);
  CHECK(to_offset(kText, {0, 1}, U16) == 1);
  CHECK(to_offset(kText, {0, 3}, U16) == 5);  // after the emoji (2 UTF-16 units)
  CHECK(to_offset(kText, {0, 4}, U16) == 7);  // after é
  CHECK(to_position(kText, 5, U16) == Position{0, 3});
  CHECK(to_position(kText, 7, U16) == Position{0, 4});
}

TEST_CASE("UTF-8 positions count bytes", "[positions]") {
  CHECK(to_offset(kText, {0, 5}, U8) == 5);
  CHECK(to_offset(kText, {0, 7}, U8) == 7);
  CHECK(to_position(kText, 7, U8) == Position{0, 7});
}

TEST_CASE("a position inside a character rounds down to its start", "[positions]") {
  CHECK(to_offset(kText, {0, 2}, U16) == 1);  // between the surrogates
  CHECK(to_offset(kText, {0, 3}, U8) == 1);   // inside the 4-byte sequence
  CHECK(to_position(kText, 3, U16) == Position{0, 1});
}

TEST_CASE("CRLF, CR and LF all end lines", "[positions]") {
  CHECK(to_offset(kText, {1, 0}, U16) == 9);
  CHECK(to_offset(kText, {2, 0}, U16) == 12);
  CHECK(to_offset(kText, {3, 0}, U16) == 14);
  CHECK(to_position(kText, 9, U16) == Position{1, 0});
  CHECK(to_position(kText, 12, U16) == Position{2, 0});
  CHECK(to_position(kText, 14, U16) == Position{3, 0});
  CHECK(to_position(kText, 8, U16) == Position{0, 4});  // between \r and \n: still line 0's end
}

TEST_CASE("positions past the line or the text are clamped", "[positions]") {
  CHECK(to_offset(kText, {0, 100}, U16) == 7);  // line end, before \r\n
  CHECK(to_offset(kText, {1, 100}, U8) == 11);
  CHECK(to_offset(kText, {3, 100}, U16) == kText.size());
  CHECK(to_offset(kText, {50, 0}, U16) == kText.size());
  CHECK(to_position(kText, 1000, U16) == Position{3, 0});
}

TEST_CASE("offset -> position -> offset round-trips at character boundaries", "[positions]") {
  std::mt19937 random(7);
  const std::vector<std::string> pieces = {"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\n", "\r\n", "\r", " "};
  for (int trial = 0; trial < 50; ++trial) {
    std::string text;
    std::vector<size_t> boundaries = {0};
    for (int i = 0; i < 60; ++i) {
      text += pieces[random() % pieces.size()];
      boundaries.push_back(text.size());
    }
    for (PositionEncoding encoding : {U16, U8}) {
      for (size_t offset : boundaries) {
        bool inside_crlf = offset > 0 && offset < text.size() && text[offset - 1] == '\r' && text[offset] == '\n';
        if (inside_crlf) continue;
        CHECK(to_offset(text, to_position(text, offset, encoding), encoding) == offset);
      }
    }
  }
}

TEST_CASE("JSON ranges are validated", "[positions]") {
  using nlohmann::json;
  json range = {{"start", {{"line", 1}, {"character", 0}}}, {"end", {{"line", 0}, {"character", 0}}}};
  CHECK_THROWS_AS(range_to_offsets(kText, range, U16), std::invalid_argument);
  CHECK_THROWS_WITH(position_from_json(json{{"line", -1}, {"character", 0}}),
                    "params: field 'position.line' must be an integer from 0 to 4294967295, got number -1");
  CHECK_THROWS_WITH(position_from_json(json{{"line", 0}}), "params: field 'position.character' is missing");
  CHECK_THROWS_WITH(range_to_offsets(kText, json{{"start", {{"line", 0}, {"character", "1"}}}, {"end", 0}}, U16),
                    "params: field 'range.start.character' must be an integer from 0 to 4294967295, got string \"1\"");
  json good = {{"start", {{"line", 0}, {"character", 1}}}, {"end", {{"line", 1}, {"character", 2}}}};
  maskfill::ByteRange bytes = range_to_offsets(kText, good, U16);
  CHECK(bytes.begin == 1);
  CHECK(bytes.end == 11);
  CHECK(range_to_json(kText, bytes, U16) == good);
}
