// The fake engine of the plan tests: the shared scripted fake (tests/support/fake_engine.h) with
// the Seed-Coder-style tokenizer fixture and its chat template; every call must be scripted (no
// default output).
#pragma once

#include "inference/chat_template.h"
#include "inference/model_files.h"
#include "test_support.h"
#include "tests/support/fake_engine.h"

namespace maskfill::test {

inline TokenizerConfig seed_coder_tokens() {
  TokenizerConfig config;
  config.bos_token = "<[begin▁of▁sentence]>";
  config.eos_token = "<[end▁of▁sentence]>";
  config.chat_template = seed_coder_chat_template();
  return config;
}

class SeedCoderFakeEngine final : public maskfill::testing::ScriptedFakeEngine {
 public:
  SeedCoderFakeEngine() : ScriptedFakeEngine(seedcoder_tokenizer(), ModelConfig{}, seed_coder_tokens()) {
    outputs.clear();
  }
};

}  // namespace maskfill::test
