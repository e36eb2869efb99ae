// The fill-in-the-middle special tokens of Stable-DiffCoder's vocabulary. The prompt builder
// (infill) writes them and the remote engine (inference/remote) reads them back to send a FIM
// prompt as text, so both name them from here.
#pragma once

#include <string_view>

namespace maskfill {

inline constexpr std::string_view kFimSuffixToken = "<[fim-suffix]>";
inline constexpr std::string_view kFimPrefixToken = "<[fim-prefix]>";
inline constexpr std::string_view kFimMiddleToken = "<[fim-middle]>";

}  // namespace maskfill
