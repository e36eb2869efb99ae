// Chat prompts rendered from tokenizer_config.json's chat_template without a general Jinja
// engine: the template must be recognized as the Seed-Coder / Stable-DiffCoder-Instruct template
// (either of its known system-prompt variants), which code then renders exactly; any other
// template is refused with a clear error rather than rendered wrongly.
#pragma once

#include <string>
#include <vector>

#include "inference/model_files.h"

namespace maskfill {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

// Throws std::runtime_error when the config has no chat_template, an unrecognized one, no
// bos/eos token strings, or no messages.
std::string render_chat(const TokenizerConfig& config, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt);

// True when `chat_template` is the Seed-Coder template (whitespace outside string literals and
// Jinja's whitespace-control dashes ignored; "\n" escapes and real newlines in literals equal).
bool is_seed_coder_chat_template(const std::string& chat_template);

// The Seed-Coder Instruct template source, for writing a tokenizer_config.json (the trainer).
std::string seed_coder_chat_template();

}  // namespace maskfill
