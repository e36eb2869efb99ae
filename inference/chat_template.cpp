#include "inference/chat_template.h"

#include <optional>
#include <stdexcept>
#include <string_view>

#include "common/utf8.h"
#include "inference/byte_level.h"

namespace maskfill {
namespace {

constexpr std::string_view kDefaultSystemPrompt =
    "You are an AI programming assistant, utilizing the Seed-Coder model, developed by ByteDance Seed, and you "
    "only answer questions related to computer science. For politically sensitive questions, security and "
    "privacy issues, and other non-computer science questions, you will refuse to answer.";

// The template as published (reference notes §2.1), with the system prompt's trailing newlines
// left as a parameter: copies exist with "\n" and with "\n\n".
std::string seed_coder_template(std::string_view system_prompt_end) {
  return "{% set has_system = messages[0]['role'] == 'system' %}\n"
         "{% if not has_system %}{{ bos_token + 'system\\n" + std::string(kDefaultSystemPrompt) +
         std::string(system_prompt_end) +
         "' + eos_token }}{% endif %}\n"
         "{% for message in messages %}{{ bos_token + message['role'] + '\\n' + message['content'] | trim + "
         "eos_token }}{% endfor %}\n"
         "{% if add_generation_prompt %}{{ bos_token + 'assistant\\n'}}{% endif %}";
}

// Canonical form of a Jinja source: whitespace and whitespace-control dashes outside string
// literals dropped; literals decoded (\n, \t, \\, \', \") and re-quoted with '...' and \n.
std::string canonical_template(std::string_view source) {
  std::string out;
  for (size_t i = 0; i < source.size(); ++i) {
    char c = source[i];
    if (c == '\'' || c == '"') {
      std::string literal;
      size_t j = i + 1;
      for (; j < source.size() && source[j] != c; ++j) {
        if (source[j] == '\\' && j + 1 < source.size()) {
          char e = source[++j];
          literal += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
        } else {
          literal += source[j];
        }
      }
      out += '\'';
      for (char l : literal) out += l == '\n' ? std::string("\\n") : l == '\'' ? std::string("\\'") : std::string(1, l);
      out += '\'';
      i = j;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    bool control_dash = c == '-' && ((i > 0 && (source[i - 1] == '%' || source[i - 1] == '{')) ||
                                     (i + 1 < source.size() && (source[i + 1] == '%' || source[i + 1] == '}')));
    if (!control_dash) out += c;
  }
  return out;
}

// The system prompt text (with its trailing newlines) if `source` is a known variant.
std::optional<std::string> recognized_system_prompt(const std::string& source) {
  std::string canonical = canonical_template(source);
  for (std::string_view end : {"\n", "\n\n"})
    if (canonical == canonical_template(seed_coder_template(end))) return std::string(kDefaultSystemPrompt) + std::string(end);
  return std::nullopt;
}

// Python's str.strip() (what Jinja's trim filter calls): Unicode whitespace plus \x1c-\x1f.
std::string_view python_strip(std::string_view text) {
  auto is_space_at = [&](size_t i, size_t& length) {
    char32_t c = utf8::decode(text, i, length);
    return byte_level::is_unicode_whitespace(c) || (c >= 0x1C && c <= 0x1F);
  };
  size_t begin = 0, length = 0;
  while (begin < text.size() && utf8::valid_length(text, begin) && is_space_at(begin, length)) begin += length;
  size_t end = text.size();
  while (end > begin) {
    size_t lead = utf8::char_start(text, end - 1, begin);
    if (!utf8::valid_length(text, lead) || !is_space_at(lead, length)) break;
    end = lead;
  }
  return text.substr(begin, end - begin);
}

}  // namespace

bool is_seed_coder_chat_template(const std::string& chat_template) {
  return recognized_system_prompt(chat_template).has_value();
}

std::string seed_coder_chat_template() { return seed_coder_template("\n\n"); }

std::string render_chat(const TokenizerConfig& config, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  if (!config.chat_template)
    throw std::runtime_error("tokenizer_config.json has no chat_template; chat prompts need an instruct model");
  std::optional<std::string> system_prompt = recognized_system_prompt(*config.chat_template);
  if (!system_prompt)
    throw std::runtime_error("tokenizer_config.json: unrecognized chat_template; maskfill renders only the "
                             "Seed-Coder / Stable-DiffCoder-Instruct template");
  if (config.bos_token.empty() || config.eos_token.empty())
    throw std::runtime_error("tokenizer_config.json: the chat template needs bos_token and eos_token");
  if (messages.empty()) throw std::runtime_error("a chat prompt needs at least one message");
  const std::string& bos = config.bos_token;
  const std::string& eos = config.eos_token;
  std::string out;
  if (messages.front().role != "system") out += bos + "system\n" + *system_prompt + eos;
  for (const ChatMessage& message : messages) out += bos + message.role + "\n" + std::string(python_strip(message.content)) + eos;
  if (add_generation_prompt) out += bos + "assistant\n";
  return out;
}

}  // namespace maskfill
