// SFT token stream: synthesized instruction edits (chat template) and FIM samples, each followed
// by 1-4 EOS (paper §4.1) and packed whole; only response tokens (and their EOS) are trainable.
// Every sample start is recorded (training windows begin there); samples longer than
// `max_sample_tokens` are left out (counted in the log), so none loses its instruction.
#pragma once

#include <string>

#include "inference/tokenizer.h"
#include "training/torch/train_data.h"

namespace maskfill::training {

TokenStream build_sft_stream(const std::string& corpus_dir, const Tokenizer& tokenizer,
                             const std::string& tokenizer_config_path, int64_t samples, uint64_t seed,
                             bool validation, int64_t max_sample_tokens);

}  // namespace maskfill::training
