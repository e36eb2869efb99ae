// The one UTF-8 helper: validation and decoding with the exact rules of Rust's `str` (which HF
// `tokenizers` and the tokenizer parity tests depend on), lossy repair per maximal subpart
// (Rust's String::from_utf8_lossy, WHATWG), encoding, and character boundaries for code that
// walks text by bytes (LSP positions, diffs, truncation). Header-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace maskfill::utf8 {

inline bool is_continuation(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }

// Length of the sequence a lead byte announces, without checking what follows; 1 for a byte that
// cannot start a sequence, so a scan over arbitrary bytes always advances.
inline size_t sequence_length(char lead) {
  uint8_t b = static_cast<uint8_t>(lead);
  if (b < 0x80) return 1;
  if ((b >> 5) == 0x6) return 2;
  if ((b >> 4) == 0xE) return 3;
  if ((b >> 3) == 0x1E) return 4;
  return 1;
}

// Length of the sequence starting at s[i] if it is valid UTF-8 (no overlongs, no surrogates, at
// most U+10FFFF), else 0.
inline size_t valid_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  if (i >= s.size()) return 0;
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
    if (i + k >= s.size() || !is_continuation(s[i + k])) return 0;
  return n;
}

inline bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t length = valid_length(s, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// `bytes` with every invalid sequence replaced by U+FFFD per maximal subpart.
inline std::string lossy(std::string_view bytes) {
  static const std::string replacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    size_t length = valid_length(bytes, i);
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
        bool ok = k == 1 ? (b >= lo && b <= hi) : is_continuation(bytes[i + k]);
        if (!ok) break;
        skip = k + 1;
      }
    }
    out += replacement;
    i += skip;
  }
  return out;
}

// The code point at s[i]; s must be valid UTF-8 there. Sets `length`.
inline char32_t decode(std::string_view s, size_t i, size_t& length) {
  auto byte = [&](size_t k) { return static_cast<char32_t>(static_cast<uint8_t>(s[i + k])); };
  char32_t b0 = byte(0);
  if (b0 < 0x80) return length = 1, b0;
  if (b0 < 0xE0) return length = 2, ((b0 & 0x1F) << 6) | (byte(1) & 0x3F);
  if (b0 < 0xF0) return length = 3, ((b0 & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
  return length = 4, ((b0 & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
}

// The last code point of non-empty valid UTF-8 `s`.
inline char32_t decode_last(std::string_view s) {
  size_t i = s.size() - 1;
  while (i > 0 && is_continuation(s[i])) --i;
  size_t length;
  return decode(s, i, length);
}

inline void append(std::string& out, char32_t c) {
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
}

inline std::string encode(char32_t c) {
  std::string out;
  append(out, c);
  return out;
}

// Start of the character that byte `i` belongs to (moves back over continuation bytes, not
// before `floor`). For i >= s.size() returns s.size().
inline size_t char_start(std::string_view s, size_t i, size_t floor = 0) {
  if (i >= s.size()) return s.size();
  while (i > floor && is_continuation(s[i])) --i;
  return i;
}

// The first character boundary at or after byte `i` (moves forward over continuation bytes, not
// past `limit`, default the end).
inline size_t next_boundary(std::string_view s, size_t i, size_t limit = std::string_view::npos) {
  if (limit > s.size()) limit = s.size();
  while (i < limit && is_continuation(s[i])) ++i;
  return i;
}

}  // namespace maskfill::utf8
