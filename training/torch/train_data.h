// Token streams for the training stages: documents (or SFT samples) concatenated and packed,
// cached on disk so later stages and resumed runs don't re-tokenize.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "inference/tokenizer.h"

namespace maskfill::training {

struct SpecialIds {
  int32_t bos, eos, pad, mask, fim_prefix, fim_suffix, fim_middle;
  static SpecialIds from(const Tokenizer& tokenizer);  // throws if a special token is missing
};

struct TokenStream {
  std::vector<int32_t> ids;
  std::vector<uint8_t> trainable;  // empty = every token; else 1 where the loss/noise applies
  // Where each sample starts (sorted, starts[0] = 0). Training windows start only there, so a
  // window never begins inside a sample: an SFT response keeps its instruction, a FIM middle its
  // suffix and prefix (paper §4.1 packs whole samples). Empty = no boundaries (random windows).
  std::vector<uint64_t> starts;
  size_t samples() const { return starts.size(); }
  size_t sample_end(size_t i) const { return i + 1 < starts.size() ? starts[i + 1] : ids.size(); }
  void save(const std::string& path) const;
  static TokenStream load(const std::string& path);  // throws on a file of another format
};

// SPM fill-in-the-middle (Seed-Coder): <fim-suffix>S<fim-prefix>P<fim-middle>M, split at two
// random character positions (UTF-8 boundaries), so splits may fall inside words.
std::vector<int32_t> encode_spm_fim(const Tokenizer& tokenizer, const SpecialIds& special, const std::string& text,
                                    std::mt19937_64& rng);

// Documents of one corpus split cut into samples of at most `max_sample_tokens` tokens (at line
// ends where one is near the limit), each followed by EOS; consecutive samples of a document stay
// consecutive. FIM is applied when batches are drawn (WindowSampler), per sample, so a FIM
// sample always fits the training context and its split points are re-drawn every epoch.
TokenStream build_pretraining_stream(const std::string& corpus_dir, bool validation, const Tokenizer& tokenizer,
                                     int64_t max_sample_tokens);
// The same from in-memory documents (tests, measurements).
TokenStream pack_documents(const std::vector<std::string>& documents, const Tokenizer& tokenizer,
                           int64_t max_sample_tokens);

// ids [N, L] and trainable [N, L] (bool; all true if the stream has no trainable marks).
struct Batch {
  torch::Tensor ids, trainable;
};

// FIM accounting of drawn windows: middle tokens inside the windows, and how many of them have
// their whole suffix and prefix inside the same window (what infilling needs to be learned).
struct FimStats {
  uint64_t samples = 0, fim_samples = 0, middle_tokens = 0, middle_seeing_suffix = 0;
  double seeing_fraction() const { return middle_tokens ? double(middle_seeing_suffix) / double(middle_tokens) : 0; }
};

struct FimOptions {
  double rate = 0;                       // share of pretraining samples turned into SPM FIM
  const Tokenizer* tokenizer = nullptr;  // needed when rate > 0
  SpecialIds special{};
  uint64_t seed = 1;
};

// Windows of `length` tokens that start at sample starts and are filled with the following
// samples (packed; the last one cut at the window end). Pretraining samples become FIM with
// probability `fim.rate`, decided and split per (epoch, sample) from the seed: deterministic,
// resumable, and different every epoch.
class WindowSampler {
 public:
  WindowSampler(const TokenStream& stream, int64_t length, FimOptions fim = {});
  Batch sample(int64_t rows, std::mt19937_64& rng, int64_t epoch, FimStats* stats = nullptr) const;
  // Deterministic, evenly spaced windows (epoch 0's FIM) for validation.
  std::vector<Batch> fixed(int64_t batches, int64_t rows, FimStats* stats = nullptr) const;
  // The epoch a step is in: tokens drawn so far over the stream's size.
  int64_t epoch_of(int64_t step, int64_t rows) const;

 private:
  Batch windows(const std::vector<size_t>& first_samples, int64_t epoch, FimStats* stats) const;
  const TokenStream& stream_;
  int64_t length_;
  FimOptions fim_;
};

// The recipe before the fix, for the before/after figure only: FIM applied to whole documents
// (at `fim_rate`), then `windows` windows of `length` tokens at random offsets of the packed stream.
FimStats whole_document_fim_stats(const std::vector<std::string>& documents, const Tokenizer& tokenizer,
                                  double fim_rate, int64_t length, int64_t windows, uint64_t seed);

}  // namespace maskfill::training
