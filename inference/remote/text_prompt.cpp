#include "inference/remote/text_prompt.h"

#include <algorithm>

#include "inference/fim_tokens.h"
#include "inference/tokenizer.h"

namespace maskfill {
namespace {

using Ids = std::vector<int32_t>;

// The suffix and prefix parts of <[fim-suffix]> S <[fim-prefix]> P <[fim-middle]>, if `ids` is
// exactly that shape.
std::optional<std::pair<Ids, Ids>> fim_parts(const Tokenizer& tokenizer, const Ids& ids) {
  std::optional<int32_t> suffix = tokenizer.token_to_id(kFimSuffixToken);
  std::optional<int32_t> prefix = tokenizer.token_to_id(kFimPrefixToken);
  std::optional<int32_t> middle = tokenizer.token_to_id(kFimMiddleToken);
  if (!suffix || !prefix || !middle || ids.size() < 3 || ids.front() != *suffix || ids.back() != *middle)
    return std::nullopt;
  auto at = std::find(ids.begin() + 1, ids.end() - 1, *prefix);
  if (at == ids.end() - 1) return std::nullopt;
  return std::make_pair(Ids(ids.begin() + 1, at), Ids(at + 1, ids.end() - 1));
}

}  // namespace

TextPrompt text_prompt(const Tokenizer& tokenizer, const std::vector<int32_t>& ids, TextPromptForm form,
                       std::optional<int32_t> bos) {
  Ids body = ids;
  if (bos && !body.empty() && body.front() == *bos) body.erase(body.begin());
  if (form == TextPromptForm::Suffix) {
    if (auto parts = fim_parts(tokenizer, body))
      return {tokenizer.decode(parts->second, /*skip_special_tokens=*/false),
              tokenizer.decode(parts->first, /*skip_special_tokens=*/false)};
  }
  return {tokenizer.decode(body, /*skip_special_tokens=*/false), std::nullopt};
}

}  // namespace maskfill
