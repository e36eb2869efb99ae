// GPT-2 byte-level mapping used by HF ByteLevel pre-tokenizer/decoder: every byte maps to one
// printable code point, so any byte string becomes a string of "visible" characters.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace maskfill::byte_level {

// UTF-8 of the code point that stands for `byte`.
const std::string& byte_to_symbol(uint8_t byte);

// `bytes` with each byte replaced by its symbol (the text the BPE vocab is written in).
std::string encode(std::string_view bytes);

// Inverse of encode: the bytes behind a vocab token, or nullopt when some character of the
// token is not a byte symbol (HF then uses the token's raw UTF-8 instead).
std::optional<std::string> decode(std::string_view symbols);

// Length of the UTF-8 sequence starting at s[i] if it is valid, else 0.
size_t valid_utf8_length(std::string_view s, size_t i);

bool is_valid_utf8(std::string_view s);

// `bytes` with every invalid UTF-8 sequence replaced by U+FFFD per maximal subpart, as Rust's
// String::from_utf8_lossy and the WHATWG decoder do.
std::string utf8_lossy(std::string_view bytes);

// Decodes the code point at s[i] (s must be valid UTF-8 there); sets `length`.
char32_t decode_code_point(std::string_view s, size_t i, size_t& length);

// UTF-8 encoding of one code point.
std::string utf8_of(char32_t c);

// Unicode White_Space (Rust char::is_whitespace).
bool is_unicode_whitespace(char32_t c);

}  // namespace maskfill::byte_level
