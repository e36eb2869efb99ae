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
  void save(const std::string& path) const;
  static TokenStream load(const std::string& path);
};

// SPM fill-in-the-middle (Seed-Coder): <fim-suffix>S<fim-prefix>P<fim-middle>M<eos>, split at
// two random character positions (UTF-8 boundaries), so splits may fall inside words.
std::vector<int32_t> encode_spm_fim(const Tokenizer& tokenizer, const SpecialIds& special, const std::string& text,
                                    std::mt19937_64& rng);

// Documents of one corpus split, each followed by EOS; a `fim_rate` share as SPM FIM samples.
TokenStream build_pretraining_stream(const std::string& corpus_dir, bool validation, const Tokenizer& tokenizer,
                                     double fim_rate, uint64_t seed);

// Random windows of `length` tokens: ids [N, L] and trainable [N, L] (bool; all true if the
// stream has no trainable marks).
struct Batch {
  torch::Tensor ids, trainable;
};
Batch sample_batch(const TokenStream& stream, int64_t rows, int64_t length, std::mt19937_64& rng);
// Deterministic, evenly spaced windows for validation.
std::vector<Batch> validation_batches(const TokenStream& stream, int64_t batches, int64_t rows, int64_t length);

}  // namespace maskfill::training
