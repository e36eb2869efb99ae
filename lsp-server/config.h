// Server settings from the command line, `initializationOptions` and
// `workspace/didChangeConfiguration`. Each source may hold the settings at the top level or
// under a "maskfill" key, flat ("inlineCompletion.enabled") or nested. Names, types, ranges and
// defaults come from editors/protocol.json (protocol_schema.h); this file binds each server
// setting to a Config field. Invalid fields are reported and keep their previous value, so a typo
// never loses the rest of the configuration; client-only settings are accepted silently.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infill/plan.h"
#include "inference/engine.h"

namespace maskfill::lsp {

struct Config {
  std::string model_path;  // empty: default_model_dir()
  DeviceOptions device;
  InfillSettings infill;
  ContextSettings context;     // cross-file context in prompts (infill/prompt_context.h)
  bool workspace_index = true; // index the workspace folders' definitions (read at `initialized`)
  bool next_edit_enabled = true;  // keep the edit history and answer maskfill/nextEdits
  struct InlineCompletion {
    bool enabled = true;   // false: automatic requests get no items (Invoked still works)
    int debounce_ms = 150; // wait before running the model for an automatic request
  } inline_completion;
  // A remote model server (`maskfill serve`, or any OpenAI-compatible server running the same
  // model, with model_path naming its snapshot): when `url` is set the plan, prompt and
  // post-processing stay here and only decoding runs there.
  struct Backend {
    std::string url;           // empty: run the model in this process
    std::string api_key_file;  // empty: the MASKFILL_API_KEY environment variable, if any
    int timeout_ms = 30000;
    // How prompts travel: "auto", "tokens" (maskfill serve), "suffix" or "spm" (text prompts
    // for any OpenAI-compatible server; the tokenizer comes from model_path).
    std::string prompt = "auto";
    bool operator==(const Backend&) const = default;
  } backend;

  // What load_engine depends on: a change means the engine must be reloaded.
  bool same_model(const Config& other) const {
    return model_path == other.model_path && device.device == other.device.device &&
           device.dtype == other.device.dtype && device.threads == other.device.threads && backend == other.backend;
  }
};

struct ConfigUpdate {
  Config config;
  std::vector<std::string> errors;    // invalid fields (kept at their previous value)
  std::vector<std::string> warnings;  // unknown fields
};

// Applies `settings` on top of `base`. Never throws.
ConfigUpdate apply_settings(const Config& base, const nlohmann::json& settings);

// The names of the settings bound to Config fields, and their values in `config` (flat, dotted
// names, as in the schema). Used to check the bindings against the schema.
std::vector<std::string> bound_settings();
nlohmann::json settings_to_json(const Config& config);

}  // namespace maskfill::lsp
