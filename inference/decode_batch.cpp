// The engine-independent parts of batching: the fallback batch for engines that cannot batch
// (each sequence decoded alone by Engine::generate) and generate_together.
#include <map>
#include <stdexcept>

#include "inference/engine.h"

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
  auto batch = engine.start_batch();
  std::vector<int> handles;
  for (const SequenceRequest& request : requests) handles.push_back(batch->add(request.prompt, request.options, cancel));
  while (batch->active() > 0) batch->step();
  std::vector<DecodeResult> results;
  for (int handle : handles) results.push_back(batch->take(handle));
  return results;
}

}  // namespace maskfill
