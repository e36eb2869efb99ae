#include "inference/torch/decoding.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>

namespace maskfill {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() {
  // (k + 0.5) / 2^52 keeps the value strictly inside (0, 1), so -log(u) is finite and non-zero.
  return (double(next() >> 12) + 0.5) * (1.0 / 4503599627370496.0);
}

std::vector<int> transfer_schedule(int masks, int steps) {
  std::vector<int> schedule(steps, steps ? masks / steps : 0);
  for (int i = 0; i < (steps ? masks % steps : 0); ++i) ++schedule[i];
  return schedule;
}

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

torch::Tensor as_tensor(const std::vector<int64_t>& ids, int64_t begin, int64_t end, torch::Device device) {
  return torch::tensor(std::vector<int64_t>(ids.begin() + begin, ids.begin() + end), torch::kLong).to(device);
}

torch::Tensor uniform_like(SplitMix64& rng, int64_t rows, int64_t cols) {
  auto out = torch::empty({rows, cols}, torch::kFloat64);
  double* data = out.data_ptr<double>();
  for (int64_t i = 0; i < rows * cols; ++i) data[i] = rng.uniform();
  return out;
}

// One denoising step's choice: which masked slots of the block to commit, and to what.
struct StepChoice {
  std::vector<int64_t> positions;  // offsets inside the block
  std::vector<int64_t> tokens;
};

StepChoice choose_tokens(const torch::Tensor& logits_f32, const std::vector<bool>& masked, int k,
                         const DecodeOptions& options, SplitMix64& rng) {
  auto logits = logits_f32.to(torch::kCPU).to(torch::kFloat64);
  const int64_t n = logits.size(0), vocab = logits.size(1);
  torch::Tensor x0;
  if (options.temperature > 0) {
    // Official add_gumbel_noise: exp(logits) / (-log u)^T in float64, then argmax.
    auto gumbel = torch::pow(-torch::log(uniform_like(rng, n, vocab)), options.temperature);
    x0 = (logits.exp() / gumbel).argmax(-1);
  } else {
    x0 = logits.argmax(-1);
  }
  torch::Tensor confidence;
  if (options.remasking == Remasking::LowConfidence) {
    confidence = torch::softmax(logits, -1).gather(-1, x0.unsqueeze(-1)).squeeze(-1);
  } else {
    confidence = uniform_like(rng, n, 1).squeeze(-1);
  }
  auto x0_data = x0.accessor<int64_t, 1>();
  auto conf = confidence.accessor<double, 1>();
  std::vector<std::pair<double, int64_t>> ranked;  // (confidence, position) of masked slots
  for (int64_t i = 0; i < n; ++i)
    if (masked[i]) ranked.push_back({conf[i], i});
  // torch.topk order: descending confidence, ties by lower index.
  std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });
  StepChoice choice;
  for (size_t r = 0; r < ranked.size(); ++r) {
    bool take = options.threshold ? (r == 0 || ranked[r].first >= *options.threshold) : int(r) < k;
    if (!take) continue;
    choice.positions.push_back(ranked[r].second);
    choice.tokens.push_back(x0_data[ranked[r].second]);
  }
  return choice;
}

class BudgetGuard {
 public:
  BudgetGuard(const DecodeOptions& options, const CancelCheck& cancel) : options_(options), cancel_(cancel) {}
  // Returns the reason to stop before the next forward, if any.
  std::optional<StopReason> check(int forwards) const {
    if (cancel_ && cancel_()) return StopReason::Cancelled;
    if (options_.max_forwards > 0 && forwards >= options_.max_forwards) return StopReason::Budget;
    if (options_.max_ms > 0 && ms_since(start_) >= options_.max_ms) return StopReason::Budget;
    return std::nullopt;
  }

 private:
  const DecodeOptions& options_;
  const CancelCheck& cancel_;
  Clock::time_point start_ = Clock::now();
};

void finish_result(DecodeResult& result, const std::vector<int64_t>& x, size_t prompt_len, int32_t mask_id,
                   int32_t eos_id) {
  for (size_t i = prompt_len; i < x.size(); ++i) {
    if (x[i] == mask_id) break;
    ++result.stats.generated_tokens;
    if (x[i] == eos_id) break;
  }
  for (size_t i = prompt_len; i < x.size() && x[i] != mask_id && x[i] != eos_id; ++i)
    result.tokens.push_back(int32_t(x[i]));
}

}  // namespace

DecodeResult generate_block_diffusion(Transformer& model, const std::vector<int32_t>& prompt,
                                      const DecodeOptions& options, DiffusionTokens special,
                                      const CancelCheck& cancel) {
  torch::NoGradGuard no_grad;
  const auto& config = model->config();
  const int64_t B = options.block_length > 0 ? options.block_length : config.block_size;
  const int64_t gen = options.gen_length;
  if (gen <= 0 || gen % B) throw std::invalid_argument("gen_length must be a positive multiple of the block length");
  const int64_t block_count = gen / B;
  const int64_t steps = options.steps > 0 ? options.steps : gen;
  if (steps % block_count) throw std::invalid_argument("steps must be a multiple of gen_length / block_length");
  const int steps_per_block = int(steps / block_count);
  const int64_t P = int64_t(prompt.size());
  if (P == 0) throw std::invalid_argument("the prompt is empty");
  if (P + gen + options.extend_max > config.max_position_embeddings)
    throw std::invalid_argument("prompt plus generation (" + std::to_string(P + gen + options.extend_max) +
                                " tokens) exceeds the model's context of " +
                                std::to_string(config.max_position_embeddings));
  const auto device = model->lm_head->weight.device();

  // Block sizes: when the prompt ends inside an aligned block, the first "block" completes it
  // and the last one is shortened, so every forward covers exactly one aligned block.
  const int64_t r = P % B;
  std::vector<int64_t> blocks(block_count, B);
  if (r) {
    blocks.insert(blocks.begin(), B - r);
    blocks.back() = r;
  }
  std::vector<int64_t> x(prompt.begin(), prompt.end());
  x.resize(P + gen, special.mask_id);

  DecodeResult result;
  result.stats.prompt_tokens = int(P);
  BudgetGuard budget(options, cancel);
  SplitMix64 rng(options.seed);
  KVCache cache;
  cache.reserve(P + gen + options.extend_max, config, device, model->lm_head->weight.scalar_type());

  auto t0 = Clock::now();
  const int64_t prefill_len = (P / B) * B;
  if (prefill_len > 0) {
    auto mask = attention_mask(config.attention, B, 0, prefill_len, prefill_len, device);
    model->forward_cached(as_tensor(x, 0, prefill_len, device), cache, mask, /*commit=*/true);
  }
  result.stats.prefill_ms = ms_since(t0);
  auto t1 = Clock::now();

  int64_t end = P, extended = 0;
  result.stop = StopReason::Length;
  bool stopped = false;
  for (size_t b = 0; !stopped; ++b) {
    if (b >= blocks.size()) {
      // Extension: every mask was filled without EOS; add another block while allowed.
      if (extended + B > options.extend_max) break;
      x.resize(x.size() + B, special.mask_id);
      blocks.push_back(B);
      extended += B;
    }
    const int64_t start = b == 0 ? prefill_len : end;
    end = (b == 0 ? P : end) + blocks[b];
    auto masks_left = [&] {
      std::vector<bool> masked(end - start);
      for (int64_t i = start; i < end; ++i) masked[i - start] = x[i] == special.mask_id;
      return masked;
    };
    int mask_count = int(std::count(x.begin() + start, x.begin() + end, int64_t(special.mask_id)));
    std::vector<int> schedule = transfer_schedule(mask_count, steps_per_block);
    // Loops until the block has no masks: the reference stops after `steps_per_block` steps
    // even when a threshold left masks behind (its known edge case); here a block always ends full.
    for (int step = 0; mask_count > 0; ++step) {
      int k = step < steps_per_block ? schedule[step] : 1;
      if (k == 0) k = 1;
      if (auto reason = budget.check(result.stats.forwards)) {
        result.stop = *reason;
        stopped = true;
        break;
      }
      auto logits = model->forward_cached(as_tensor(x, start, end, device), cache, {}, /*commit=*/false);
      ++result.stats.forwards;
      StepChoice choice = choose_tokens(logits, masks_left(), k, options, rng);
      for (size_t i = 0; i < choice.positions.size(); ++i) x[start + choice.positions[i]] = choice.tokens[i];
      mask_count -= int(choice.positions.size());
    }
    if (stopped) break;
    if (options.stop_at_eos) {
      // Scan from max(start, P): the first block may hold the prompt's tail, and chat prompts
      // contain EOS tokens themselves.
      auto eos = std::find(x.begin() + std::max(start, P), x.begin() + end, int64_t(special.eos_id));
      if (eos != x.begin() + end) {
        x.resize(end);
        std::fill(eos, x.end(), int64_t(special.eos_id));
        result.stop = StopReason::Eos;
        break;
      }
    }
    // Commit pass: recompute the finished block with its final tokens and keep its K/V.
    model->forward_cached(as_tensor(x, start, end, device), cache, {}, /*commit=*/true);
    ++result.stats.forwards;
  }
  result.stats.decode_ms = ms_since(t1);
  finish_result(result, x, size_t(P), special.mask_id, special.eos_id);
  return result;
}

DecodeResult generate_greedy_autoregressive(Transformer& model, const std::vector<int32_t>& prompt,
                                            int max_new_tokens, int32_t eos_id, const CancelCheck& cancel) {
  torch::NoGradGuard no_grad;
  const auto& config = model->config();
  const auto device = model->lm_head->weight.device();
  const int64_t P = int64_t(prompt.size());
  if (P == 0) throw std::invalid_argument("the prompt is empty");
  if (P + max_new_tokens > config.max_position_embeddings)
    throw std::invalid_argument("prompt plus generation exceeds the model's context");
  DecodeResult result;
  result.stats.prompt_tokens = int(P);
  KVCache cache;
  cache.reserve(P + max_new_tokens, config, device, model->lm_head->weight.scalar_type());
  std::vector<int64_t> x(prompt.begin(), prompt.end());
  auto t0 = Clock::now();
  auto mask = attention_mask(AttentionMode::Causal, 1, 0, P, P, device);
  auto logits = model->forward_cached(as_tensor(x, 0, P, device), cache, mask, true);
  result.stats.prefill_ms = ms_since(t0);
  auto t1 = Clock::now();
  result.stop = StopReason::Length;
  for (int i = 0; i < max_new_tokens; ++i) {
    // Logit shift: the last position's logits predict the next token.
    int64_t next = logits[-1].argmax().item<int64_t>();
    x.push_back(next);
    ++result.stats.generated_tokens;
    if (next == eos_id) {
      result.stop = StopReason::Eos;
      break;
    }
    result.tokens.push_back(int32_t(next));
    if (i + 1 == max_new_tokens) break;
    if (cancel && cancel()) {
      result.stop = StopReason::Cancelled;
      break;
    }
    logits = model->forward_cached(torch::tensor({next}, torch::kLong).to(device), cache, {}, true);
    ++result.stats.forwards;
  }
  result.stats.decode_ms = ms_since(t1);
  return result;
}

}  // namespace maskfill
