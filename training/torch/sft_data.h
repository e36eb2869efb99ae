// SFT token stream: synthesized instruction edits (chat template) and FIM samples, each followed
// by 1-4 EOS (paper §4.1) and packed whole; only response tokens (and their EOS) are trainable.
// Every sample start is recorded (training windows begin there); samples longer than
// `max_sample_tokens` are left out (counted in the log), so none loses its instruction.
// A share of next-edit samples (training/next_edit_synth.h) may be mixed in: their prompts are
// built by the editor's planner, which needs the model's configuration.
#pragma once

#include <string>

#include "inference/model_files.h"
#include "inference/tokenizer.h"
#include "training/torch/train_data.h"

namespace maskfill::training {

struct SftMix {
  ModelConfig config;            // the model being trained (the planner reads its block size)
  double next_edit_share = 0;    // of all samples, while next-edit samples last
  int64_t max_next_edit_samples = 0;  // synthesized at most (train and validation together)
};

TokenStream build_sft_stream(const std::string& corpus_dir, const Tokenizer& tokenizer,
                             const std::string& tokenizer_config_path, const SftMix& mix, int64_t samples,
                             uint64_t seed, bool validation, int64_t max_sample_tokens);

}  // namespace maskfill::training
