// Prompts for the model: the SPM fill-in-the-middle prompt (suffix first, so every block-causal
// generated block sees it) within token budgets, and the chat prompt for instruction edits.
// The completer and the eval harness both build prompts here, so they can never disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inference/model_files.h"

namespace maskfill {

class Tokenizer;

struct PromptBudget {
  int prefix_tokens = 384;
  int suffix_tokens = 128;
};

struct FimPrompt {
  // [BOS] <[fim-suffix]> suffix-window <[fim-prefix]> prefix-window <[fim-middle]>
  std::vector<int32_t> ids;
  std::string_view prefix_window;  // the end of `prefix` that fits its budget
  std::string_view suffix_window;  // the start of `suffix` that fits its budget
};

// `bos` is prepended when the model's tokenizer_config says add_bos_token. Throws
// std::runtime_error if the tokenizer lacks the FIM tokens. Windows keep whole lines where
// they can and cut inside the nearest line only when even that line does not fit.
FimPrompt build_fim_prompt(const Tokenizer& tokenizer, std::string_view prefix, std::string_view suffix,
                           const PromptBudget& budget, std::optional<int32_t> bos);

// The longest tail of `text` (whole lines first) whose tokens fit `budget`.
std::string_view tail_within_tokens(const Tokenizer& tokenizer, std::string_view text, int budget);
// The longest head of `text` (whole lines first) whose tokens fit `budget`.
std::string_view head_within_tokens(const Tokenizer& tokenizer, std::string_view text, int budget);

struct EditPrompt {
  std::vector<int32_t> ids;
  std::string text;  // the rendered chat prompt
  int code_tokens = 0;
};

// One user turn asking for `code` rewritten per `instruction` (the message the SFT data uses); the
// model answers with the rewritten code, possibly inside a fenced block.
EditPrompt build_edit_prompt(const Tokenizer& tokenizer, const TokenizerConfig& config, std::string_view code,
                             std::string_view instruction);

// The content of the first fenced code block of a reply (``` or ```lang), or the whole reply
// when it has none; an unterminated block runs to the end.
std::string extract_code_block(std::string_view reply);

}  // namespace maskfill
