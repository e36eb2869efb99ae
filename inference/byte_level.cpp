#include "inference/byte_level.h"

#include <unordered_map>

#include "common/utf8.h"

namespace maskfill::byte_level {
namespace {

struct Tables {
  std::array<std::string, 256> symbol_of_byte;
  std::unordered_map<char32_t, uint8_t> byte_of_code_point;
  Tables() {
    // Printable Latin-1 bytes keep their code point; the others are shifted to 256 + n.
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      char32_t c = printable(b) ? static_cast<char32_t>(b) : next++;
      symbol_of_byte[b] = utf8::encode(c);
      byte_of_code_point[c] = static_cast<uint8_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& byte_to_symbol(uint8_t byte) { return tables().symbol_of_byte[byte]; }

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) out += byte_to_symbol(static_cast<uint8_t>(b));
  return out;
}

std::optional<std::string> decode(std::string_view symbols) {
  const auto& map = tables().byte_of_code_point;
  std::string out;
  for (size_t i = 0; i < symbols.size();) {
    size_t length = utf8::valid_length(symbols, i);
    if (length == 0) return std::nullopt;
    auto it = map.find(utf8::decode(symbols, i, length));
    if (it == map.end()) return std::nullopt;
    out += static_cast<char>(it->second);
    i += length;
  }
  return out;
}

bool is_unicode_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

}  // namespace maskfill::byte_level
