// Creating, loading and exporting models in HF snapshot layout for the trainer.
#pragma once

#include <string>

#include "inference/torch/transformer.h"

namespace maskfill::training {

struct ModelShape {
  int64_t hidden = 256, layers = 4, heads = 4, kv_heads = 2, intermediate = 688, context = 2048;
};

// A fresh Stable-DiffCoder-architecture config for `vocab_size` (rounded up to a multiple of 64).
ModelConfig tiny_config(const ModelShape& shape, int64_t vocab_size, double rope_theta = 10000.0);

// Llama init (normal(0, 0.02) for matrices, ones for norms), seeded.
Transformer init_model(const ModelConfig& config, uint64_t seed);

// Loads a model directory written by export_model (or any HF Llama snapshot) for training.
Transformer load_model_for_training(const std::string& dir, AttentionMode attention);

// Writes config.json, model.safetensors (in `dtype`), tokenizer.json and tokenizer_config.json.
void export_model(const Transformer& model, const std::string& tokenizer_dir, const std::string& out_dir,
                  torch::Dtype dtype);

}  // namespace maskfill::training
