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

// UTF-8 validation, decoding, encoding and lossy repair: common/utf8.h.

// Unicode White_Space (Rust char::is_whitespace).
bool is_unicode_whitespace(char32_t c);

}  // namespace maskfill::byte_level
