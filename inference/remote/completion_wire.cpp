#include "inference/remote/completion_wire.h"

#include <stdexcept>

#include "inference/tokenizer.h"

namespace maskfill::remote {
namespace {

using json = nlohmann::json;

StopReason stop_reason(const std::string& name) {
  if (name == "eos") return StopReason::Eos;
  if (name == "budget") return StopReason::Budget;
  if (name == "stop_string") return StopReason::StopString;
  if (name == "cancelled") return StopReason::Cancelled;
  if (name == "unsure") return StopReason::Unsure;
  return StopReason::Length;
}

// choices[0] of a completion answer, checked for being an object.
const json& first_choice(const json& answer) {
  if (!answer.is_object() || !answer.contains("choices") || !answer["choices"].is_array() || answer["choices"].empty() ||
      !answer["choices"][0].is_object())
    throw std::runtime_error("not a completion");
  return answer["choices"][0];
}

std::string string_or(const json& object, const char* name, const std::string& fallback) {
  return object.contains(name) && object[name].is_string() ? object[name].get<std::string>() : fallback;
}

}  // namespace

json token_request(const std::string& model, const std::vector<int32_t>& prompt, const DecodeOptions& o) {
  json body = {{"model", model},
               {"prompt", prompt},
               {"return_token_ids", true},
               {"max_tokens", o.gen_length + o.extend_max},
               {"gen_length", o.gen_length},
               {"threshold", o.threshold ? json(*o.threshold) : json()},
               {"remasking", o.remasking == Remasking::Random ? "random" : "low_confidence"},
               {"temperature", o.temperature},
               {"sampled_confidence", o.sampled_confidence},
               {"seed", int64_t(o.seed)},
               {"ignore_eos", !o.stop_at_eos},
               {"max_forwards", o.max_forwards},
               {"max_ms", o.max_ms}};
  if (o.block_length) body["block_length"] = o.block_length;
  if (o.steps) body["steps"] = o.steps;
  if (!o.stop.empty()) body["stop"] = o.stop;
  if (o.stop_below_confidence > 0) body["stop_below_confidence"] = o.stop_below_confidence;
  return body;
}

json text_request(const std::string& model, const TextPrompt& prompt, const DecodeOptions& o) {
  // The extension blocks a diffusion decoder may add become plain room to stop in: an
  // autoregressive server ends at EOS or a stop string anyway.
  json body = {{"model", model}, {"prompt", prompt.prompt}, {"max_tokens", o.gen_length + o.extend_max},
               {"temperature", o.temperature}, {"n", 1}};
  if (prompt.suffix) body["suffix"] = *prompt.suffix;
  if (o.temperature > 0) body["seed"] = int64_t(o.seed);  // candidates differ by seed, reproducibly
  if (!o.stop.empty()) body["stop"] = o.stop;
  return body;
}

void read_token_choice(const json& answer, const Tokenizer& tokenizer, DecodeResult& result) {
  const json& choice = first_choice(answer);
  if (!choice.contains("token_ids") || !choice["token_ids"].is_array()) throw std::runtime_error("no token_ids");
  for (const json& id : choice["token_ids"]) {
    if (!id.is_number_integer()) throw std::runtime_error("token_ids holds a non-integer");
    result.tokens.push_back(id.get<int32_t>());
  }
  result.text = tokenizer.decode(result.tokens);
  result.stop = string_or(choice, "finish_reason", "length") == "stop" ? StopReason::Eos : StopReason::Length;
  if (!choice.contains("maskfill") || !choice["maskfill"].is_object()) return;
  const json& m = choice["maskfill"];
  try {
    result.stop = stop_reason(string_or(m, "stop", "length"));
    result.stats.forwards = m.value("forwards", 0);
    result.stats.generated_tokens = m.value("generated_tokens", int(result.tokens.size()));
    result.stats.prompt_tokens_computed = m.value("prompt_tokens_computed", result.stats.prompt_tokens);
    result.stats.prefill_ms = m.value("prefill_ms", 0.0);
    result.stats.decode_ms = m.value("decode_ms", 0.0);
    result.stats.min_confidence = m.value("min_confidence", 1.0);
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error("maskfill stats of the wrong type");
  }
}

void read_text_choice(const json& answer, const Tokenizer& tokenizer, DecodeResult& result) {
  const json& choice = first_choice(answer);
  if (!choice.contains("text") || !choice["text"].is_string()) throw std::runtime_error("no text");
  result.text = choice["text"].get<std::string>();
  result.tokens = tokenizer.encode(result.text);
  result.stats.generated_tokens = int(result.tokens.size());
  result.stats.prompt_tokens_computed = result.stats.prompt_tokens;
  // vLLM and SGLang name the stop string that matched in stop_reason; null means EOS.
  bool stopped = string_or(choice, "finish_reason", "length") == "stop";
  bool by_string = choice.contains("stop_reason") && choice["stop_reason"].is_string();
  result.stop = !stopped ? StopReason::Length : by_string ? StopReason::StopString : StopReason::Eos;
}

}  // namespace maskfill::remote
