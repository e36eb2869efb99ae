// LSP positions (line, character in UTF-16 or UTF-8 code units) <-> byte offsets in UTF-8 text.
// Lines end at "\n", "\r\n" or "\r" (LSP 3.17). A character past the end of its line is clamped
// to the line end and a line past the last line to the end of the text, as the spec asks. A
// position inside a multi-unit character is rounded down to that character's start, so an edit
// never splits a code point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/byte_range.h"
#include "common/json_fields.h"

namespace maskfill::lsp {

enum class PositionEncoding { Utf16, Utf8 };

std::string_view encoding_name(PositionEncoding encoding);  // "utf-16" | "utf-8"
std::optional<PositionEncoding> encoding_from_name(std::string_view name);

struct Position {
  uint32_t line = 0;
  uint32_t character = 0;
  bool operator==(const Position&) const = default;
};

size_t to_offset(std::string_view text, Position position, PositionEncoding encoding);
Position to_position(std::string_view text, size_t offset, PositionEncoding encoding);

// JSON helpers; throw JsonFieldError naming the field on a malformed object (-> InvalidParams).
// The json overloads name the value "position" / "range" of "params".
Position position_from_json(const JsonField& value);
Position position_from_json(const nlohmann::json& value);
nlohmann::json position_to_json(Position position);
// {start, end}; a reversed range is an error (std::invalid_argument).
ByteRange range_to_offsets(std::string_view text, const JsonField& range, PositionEncoding encoding);
ByteRange range_to_offsets(std::string_view text, const nlohmann::json& range, PositionEncoding encoding);
nlohmann::json range_to_json(std::string_view text, ByteRange range, PositionEncoding encoding);

}  // namespace maskfill::lsp
