// The engine-independent parts of batching: the fallback batch for engines that cannot batch
// (each sequence decoded alone by Engine::generate) and generate_together.
#include <map>
#include <memory>
#include <stdexcept>

#include "inference/engine.h"
#include "inference/text_stream.h"

namespace maskfill {
namespace {

// Decodes each sequence alone, one whole sequence per step(). Keeps the DecodeBatch contract
// (handles, committed, take) for engines such as test fakes and remote backends.
class SequentialBatch final : public DecodeBatch {
 public:
  explicit SequentialBatch(Engine& engine) : engine_(engine) {}

  int add(const std::vector<int32_t>& prompt, const DecodeOptions& options, CancelCheck cancel) override {
    int handle = next_handle_++;
    sequences_[handle] = {prompt, options, std::move(cancel), {}, false};
    return handle;
  }

  int step() override {
    for (auto& [handle, sequence] : sequences_) {
      if (sequence.done) continue;
      sequence.result = engine_.generate(sequence.prompt, sequence.options, sequence.cancel);
      sequence.done = true;
      break;
    }
    return active();
  }

  int active() const override {
    int count = 0;
    for (const auto& [handle, sequence] : sequences_) count += !sequence.done;
    return count;
  }

  bool finished(int handle) const override { return find(handle).done; }

  std::vector<int32_t> committed(int handle) const override {
    const Sequence& sequence = find(handle);
    return sequence.done ? sequence.result.tokens : std::vector<int32_t>{};
  }

  DecodeResult take(int handle) override {
    Sequence sequence = std::move(const_cast<Sequence&>(find(handle)));
    sequences_.erase(handle);
    if (!sequence.done) {
      sequence.result.stop = StopReason::Cancelled;
      sequence.result.stats.prompt_tokens = int(sequence.prompt.size());
    }
    return std::move(sequence.result);
  }

 private:
  struct Sequence {
    std::vector<int32_t> prompt;
    DecodeOptions options;
    CancelCheck cancel;
    DecodeResult result;
    bool done = false;
  };
  const Sequence& find(int handle) const {
    auto it = sequences_.find(handle);
    if (it == sequences_.end()) throw std::invalid_argument("unknown sequence handle " + std::to_string(handle));
    return it->second;
  }
  Engine& engine_;
  std::map<int, Sequence> sequences_;
  int next_handle_ = 1;
};

}  // namespace

std::unique_ptr<DecodeBatch> Engine::start_batch() { return std::make_unique<SequentialBatch>(*this); }

std::vector<DecodeResult> generate_together(Engine& engine, const std::vector<SequenceRequest>& requests,
                                            const CancelCheck& cancel) {
  // A sequence with stop strings is watched after every step, as the serve batcher watches its
  // sequences; once its committed text holds one, its own flag ends it before the next forward.
  struct Watched {
    int handle = 0;
    std::unique_ptr<TextStream> text;
    std::shared_ptr<bool> stop_hit = std::make_shared<bool>(false);
  };
  auto batch = engine.start_batch();
  std::vector<Watched> sequences(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const SequenceRequest& request = requests[i];
    Watched& watched = sequences[i];
    CancelCheck check = cancel;
    if (!request.options.stop.empty()) {
      watched.text = std::make_unique<TextStream>(engine.tokenizer(), request.options.stop, 0);
      check = [cancel, stop_hit = watched.stop_hit] { return *stop_hit || (cancel && cancel()); };
    }
    watched.handle = batch->add(request.prompt, request.options, std::move(check));
  }
  while (batch->active() > 0) {
    batch->step();
    for (Watched& watched : sequences) {
      if (!watched.text || *watched.stop_hit || batch->finished(watched.handle)) continue;
      watched.text->update(batch->committed(watched.handle), false);
      *watched.stop_hit = watched.text->stop_hit();
    }
  }
  std::vector<DecodeResult> results;
  for (Watched& watched : sequences) {
    DecodeResult result = batch->take(watched.handle);
    // A stop string in the last step's tokens (or from an engine that commits only at the end).
    if (watched.text && !*watched.stop_hit && result.stop != StopReason::Cancelled) watched.text->update(result.tokens, true);
    // An unsure stop stays one: its tokens are a partial answer, whatever they hold.
    if (watched.text && watched.text->stop_hit() && result.stop != StopReason::Unsure) {
      result.stop = StopReason::StopString;
      result.text = watched.text->text();
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace maskfill
