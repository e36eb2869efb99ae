#include "training/torch/trainer.h"

#include "training/torch/optimizer.h"

#include "common/json_fields.h"
#include "common/read_file.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

namespace maskfill::training {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double learning_rate(const StageOptions& o, int64_t step) {
  if (step < o.warmup_steps) return o.lr * double(step + 1) / double(o.warmup_steps);
  double progress = double(step - o.warmup_steps) / double(std::max<int64_t>(1, o.steps - o.warmup_steps));
  double cosine = 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
  return o.lr * (o.min_lr_ratio + (1.0 - o.min_lr_ratio) * cosine);
}

NoiseSchedule noise_at(const StageOptions& o, int64_t step, int64_t block) {
  NoiseSchedule schedule;
  schedule.block = block;
  if (o.corruption_warmup_steps > 0 && step < o.corruption_warmup_steps) {
    schedule.u_max = 1e-3 + (1.0 - 1e-3) * double(step) / double(o.corruption_warmup_steps);
    schedule.in_warmup = true;
  }
  return schedule;
}

// Weight decay on matrices only; norms are left alone (standard Llama practice). Master weights
// are taken from the model as it is now (fp32), before it is cast to bf16.
MultiTensorAdamW make_optimizer(Transformer& model, const StageOptions& o) {
  std::vector<MultiTensorAdamW::Param> params;
  for (auto& p : model->named_parameters()) params.push_back({p.value(), p.value().dim() >= 2 ? o.weight_decay : 0.0});
  MultiTensorAdamW::Options options;
  options.lr = o.lr;
  options.master_weights = o.precision == "bf16";
  return MultiTensorAdamW(params, options);
}

// Forward-path switches that hold for training: the attention kernel, the norm and RoPE in fewer
// ops. Not merged projections (copies of weights that change every step), nor the decoding-only
// ones.
FastPath training_fast_path(torch::Device device) {
  FastPath fast = default_fast_path(device);
  fast.merged_projections = fast.step_on_device = fast.cuda_graphs = fast.batched_attention = false;
  return fast;
}

struct Checkpointer {
  fs::path dir;
  int64_t load(Transformer& model, MultiTensorAdamW& optimizer) const {
    if (!fs::exists(dir / "state.json")) return 0;
    torch::load(model, (dir / "model.pt").string());
    optimizer.load((dir / "optimizer.pt").string());
    std::string path = (dir / "state.json").string();
    nlohmann::json state = parse_json_text(read_file(path), path);
    return JsonField(state, path).at("step").integer(0);
  }
  void save(Transformer& model, const MultiTensorAdamW& optimizer, int64_t step) const {
    fs::create_directories(dir);
    // Write then rename, so an interruption never leaves a half-written checkpoint behind.
    torch::save(model, (dir / "model.pt.tmp").string());
    optimizer.save((dir / "optimizer.pt.tmp").string());
    fs::rename(dir / "model.pt.tmp", dir / "model.pt");
    fs::rename(dir / "optimizer.pt.tmp", dir / "optimizer.pt");
    std::ofstream(dir / "state.json.tmp") << nlohmann::json{{"step", step}}.dump();
    fs::rename(dir / "state.json.tmp", dir / "state.json");
  }
};

void progress_line(const StageOptions& o, int64_t step, double loss, double lr, double tokens_per_s, double eta_s) {
  static const bool tty = isatty(STDERR_FILENO);
  int width = 30, filled = int(width * double(step + 1) / double(o.steps));
  std::fprintf(stderr, "%s[%s] [%s%s] %lld/%lld loss %.4f lr %.2e %.0f tok/s eta %.0fs%s", tty ? "\r" : "",
               o.name.c_str(), std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
               (long long)step + 1, (long long)o.steps, loss, lr, tokens_per_s, eta_s, tty ? "" : "\n");
}

}  // namespace

// Batches and noise are drawn on the CPU (cheap, and reproducible across devices), then moved.
static LossOut stage_loss(Transformer& model, const Batch& batch, Objective objective, const NoiseSchedule& schedule,
                   int32_t mask_id, torch::Generator& generator) {
  auto device = model->lm_head->weight.device();
  if (objective == Objective::Autoregressive)
    return autoregressive_loss(model, to_device(batch.ids, device), to_device(batch.trainable, device));
  NoisedBatch noised = add_block_noise(batch.ids, batch.trainable, schedule, mask_id, generator);
  return block_diffusion_loss(model, to_device(batch.ids, device), noised.to(device));
}

double training_flops(const ModelConfig& c, Objective objective, int64_t rows, int64_t seq_len, double predicted) {
  const double head_dim = double(c.head_dim > 0 ? c.head_dim : c.hidden_size / c.num_attention_heads);
  const double attention_width = double(c.num_attention_heads) * head_dim;
  const double kv_width = double(c.num_key_value_heads) * head_dim;
  // q, k, v, o and the gate, up and down projections.
  const double layer_weights = double(c.hidden_size) * (2 * attention_width + 2 * kv_width) +
                               3.0 * double(c.hidden_size) * double(c.intermediate_size);
  const double positions = double(rows) * double(seq_len) * (objective == Objective::BlockDiffusion ? 2.0 : 1.0);
  // Per position: 2 FLOPs a weight, and q·k plus p·v over seq_len / 2 keys.
  const double forward_per_position =
      double(c.num_hidden_layers) * (2 * layer_weights + 2 * 2 * attention_width * double(seq_len) / 2);
  const double head = 2.0 * double(c.hidden_size) * double(c.vocab_size) * predicted;
  return 3.0 * (positions * forward_per_position + head);
}

torch::Tensor accumulate_gradients(Transformer& model, const Batch& batch, const StageOptions& o,
                                   const NoiseSchedule& schedule, int32_t mask_id, torch::Generator& generator,
                                   torch::Tensor* predicted) {
  const int64_t rows = batch.ids.size(0);
  const int64_t micro = o.micro_batch > 0 ? std::min(o.micro_batch, rows) : rows;
  torch::Tensor token_loss;
  for (int64_t first = 0; first < rows; first += micro) {
    const int64_t n = std::min(micro, rows - first);
    Batch part{batch.ids.narrow(0, first, n),
               batch.trainable.defined() ? batch.trainable.narrow(0, first, n) : batch.trainable};
    LossOut out = stage_loss(model, n == rows ? batch : part, o.objective, schedule, mask_id, generator);
    const double share = double(n) / double(rows);
    (n == rows ? out.loss : out.loss * share).backward();
    token_loss = token_loss.defined() ? token_loss + out.token_loss * share
                                      : (n == rows ? out.token_loss : out.token_loss * share);
    if (predicted) *predicted = predicted->defined() ? *predicted + out.predicted.to(predicted->device()) : out.predicted;
  }
  return token_loss;
}

double validation_loss(Transformer& model, const std::vector<Batch>& batches, Objective objective, int32_t mask_id,
                       const NoiseSchedule& schedule) {
  torch::NoGradGuard no_grad;
  model->eval();
  torch::Generator generator = at::detail::createCPUGenerator(12345);
  double total = 0;
  for (const Batch& batch : batches) {
    LossOut out = stage_loss(model, batch, objective, schedule, mask_id, generator);
    total += (objective == Objective::Autoregressive ? out.token_loss : out.loss).item<double>();
  }
  model->train();
  return total / double(batches.size());
}

StageResult run_stage(Transformer& model, const TokenStream& train, const TokenStream& validation,
                      const StageOptions& o, int32_t mask_id, const FimOptions& fim) {
  fs::create_directories(o.out_dir);
  torch::Device device(o.device);
  if (o.precision != "fp32" && o.precision != "bf16")
    throw std::runtime_error("--precision must be fp32 or bf16, not '" + o.precision + "'");
  if (device.is_cuda()) at::globalContext().setAllowTF32CuBLAS(true);  // fp32 matrix products: TF32 is plenty
  model->to(device, torch::kFloat32);
  model->train();
  auto optimizer = make_optimizer(model, o);
  if (o.precision == "bf16") model->to(torch::kBFloat16);
  model->set_fast_path(training_fast_path(device));
  spdlog::info("[{}] {} on {}, switches {}", o.name, o.precision, device.str(), model->fast_path().describe());
  Checkpointer checkpointer{fs::path(o.out_dir) / "checkpoint"};
  int64_t first_step = checkpointer.load(model, optimizer);
  if (first_step > 0) spdlog::info("[{}] resuming at step {}", o.name, first_step);
  std::ofstream log(fs::path(o.out_dir) / "log.csv", first_step > 0 ? std::ios::app : std::ios::trunc);
  if (first_step == 0) log << "step,lr,loss,grad_norm,u_max,val_loss,tokens_per_s\n";

  // The data order depends on the step, so a resumed run sees what an uninterrupted one would.
  std::mt19937_64 rng(o.seed * 1000003 + first_step);
  torch::Generator generator = at::detail::createCPUGenerator(o.seed * 7919 + first_step);
  if (o.seq_len > model->config().max_position_embeddings)
    throw std::runtime_error("--seq-len " + std::to_string(o.seq_len) + " exceeds the model's context " +
                             std::to_string(model->config().max_position_embeddings));
  WindowSampler train_windows(train, o.seq_len, fim), validation_windows(validation, o.seq_len, fim);
  auto val_batches = validation_windows.fixed(o.eval_batches, o.batch);
  const int64_t block = model->config().block_size;
  const NoiseSchedule val_schedule = NoiseSchedule::elbo(block);
  StageResult result;
  auto start = Clock::now();
  // The next batch is drawn (FIM samples re-encoded) on another thread while this step runs; the
  // draws still happen in step order on one rng, so the data is the same as drawn inline.
  auto draw = [&](int64_t step) { return train_windows.sample(o.batch, rng, train_windows.epoch_of(step, o.batch)); };
  std::future<Batch> next;
  if (first_step < o.steps) next = std::async(std::launch::async, draw, first_step);
  std::deque<torch::Tensor> recent_losses;  // device scalars: read once, at the end
  torch::Tensor predicted;                   // tokens the loss covered over the stage, likewise
  for (int64_t step = first_step; step < o.steps; ++step) {
    double lr = learning_rate(o, step);
    optimizer.set_lr(lr);
    Batch batch = next.get();
    if (step + 1 < o.steps) next = std::async(std::launch::async, draw, step + 1);
    NoiseSchedule schedule = noise_at(o, step, block);
    optimizer.zero_grad();
    torch::Tensor token_loss = accumulate_gradients(model, batch, o, schedule, mask_id, generator, &predicted);
    torch::Tensor grad_norm = optimizer.clip_and_step(o.grad_clip);

    recent_losses.push_back(token_loss);
    if (recent_losses.size() > 50) recent_losses.pop_front();
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    bool evaluate = (step + 1) % o.eval_every == 0 || step + 1 == o.steps;
    bool out_of_time = o.max_seconds > 0 && elapsed > o.max_seconds;
    bool logged = evaluate || out_of_time || (step + 1) % std::max<int64_t>(1, o.log_every) == 0;
    if (logged) {
      // The one wait for the device in these steps: the figures of this step.
      const double loss = token_loss.item<double>(), norm = grad_norm.item<double>();
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      double tokens_per_s = double((step - first_step + 1) * o.batch * o.seq_len) / std::max(elapsed, 1e-9);
      double val = evaluate ? validation_loss(model, val_batches, o.objective, mask_id, val_schedule) : NAN;
      if (evaluate) result.val_loss = val;
      log << step + 1 << ',' << lr << ',' << loss << ',' << norm << ',' << schedule.u_max << ','
          << (evaluate ? std::to_string(val) : "") << ',' << tokens_per_s << '\n';
      log.flush();
      double eta = elapsed / double(step - first_step + 1) * double(o.steps - step - 1);
      progress_line(o, step, loss, lr, tokens_per_s, eta);
    }
    if ((step + 1) % o.checkpoint_every == 0 || step + 1 == o.steps || out_of_time)
      checkpointer.save(model, optimizer, step + 1);
    result.steps = step + 1;
    if (out_of_time) {
      spdlog::warn("[{}] time budget of {:.0f}s reached at step {} of {}", o.name, o.max_seconds, step + 1, o.steps);
      break;
    }
  }
  std::fprintf(stderr, "\n");
  if (result.steps == 0) result.steps = first_step;
  result.train_loss = recent_losses.empty()
                          ? NAN
                          : torch::stack(std::vector<torch::Tensor>(recent_losses.begin(), recent_losses.end()))
                                .to(torch::kFloat64)
                                .mean()
                                .item<double>();
  if (std::isnan(result.val_loss) || result.val_loss == 0)
    result.val_loss = validation_loss(model, val_batches, o.objective, mask_id, val_schedule);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // Throughput of the steps this run made (a resumed stage counts from where it resumed); the
  // validation passes are inside the time, as they are inside the budget.
  const int64_t steps_run = result.steps - first_step;
  if (steps_run > 0 && result.seconds > 0) {
    const double tokens = double(steps_run) * double(o.batch) * double(o.seq_len);
    const double flops = training_flops(model->config(), o.objective, o.batch * steps_run, o.seq_len,
                                        predicted.defined() ? predicted.to(torch::kFloat64).item<double>() : 0.0);
    result.tokens_per_s = tokens / result.seconds;
    result.model_tflops_per_s = flops / result.seconds / 1e12;
    if (o.peak_tflops > 0) result.mfu = result.model_tflops_per_s / o.peak_tflops;
  }
  return result;
}

}  // namespace maskfill::training
