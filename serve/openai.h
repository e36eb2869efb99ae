// The OpenAI-compatible request and response shapes of `maskfill serve`: /v1/completions
// (text or token-id prompts, `suffix` → the SPM fill-in-the-middle prompt, stop, n, seed, stream)
// and /v1/chat/completions (the model's chat template), plus the block-diffusion options as
// extra fields named after LMDeploy's dLLM options (dllm_block_length, dllm_denoising_steps,
// dllm_confidence_threshold, dllm_unmasking_strategy) or the official generate_block arguments
// (gen_length, steps, threshold, remasking); and llama.cpp's /infill for the editors' llama.cpp
// plugins. Parsing never throws anything but ApiError.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inference/engine.h"
#include "serve/batcher.h"

namespace maskfill::serve {

using json = nlohmann::json;

// An answer other than 200, with an OpenAI-style error object.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string type = "invalid_request_error", std::string param = "",
           std::string code = "")
      : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)), code(std::move(code)) {}
  int status;
  std::string type, param, code;
};

json error_body(const std::string& message, const std::string& type, const std::string& param = "",
                const std::string& code = "");

struct ApiSettings {
  std::string model_id;                     // what /v1/models lists and requests name
  std::optional<double> threshold;          // default parallel-commit threshold (null: one token per step); cmd_serve sets the editor's default
  int max_n = 16;
  int default_max_tokens = 16;              // OpenAI's default for /v1/completions
};

// A parsed request: the job for the batcher plus what the response needs.
struct ApiRequest {
  bool chat = false;
  bool infill = false;                       // llama.cpp's /infill shapes (content, stop, timings)
  std::vector<std::string> response_fields;  // /infill: keep only these ("timings/prompt_n"); empty: all
  bool truncated = false;                    // /infill: the prefix or suffix was cut to fit the context
  std::shared_ptr<Job> job;
  int n = 1;
  std::vector<int> prompt_tokens;  // per prompt (choices i*n .. i*n+n-1 belong to prompt i)
  bool return_token_ids = false;
  bool include_usage = false;      // stream_options.include_usage
  std::string id, model;
  int64_t created = 0;
};

ApiRequest parse_completion_request(const json& body, const Engine& engine, const ApiSettings& settings);
ApiRequest parse_chat_request(const json& body, const Engine& engine, const ApiSettings& settings);
// llama.cpp's POST /infill (what llama.vim and llama.vscode send): input_prefix, prompt (the
// text before the cursor on its line) and input_suffix become this model's SPM prompt, with
// input_extra ({filename, text} chunks from other files) before the prefix, cut first when the
// context is short. n_predict 0 (a cache warm-up) gives a request without choices. llama.cpp's
// own sampler knobs (top_k, top_p, samplers, min_p, ...) are ignored: the editors always send them.
ApiRequest parse_infill_request(const json& body, const Engine& engine, const ApiSettings& settings);

// The whole answer, from the final event of every choice (any order).
json make_response(const ApiRequest& request, const std::vector<ChoiceEvent>& finals);
// One server-sent event's JSON for a streamed delta or a choice's end.
json make_chunk(const ApiRequest& request, const ChoiceEvent& event, bool first_for_choice);
// The last chunk when include_usage: empty choices and the usage.
json make_usage_chunk(const ApiRequest& request, const std::vector<ChoiceEvent>& finals);

}  // namespace maskfill::serve
