#include "inference/text_stream.h"

#include <algorithm>

#include "inference/tokenizer.h"

namespace maskfill {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // what a lossy decode gives for partial bytes

}  // namespace

TextStream::TextStream(const Tokenizer& tokenizer, std::vector<std::string> stop, int max_tokens)
    : tokenizer_(tokenizer), max_tokens_(max_tokens) {
  for (std::string& s : stop)
    if (!s.empty()) stop_.push_back(std::move(s));
  for (const std::string& s : stop_) longest_stop_ = std::max(longest_stop_, s.size());
}

std::string TextStream::update(const std::vector<int32_t>& tokens, bool final) {
  if (done()) return {};
  tokens_ = tokens;
  if (max_tokens_ > 0 && tokens_.size() >= size_t(max_tokens_)) {
    // At the cap: the engine would go on (or has gone past it), so the answer is cut here.
    if (tokens_.size() > size_t(max_tokens_) || !final) length_hit_ = true;
    tokens_.resize(max_tokens_);
    final = true;
  }
  std::string text = tokenizer_.decode(tokens_);
  // A stop string can only start where the previous search could not have seen all of it.
  size_t from = emitted_.size() > longest_stop_ ? emitted_.size() - longest_stop_ : 0;
  size_t cut = std::string::npos;
  for (const std::string& s : stop_) cut = std::min(cut, text.find(s, from));
  if (cut != std::string::npos) {
    text.resize(cut);
    stop_hit_ = true;
    length_hit_ = false;
    final = true;
  }
  size_t safe = text.size();
  if (!final) {
    // Partial UTF-8 at the end decodes to U+FFFD; it may become a real character later.
    while (safe >= kReplacement.size() && std::string_view(text).substr(safe - kReplacement.size(), kReplacement.size()) == kReplacement)
      safe -= kReplacement.size();
    // A tail that is the start of a stop string waits for the next tokens.
    for (size_t k = std::min(safe, longest_stop_ ? longest_stop_ - 1 : 0); k > 0; --k) {
      std::string_view tail = std::string_view(text).substr(safe - k, k);
      if (std::any_of(stop_.begin(), stop_.end(), [&](const std::string& s) { return std::string_view(s).starts_with(tail); })) {
        safe -= k;
        break;
      }
    }
    // Never split a UTF-8 character.
    while (safe > 0 && safe < text.size() && (static_cast<unsigned char>(text[safe]) & 0xC0) == 0x80) --safe;
  }
  if (safe <= emitted_.size()) return {};
  // Committed tokens only grow, so the new text extends what was sent.
  std::string delta = text.substr(emitted_.size(), safe - emitted_.size());
  emitted_ = text.substr(0, safe);
  return delta;
}

}  // namespace maskfill
