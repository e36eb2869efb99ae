// One training stage: AdamW, linear warmup then cosine LR, gradient clipping, packed random
// windows, periodic validation, checkpoints with resume, a CSV log and a progress line.
#pragma once

#include <string>

#include "inference/torch/transformer.h"
#include "training/torch/objectives.h"
#include "training/torch/train_data.h"

namespace maskfill::training {

enum class Objective { Autoregressive, BlockDiffusion };

struct StageOptions {
  std::string name = "stage";
  Objective objective = Objective::BlockDiffusion;
  int64_t steps = 1000;
  int64_t batch = 16;
  int64_t seq_len = 256;
  double lr = 1e-3;
  double min_lr_ratio = 0.1;
  int64_t warmup_steps = 50;
  double weight_decay = 0.1;
  double grad_clip = 1.0;
  int64_t corruption_warmup_steps = 0;  // block diffusion: u_max rises 1e-3 -> 1 over these steps
  uint64_t seed = 1;
  int64_t checkpoint_every = 100;
  int64_t eval_every = 100;
  int64_t eval_batches = 4;
  std::string device = "cpu";           // "cpu" or "cuda": where the model and batches live
  double max_seconds = 0;               // wall-clock cap (0 = none): the stage ends early, saved
  std::string out_dir;                  // log.csv, checkpoint/ (model.pt, optimizer.pt, state.json)
};

struct StageResult {
  int64_t steps = 0;      // steps actually run (fewer than asked if max_seconds cut the stage)
  double train_loss = 0;  // mean over the last 50 steps (plain per-token CE of predicted tokens)
  double val_loss = 0;    // validation objective at the end (see validation_loss)
  double seconds = 0;
};

StageResult run_stage(Transformer& model, const TokenStream& train, const TokenStream& validation,
                      const StageOptions& options, int32_t mask_id);

// Validation: AR = mean next-token CE; block diffusion = the ELBO-weighted masked loss with
// u ~ U(0,1) per block under a fixed seed (the same noise for every call).
double validation_loss(Transformer& model, const std::vector<Batch>& batches, Objective objective, int32_t mask_id,
                       int64_t block);

}  // namespace maskfill::training
