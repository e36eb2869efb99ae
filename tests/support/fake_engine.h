// The one fake Engine of the test suites (infill pipeline, LSP features, serve): a real tokenizer
// and config, and a generate() that plays canned text. It runs one "denoising step" per block of
// the requested length, polling the cancellation check and sleeping `step_ms` per step, and
// records every call. The script lives apart from the engine so it can outlive engine reloads
// (a server's engine factory makes a new FakeEngine on each load, all playing one script).
//
//   ScriptedFakeEngine engine;                 // the bundled model's tokenizer and config
//   engine.replies = {"a + b", "<cancelled>"};  // one per call, in order
//   ... engine.prompts[0], engine.options_seen[0], engine.calls, engine.cancelled_calls
//
//   FakeScript script; script.outputs = {"total"};       // shared by every engine a factory makes
//   options.engine_factory = [&](const Config&) { return std::make_unique<FakeEngine>(script); };
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "inference/engine.h"
#include "inference/model_files.h"
#include "inference/tokenizer.h"

namespace maskfill::testing {

// models/maskfill-tiny in the source tree (MASKFILL_SOURCE_DIR from tests/CMakeLists.txt).
inline std::string bundled_model_dir() { return std::string(MASKFILL_SOURCE_DIR) + "/models/maskfill-tiny"; }

// What a FakeEngine answers and what it saw. generate() picks its text in this order: the next of
// `replies` ("<cancelled>" answers StopReason::Cancelled), else `reply(prompt, options)`, else
// outputs[seed % outputs.size()].
struct FakeScript {
  std::deque<std::string> replies;
  std::function<std::string(const std::vector<int32_t>& prompt, const DecodeOptions& options)> reply;
  std::vector<std::string> outputs = {"total"};
  int step_ms = 0;             // sleep per step (one step per block of gen_length)
  bool end_with_eos = false;   // append the model's EOS id to the tokens
  bool cap_to_length = false;  // cut the tokens to gen_length + extend_max
  std::deque<double> confidences;  // stats.min_confidence of each call, in order (then 1); below
                                   // options.stop_below_confidence the call stops as Unsure

  std::atomic<int> calls{0};
  std::atomic<int> cancelled_calls{0};
  // Appended under `mutex` by the decoding thread; read them once decoding is done.
  std::mutex mutex;
  std::vector<std::vector<int32_t>> prompts;
  std::vector<DecodeOptions> options_seen;
};

class FakeEngine : public Engine {
 public:
  // The bundled model's tokenizer and config (its weights are never read).
  explicit FakeEngine(FakeScript& script) : script_(script) {
    ModelFiles files = locate_model_files(bundled_model_dir());
    owned_tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_file(files.tokenizer_json_path));
    tokenizer_ = owned_tokenizer_.get();
    config_ = files.config;
    tokenizer_config_ = files.tokenizer_config;
  }
  // Any tokenizer (borrowed: it must outlive the engine) and config.
  FakeEngine(FakeScript& script, const Tokenizer& tokenizer, ModelConfig config, TokenizerConfig tokenizer_config)
      : script_(script), tokenizer_(&tokenizer), config_(std::move(config)), tokenizer_config_(std::move(tokenizer_config)) {}

  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  const ModelConfig& config() const override { return config_; }
  const TokenizerConfig& tokenizer_config() const override { return tokenizer_config_; }
  std::string description() const override { return "fake engine"; }

  DecodeResult generate(const std::vector<int32_t>& prompt, const DecodeOptions& options,
                        const CancelCheck& cancel) override {
    ++script_.calls;
    std::string text;
    bool have_text = false;
    double confidence = 1.0;
    {
      std::lock_guard lock(script_.mutex);
      script_.prompts.push_back(prompt);
      script_.options_seen.push_back(options);
      if (!script_.confidences.empty()) {
        confidence = script_.confidences.front();
        script_.confidences.pop_front();
      }
      if (!script_.replies.empty()) {
        text = script_.replies.front();
        script_.replies.pop_front();
        have_text = true;
      }
    }
    DecodeResult result;
    result.stats.prompt_tokens = static_cast<int>(prompt.size());
    result.stats.prompt_tokens_computed = static_cast<int>(prompt.size());
    result.stats.min_confidence = confidence;
    if (have_text && text == "<cancelled>") {
      ++script_.cancelled_calls;
      result.stop = StopReason::Cancelled;
      return result;
    }
    int block = config_.block_size > 0 ? static_cast<int>(config_.block_size) : 4;
    for (int step = 0; step < std::max(1, options.gen_length / block); ++step) {
      if (cancel && cancel()) {
        ++script_.cancelled_calls;
        result.stop = StopReason::Cancelled;
        return result;
      }
      if (script_.step_ms) std::this_thread::sleep_for(std::chrono::milliseconds(script_.step_ms));
      ++result.stats.forwards;
    }
    if (!have_text) {
      if (script_.reply) text = script_.reply(prompt, options);
      else if (!script_.outputs.empty()) text = script_.outputs[options.seed % script_.outputs.size()];
      else throw std::logic_error("fake engine: no reply scripted");
    }
    result.tokens = tokenizer_->encode(text);
    result.text = text;
    if (script_.cap_to_length) {
      size_t cap = static_cast<size_t>(std::max(0, options.gen_length + options.extend_max));
      if (result.tokens.size() > cap) {
        result.tokens.resize(cap);
        result.text = tokenizer_->decode(result.tokens);
      }
    }
    result.stats.generated_tokens = static_cast<int>(result.tokens.size());
    if (script_.end_with_eos) result.tokens.push_back(config_.eos_token_id);
    // A real decoder would have stopped at its first unsure token; the scripted text stands in
    // for what it had committed by then.
    bool unsure = options.stop_below_confidence > 0 && confidence < options.stop_below_confidence;
    result.stop = unsure ? StopReason::Unsure : StopReason::Eos;
    return result;
  }

  DecodeResult generate_autoregressive(const std::vector<int32_t>& prompt, int max_new_tokens,
                                       const CancelCheck& cancel) override {
    DecodeOptions options;
    options.gen_length = max_new_tokens;
    return generate(prompt, options, cancel);
  }

 private:
  FakeScript& script_;
  std::unique_ptr<Tokenizer> owned_tokenizer_;
  const Tokenizer* tokenizer_ = nullptr;
  ModelConfig config_;
  TokenizerConfig tokenizer_config_;
};

// A FakeEngine that owns its script: engine.replies, engine.prompts, engine.calls, ...
class ScriptedFakeEngine : public FakeScript, public FakeEngine {
 public:
  ScriptedFakeEngine() : FakeEngine(static_cast<FakeScript&>(*this)) {}
  ScriptedFakeEngine(const Tokenizer& tokenizer, ModelConfig config, TokenizerConfig tokenizer_config)
      : FakeEngine(static_cast<FakeScript&>(*this), tokenizer, std::move(config), std::move(tokenizer_config)) {}
};

}  // namespace maskfill::testing
