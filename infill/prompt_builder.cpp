#include "infill/prompt_builder.h"

#include <algorithm>
#include <stdexcept>

#include "inference/tokenizer.h"
#include "common/edit_prompt.h"
#include "inference/chat_template.h"
#include "inference/fim_tokens.h"

namespace maskfill {
namespace {

constexpr std::string_view kFimSuffix = kFimSuffixToken;
constexpr std::string_view kFimPrefix = kFimPrefixToken;
constexpr std::string_view kFimMiddle = kFimMiddleToken;

int32_t required_token(const Tokenizer& tokenizer, std::string_view token) {
  std::optional<int32_t> id = tokenizer.token_to_id(token);
  if (!id)
    throw std::runtime_error("the tokenizer has no " + std::string(token) +
                             " token: this model does not support fill-in-the-middle");
  return *id;
}

int count_tokens(const Tokenizer& tokenizer, std::string_view text) {
  return text.empty() ? 0 : static_cast<int>(tokenizer.encode(text).size());
}

void append(std::vector<int32_t>& ids, const std::vector<int32_t>& more) { ids.insert(ids.end(), more.begin(), more.end()); }

}  // namespace

std::string_view tail_within_tokens(const Tokenizer& tokenizer, std::string_view whole, int budget) {
  // Only the end that can hold `budget` tokens is looked at (whole lines, the same answer), so a
  // megabyte-long text costs no more than one of budget * max_token_bytes() bytes.
  std::string_view text = tokenizer.tail_window(whole, size_t(std::max(budget, 0)));
  // Grow the window one line at a time from the end.
  size_t begin = text.size();
  int used = 0;
  while (begin > 0) {
    size_t newline = begin >= 2 ? text.rfind('\n', begin - 2) : std::string_view::npos;
    size_t line_begin = newline == std::string_view::npos ? 0 : newline + 1;
    int cost = count_tokens(tokenizer, text.substr(line_begin, begin - line_begin));
    if (used + cost > budget) break;
    used += cost;
    begin = line_begin;
  }
  if (begin == text.size() && !text.empty()) {
    // Not even the nearest line fits: keep its last pre-tokenizer pieces.
    size_t newline = text.size() >= 2 ? text.rfind('\n', text.size() - 2) : std::string_view::npos;
    size_t line_begin = newline == std::string_view::npos ? 0 : newline + 1;
    std::vector<std::string> pieces = tokenizer.pretokenize(text.substr(line_begin));
    for (auto piece = pieces.rbegin(); piece != pieces.rend(); ++piece) {
      int cost = count_tokens(tokenizer, *piece);
      if (used + cost > budget) break;
      used += cost;
      begin -= piece->size();
    }
  }
  return text.substr(begin);
}

std::string_view head_within_tokens(const Tokenizer& tokenizer, std::string_view whole, int budget) {
  std::string_view text = tokenizer.head_window(whole, size_t(std::max(budget, 0)));  // see tail_within_tokens
  size_t end = 0;
  int used = 0;
  while (end < text.size()) {
    size_t newline = text.find('\n', end);
    size_t line_end = newline == std::string_view::npos ? text.size() : newline + 1;
    int cost = count_tokens(tokenizer, text.substr(end, line_end - end));
    if (used + cost > budget) break;
    used += cost;
    end = line_end;
  }
  if (end == 0 && !text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline == std::string_view::npos ? text.size() : newline);
    for (const std::string& piece : tokenizer.pretokenize(line)) {
      int cost = count_tokens(tokenizer, piece);
      if (used + cost > budget) break;
      used += cost;
      end += piece.size();
    }
  }
  return text.substr(0, end);
}

// Moves the start of a prefix window that had to drop lines forward to a line whose number is a
// multiple of kWindowGrid. While the user types, the budget pushes the window's start down a line
// at a time; starting it on a grid line keeps the prompt's beginning, and so the prompt cache,
// unchanged for many keystrokes (at the price of up to kWindowGrid - 1 lines of context).
constexpr size_t kWindowGrid = 8;

std::string_view stable_prefix_window(std::string_view prefix, std::string_view window) {
  size_t begin = prefix.size() - window.size();
  if (begin == 0 || (begin > 0 && prefix[begin - 1] != '\n')) return window;  // whole text, or a cut line
  size_t line = size_t(std::count(prefix.begin(), prefix.begin() + begin, '\n'));
  size_t lines_to_skip = (kWindowGrid - line % kWindowGrid) % kWindowGrid;
  size_t at = begin;
  for (size_t i = 0; i < lines_to_skip; ++i) {
    size_t newline = prefix.find('\n', at);
    // Keep at least the cursor's own line.
    if (newline == std::string_view::npos || prefix.find('\n', newline + 1) == std::string_view::npos) return window;
    at = newline + 1;
  }
  return prefix.substr(at);
}

FimPrompt build_fim_prompt(const Tokenizer& tokenizer, std::string_view prefix, std::string_view suffix,
                           const PromptBudget& budget, std::optional<int32_t> bos) {
  FimPrompt prompt;
  prompt.prefix_window = stable_prefix_window(prefix, tail_within_tokens(tokenizer, prefix, budget.prefix_tokens));
  prompt.suffix_window = head_within_tokens(tokenizer, suffix, budget.suffix_tokens);
  if (bos) prompt.ids.push_back(*bos);
  prompt.ids.push_back(required_token(tokenizer, kFimSuffix));
  append(prompt.ids, tokenizer.encode(prompt.suffix_window));
  prompt.ids.push_back(required_token(tokenizer, kFimPrefix));
  append(prompt.ids, tokenizer.encode(prompt.prefix_window));
  prompt.ids.push_back(required_token(tokenizer, kFimMiddle));
  return prompt;
}

EditPrompt build_edit_prompt(const Tokenizer& tokenizer, const TokenizerConfig& config, std::string_view code,
                             std::string_view instruction) {
  // The same user message the SFT data trains on (common/edit_prompt.h).
  std::string user = edit_user_message(std::string(instruction), std::string(code));
  EditPrompt prompt;
  prompt.text = render_chat(config, {{"user", user}}, /*add_generation_prompt=*/true);
  prompt.ids = tokenizer.encode(prompt.text);
  prompt.code_tokens = count_tokens(tokenizer, code);
  return prompt;
}

namespace {
// The first "```" from `from` that begins a line: a fence. One inside a line is code (a
// Julia or Markdown string that holds backticks).
size_t find_fence(std::string_view reply, size_t from) {
  for (size_t at = reply.find("```", from); at != std::string_view::npos; at = reply.find("```", at + 1))
    if (at == 0 || reply[at - 1] == '\n') return at;
  return std::string_view::npos;
}
}  // namespace

std::string extract_code_block(std::string_view reply) {
  size_t open = find_fence(reply, 0);
  if (open == std::string_view::npos) return std::string(reply);
  size_t body = reply.find('\n', open);
  if (body == std::string_view::npos) return "";
  ++body;
  size_t close = find_fence(reply, body);
  std::string_view code = reply.substr(body, close == std::string_view::npos ? std::string_view::npos : close - body);
  if (code.ends_with('\n')) code.remove_suffix(1);
  return std::string(code);
}

}  // namespace maskfill
