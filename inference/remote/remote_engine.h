// An Engine whose model runs in a server somewhere else: the language server plans, builds
// prompts and post-processes locally exactly as with a local model, and only decoding runs
// there. Two ways to talk to the server:
//  - `maskfill serve` (it serves /v1/maskfill/model-files/): the tokenizer and configuration
//    come from the server, and prompts go as token ids with the exact block-diffusion decode
//    options;
//  - any OpenAI-compatible server (vLLM, SGLang, LMDeploy) running the same model: the tokenizer
//    and configuration come from a local copy of the snapshot it runs (`model_dir`), and each
//    prompt goes as text through standard /v1/completions fields (prompt + suffix, or the SPM
//    prompt spelled out, see text_prompt.h); the answer's text is tokenized again here.
// A DecodeBatch sends one HTTP request per sequence, concurrently (the server batches them); a
// cancelled sequence aborts its request. No torch here.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "inference/engine.h"

namespace maskfill {

// How prompts are sent. Auto: token ids when the server serves maskfill's model files, else text
// with `suffix`, falling back to the SPM text for good once the server answers 400 naming
// `suffix` (vLLM does).
enum class RemotePrompt { Auto, Tokens, Suffix, Spm };

struct RemoteOptions {
  std::string url;        // http(s)://host:port (a trailing /v1 is accepted)
  std::string api_key;    // Bearer token; empty: none
  int timeout_ms = 30000; // per request, connecting included
  int connect_timeout_ms = 5000;
  RemotePrompt prompt = RemotePrompt::Auto;
  // The HF snapshot the server runs (config.json, tokenizer.json, tokenizer_config.json; the
  // weights are not read), for servers that do not serve maskfill's model files. Empty: none.
  std::string model_dir;
};

// "auto", "tokens", "suffix" or "spm"; throws std::invalid_argument for anything else.
RemotePrompt parse_remote_prompt(const std::string& name);

// Called after each request: ok, or the failure's message (for the editor's status).
using RemoteHealthListener = std::function<void(bool ok, const std::string& message)>;

// Connects (GET /v1/models, then the model files from the server or `model_dir`); throws
// std::runtime_error with a message for the user (unreachable, refused key, not an
// OpenAI-compatible server, no model files, bad files).
std::unique_ptr<Engine> connect_remote_engine(const RemoteOptions& options, RemoteHealthListener listener = {});

// "http://host:8080" from "http://host:8080/v1/" etc.
std::string normalize_backend_url(const std::string& url);

}  // namespace maskfill
