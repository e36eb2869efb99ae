// The training recipe's data and objectives (issue 14, part 1): windows aligned to samples, FIM per
// sample re-drawn every epoch, SFT samples whole, the unbiased diffusion ELBO for validation, and
// the output layer only where a token is predicted.
#include "training/torch/objectives.h"  // torch first: glog's CHECK must not replace Catch's
#include "training/torch/train_data.h"
#include "training/torch/model_io.h"

#include <catch2/catch.hpp>

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
  CHECK(out.predicted == n.masked.sum().item<int64_t>());
  CHECK(out.token_loss == Approx((ce * m).sum().item<double>() / m.sum().item<double>()).epsilon(1e-4));
  CHECK_FALSE((n.masked & maskable.logical_not()).any().item<bool>());

  // hidden_states + lm_head is forward_full.
  auto hidden = hidden_states(model, x0, torch::arange(L, torch::kLong),
                              attention_mask(AttentionMode::BlockCausal, 4, 0, L, L, torch::kCPU));
  auto full = model->forward_full(x0, torch::arange(L, torch::kLong),
                                  attention_mask(AttentionMode::BlockCausal, 4, 0, L, L, torch::kCPU));
  CHECK(torch::allclose(model->lm_head(hidden), full, 1e-4, 1e-5));
}
