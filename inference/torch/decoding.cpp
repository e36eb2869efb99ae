#include "inference/torch/decoding.h"

#include "inference/torch/transformer.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>

namespace maskfill {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += kGamma);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() {
  // (k + 0.5) / 2^52 keeps the value strictly inside (0, 1), so -log(u) is finite and non-zero.
  return (double(next() >> 12) + 0.5) * (1.0 / 4503599627370496.0);
}

void SplitMix64::skip(uint64_t calls) { state_ += calls * kGamma; }

torch::Tensor counter_uniforms(const SplitMix64& rng, const torch::Tensor& rows, int64_t cols) {
  // uint64 arithmetic in int64 tensors: + and * wrap identically in two's complement; right
  // shifts are arithmetic, so each is masked down to a logical one.
  auto logical_shift = [](const torch::Tensor& z, int bits) {
    return torch::bitwise_and(torch::bitwise_right_shift(z, bits), int64_t((uint64_t(1) << (64 - bits)) - 1));
  };
  auto as_signed = [](uint64_t value) { return static_cast<int64_t>(value); };
  auto options = torch::TensorOptions().dtype(torch::kLong).device(rows.device());
  auto calls = rows.to(torch::kLong).unsqueeze(1) * cols + torch::arange(cols, options).unsqueeze(0) + 1;
  auto z = calls * as_signed(SplitMix64::kGamma) + as_signed(rng.state());
  z = torch::bitwise_xor(z, logical_shift(z, 30)) * as_signed(0xBF58476D1CE4E5B9ull);
  z = torch::bitwise_xor(z, logical_shift(z, 27)) * as_signed(0x94D049BB133111EBull);
  z = torch::bitwise_xor(z, logical_shift(z, 31));
  return (logical_shift(z, 12).to(torch::kFloat64) + 0.5) * (1.0 / 4503599627370496.0);
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

}  // namespace

StepChoice choose_tokens(const torch::Tensor& logits_f32, const std::vector<bool>& masked, int k,
                         const DecodeOptions& options, SplitMix64& rng, int32_t mask_id) {
  const int64_t n = logits_f32.size(0), vocab = logits_f32.size(1);
  // Only masked positions are ever chosen, so everything per row (float64 logits, Gumbel noise,
  // softmax) is computed for those rows alone; each is row-wise, so the values are the same as
  // over the whole block. The random stream still advances over every row, as the reference's.
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i)
    if (masked[size_t(i)]) rows.push_back(i);
  // On the device path everything up to the choice stays where the logits are; the noise comes
  // from the counter form of the same stream, so only ids and confidences cross to the host.
  const bool on_device = step_rule_on_device();
  const torch::Device device = on_device ? logits_f32.device() : torch::Device(torch::kCPU);
  auto row_index = torch::tensor(rows, torch::kLong).to(device);
  auto logits = logits_f32.to(device).index_select(0, row_index).to(torch::kFloat64);
  // The mask id is never a prediction: scoring it out changes nothing unless it would win.
  auto scored = logits;
  if (mask_id >= 0 && mask_id < vocab) {
    scored = logits.clone();
    scored.select(1, mask_id).fill_(-std::numeric_limits<double>::infinity());
  }
  torch::Tensor x0;
  if (options.temperature > 0) {
    // Official add_gumbel_noise: exp(logits) / (-log u)^T in float64, then argmax.
    torch::Tensor uniforms;
    if (on_device) {
      uniforms = counter_uniforms(rng, row_index, vocab);
      rng.skip(uint64_t(n * vocab));
    } else {
      uniforms = uniform_like(rng, n, vocab).index_select(0, row_index);
    }
    auto gumbel = torch::pow(-torch::log(uniforms), options.temperature);
    x0 = (scored.exp() / gumbel).argmax(-1);
  } else {
    x0 = scored.argmax(-1);
  }
  torch::Tensor confidence, entropy;
  if (options.entropy_bound) {
    auto log_p = torch::log_softmax(logits, -1);
    entropy = (-(log_p.exp() * log_p).sum(-1)).to(torch::kCPU);
  }
  if (options.remasking == Remasking::LowConfidence) {
    auto sampled_from = options.sampled_confidence && options.temperature > 0 ? logits / options.temperature : logits;
    confidence = torch::softmax(sampled_from, -1).gather(-1, x0.unsqueeze(-1)).squeeze(-1).to(torch::kCPU);
  } else {
    confidence = uniform_like(rng, n, 1).squeeze(-1).index_select(0, row_index.to(torch::kCPU));
  }
  x0 = x0.to(torch::kCPU);
  auto x0_data = x0.accessor<int64_t, 1>();
  auto conf = confidence.accessor<double, 1>();
  std::vector<std::pair<double, int64_t>> ranked;  // (confidence, index into rows) of masked slots
  for (size_t r = 0; r < rows.size(); ++r) ranked.push_back({conf[int64_t(r)], int64_t(r)});
  // torch.topk order: descending confidence, ties by lower index.
  std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });
  StepChoice choice;
  double entropy_sum = 0, entropy_max = 0;
  for (size_t r = 0; r < ranked.size(); ++r) {
    bool take;
    if (options.entropy_bound) {
      const double h = entropy[ranked[r].second].item<double>();
      take = r == 0 || entropy_sum + h - std::max(entropy_max, h) <= *options.entropy_bound;
      if (!take) break;  // the budget only grows: later slots cannot fit either
      entropy_sum += h;
      entropy_max = std::max(entropy_max, h);
    } else {
      take = options.threshold ? (r == 0 || ranked[r].first >= *options.threshold) : int(r) < k;
    }
    if (!take) continue;
    choice.positions.push_back(rows[size_t(ranked[r].second)]);
    choice.tokens.push_back(x0_data[ranked[r].second]);
    choice.confidences.push_back(ranked[r].first);
  }
  return choice;
}

DiffusionSequence::DiffusionSequence(const ModelConfig& config, const std::vector<int32_t>& prompt,
                                     const DecodeOptions& options, DiffusionTokens special, CancelCheck cancel)
    : options_(options), special_(special), cancel_(std::move(cancel)), rng_(options.seed) {
  B_ = options.block_length > 0 ? options.block_length : config.block_size;
  const int64_t gen = options.gen_length;
  if (gen <= 0 || gen % B_) throw std::invalid_argument("gen_length must be a positive multiple of the block length");
  const int64_t block_count = gen / B_;
  const int64_t steps = options.steps > 0 ? options.steps : gen;
  if (steps % block_count) throw std::invalid_argument("steps must be a multiple of gen_length / block_length");
  if (options.extend_max < 0) throw std::invalid_argument("extend_max must not be negative");
  steps_per_block_ = int(steps / block_count);
  P_ = int64_t(prompt.size());
  if (P_ == 0) throw std::invalid_argument("the prompt is empty");
  const int64_t longest = P_ + gen + options.extend_max + B_;
  if (P_ + gen + options.extend_max > config.max_position_embeddings)
    throw std::invalid_argument("prompt plus generation (" + std::to_string(P_ + gen + options.extend_max) +
                                " tokens) exceeds the model's context of " +
                                std::to_string(config.max_position_embeddings));
  x_.assign(prompt.begin(), prompt.end());
  end_total_ = P_ + gen;
  x_.resize(end_total_, special.mask_id);
  x_.reserve(longest);
  prefill_len_ = (P_ / B_) * B_;
  result_.stats.prompt_tokens = int(P_);
  result_.stop = StopReason::Length;
  start_block(prefill_len_);
}

void DiffusionSequence::note_prefill(double ms, int64_t computed_tokens) {
  result_.stats.prefill_ms += ms;
  result_.stats.prompt_tokens_computed += int(computed_tokens);
  decode_started_ = Clock::now();
}

int DiffusionSequence::masks_in_block() const {
  return int(std::count(x_.begin() + start_, x_.begin() + end_, int64_t(special_.mask_id)));
}

// Blocks are aligned: [start, start + B) clipped to the generation's end. When the prompt ends
// inside a block, the first block completes it (the prompt's tail is recomputed each step).
void DiffusionSequence::start_block(int64_t start) {
  start_ = start;
  end_ = std::min(start - start % B_ + B_, end_total_);
  schedule_ = transfer_schedule(masks_in_block(), steps_per_block_);
  step_ = 0;
}

bool DiffusionSequence::ready_for_forward() {
  if (done_) return false;
  if (commit_pass_) return true;  // the official loop checks nothing before its commit pass
  std::optional<StopReason> reason;
  if (cancel_ && cancel_()) reason = StopReason::Cancelled;
  else if (options_.max_forwards > 0 && result_.stats.forwards >= options_.max_forwards) reason = StopReason::Budget;
  else if (options_.max_ms > 0 && ms_since(started_) >= options_.max_ms) reason = StopReason::Budget;
  if (!reason) return true;
  result_.stop = *reason;
  done_ = true;
  return false;
}

ForwardChunk DiffusionSequence::next_chunk(torch::Device device) {
  ForwardChunk chunk;
  chunk.cache = &cache_;
  if (commit_pass_) {  // reference schedule: recompute the finished block and keep its K/V
    chunk.ids = as_tensor(x_, start_, end_, device);
    chunk.commit = end_ - start_;
    chunk.logits_from = chunk.commit;
    return chunk;
  }
  // Fast schedule: the finished block rides along with the next block's first denoising forward.
  int64_t begin = pending_begin_ >= 0 ? pending_begin_ : start_;
  chunk.ids = as_tensor(x_, begin, end_, device);
  chunk.commit = start_ - begin;
  chunk.logits_from = chunk.commit;
  return chunk;
}

void DiffusionSequence::consume(const torch::Tensor& logits) {
  ++result_.stats.forwards;
  if (commit_pass_) {
    commit_pass_ = false;
    if (finish_after_commit_) done_ = true;
    else start_block(end_);
    return;
  }
  pending_begin_ = pending_end_ = -1;  // committed by this forward
  int k = step_ < steps_per_block_ ? schedule_[step_] : 1;
  ++step_;
  std::vector<bool> masked(end_ - start_);
  for (int64_t i = start_; i < end_; ++i) masked[i - start_] = x_[i] == special_.mask_id;
  StepChoice choice = choose_tokens(logits, masked, std::max(k, 1), options_, rng_, special_.mask_id);
  if (confidence_.size() < x_.size()) confidence_.resize(x_.size(), 1.0);
  for (size_t i = 0; i < choice.positions.size(); ++i) {
    x_[start_ + choice.positions[i]] = choice.tokens[i];
    // Random remasking ranks by noise, not belief: nothing to report.
    if (options_.remasking == Remasking::LowConfidence) confidence_[start_ + choice.positions[i]] = choice.confidences[i];
  }
  // Counted from the sequence itself, so a block is finished only when no mask is left in it.
  if (masks_in_block() == 0) block_finished();
  if (!done_ && options_.stop_below_confidence > 0 && kept_min_confidence() < options_.stop_below_confidence) {
    result_.stop = StopReason::Unsure;
    done_ = true;
  }
}

void DiffusionSequence::block_finished() {
  if (options_.stop_at_eos) {
    // Scan from max(start, P): the first block may hold the prompt's tail, and chat prompts
    // contain EOS tokens themselves.
    auto eos = std::find(x_.begin() + std::max(start_, P_), x_.begin() + end_, int64_t(special_.eos_id));
    if (eos != x_.begin() + end_) {
      x_.resize(end_);
      std::fill(eos, x_.end(), int64_t(special_.eos_id));
      result_.stop = StopReason::Eos;
      done_ = true;
      return;
    }
  }
  if (end_ == end_total_) {
    if (extended_ + B_ > options_.extend_max) {
      // The official loop commits even the last block; the fast schedule has no use for it.
      if (options_.reference_schedule) commit_pass_ = finish_after_commit_ = true;
      else done_ = true;
      return;
    }
    // Extension: every mask was filled without EOS. Add B masks; a partial aligned block is
    // completed in place (it is not in the cache yet), so attention blocks stay aligned.
    extended_ += B_;
    end_total_ += B_;
    x_.resize(end_total_, special_.mask_id);
    if (end_ % B_) {
      start_block(start_);
      return;
    }
  }
  if (options_.reference_schedule) {
    commit_pass_ = true;
  } else {
    pending_begin_ = start_;
    pending_end_ = end_;
    start_block(end_);
  }
}

// A committed token is never remasked, so the run of committed tokens after the prompt is final
// even inside an unfinished block.
std::vector<int32_t> DiffusionSequence::committed_tokens() const {
  std::vector<int32_t> out;
  for (int64_t i = P_; i < int64_t(x_.size()); ++i) {
    if (x_[i] == special_.eos_id || x_[i] == special_.mask_id) break;
    out.push_back(int32_t(x_[i]));
  }
  return out;
}

// The lowest confidence among the tokens the answer keeps so far: the committed run after the
// prompt, up to the first mask. The stopping EOS counts too: a model unsure where the text ends
// is unsure of the text.
double DiffusionSequence::kept_min_confidence() const {
  double lowest = 1.0;
  for (size_t i = size_t(P_); i < x_.size() && x_[i] != special_.mask_id; ++i) {
    if (i < confidence_.size()) lowest = std::min(lowest, confidence_[i]);
    if (x_[i] == special_.eos_id) break;
  }
  return lowest;
}

DecodeResult DiffusionSequence::result() const {
  DecodeResult result = result_;
  result.stats.decode_ms = ms_since(decode_started_);
  result.stats.min_confidence = kept_min_confidence();
  for (size_t i = size_t(P_); i < x_.size() && x_[i] != special_.mask_id; ++i) {
    ++result.stats.generated_tokens;
    if (x_[i] == special_.eos_id) break;
  }
  for (size_t i = size_t(P_); i < x_.size() && x_[i] != special_.mask_id && x_[i] != special_.eos_id; ++i)
    result.tokens.push_back(int32_t(x_[i]));
  return result;
}

void prefill_uncached(Transformer& model, DiffusionSequence& sequence, int64_t chunk_tokens) {
  torch::NoGradGuard no_grad;
  const auto device = model->lm_head->weight.device();
  const auto& config = model->config();
  const int64_t total = sequence.prefill_length();
  auto t0 = Clock::now();
  KVCache& cache = sequence.cache();
  cache.reserve(int64_t(sequence.ids().capacity()), config, device, model->lm_head->weight.scalar_type());
  if (total > 0 && chunk_tokens <= 0) {
    // The official loop: one forward over the whole aligned prompt with its block-causal mask.
    auto mask = attention_mask(config.attention, config.block_size, 0, total, total, device);
    model->forward_cached(as_tensor(sequence.ids(), 0, total, device), cache, mask, /*commit=*/true);
  }
  const int64_t block = std::max<int64_t>(1, config.block_size);
  chunk_tokens = std::max<int64_t>(block, chunk_tokens - chunk_tokens % block);
  for (int64_t done = cache.length; done < total; done += chunk_tokens) {
    int64_t n = std::min(chunk_tokens, total - done);
    std::vector<ForwardChunk> chunks(1);
    chunks[0].ids = as_tensor(sequence.ids(), done, done + n, device);
    chunks[0].cache = &cache;
    chunks[0].commit = n;
    chunks[0].logits_from = n;
    model->forward_chunks(chunks);
  }
  sequence.note_prefill(ms_since(t0), total);
}

DecodeResult generate_block_diffusion(Transformer& model, const std::vector<int32_t>& prompt,
                                      const DecodeOptions& options, DiffusionTokens special,
                                      const CancelCheck& cancel) {
  torch::NoGradGuard no_grad;
  const auto device = model->lm_head->weight.device();
  DiffusionSequence sequence(model->config(), prompt, options, special, cancel);
  prefill_uncached(model, sequence, options.reference_schedule ? 0 : prefill_chunk_tokens(device));
  while (sequence.ready_for_forward()) {
    std::vector<ForwardChunk> chunks{sequence.next_chunk(device)};
    auto logits = model->forward_chunks(chunks);
    sequence.consume(logits[0]);
  }
  return sequence.result();
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
