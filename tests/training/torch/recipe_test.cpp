// The training recipe's data and objectives (issue 14, part 1): windows aligned to samples, FIM per
// sample re-drawn every epoch, SFT samples whole, the unbiased diffusion ELBO for validation, and
// the output layer only where a token is predicted.
#include "training/torch/objectives.h"  // torch first: glog's CHECK must not replace Catch's
#include "training/torch/train_data.h"
#include "training/torch/model_io.h"
#include "training/torch/optimizer.h"
#include "training/torch/trainer.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "common/read_file.h"

using namespace maskfill;
using namespace maskfill::training;

namespace {

const Tokenizer& tiny_tokenizer() {
  static Tokenizer tokenizer = Tokenizer::from_file(MASKFILL_SOURCE_DIR "/models/maskfill-tiny/tokenizer.json");
  return tokenizer;
}

// Real source files, several times over with a numbered header, so some documents are long.
std::vector<std::string> documents() {
  std::vector<std::string> docs;
  for (const char* name : {"stats.py", "text_utils.py", "unfinished.py"}) {
    std::string text = maskfill::read_file(std::string(MASKFILL_SOURCE_DIR "/samples/python/") + name);
    for (int copy = 0; copy < 4; ++copy) docs.push_back("# copy " + std::to_string(copy) + "\n" + text);
  }
  return docs;
}

// Per row: every <fim-middle> has this sample's <fim-suffix> and <fim-prefix> earlier in the row
// (after the last EOS); returns the middle tokens seen and how many of them had both.
std::pair<int64_t, int64_t> middles_with_context(const torch::Tensor& ids, const SpecialIds& sp) {
  int64_t middle = 0, with_context = 0;
  auto a = ids.accessor<int64_t, 2>();
  for (int64_t r = 0; r < ids.size(0); ++r) {
    bool suffix = false, prefix = false, in_middle = false, ok = false;
    for (int64_t i = 0; i < ids.size(1); ++i) {
      int64_t t = a[r][i];
      if (t == sp.eos) suffix = prefix = in_middle = false;
      else if (t == sp.fim_suffix) suffix = true;
      else if (t == sp.fim_prefix) prefix = suffix;
      else if (t == sp.fim_middle) in_middle = true, ok = suffix && prefix;
      else if (in_middle) ++middle, with_context += ok;
    }
  }
  return {middle, with_context};
}

}  // namespace

TEST_CASE("pretraining samples fit the context and FIM middles always see their suffix") {
  const Tokenizer& tok = tiny_tokenizer();
  SpecialIds sp = SpecialIds::from(tok);
  const int64_t L = 128;
  TokenStream stream = pack_documents(documents(), tok, L - 8);
  REQUIRE(stream.samples() > 12);  // long documents were cut
  for (size_t i = 0; i < stream.samples(); ++i) {
    CHECK(stream.sample_end(i) - stream.starts[i] <= size_t(L - 8));
    CHECK(stream.ids[stream.sample_end(i) - 1] == sp.eos);
  }
  WindowSampler sampler(stream, L, FimOptions{0.5, &tok, sp, 7});
  std::mt19937_64 rng(3);
  FimStats stats;
  int64_t middle = 0, with_context = 0;
  std::set<int64_t> first_tokens;
  for (int i = 0; i < 20; ++i) {
    Batch b = sampler.sample(8, rng, 0, &stats);
    REQUIRE(b.ids.sizes() == torch::IntArrayRef({8, L}));
    auto [m, w] = middles_with_context(b.ids, sp);
    middle += m, with_context += w;
    for (int64_t r = 0; r < 8; ++r) first_tokens.insert(b.ids[r][0].item<int64_t>());
  }
  CHECK(stats.fim_samples > stats.samples / 4);
  CHECK(middle > 1000);
  CHECK(with_context == middle);  // every middle token in a window has its suffix and prefix there
  CHECK(stats.seeing_fraction() == 1.0);

  // The recipe before: whole documents FIM'd, random windows. Most middles lose their suffix.
  FimStats before = whole_document_fim_stats(documents(), tok, 0.5, L, 400, 7);
  CHECK(before.middle_tokens > 1000);
  CHECK(before.seeing_fraction() < 0.2);
}

TEST_CASE("FIM splits are deterministic within an epoch and re-drawn in the next") {
  const Tokenizer& tok = tiny_tokenizer();
  SpecialIds sp = SpecialIds::from(tok);
  TokenStream stream = pack_documents(documents(), tok, 120);
  WindowSampler sampler(stream, 128, FimOptions{1.0, &tok, sp, 11});
  auto draw = [&](int64_t epoch) {
    std::mt19937_64 rng(5);  // the same window starts
    return sampler.sample(16, rng, epoch).ids;
  };
  CHECK(torch::equal(draw(0), draw(0)));
  CHECK_FALSE(torch::equal(draw(0), draw(1)));
  CHECK(sampler.epoch_of(0, 16) == 0);
  CHECK(sampler.epoch_of(int64_t(stream.ids.size()) / (16 * 128) + 1, 16) == 1);
  // Validation windows are fixed.
  CHECK(torch::equal(sampler.fixed(2, 4)[1].ids, sampler.fixed(2, 4)[1].ids));
}

TEST_CASE("SFT windows start at a sample's prompt, never inside a response") {
  TokenStream stream;
  for (int s = 0; s < 50; ++s) {  // prompt 100+s (not trainable), response 20 (trainable), EOS
    stream.starts.push_back(stream.ids.size());
    for (int i = 0; i < 10 + s % 7; ++i) stream.ids.push_back(100 + s), stream.trainable.push_back(0);
    for (int i = 0; i < 20; ++i) stream.ids.push_back(500 + s), stream.trainable.push_back(1);
    stream.ids.push_back(2), stream.trainable.push_back(1);
  }
  WindowSampler sampler(stream, 64, {});
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20; ++i) {
    Batch b = sampler.sample(8, rng, 0);
    for (int64_t r = 0; r < 8; ++r) {
      CHECK(b.ids[r][0].item<int64_t>() >= 100);
      CHECK(b.ids[r][0].item<int64_t>() < 150);  // a prompt token
      CHECK_FALSE(b.trainable[r][0].item<bool>());
    }
  }
}

TEST_CASE("validation noise is the unbiased ELBO, training's clipped, forced schedule is not") {
  // E[sum over masked of 1/u] = number of maskable tokens exactly when u ~ U(0,1), nothing is
  // clipped and nothing is forced: the weighted masked count per token estimates 1.
  const int64_t rows = 64, L = 512;
  auto x0 = torch::randint(10, 100, {rows, L}, torch::kLong);
  torch::Generator g = at::detail::createCPUGenerator(42);
  auto weighted_rate = [&](const NoiseSchedule& s) {
    double total = 0;
    for (int i = 0; i < 20; ++i) {
      NoisedBatch n = add_block_noise(x0, {}, s, 5, g);
      total += (n.weight * n.masked.to(torch::kFloat32)).sum().item<double>() / double(x0.numel());
    }
    return total / 20;
  };
  NoiseSchedule training;  // clip + forced mask
  double unbiased = weighted_rate(NoiseSchedule::elbo(4)), biased = weighted_rate(training);
  CHECK(unbiased == Approx(1.0).epsilon(0.05));
  // The forced mask adds E[(1 - u_blk)^4 / u_blk] / 4 = 0.112 per token: an 11% upward bias.
  CHECK(biased == Approx(1.112).epsilon(0.03));
  NoisedBatch n = add_block_noise(x0, {}, NoiseSchedule::elbo(4), 5, g);
  CHECK(n.weight.max().item<double>() > 4.0);  // unclipped: u below 1/4 keeps its 1/u
  auto per_block = n.masked.view({rows, L / 4, 4}).any(-1);
  CHECK(per_block.logical_not().any().item<bool>());  // and a block may have no mask at all
}

TEST_CASE("block-diffusion loss computes logits only for masked noisy tokens, same value as the full head") {
  torch::manual_seed(0);
  ModelShape shape{64, 2, 2, 1, 128, 256};
  Transformer model = init_model(tiny_config(shape, 300), 3);
  const int64_t rows = 3, L = 32;
  auto x0 = torch::randint(10, 300, {rows, L}, torch::kLong);
  auto maskable = torch::ones({rows, L}, torch::kBool);
  maskable.narrow(1, 0, 12).fill_(false);  // an SFT-like prompt
  torch::Generator g = at::detail::createCPUGenerator(1);
  NoisedBatch n = add_block_noise(x0, maskable, NoiseSchedule{}, 5, g);
  torch::NoGradGuard no_grad;
  LossOut out = block_diffusion_loss(model, x0, n);

  // Reference: the full forward over [x_t, x_0] with logits everywhere.
  auto positions = torch::arange(L, torch::kLong).repeat({2});
  auto mask = block_diffusion_training_mask(L, model->config().block_size, torch::kCPU);
  auto logits = model->forward_full(torch::cat({n.noisy, x0}, 1), positions, mask).narrow(1, 0, L);
  auto ce = torch::nn::functional::cross_entropy(
                logits.reshape({-1, logits.size(-1)}), x0.reshape({-1}),
                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
                .view({rows, L});
  auto m = n.masked.to(torch::kFloat32);
  double expected = (ce * m * n.weight).sum().item<double>() / maskable.sum().item<double>();  // per response token
  CHECK(out.loss.item<double>() == Approx(expected).epsilon(1e-4));
  CHECK(out.predicted.item<int64_t>() == n.masked.sum().item<int64_t>());
  CHECK(n.selected.size(0) == n.masked.sum().item<int64_t>());
  CHECK(out.token_loss.item<double>() == Approx((ce * m).sum().item<double>() / m.sum().item<double>()).epsilon(1e-4));
  CHECK_FALSE((n.masked & maskable.logical_not()).any().item<bool>());

  // hidden_states + lm_head is forward_full.
  auto hidden = hidden_states(model, x0, torch::arange(L, torch::kLong),
                              attention_mask(AttentionMode::BlockCausal, 4, 0, L, L, torch::kCPU), L);
  auto full = model->forward_full(x0, torch::arange(L, torch::kLong),
                                  attention_mask(AttentionMode::BlockCausal, 4, 0, L, L, torch::kCPU));
  CHECK(torch::allclose(model->lm_head(hidden), full, 1e-4, 1e-5));
}

namespace {

// Two models with the same weights, and their parameters split into the trainer's two groups.
Transformer twin_model(const Transformer& model) {
  Transformer twin = init_model(model->config(), 99);
  torch::NoGradGuard no_grad;
  auto to = twin->parameters(), from = model->parameters();
  for (size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i]);
  return twin;
}

// The trainer's split: weight decay on matrices only, in the module's order.
std::vector<MultiTensorAdamW::Param> groups_of(Transformer& model, double weight_decay) {
  std::vector<MultiTensorAdamW::Param> params;
  for (auto& p : model->named_parameters()) params.push_back({p.value(), p.value().dim() >= 2 ? weight_decay : 0.0});
  return params;
}

// One step's gradients: the block-diffusion loss of a fixed batch (its noise drawn from `seed`).
torch::Tensor backward_once(Transformer& model, const torch::Tensor& x0, uint64_t seed) {
  torch::Generator g = at::detail::createCPUGenerator(seed);
  NoisedBatch n = add_block_noise(x0, torch::Tensor(), NoiseSchedule{}, 5, g);
  LossOut out = block_diffusion_loss(model, x0, n);
  out.loss.backward();
  return out.token_loss;
}

}  // namespace

TEST_CASE("the multi-tensor AdamW and its device-side clipping match torch's AdamW and clip_grad_norm_ bit for bit") {
  torch::manual_seed(0);
  Transformer reference = init_model(tiny_config(ModelShape{64, 2, 2, 1, 128, 256}, 300), 3);
  Transformer ours = twin_model(reference);
  const double decay = 0.1, clip = 0.05;  // a clip small enough to bite
  // The trainer's groups before: torch's AdamW with decay on matrices, none on norms.
  std::vector<torch::Tensor> matrices, vectors;
  for (auto& p : reference->named_parameters()) (p.value().dim() >= 2 ? matrices : vectors).push_back(p.value());
  auto options = torch::optim::AdamWOptions(1e-3).betas({0.9, 0.95}).eps(1e-8);
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  torch_groups.emplace_back(matrices, std::make_unique<torch::optim::AdamWOptions>(options.weight_decay(decay)));
  torch_groups.emplace_back(vectors, std::make_unique<torch::optim::AdamWOptions>(options.weight_decay(0.0)));
  torch::optim::AdamW torch_adamw(torch_groups, options);
  MultiTensorAdamW multi(groups_of(ours, decay), MultiTensorAdamW::Options{});
  auto x0 = torch::randint(10, 300, {2, 16}, torch::kLong);
  for (int step = 0; step < 4; ++step) {
    const double lr = 1e-3 * (step + 1);
    for (auto& group : torch_adamw.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    multi.set_lr(lr);
    torch_adamw.zero_grad();
    multi.zero_grad();
    backward_once(reference, x0, step);
    backward_once(ours, x0, step);
    const double torch_norm = torch::nn::utils::clip_grad_norm_(reference->parameters(), clip);
    torch_adamw.step();
    torch::Tensor norm = multi.clip_and_step(clip);
    CHECK(norm.item<double>() == torch_norm);
    auto a = reference->parameters(), b = ours->parameters();
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(torch::equal(a[i], b[i]));
  }
  // A checkpoint of its state resumes the same run.
  const std::string path = (std::filesystem::temp_directory_path() / "maskfill-adamw-state.pt").string();
  multi.save(path);
  Transformer resumed_model = twin_model(ours);
  MultiTensorAdamW resumed(groups_of(resumed_model, decay), MultiTensorAdamW::Options{});
  resumed.load(path);
  resumed.set_lr(2e-3);  // the learning rate is the schedule's, set every step
  multi.set_lr(2e-3);
  multi.zero_grad();
  for (Transformer* model : {&ours, &resumed_model}) backward_once(*model, x0, 9);
  multi.clip_and_step(clip);
  resumed.clip_and_step(clip);
  auto a = ours->parameters(), b = resumed_model->parameters();
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i], b[i]));
  // A state made for other parameters is refused with a message that says so.
  Transformer other = init_model(tiny_config(ModelShape{64, 1, 2, 1, 128, 256}, 300), 3);
  MultiTensorAdamW mismatched(groups_of(other, decay), MultiTensorAdamW::Options{});
  CHECK_THROWS_WITH(mismatched.load(path), Catch::Contains("this model and precision need"));
  std::filesystem::remove(path);
}

TEST_CASE("bf16 training keeps fp32 master weights and follows the fp32 run's losses") {
  torch::manual_seed(1);
  Transformer fp32 = init_model(tiny_config(ModelShape{64, 2, 2, 1, 128, 256}, 300), 3);
  Transformer bf16 = twin_model(fp32);
  MultiTensorAdamW::Options master;
  master.lr = 3e-3;
  master.master_weights = true;
  MultiTensorAdamW::Options plain = master;
  plain.master_weights = false;
  MultiTensorAdamW fp32_adamw(groups_of(fp32, 0.1), plain), bf16_adamw(groups_of(bf16, 0.1), master);
  bf16->to(torch::kBFloat16);  // after the masters were taken, as the trainer does
  auto x0 = torch::randint(10, 300, {4, 32}, torch::kLong);
  double first_fp32 = 0, first_bf16 = 0, last_fp32 = 0, last_bf16 = 0;
  for (int step = 0; step < 12; ++step) {
    fp32_adamw.zero_grad();
    bf16_adamw.zero_grad();
    // The same batch and noise every step: both runs fit it.
    const double a = backward_once(fp32, x0, 0).item<double>(), b = backward_once(bf16, x0, 0).item<double>();
    fp32_adamw.clip_and_step(1.0);
    bf16_adamw.clip_and_step(1.0);
    if (step == 0) first_fp32 = a, first_bf16 = b;
    last_fp32 = a, last_bf16 = b;
  }
  for (const auto& p : bf16->parameters()) CHECK(p.scalar_type() == torch::kBFloat16);
  CHECK(first_bf16 == Approx(first_fp32).epsilon(0.02));
  CHECK(last_fp32 < first_fp32 - 0.05);  // it learns...
  CHECK(last_bf16 == Approx(last_fp32).epsilon(0.03));  // ...and bf16 learns the same
}

TEST_CASE("hidden_states passes RoPE as the model's forward does, with the rope switch on or off") {
  torch::manual_seed(2);
  Transformer model = init_model(tiny_config(ModelShape{64, 2, 2, 1, 128, 256}, 300), 3);
  const int64_t L = 16;
  auto x0 = torch::randint(10, 300, {2, L}, torch::kLong);
  auto positions = torch::arange(L, torch::kLong);
  auto mask = attention_mask(AttentionMode::BlockCausal, 4, 0, L, L, torch::kCPU);
  torch::NoGradGuard no_grad;
  auto plain = model->lm_head(hidden_states(model, x0, positions, mask, L));
  model->set_fast_path(parse_fast_path("rope"));
  REQUIRE(model->fast_path().rope_once);
  auto switched = model->lm_head(hidden_states(model, x0, positions, mask, L));
  CHECK(torch::allclose(plain, switched, 1e-4, 1e-5));
  CHECK(torch::allclose(switched, model->forward_full(x0, positions, mask), 1e-4, 1e-5));
}

TEST_CASE("a step in micro-batches accumulates the whole batch's gradients") {
  torch::manual_seed(3);
  Transformer whole = init_model(tiny_config(ModelShape{64, 2, 2, 1, 128, 256}, 300), 3);
  Transformer parts = twin_model(whole);
  Batch batch{torch::randint(10, 300, {4, 32}, torch::kLong), torch::Tensor()};
  StageOptions options;
  options.objective = Objective::Autoregressive;  // no noise: both see the same tokens
  torch::Generator g = at::detail::createCPUGenerator(0);
  torch::Tensor whole_loss = accumulate_gradients(whole, batch, options, NoiseSchedule{}, 5, g);
  options.micro_batch = 3;  // 3 rows, then 1
  torch::Tensor parts_loss = accumulate_gradients(parts, batch, options, NoiseSchedule{}, 5, g);
  CHECK(parts_loss.item<double>() == Approx(whole_loss.item<double>()).epsilon(1e-5));
  auto a = whole->parameters(), b = parts->parameters();
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::allclose(a[i].grad(), b[i].grad(), 1e-4, 1e-6));
}

TEST_CASE("training FLOPs count the layers at every forward position and the head at predicted ones") {
  ModelConfig config = tiny_config(ModelShape{64, 2, 2, 1, 128, 256}, 300);
  // Per layer: q and o 64 x 64, k and v 64 x 32, gate, up and down 64 x 128: 36,864 weights.
  // AR, one row of 8 tokens, 7 predicted: 3 x (8 x 2 x (2 x 36,864 + 4 x 64 x 4) + 2 x 64 x 300 x 7).
  const double vocab = double(config.vocab_size);  // the tokenizer's 300, padded
  CHECK(training_flops(config, Objective::Autoregressive, 1, 8, 7) ==
        3.0 * (8 * 2 * (2 * 36864 + 4 * 64 * 4) + 2.0 * 64 * vocab * 7));
  // Block diffusion runs the noisy and the clean copy: twice the positions, the head where masked.
  CHECK(training_flops(config, Objective::BlockDiffusion, 1, 8, 5) ==
        3.0 * (16 * 2 * (2 * 36864 + 4 * 64 * 4) + 2.0 * 64 * vocab * 5));
}
