// Rule: the fill ends at the first special token (EOS, a FIM marker, PAD...).
#include <algorithm>

#include "inference/tokenizer.h"
#include "infill/postprocess.h"

namespace maskfill {

std::string text_before_special_tokens(const Tokenizer& tokenizer, const std::vector<int32_t>& tokens) {
  auto first_special = std::find_if(tokens.begin(), tokens.end(), [&](int32_t id) { return tokenizer.is_special(id); });
  return tokenizer.decode(std::vector<int32_t>(tokens.begin(), first_special), /*skip_special_tokens=*/true);
}

std::string first_line_only(std::string_view candidate) {
  return std::string(candidate.substr(0, candidate.find('\n')));
}

}  // namespace maskfill
