#include "lsp-server/positions.h"

#include "common/utf8.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace maskfill::lsp {
namespace {

uint32_t code_units(size_t utf8_length, PositionEncoding encoding) {
  if (encoding == PositionEncoding::Utf8) return static_cast<uint32_t>(utf8_length);
  return utf8_length == 4 ? 2 : 1;  // non-BMP characters are surrogate pairs in UTF-16
}

bool is_line_break(char c) { return c == '\n' || c == '\r'; }

// Offset of the first byte of `line`; text.size() when the text has fewer lines. Scans with
// memchr for '\n' and '\r' separately (a 10,000-line file is mapped on every edit).
size_t line_start(std::string_view text, uint32_t line) {
  size_t offset = 0, next_lf = 0, next_cr = 0;
  bool lf_stale = true, cr_stale = true;
  for (uint32_t current = 0; current < line; ++current) {
    if (lf_stale || (next_lf != std::string_view::npos && next_lf < offset)) next_lf = text.find('\n', offset);
    if (cr_stale || (next_cr != std::string_view::npos && next_cr < offset)) next_cr = text.find('\r', offset);
    lf_stale = cr_stale = false;
    size_t next = std::min(next_lf, next_cr);
    if (next == std::string_view::npos) return text.size();
    offset = next + ((text[next] == '\r' && next + 1 < text.size() && text[next + 1] == '\n') ? 2 : 1);
  }
  return offset;
}

}  // namespace

std::string_view encoding_name(PositionEncoding encoding) {
  return encoding == PositionEncoding::Utf8 ? "utf-8" : "utf-16";
}

std::optional<PositionEncoding> encoding_from_name(std::string_view name) {
  if (name == "utf-16") return PositionEncoding::Utf16;
  if (name == "utf-8") return PositionEncoding::Utf8;
  return std::nullopt;
}

size_t to_offset(std::string_view text, Position position, PositionEncoding encoding) {
  size_t offset = line_start(text, position.line);
  uint32_t units = 0;
  while (offset < text.size() && !is_line_break(text[offset])) {
    size_t length = std::min(utf8::sequence_length(text[offset]), text.size() - offset);
    uint32_t width = code_units(length, encoding);
    if (units + width > position.character) break;  // inside this character: round down
    units += width;
    offset += length;
  }
  return offset;
}

Position to_position(std::string_view text, size_t offset, PositionEncoding encoding) {
  offset = std::min(offset, text.size());
  Position position;
  size_t begin = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))) {
      ++position.line;
      begin = i + 1;
    }
  }
  for (size_t i = begin; i < offset;) {
    size_t length = std::min(utf8::sequence_length(text[i]), text.size() - i);
    if (i + length > offset) break;  // offset inside a character: count up to its start
    if (text[i] == '\r') break;      // offset between "\r" and "\n" is still the line end
    position.character += code_units(length, encoding);
    i += length;
  }
  return position;
}

Position position_from_json(const JsonField& value) {
  return Position{static_cast<uint32_t>(value.at("line").integer(0, UINT32_MAX)),
                  static_cast<uint32_t>(value.at("character").integer(0, UINT32_MAX))};
}

Position position_from_json(const nlohmann::json& value) { return position_from_json(JsonField(value, "params", "position")); }

nlohmann::json position_to_json(Position position) {
  return {{"line", position.line}, {"character", position.character}};
}

ByteRange range_to_offsets(std::string_view text, const JsonField& range, PositionEncoding encoding) {
  ByteRange bytes{to_offset(text, position_from_json(range.at("start")), encoding),
                  to_offset(text, position_from_json(range.at("end")), encoding)};
  if (bytes.begin > bytes.end) throw std::invalid_argument("range end is before its start");
  return bytes;
}

ByteRange range_to_offsets(std::string_view text, const nlohmann::json& range, PositionEncoding encoding) {
  return range_to_offsets(text, JsonField(range, "params", "range"), encoding);
}

nlohmann::json range_to_json(std::string_view text, ByteRange range, PositionEncoding encoding) {
  return {{"start", position_to_json(to_position(text, range.begin, encoding))},
          {"end", position_to_json(to_position(text, range.end, encoding))}};
}

}  // namespace maskfill::lsp
