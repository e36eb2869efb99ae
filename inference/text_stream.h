// Turns the tokens a sequence has committed so far into the text a client may see:
// cut at `max_tokens`, cut before the first stop string, and (while more may come) holding back
// what could still change: the start of a stop string, or bytes of a character not yet complete.
// Streaming and non-streaming answers, and the editor's stop at a line end (generate_together),
// go through the same code, so they always agree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace maskfill {

class Tokenizer;

class TextStream {
 public:
  TextStream(const Tokenizer& tokenizer, std::vector<std::string> stop, int max_tokens);

  // `tokens`: all tokens committed so far (a prefix of the final tokens). Returns the text that
  // became final since the last call. `final`: no more tokens will come.
  std::string update(const std::vector<int32_t>& tokens, bool final);

  bool stop_hit() const { return stop_hit_; }      // a stop string ended the text
  bool length_hit() const { return length_hit_; }  // more than max_tokens were produced
  bool done() const { return stop_hit_ || length_hit_; }
  const std::string& text() const { return emitted_; }
  // The tokens behind text() (before a stop cut they may run past it).
  const std::vector<int32_t>& tokens() const { return tokens_; }

 private:
  const Tokenizer& tokenizer_;
  std::vector<std::string> stop_;
  size_t longest_stop_ = 0;
  int max_tokens_;
  std::vector<int32_t> tokens_;
  std::string emitted_;
  bool stop_hit_ = false, length_hit_ = false;
};

}  // namespace maskfill
