#include "inference/byte_level.h"

#include <unordered_map>

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
      symbol_of_byte[b] = utf8_of(c);
      byte_of_code_point[c] = static_cast<uint8_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

std::string utf8_of(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

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
    size_t length = valid_utf8_length(symbols, i);
    if (length == 0) return std::nullopt;
    auto it = map.find(decode_code_point(symbols, i, length));
    if (it == map.end()) return std::nullopt;
    out += static_cast<char>(it->second);
    i += length;
  }
  return out;
}

size_t valid_utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte (excludes overlongs/surrogates)
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 == 0xE0) n = 3, lo = 0xA0;
  else if (b0 >= 0xE1 && b0 <= 0xEC) n = 3;
  else if (b0 == 0xED) n = 3, hi = 0x9F;
  else if (b0 >= 0xEE && b0 <= 0xEF) n = 3;
  else if (b0 == 0xF0) n = 4, lo = 0x90;
  else if (b0 >= 0xF1 && b0 <= 0xF3) n = 4;
  else if (b0 == 0xF4) n = 4, hi = 0x8F;
  else return 0;
  if (i + 1 >= s.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (i + k >= s.size() || (byte(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t length = valid_utf8_length(s, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string utf8_lossy(std::string_view bytes) {
  static const std::string replacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    size_t length = valid_utf8_length(bytes, i);
    if (length > 0) {
      out.append(bytes.substr(i, length));
      i += length;
      continue;
    }
    // Maximal subpart: the lead byte plus the continuation bytes that were still valid.
    size_t skip = 1;
    uint8_t b0 = static_cast<uint8_t>(bytes[i]);
    size_t need = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 ? 2 : 1;
    if (need > 1 && b0 <= 0xF4) {
      uint8_t lo = b0 == 0xE0 ? 0xA0 : b0 == 0xF0 ? 0x90 : 0x80;
      uint8_t hi = b0 == 0xED ? 0x9F : b0 == 0xF4 ? 0x8F : 0xBF;
      for (size_t k = 1; k < need && i + k < bytes.size(); ++k) {
        uint8_t b = static_cast<uint8_t>(bytes[i + k]);
        bool ok = k == 1 ? (b >= lo && b <= hi) : (b & 0xC0) == 0x80;
        if (!ok) break;
        skip = k + 1;
      }
    }
    out += replacement;
    i += skip;
  }
  return out;
}

char32_t decode_code_point(std::string_view s, size_t i, size_t& length) {
  auto byte = [&](size_t k) { return static_cast<char32_t>(static_cast<uint8_t>(s[i + k])); };
  char32_t b0 = byte(0);
  if (b0 < 0x80) return length = 1, b0;
  if (b0 < 0xE0) return length = 2, ((b0 & 0x1F) << 6) | (byte(1) & 0x3F);
  if (b0 < 0xF0) return length = 3, ((b0 & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
  return length = 4, ((b0 & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
}

bool is_unicode_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

}  // namespace maskfill::byte_level
