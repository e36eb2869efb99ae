// The /v1/completions bodies the remote engine sends and how it reads the answers:
//  - token-id prompts with the exact DecodeOptions (block length, threshold, remasking, seed,
//    budgets) for `maskfill serve`, which reads the same fields back (serve/openai.h), and the
//    answer's token_ids and maskfill stats;
//  - text prompts with standard OpenAI fields only (model, prompt, suffix, max_tokens,
//    temperature, seed, stop) for any OpenAI-compatible server, and the answer's text, which is
//    tokenized here again so post-processing sees tokens as from a local model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inference/engine.h"
#include "inference/remote/text_prompt.h"

namespace maskfill::remote {

nlohmann::json token_request(const std::string& model, const std::vector<int32_t>& prompt, const DecodeOptions& options);
nlohmann::json text_request(const std::string& model, const TextPrompt& prompt, const DecodeOptions& options);

// Fill `result` from a completion answer's first choice; throw std::runtime_error when the
// answer is not one.
void read_token_choice(const nlohmann::json& answer, const Tokenizer& tokenizer, DecodeResult& result);
void read_text_choice(const nlohmann::json& answer, const Tokenizer& tokenizer, DecodeResult& result);

}  // namespace maskfill::remote
