// One training stage: AdamW, linear warmup then cosine LR, gradient clipping, packed windows that
// start at sample boundaries, periodic validation, checkpoints with resume, a CSV log and a
// progress line. A step never waits for the device (issue #20): the next batch is drawn and its
// noise made on the CPU while it runs, the optimizer works on every tensor at once
// (MultiTensorAdamW), and the loss is read back only every `log_every` steps.
#pragma once

#include <string>

#include "inference/torch/transformer.h"
#include "training/torch/objectives.h"
#include "training/torch/train_data.h"

namespace maskfill::training {

enum class Objective { Autoregressive, BlockDiffusion };

// The training context by default: what the editor puts in one forward. A FIM completion is
// prefix 384 + suffix 128 + 3 sentinels + up to 128 generated tokens = 643 positions
// (infill/completer.h, the eval's extension cap); an instruction edit is the chat template,
// the instruction, the span and its rewrite, which fits 1,024 for spans up to about 400 tokens.
constexpr int64_t kEditorContext = 1024;

struct StageOptions {
  std::string name = "stage";
  Objective objective = Objective::BlockDiffusion;
  int64_t steps = 1000;
  int64_t batch = 16;
  int64_t seq_len = kEditorContext;
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
  // "fp32", or "bf16": the model's weights and activations in bf16, the optimizer's fp32 master
  // weights updated and rounded into them (what a GPU's bf16 matrix units want).
  std::string precision = "fp32";
  int64_t log_every = 10;               // steps between log lines: reading the loss waits for the device
  // Rows per forward (0 = the whole batch): a step of `batch` rows accumulates the gradients of
  // batch / micro_batch forwards, so a large step fits the device's memory.
  int64_t micro_batch = 0;
  double peak_tflops = 0;  // the device's dense bf16 (or fp32) peak: the summary's MFU (0 = none)
  double max_seconds = 0;               // wall-clock cap (0 = none): the stage ends early, saved
  std::string out_dir;                  // log.csv, checkpoint/ (model.pt, optimizer.pt, state.json)
};

struct StageResult {
  int64_t steps = 0;      // steps actually run (fewer than asked if max_seconds cut the stage)
  double train_loss = 0;  // mean over the last 50 steps (plain per-token CE of predicted tokens)
  double val_loss = 0;    // validation objective at the end (see validation_loss)
  double seconds = 0;
  double tokens_per_s = 0;       // training tokens (rows x seq_len) per second over the stage
  double model_tflops_per_s = 0;  // training_flops() of the steps run, per second
  double mfu = 0;                // model_tflops_per_s / peak_tflops (0 without a peak)
};

// The model FLOPs of one training step, forward and backward (3x the forward's): every linear
// layer at each position of the forward (2 per token of the batch for block diffusion, which
// runs the noisy and the clean copy), attention over the keys a position may see (half the
// window on average, block-causal or causal), and the output layer at the predicted positions
// only. `predicted`: the tokens the loss was computed on in that step.
double training_flops(const ModelConfig& config, Objective objective, int64_t rows, int64_t seq_len, double predicted);

// `fim`: pretraining samples turned into SPM FIM when batches are drawn (rate 0 for SFT).
StageResult run_stage(Transformer& model, const TokenStream& train, const TokenStream& validation,
                      const StageOptions& options, int32_t mask_id, const FimOptions& fim = {});

// One step's gradients, `options.micro_batch` rows per forward, each micro-batch's loss weighted
// by its share of the rows; returns the step's mean token loss, a device scalar.
// `predicted`, when given, gains the tokens the loss covered (a device scalar).
torch::Tensor accumulate_gradients(Transformer& model, const Batch& batch, const StageOptions& options,
                                   const NoiseSchedule& schedule, int32_t mask_id, torch::Generator& generator,
                                   torch::Tensor* predicted = nullptr);

// Validation: AR = mean next-token CE; block diffusion = the ELBO per maskable token (per
// response token in SFT) under `schedule` with a fixed seed (the same noise for every call).
// The default schedule is NoiseSchedule::elbo: u ~ U(0,1), no clipping, no forced mask, 1/u
// weight, an unbiased estimate of the ELBO.
double validation_loss(Transformer& model, const std::vector<Batch>& batches, Objective objective, int32_t mask_id,
                       const NoiseSchedule& schedule);

}  // namespace maskfill::training
