// A prompt given as token ids, turned back into text for an OpenAI-compatible server that only
// takes text (vLLM, SGLang, LMDeploy): the planner's FIM prompt
//   [BOS] <[fim-suffix]> S <[fim-prefix]> P <[fim-middle]>
// becomes `prompt` P (cross-file context included, as the planner put it before the cursor's
// text) + `suffix` S when the server supports `suffix`, or else the whole SPM prompt as text with
// the special tokens spelled out, which such a server tokenizes back into the same specials.
// No curl, no torch: unit-tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace maskfill {

class Tokenizer;

enum class TextPromptForm { Suffix, Spm };

struct TextPrompt {
  std::string prompt;
  std::optional<std::string> suffix;  // the Suffix form of a FIM prompt only
};

// `bos`: the model's BOS id; a leading BOS is dropped, since the server adds its own exactly when
// the model's tokenizer_config says so. A prompt that is not a FIM prompt (an edit's chat
// prompt) is sent whole as text in either form.
TextPrompt text_prompt(const Tokenizer& tokenizer, const std::vector<int32_t>& ids, TextPromptForm form,
                       std::optional<int32_t> bos);

}  // namespace maskfill
