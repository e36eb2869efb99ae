// An Engine whose model runs in a `maskfill serve` (or any server with its API) somewhere else:
// the tokenizer and configuration come from the server's model files, so the language server
// plans, builds prompts and post-processes locally exactly as with a local model, and sends the
// prompt as token ids with the same decode options to /v1/completions. A DecodeBatch sends one
// HTTP request per sequence, concurrently (the server batches them); a cancelled sequence aborts
// its request. No torch here.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "inference/engine.h"

namespace maskfill {

struct RemoteOptions {
  std::string url;        // http(s)://host:port (a trailing /v1 is accepted)
  std::string api_key;    // Bearer token; empty: none
  int timeout_ms = 30000; // per request, connecting included
  int connect_timeout_ms = 5000;
};

// Called after each request: ok, or the failure's message (for the editor's status).
using RemoteHealthListener = std::function<void(bool ok, const std::string& message)>;

// Connects (GET /v1/models and the model files); throws std::runtime_error with a message for
// the user (unreachable, refused key, not a maskfill-compatible server, bad files).
std::unique_ptr<Engine> connect_remote_engine(const RemoteOptions& options, RemoteHealthListener listener = {});

// "http://host:8080" from "http://host:8080/v1/" etc.
std::string normalize_backend_url(const std::string& url);

}  // namespace maskfill
