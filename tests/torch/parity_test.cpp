// Parity with the Python reference (tests/reference, fixtures in tests/fixtures/parity): logits
// of full and cached forwards in every attention mode, and the official generate_block ids and
// forward counts, on tiny random weights in F32 and BF16.
#include "inference/torch/decoding.h"  // torch first: glog's CHECK must not replace Catch's

#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "inference/model_files.h"
#include "common/read_file.h"
#include "inference/safetensors.h"
#include "inference/tokenizer.h"
#include "inference/torch/attention_parts.h"
#include "inference/torch/decode_graphs.h"
#include "inference/torch/torch_engine.h"

using namespace maskfill;
using nlohmann::json;

namespace {

const std::string kParity = std::string(MASKFILL_FIXTURES_DIR) + "/parity/";

// MASKFILL_TEST_DEVICE=cuda runs the same checks on a GPU (scripts/gpu-check.sh).
torch::Device test_device() {
  const char* name = std::getenv("MASKFILL_TEST_DEVICE");
  return torch::Device(name && *name ? name : "cpu");
}


const json& cases() {
  static const json parsed = json::parse(read_file(kParity + "cases.json"));
  return parsed;
}

Transformer load_fixture_model(const std::string& name, torch::Dtype dtype) {
  std::string dir = kParity + cases()["models"][name]["dir"].get<std::string>();
  ModelConfig config = parse_model_config(read_file(dir + "/config.json"));
  Transformer model(config);
  load_weights(model, Checkpoint::open({dir + "/model.safetensors"}));
  model->to(test_device(), dtype);
  model->eval();
  // The device's default switches (batch on CPU, all but graphs and batch on CUDA), or MASKFILL_SWITCHES: the GPU
  // check runs this suite once per setting.
  model->set_fast_path(default_fast_path(test_device()));
  return model;
}

AttentionMode mode_of(const std::string& mode) {
  if (mode == "block_causal") return AttentionMode::BlockCausal;
  if (mode == "causal") return AttentionMode::Causal;
  return AttentionMode::Bidirectional;
}

torch::Tensor expected_logits(const std::string& name) {
  static auto file = SafetensorsFile::open(kParity + cases()["logits_file"].get<std::string>());
  const TensorView& view = file->tensors().at(name);
  return torch::from_blob(const_cast<uint8_t*>(view.data), {view.shape[0], view.shape[1]}, torch::kFloat32).clone();
}

double relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual.to(torch::kCPU) - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

// MASKFILL_PARITY_REPORT=FILE: one JSON line per generate fixture and dtype, whether the ids
// were identical (scripts/gpu-check.sh counts them for its JSON).
void report_fixture(const std::string& name, const char* dtype, bool identical) {
  const char* path = std::getenv("MASKFILL_PARITY_REPORT");
  if (!path || !*path) return;
  std::ofstream out(path, std::ios::app);
  out << json{{"fixture", name}, {"dtype", dtype}, {"identical", identical}, {"switches", std::getenv("MASKFILL_SWITCHES") ? std::getenv("MASKFILL_SWITCHES") : "default"}}.dump() << "\n";
}

torch::Tensor ids_tensor(const std::vector<int64_t>& ids, int64_t begin, int64_t end) {
  return torch::tensor(std::vector<int64_t>(ids.begin() + begin, ids.begin() + end), torch::kLong).to(test_device());
}

}  // namespace

TEST_CASE("splitmix64 matches the reference test vectors", "[parity]") {
  const json& vectors = cases()["splitmix64_test_vectors"];
  SplitMix64 bits(vectors["seed"].get<uint64_t>());
  for (const auto& expected : vectors["u64"]) CHECK(bits.next() == std::stoull(expected.get<std::string>()));
  SplitMix64 uniforms(vectors["seed"].get<uint64_t>());
  for (const auto& expected : vectors["uniform"]) CHECK(uniforms.uniform() == expected.get<double>());
  SplitMix64 published(1234567);
  CHECK(published.next() == 6457827717110365317ull);
  CHECK(published.next() == 3203168211198807973ull);
}

TEST_CASE("logits match the reference in every attention mode, with and without the KV cache", "[parity]") {
  torch::NoGradGuard no_grad;
  for (const json& c : cases()["logits"]) {
    bool bf16 = c["compute_dtype"] == "bfloat16";
    Transformer model = load_fixture_model(c["model"], bf16 ? torch::kBFloat16 : torch::kFloat32);
    auto ids = c["input_ids"].get<std::vector<int64_t>>();
    const int64_t T = int64_t(ids.size());
    AttentionMode mode = mode_of(c["mode"]);
    const double tolerance = c["tolerance_rel"].get<double>();
    torch::Tensor expected = expected_logits(c["tensor"]);
    INFO(c["name"].get<std::string>());

    KVCache cache;
    auto full = model->forward_cached(ids_tensor(ids, 0, T), cache, attention_mask(mode, 4, 0, T, T, test_device()), false);
    CHECK(relative_error(full, expected) <= tolerance);

    // Cached: commit an aligned prefix, then the rest as one more forward reading the cache.
    if (!bf16 && mode != AttentionMode::Bidirectional) {
      for (int64_t split : {int64_t(4), (T / 8) * 4}) {
        if (split <= 0 || split >= T) continue;
        KVCache prefix_cache;
        model->forward_cached(ids_tensor(ids, 0, split), prefix_cache, attention_mask(mode, 4, 0, split, split, test_device()),
                              true);
        auto rest = model->forward_cached(ids_tensor(ids, split, T), prefix_cache,
                                          attention_mask(mode, 4, split, T - split, T, test_device()), false);
        INFO("cached split at " << split);
        CHECK(relative_error(rest, expected.narrow(0, split, T - split)) <= tolerance);
      }
    }
  }
}

DecodeOptions options_of(const json& o) {
  DecodeOptions options;
  options.gen_length = o["gen_length"];
  options.steps = o["steps"];
  options.block_length = o["block_length"];
  if (!o["threshold"].is_null()) options.threshold = o["threshold"].get<double>();
  options.temperature = o["temperature"];
  options.remasking = o["remasking"] == "random" ? Remasking::Random : Remasking::LowConfidence;
  options.seed = o["seed"];
  options.stop_at_eos = !o["eos_id"].is_null();
  return options;
}

TEST_CASE("generate_block reproduces the official loop: ids and forward counts", "[parity]") {
  for (const json& c : cases()["generate"]) {
    Transformer model = load_fixture_model(c["model"], torch::kFloat32);
    const json& o = c["options"];
    DiffusionTokens special{o["mask_id"].get<int32_t>(), o["eos_id"].is_null() ? 2 : o["eos_id"].get<int32_t>()};
    auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    const auto expected_ids = c["expected"]["ids_until_eos"].get<std::vector<int32_t>>();
    INFO(c["name"].get<std::string>());

    DecodeOptions options = options_of(o);
    options.reference_schedule = true;
    DecodeResult reference = generate_block_diffusion(model, prompt, options, special, {});
    CHECK(reference.tokens == expected_ids);
    CHECK(reference.stats.forwards == c["expected"]["nfe"].get<int>());
    CHECK((reference.stop == StopReason::Eos) == c["expected"]["stopped_at_eos"].get<bool>());

    // The fast schedule (commit folded into the next block's first forward, chunked prefill,
    // no commit of the last block): the same tokens with exactly the denoising forwards.
    options.reference_schedule = false;
    DecodeResult fast = generate_block_diffusion(model, prompt, options, special, {});
    CHECK(fast.tokens == expected_ids);
    report_fixture(c["name"], "float32", reference.tokens == expected_ids && fast.tokens == expected_ids);
    CHECK(fast.stats.forwards == c["expected"]["denoise_forwards"].get<int>());
    CHECK((fast.stop == StopReason::Eos) == c["expected"]["stopped_at_eos"].get<bool>());
  }
}

TEST_CASE("generate_block in bfloat16 gives the reference's bf16 tokens where bf16 and float32 agree", "[parity]") {
  int cases_run = 0;
  for (const json& c : cases()["generate"]) {
    if (!c.contains("bf16_compute")) continue;
    ++cases_run;
    Transformer model = load_fixture_model(c["model"], torch::kBFloat16);
    const json& o = c["options"];
    DiffusionTokens special{o["mask_id"].get<int32_t>(), o["eos_id"].is_null() ? 2 : o["eos_id"].get<int32_t>()};
    auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    const auto expected = c["bf16_compute"]["ids_until_eos"].get<std::vector<int32_t>>();
    const size_t robust = c["bf16_compute"]["agrees_with_float32_for"].get<size_t>();
    INFO(c["name"].get<std::string>() << ": held to the first " << robust << " ids");
    bool identical = true;
    for (bool reference_schedule : {true, false}) {
      DecodeOptions options = options_of(o);
      options.reference_schedule = reference_schedule;
      DecodeResult result = generate_block_diffusion(model, prompt, options, special, {});
      INFO((reference_schedule ? "reference schedule" : "fast schedule"));
      REQUIRE(result.tokens.size() >= robust);
      const bool same = std::vector<int32_t>(result.tokens.begin(), result.tokens.begin() + robust) ==
                        std::vector<int32_t>(expected.begin(), expected.begin() + robust);
      CHECK(same);
      identical = identical && same;
    }
    report_fixture(c["name"], "bfloat16", identical);
  }
  CHECK(cases_run >= 4);
}

TEST_CASE("the entropy-bounded rule commits confident slots while their entropy fits the budget", "[decode]") {
  // Three masked rows: nearly certain (entropy ~0), a coin flip between two ids (ln 2), uniform
  // (ln 64). EB-sampler: in confidence order, take a slot while sum(H) - max(H) <= bound.
  const int64_t vocab = 64;
  auto logits = torch::zeros({3, vocab});
  logits[0][10] = 30.0;
  logits[1][11] = 30.0;
  logits[1][12] = 30.0;
  std::vector<bool> masked{true, true, true};
  SplitMix64 rng(0);
  auto chosen = [&](double bound) {
    DecodeOptions options;
    options.entropy_bound = bound;
    return choose_tokens(logits, masked, 1, options, rng, 5).positions.size();
  };
  CHECK(chosen(0.0) == 1);   // the second slot would add the first one's (tiny) entropy
  CHECK(chosen(0.5) == 2);   // sum - max = H(row 0) ~ 0
  CHECK(chosen(0.68) == 2);  // the uniform row would add ln 2 = 0.693
  CHECK(chosen(0.70) == 3);
  DecodeOptions options;
  options.entropy_bound = 0.5;
  StepChoice choice = choose_tokens(logits, masked, 1, options, rng, 5);
  CHECK(choice.positions == std::vector<int64_t>{0, 1});
  CHECK(choice.tokens[0] == 10);
}

TEST_CASE("decoding never commits the mask id", "[decode]") {
  // Logits where the mask id (5) is the most likely token at every slot: the old step rule
  // committed it, leaving the slot masked and the block cut there.
  auto logits = torch::zeros({4, 16});
  logits.select(1, 5).fill_(10.0);
  logits[0][7] = 3.0;
  logits[1][8] = 2.0;
  DecodeOptions options;
  SplitMix64 rng(0);
  StepChoice choice = choose_tokens(logits, {true, true, true, true}, 4, options, rng, 5);
  REQUIRE(choice.tokens.size() == 4);
  for (int64_t token : choice.tokens) CHECK(token != 5);
  CHECK(choice.tokens[0] == 7);  // the best token other than the mask
}

TEST_CASE("a sampled candidate's confidence can come from the distribution it was sampled from", "[decode]") {
  // Two masked rows whose best token (0) has raw probability e/(e+7) = 0.28, under the 0.3
  // threshold, but 0.96 under softmax(logits / 0.2), the distribution sampled at temperature 0.2.
  auto logits = torch::full({2, 8}, 2.0);
  logits.select(1, 0).fill_(3.0);
  std::vector<bool> masked{true, true};
  DecodeOptions options;
  options.threshold = 0.3;
  options.temperature = 0.2;
  SplitMix64 official_rng(1), sampled_rng(1);
  StepChoice official = choose_tokens(logits, masked, 1, options, official_rng, 5);
  options.sampled_confidence = true;
  StepChoice sampled = choose_tokens(logits, masked, 1, options, sampled_rng, 5);
  CHECK(official.positions.size() == 1);  // the official rule: top-1 only
  REQUIRE(sampled.positions.size() == 2);  // both are near-certain under the sampler
  CHECK(sampled.tokens == std::vector<int64_t>{0, 0});
  CHECK(sampled.tokens[0] == official.tokens[0]);  // the same noise picks the same tokens
}

TEST_CASE("a stop string ends decoding at the first committed line break, with the same text", "[decode]") {
  const std::string model_dir = std::string(MASKFILL_FIXTURES_DIR) + "/../../models/maskfill-tiny";
  auto engine = make_torch_engine(model_dir, {});
  std::string text = read_file(std::string(MASKFILL_FIXTURES_DIR) + "/../../samples/python/stats.py");
  int checked = 0, saved = 0;
  for (size_t cut : {size_t(200), size_t(420), size_t(650), size_t(900)}) {
    std::vector<int32_t> prompt = engine->tokenizer().encode(text.substr(0, cut));
    DecodeOptions options;
    options.gen_length = 32;
    options.threshold = 0.3;
    options.stop_at_eos = false;
    DecodeOptions stopping = options;
    stopping.stop = {"\n"};
    auto results = generate_together(*engine, {{prompt, options}, {prompt, stopping}}, {});
    const DecodeResult &whole = results[0], &stopped = results[1];
    size_t line_end = whole.text.find('\n');
    INFO("cut at " << cut << ": " << whole.text);
    if (line_end == std::string::npos) continue;
    ++checked;
    CHECK(stopped.stop == StopReason::StopString);
    CHECK(stopped.text == whole.text.substr(0, line_end));
    // Its tokens are the whole run's first tokens, and no forward ran after the line break.
    REQUIRE(stopped.tokens.size() <= whole.tokens.size());
    CHECK(std::equal(stopped.tokens.begin(), stopped.tokens.end(), whole.tokens.begin()));
    CHECK(stopped.stats.forwards <= whole.stats.forwards);
    saved += stopped.stats.forwards < whole.stats.forwards;
    CHECK(engine->tokenizer().decode(stopped.tokens).find('\n') != std::string::npos);
  }
  CHECK(checked >= 2);
  CHECK(saved >= 1);
}

TEST_CASE("every forward covers aligned blocks, extension blocks included", "[decode]") {
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  const auto device = model->lm_head->weight.device();
  for (bool reference : {true, false}) {
    for (int prompt_length : {8, 9, 10, 11}) {
      std::vector<int32_t> prompt;
      for (int i = 0; i < prompt_length; ++i) prompt.push_back(10 + i);
      DecodeOptions options;
      options.gen_length = 8;
      options.extend_max = 12;
      options.stop_at_eos = false;
      options.reference_schedule = reference;
      DiffusionSequence sequence(model->config(), prompt, options, {5, 63}, {});
      prefill_uncached(model, sequence, reference ? 0 : 4);
      INFO("prompt " << prompt_length << (reference ? " reference" : " fast"));
      int forwards = 0;
      while (sequence.ready_for_forward()) {
        ForwardChunk chunk = sequence.next_chunk(device);
        const int64_t start = sequence.cache().length, end = start + chunk.ids.size(0);
        CHECK(start % 4 == 0);                              // starts on a block boundary
        if (chunk.commit < chunk.ids.size(0))  // a denoising forward (not a commit pass) covers one block
          CHECK((end - 1) / 4 == (start + chunk.commit) / 4);
        std::vector<ForwardChunk> chunks{chunk};
        sequence.consume(model->forward_chunks(chunks)[0]);
        REQUIRE(++forwards < 200);
      }
      DecodeResult result = sequence.result();
      CHECK(result.tokens.size() == 20);  // gen_length + extend_max, no EOS possible
    }
  }
}

TEST_CASE("a batch decodes several sequences with one forward per step, same tokens as alone", "[decode]") {
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  const auto device = model->lm_head->weight.device();
  std::vector<std::vector<int32_t>> prompts{{0, 10, 11, 12, 13, 14, 15, 16}, {0, 20, 21, 22, 23, 24, 25},
                                            {0, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39}};
  DecodeOptions options;
  options.gen_length = 12;
  options.threshold = 0.3;
  std::vector<DecodeResult> alone;
  for (const auto& prompt : prompts) alone.push_back(generate_block_diffusion(model, prompt, options, {5, 2}, {}));
  std::vector<std::unique_ptr<DiffusionSequence>> sequences;
  for (const auto& prompt : prompts) {
    sequences.push_back(std::make_unique<DiffusionSequence>(model->config(), prompt, options, DiffusionTokens{5, 2},
                                                            CancelCheck{}));
    prefill_uncached(model, *sequences.back());
  }
  int steps = 0;
  for (;; ++steps) {
    std::vector<ForwardChunk> chunks;
    std::vector<DiffusionSequence*> stepping;
    for (auto& sequence : sequences)
      if (sequence->ready_for_forward()) stepping.push_back(sequence.get()), chunks.push_back(sequence->next_chunk(device));
    if (chunks.empty()) break;
    auto logits = model->forward_chunks(chunks);
    for (size_t i = 0; i < stepping.size(); ++i) stepping[i]->consume(logits[i]);
  }
  int most = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    INFO("sequence " << i);
    CHECK(sequences[i]->result().tokens == alone[i].tokens);
    most = std::max(most, alone[i].stats.forwards);
  }
  CHECK(steps == most);  // one forward per step serves every sequence
}

TEST_CASE("greedy autoregressive decoding matches the reference", "[parity]") {
  for (const json& c : cases()["autoregressive"]) {
    Transformer model = load_fixture_model(c["model"], torch::kFloat32);
    int32_t eos = c["eos_id"].is_null() ? -1 : c["eos_id"].get<int32_t>();
    DecodeResult result = generate_greedy_autoregressive(model, c["prompt_ids"].get<std::vector<int32_t>>(),
                                                         c["max_new_tokens"], eos, {});
    INFO(c["name"].get<std::string>());
    auto expected = c["expected"][eos < 0 ? "ids" : "ids_until_eos"].get<std::vector<int32_t>>();
    CHECK(result.tokens == expected);
    CHECK(result.stats.forwards == c["expected"]["nfe"].get<int>());
  }
}

// Sixteen tokens past any EOS after a short prompt: only the stop rule under test ends them early.
const std::vector<int32_t> kShortPrompt{0, 10, 11, 12, 13, 14, 15, 16};
DecodeOptions sixteen_tokens_past_eos() {
  DecodeOptions options;
  options.gen_length = 16;
  options.stop_at_eos = false;
  return options;
}

TEST_CASE("cancellation and budgets stop decoding between steps", "[decode]") {
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  const std::vector<int32_t>& prompt = kShortPrompt;
  DecodeOptions options = sixteen_tokens_past_eos();
  int polls = 0;
  DecodeResult cancelled = generate_block_diffusion(model, prompt, options, {5, 2}, [&] { return ++polls > 3; });
  CHECK(cancelled.stop == StopReason::Cancelled);
  CHECK(cancelled.stats.forwards <= 3);
  options.max_forwards = 5;
  DecodeResult budget = generate_block_diffusion(model, prompt, options, {5, 2}, {});
  CHECK(budget.stop == StopReason::Budget);
  CHECK(budget.stats.forwards == 5);
}

TEST_CASE("a sequence stops at its first kept token below the confidence bound, its tokens a prefix", "[decode]") {
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  const std::vector<int32_t>& prompt = kShortPrompt;
  DecodeOptions options = sixteen_tokens_past_eos();
  DecodeResult full = generate_block_diffusion(model, prompt, options, {5, 2}, {});
  REQUIRE(full.stats.forwards == 16);  // one token per step
  REQUIRE(full.stats.min_confidence < 1.0);
  // A bound at the run's lowest confidence is never crossed: the same run.
  options.stop_below_confidence = full.stats.min_confidence;
  DecodeResult same = generate_block_diffusion(model, prompt, options, {5, 2}, {});
  CHECK(same.stop == full.stop);
  CHECK(same.tokens == full.tokens);
  // Above it, the run stops as soon as the kept tokens hold one below: within the first block
  // for a bound no token reaches.
  for (double bound : {full.stats.min_confidence + 1e-9, 1.0}) {
    INFO("bound " << bound);
    options.stop_below_confidence = bound;
    DecodeResult unsure = generate_block_diffusion(model, prompt, options, {5, 2}, {});
    // (A run whose lowest token came in its last forward ends as it would have: nothing to save.)
    CHECK((unsure.stop == StopReason::Unsure || unsure.stats.forwards == full.stats.forwards));
    CHECK(unsure.stats.min_confidence < bound);
    CHECK(unsure.stats.forwards <= full.stats.forwards);
    REQUIRE(unsure.tokens.size() <= full.tokens.size());
    CHECK(std::equal(unsure.tokens.begin(), unsure.tokens.end(), full.tokens.begin()));
    if (bound == 1.0) CHECK((unsure.stop == StopReason::Unsure && unsure.stats.forwards <= 4));
  }
}

TEST_CASE("extension keeps decoding blocks until the cap when no EOS appears", "[decode]") {
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  std::vector<int32_t> prompt{0, 10, 11, 12, 13, 14, 15, 16};
  DecodeOptions options;
  options.gen_length = 8;
  options.extend_max = 8;
  options.stop_at_eos = false;
  DecodeResult result = generate_block_diffusion(model, prompt, options, {5, 63}, {});
  CHECK(result.tokens.size() == 16);  // (the prompt is aligned: the first 8 tokens match a plain run)
  options.extend_max = 0;
  DecodeResult base = generate_block_diffusion(model, prompt, options, {5, 63}, {});
  REQUIRE(base.tokens.size() == 8);
  CHECK(std::equal(base.tokens.begin(), base.tokens.end(), result.tokens.begin()));
}

TEST_CASE("the Stable-DiffCoder-8B config implies HF Llama parameter names and shapes", "[shape]") {
  std::string config_text = R"({"architectures": ["StableDiffcoderForCausalLM"], "attention_bias": false,
    "bos_token_id": 0, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096,
    "intermediate_size": 14336, "max_position_embeddings": 8192, "mlp_bias": false, "model_type": "llama",
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-6,
    "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 155136})";
  ModelConfig config = parse_model_config(config_text);
  CHECK(config.attention == AttentionMode::BlockCausal);
  CHECK(config.head_dim == 128);
  auto shapes = expected_parameter_shapes(config);
  CHECK(shapes.size() == 3 + 32 * 9);
  CHECK(shapes.at("lm_head.weight") == std::vector<int64_t>{155136, 4096});
  CHECK(shapes.at("model.layers.31.self_attn.k_proj.weight") == std::vector<int64_t>{1024, 4096});
  CHECK(shapes.at("model.layers.0.mlp.down_proj.weight") == std::vector<int64_t>{4096, 14336});
  // The module built from that config (meta-free: only names and shapes are compared, from a
  // 1-layer copy so no 16 GB is allocated) uses exactly those names.
  ModelConfig small = config;
  small.num_hidden_layers = 1;
  small.vocab_size = 8;
  small.hidden_size = 64;
  small.num_attention_heads = 4;
  small.num_key_value_heads = 1;
  small.head_dim = 16;
  small.intermediate_size = 32;
  Transformer model(small);
  auto small_shapes = expected_parameter_shapes(small);
  size_t matched = 0;
  for (const auto& p : model->named_parameters()) {
    INFO(p.key());
    REQUIRE(small_shapes.count(p.key()));
    CHECK(p.value().sizes().vec() == small_shapes.at(p.key()));
    ++matched;
  }
  CHECK(matched == small_shapes.size());
}

TEST_CASE("the prompt cache is exact: cached and uncached requests give identical tokens", "[decode]") {
  const std::string model_dir = std::string(MASKFILL_FIXTURES_DIR) + "/../../models/maskfill-tiny";
  auto warm = make_torch_engine(model_dir, {});
  auto cold = make_torch_engine(model_dir, {});
  const Tokenizer& tokenizer = warm->tokenizer();
  std::string text = read_file(std::string(MASKFILL_FIXTURES_DIR) + "/../../samples/python/stats.py");
  DecodeOptions options;
  options.gen_length = 16;
  options.threshold = 0.9;
  // A user typing: each prompt extends the previous one by a few characters.
  size_t previous = 0;
  for (size_t cut : {size_t(300), size_t(303), size_t(310), size_t(311), size_t(340)}) {
    std::vector<int32_t> prompt = tokenizer.encode(text.substr(0, std::min(cut, text.size())));
    INFO("prompt of " << prompt.size() << " tokens");
    DecodeResult cached = warm->generate(prompt, options, {});
    cold->clear_prompt_cache();
    DecodeResult uncached = cold->generate(prompt, options, {});
    CHECK(cached.tokens == uncached.tokens);
    CHECK(uncached.stats.prompt_tokens_computed == int(prompt.size() / 4 * 4));
    // Only the changed end is computed: the new tokens, the retokenized last word and the
    // partial block before them.
    if (previous) CHECK(cached.stats.prompt_tokens_computed <= int(prompt.size() - previous) + 8);
    previous = prompt.size();
  }
  PromptCacheStats stats = warm->prompt_cache_stats();
  CHECK(stats.hits == 4);
  CHECK(stats.tokens_reused > 0);
  // Several candidates share one prefill: the second and third hit the first one's entry.
  warm->clear_prompt_cache();
  std::vector<int32_t> prompt = tokenizer.encode(text.substr(0, 400));
  DecodeOptions sampled = options;
  sampled.temperature = 0.7;
  sampled.seed = 3;
  auto results = generate_together(*warm, {{prompt, options}, {prompt, sampled}, {prompt, options}}, {});
  CHECK(results[0].tokens == results[2].tokens);
  CHECK(results[1].stats.prompt_tokens_computed == 0);
  CHECK(results[2].stats.prompt_tokens_computed == 0);
  CHECK(results[0].tokens == cold->generate(prompt, options, {}).tokens);
}

namespace {
// The bundled model in float32 on the test device: batched and alone decode to the same tokens.
std::unique_ptr<Engine> bundled_float32_engine() {
  DeviceOptions device;
  device.device = test_device().str();
  device.dtype = "float32";
  return make_torch_engine(std::string(MASKFILL_FIXTURES_DIR) + "/../../models/maskfill-tiny", device);
}
}  // namespace

TEST_CASE("prompts added together compute their shared prefix once, the rest packed, same tokens as alone",
          "[decode]") {
  // The sites of a next-edit plan: one edit header, then each site's own window.
  auto engine = bundled_float32_engine();
  const Tokenizer& tokenizer = engine->tokenizer();
  std::string text = read_file(std::string(MASKFILL_FIXTURES_DIR) + "/../../samples/python/stats.py");
  const std::vector<int32_t> header = tokenizer.encode(text.substr(0, 240));
  std::vector<std::vector<int32_t>> prompts;
  for (size_t at : {size_t(300), size_t(420), size_t(560)}) {
    std::vector<int32_t> prompt = header;
    std::vector<int32_t> window = tokenizer.encode(text.substr(at, 90));
    prompt.insert(prompt.end(), window.begin(), window.end());
    prompts.push_back(prompt);
  }
  DecodeOptions options;
  options.gen_length = 8;
  std::vector<DecodeResult> alone;
  for (const auto& prompt : prompts) {
    engine->clear_prompt_cache();
    alone.push_back(engine->generate(prompt, options, {}));
  }
  engine->clear_prompt_cache();
  const int64_t computed_before = engine->prompt_cache_stats().tokens_computed;
  std::vector<SequenceRequest> requests;
  for (const auto& prompt : prompts) requests.push_back({prompt, options});
  std::vector<DecodeResult> together = generate_together(*engine, requests, {});
  int64_t expected = int64_t(header.size()) / 4 * 4;
  for (size_t i = 0; i < prompts.size(); ++i) {
    INFO("prompt " << i);
    CHECK(together[i].tokens == alone[i].tokens);
    expected += int64_t(prompts[i].size()) / 4 * 4 - int64_t(header.size()) / 4 * 4;
  }
  CHECK(engine->prompt_cache_stats().tokens_computed - computed_before == expected);
  int reported = 0;
  for (const DecodeResult& result : together) reported += result.stats.prompt_tokens_computed;
  CHECK(reported == expected);
}

TEST_CASE("a prompt joining a decoding batch is prefilled in chunks between its steps", "[decode]") {
  // What `maskfill serve` does when a request arrives while others decode: the active sequence
  // takes a step in every forward, the joining prompt rides along a chunk at a time.
  auto engine = bundled_float32_engine();
  const Tokenizer& tokenizer = engine->tokenizer();
  std::string text = read_file(std::string(MASKFILL_FIXTURES_DIR) + "/../../samples/python/stats.py");
  std::vector<int32_t> short_prompt = tokenizer.encode(text.substr(0, 200));
  std::vector<int32_t> long_prompt = tokenizer.encode(text.substr(200, 3000));
  DecodeOptions options;
  options.gen_length = 24;  // one token per step: the step counts below are exact
  options.stop_at_eos = false;
  const DecodeResult short_alone = engine->generate(short_prompt, options, {});
  const DecodeResult long_alone = engine->generate(long_prompt, options, {});
  engine->clear_prompt_cache();
  const int64_t chunks = (int64_t(long_prompt.size()) / 4 * 4 + interleaved_prefill_tokens(test_device()) - 1) /
                         interleaved_prefill_tokens(test_device());
  REQUIRE(chunks >= 2);

  auto batch = engine->start_batch();
  int a = batch->add(short_prompt, options, {});
  batch->step();
  batch->step();
  int b = batch->add(long_prompt, options, {});
  int steps = 0, first_done_at = -1;
  while (batch->active() > 0) {
    batch->step();
    ++steps;
    if (first_done_at < 0 && batch->finished(a)) first_done_at = steps;
  }
  // It stepped in every forward, those that carried the other prompt's chunks included.
  CHECK(first_done_at == 22);
  CHECK(first_done_at > chunks);
  DecodeResult first = batch->take(a), second = batch->take(b);
  // The first sequence never waited: 2 steps before the join, one forward per step after it.
  CHECK(first.stats.forwards == 24);
  // The joining one spent its first `chunks` steps prefilling, then decoded one token per step.
  CHECK(second.stats.forwards == 24);
  CHECK(steps == chunks + 24);
  CHECK(second.stats.prompt_tokens_computed == int(long_prompt.size() / 4 * 4));
  CHECK(first.tokens == short_alone.tokens);
  CHECK(second.tokens == long_alone.tokens);
}

// ---------------------------------------------------------------- forward-path switches
namespace {
// Restores the fixture's default switches when a test that changes them ends.
struct SwitchesRestored {
  Transformer& model;
  ~SwitchesRestored() { model->set_fast_path(default_fast_path(test_device())); }
};

std::vector<std::string> switch_sets() {
  return {"merged", "rope", "merged,rope", "step", "merged,rope,step", "batch", "flash", "merged,rope,step,flash", "all"};
}
}  // namespace

TEST_CASE("each forward-path switch keeps the logits and the generated tokens", "[parity][switches]") {
  torch::NoGradGuard no_grad;
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  SwitchesRestored restore{model};
  const auto device = test_device();
  std::vector<int64_t> ids{0, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21};
  auto run_chunks = [&] {
    KVCache cache;
    std::vector<ForwardChunk> chunks(1);
    chunks[0].ids = ids_tensor(ids, 0, 8);
    chunks[0].cache = &cache;
    chunks[0].commit = 8;
    model->forward_chunks(chunks);
    chunks[0].ids = ids_tensor(ids, 8, int64_t(ids.size()));  // a block and a partial one: masked
    chunks[0].commit = 0;
    chunks[0].logits_from = 0;
    return model->forward_chunks(chunks)[0].to(torch::kCPU);
  };
  DecodeOptions sampled;
  sampled.gen_length = 12;
  sampled.threshold = 0.3;
  sampled.temperature = 0.7;
  sampled.seed = 9;
  DecodeOptions greedy = sampled;
  greedy.temperature = 0;
  const std::vector<int32_t> prompt{0, 10, 11, 12, 13, 14, 15, 16, 17};
  model->set_fast_path(FastPath{});
  const auto baseline_logits = run_chunks();
  const auto baseline_greedy = generate_block_diffusion(model, prompt, greedy, {5, 2}, {}).tokens;
  const auto baseline_sampled = generate_block_diffusion(model, prompt, sampled, {5, 2}, {}).tokens;
  for (const std::string& set : switch_sets()) {
    INFO("switches " << set);
    FastPath fast = parse_fast_path(set);
    fast.parts_min_tokens = 1;  // the fixtures' prompt chunks are short
    model->set_fast_path(fast);
    CHECK(relative_error(run_chunks(), baseline_logits) <= 1e-5);
    CHECK(generate_block_diffusion(model, prompt, greedy, {5, 2}, {}).tokens == baseline_greedy);
    CHECK(generate_block_diffusion(model, prompt, sampled, {5, 2}, {}).tokens == baseline_sampled);
  }
  // Switching merging off again uses the parts, which still view the merged rows.
  model->set_fast_path(FastPath{});
  CHECK(relative_error(run_chunks(), baseline_logits) == 0);
}

// A packed forward of chunks of different lengths over caches of different lengths (a batch's
// prefill windows, a chunk starting mid-block, decoding blocks): batched attention gives every
// chunk the logits and the cached K/V it gets attending alone.
TEST_CASE("batched attention keeps every chunk's logits and cache", "[parity][switches]") {
  torch::NoGradGuard no_grad;
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  SwitchesRestored restore{model};
  struct Shape {
    int64_t cached, tokens;
  };
  const std::vector<Shape> shapes{{8, 4}, {12, 7}, {6, 9}, {0, 5}, {16, 4}};
  // pooled: the caches are rows of one KVPool, read in place; reversed: in the opposite row order.
  auto run = [&](const std::string& switches, bool pooled = false, bool reversed = false) {
    model->set_fast_path(parse_fast_path(switches));
    std::vector<KVCache> caches(shapes.size());
    if (pooled) {
      auto pool = std::make_shared<const KVPool>(int64_t(shapes.size()), 32, model->config(), test_device(),
                                                 torch::kFloat32);
      for (size_t i = 0; i < shapes.size(); ++i)
        KVPool::attach(pool, int64_t(reversed ? shapes.size() - 1 - i : i), caches[i]);
    }
    std::vector<ForwardChunk> chunks(shapes.size());
    for (size_t i = 0; i < shapes.size(); ++i) {
      std::vector<int64_t> ids;
      for (int64_t t = 0; t < shapes[i].cached + shapes[i].tokens; ++t) ids.push_back(10 + (t * 7 + int64_t(i) * 3) % 50);
      if (shapes[i].cached > 0) {  // the cached part alone, packed with nothing
        std::vector<ForwardChunk> prefix(1);
        prefix[0].ids = ids_tensor(ids, 0, shapes[i].cached);
        prefix[0].cache = &caches[i];
        prefix[0].commit = shapes[i].cached;
        prefix[0].logits_from = shapes[i].cached;
        model->forward_chunks(prefix);
      }
      chunks[i].ids = ids_tensor(ids, shapes[i].cached, int64_t(ids.size()));
      chunks[i].cache = &caches[i];
      chunks[i].commit = shapes[i].tokens;
    }
    std::vector<torch::Tensor> logits = model->forward_chunks(chunks);
    std::vector<torch::Tensor> keys;
    for (size_t i = 0; i < shapes.size(); ++i) {
      logits[i] = logits[i].to(torch::kCPU);
      keys.push_back(caches[i].keys[1].narrow(2, 0, shapes[i].cached + shapes[i].tokens).to(torch::kCPU));
    }
    return std::make_pair(logits, keys);
  };
  REQUIRE(model->plan_batched_attention({4, 7}, {8, 12}, test_device()).has_value());
  auto [alone_logits, alone_keys] = run("none");
  for (auto [pooled, reversed] : {std::pair{false, false}, std::pair{true, false}, std::pair{true, true}}) {
    auto [batched_logits, batched_keys] = run("batch", pooled, reversed);
    for (size_t i = 0; i < shapes.size(); ++i) {
      INFO("chunk " << i << (pooled ? ", pooled" : "") << (reversed ? ", rows reversed" : ""));
      CHECK(relative_error(batched_logits[i], alone_logits[i]) <= 1e-5);
      CHECK(relative_error(batched_keys[i], alone_keys[i]) <= 1e-5);  // layer 1: after an attention
    }
  }
}

// A batch's prefill in one forward: a shared header and the windows that attend to it, each
// window copying the header's K/V layer by layer (ForwardChunk::prefix). Every window gets the
// logits and cache it gets when the header is computed first and copied in, alone or batched,
// whether the header attends alone (40 tokens) or inside the batch (8 tokens).
TEST_CASE("windows packed behind the header they share get the logits of a separate header forward",
          "[parity][switches]") {
  torch::NoGradGuard no_grad;
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  SwitchesRestored restore{model};
  const std::vector<int64_t> windows{5, 7, 4};
  auto ids_of = [](int64_t count, int64_t salt) {
    std::vector<int64_t> ids;
    for (int64_t t = 0; t < count; ++t) ids.push_back(10 + (t * 7 + salt * 3) % 50);
    return ids;
  };
  auto forward = [&](std::vector<ForwardChunk> chunks) { return model->forward_chunks(chunks); };
  for (int64_t header_tokens : {int64_t(40), int64_t(8)}) {
    const std::vector<int64_t> header_ids = ids_of(header_tokens, 0);
    auto header_chunk = [&](KVCache& cache) {
      return ForwardChunk{ids_tensor(header_ids, 0, header_tokens), &cache, header_tokens, header_tokens};
    };
    // Expected: the header alone, copied into each window's cache, then each window alone.
    model->set_fast_path(parse_fast_path("none"));
    KVCache header;
    forward({header_chunk(header)});
    std::vector<torch::Tensor> expected_logits, expected_keys;
    for (size_t i = 0; i < windows.size(); ++i) {
      KVCache cache = header.copy_prefix(header_tokens, header_tokens + windows[i]);
      const std::vector<int64_t> ids = ids_of(windows[i], int64_t(i) + 1);
      expected_logits.push_back(forward({{ids_tensor(ids, 0, windows[i]), &cache, windows[i], 0}})[0].to(torch::kCPU));
      expected_keys.push_back(cache.keys[1].narrow(2, 0, header_tokens + windows[i]).to(torch::kCPU));
    }
    for (const std::string& switches : {"none", "batch"}) {
      INFO("header of " << header_tokens << " tokens, switches " << switches);
      model->set_fast_path(parse_fast_path(switches));
      KVCache packed_header;
      std::vector<KVCache> caches(windows.size());
      std::vector<ForwardChunk> chunks{header_chunk(packed_header)};
      for (size_t i = 0; i < windows.size(); ++i) {
        caches[i].reserve(header_tokens + windows[i], model->config(), test_device(), torch::kFloat32);
        caches[i].length = header_tokens;
        const std::vector<int64_t> ids = ids_of(windows[i], int64_t(i) + 1);
        ForwardChunk chunk{ids_tensor(ids, 0, windows[i]), &caches[i], windows[i], 0};
        chunk.prefix = &packed_header;
        chunk.prefix_tokens = header_tokens;
        chunks.push_back(chunk);
      }
      std::vector<torch::Tensor> logits = model->forward_chunks(chunks);
      CHECK(packed_header.length == header_tokens);
      for (size_t i = 0; i < windows.size(); ++i) {
        INFO("window " << i);
        CHECK(relative_error(logits[i + 1].to(torch::kCPU), expected_logits[i]) <= 1e-5);
        CHECK(relative_error(caches[i].keys[1].narrow(2, 0, header_tokens + windows[i]).to(torch::kCPU),
                             expected_keys[i]) <= 1e-5);
      }
    }
  }
  // A window placed before the chunk that computes its header is refused, not read garbage.
  KVCache header, window;
  window.reserve(12, model->config(), test_device(), torch::kFloat32);
  window.length = 8;
  ForwardChunk early{ids_tensor(ids_of(4, 1), 0, 4), &window, 4, 0};
  early.prefix = &header;
  early.prefix_tokens = 8;
  std::vector<ForwardChunk> wrong_order{early, {ids_tensor(ids_of(8, 0), 0, 8), &header, 8, 8}};
  CHECK_THROWS_AS(model->forward_chunks(wrong_order), std::invalid_argument);
}

// The parts (cached keys, own keys causally, the rest of each block) merged by log-sum-exp
// against one softmax over the whole mask, for chunks with and without a cache, block-causal and
// causal, with grouped-query heads. On CUDA in bf16 the first two parts are flash kernels.
TEST_CASE("a prompt chunk attending in parts gets the masked attention", "[switches]") {
  torch::NoGradGuard no_grad;
  const auto device = test_device();
  std::vector<torch::Dtype> dtypes{torch::kFloat32};
  if (device.is_cuda()) dtypes.push_back(torch::kBFloat16);
  const int64_t heads = 8, kv_heads = 2, head_dim = 64;
  const double scale = 1.0 / std::sqrt(double(head_dim));
  torch::manual_seed(7);
  for (torch::Dtype dtype : dtypes)
    for (AttentionMode mode : {AttentionMode::BlockCausal, AttentionMode::Causal})
      for (int64_t cached : {0, 8, 36})
        for (int64_t tokens : {4, 12, 64}) {
          INFO("dtype " << dtype << ", mode " << int(mode) << ", cached " << cached << ", tokens " << tokens);
          auto options = torch::TensorOptions().dtype(dtype).device(device);
          auto q = torch::randn({1, heads, tokens, head_dim}, options);
          auto k = torch::randn({1, kv_heads, cached + tokens, head_dim}, options);
          auto v = torch::randn({1, kv_heads, cached + tokens, head_dim}, options);
          auto own = attention_mask_over(mode, 4, cached, tokens, cached, tokens, device);
          const int64_t reach = mode == AttentionMode::BlockCausal ? 3 : 0;
          auto actual = attend_in_parts(q, k, v, own, reach, scale).to(torch::kCPU, torch::kFloat32);
          // One softmax over every key, in float32 from the same (rounded) inputs.
          auto visible = torch::cat({torch::ones({tokens, cached}, own.options()), own}, 1);
          auto q32 = q.to(torch::kFloat32), k32 = k.to(torch::kFloat32).repeat_interleave(heads / kv_heads, 1);
          auto scores = torch::matmul(q32, k32.transpose(-1, -2)) * scale;
          scores.masked_fill_(visible.logical_not(), -std::numeric_limits<float>::infinity());
          auto expected = torch::matmul(torch::softmax(scores, -1), v.to(torch::kFloat32).repeat_interleave(heads / kv_heads, 1))
                              .to(torch::kCPU);
          const double tolerance = dtype == torch::kFloat32 ? 1e-5 : 2e-2;
          CHECK((actual - expected).abs().max().item<double>() <= tolerance * expected.abs().max().item<double>());
        }
  // A chunk that does not cover whole aligned blocks is refused, not computed wrongly.
  auto q = torch::randn({1, heads, 6, head_dim}), kv = torch::randn({1, kv_heads, 6, head_dim});
  CHECK_THROWS_AS(attend_in_parts(q, kv, kv, attention_mask_over(AttentionMode::BlockCausal, 4, 0, 6, 0, 6, torch::kCPU),
                                  3, scale),
                  std::invalid_argument);
}

TEST_CASE("rope_once rotates bit for bit like rotate_half", "[switches]") {
  torch::NoGradGuard no_grad;
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  SwitchesRestored restore{model};
  std::vector<int64_t> ids{0, 10, 11, 12, 13, 14, 15, 16};
  auto logits = [&](const std::string& set) {
    model->set_fast_path(parse_fast_path(set));
    KVCache cache;
    return model->forward_cached(ids_tensor(ids, 0, 8), cache, {}, false).to(torch::kCPU);
  };
  CHECK(torch::equal(logits("none"), logits("rope")));
}

TEST_CASE("counter_uniforms computes any slice of the SplitMix64 stream", "[switches]") {
  SplitMix64 rng(1234567);
  for (int i = 0; i < 5; ++i) rng.next();  // mid-stream, as after earlier steps
  SplitMix64 sequential = rng;
  const int64_t rows = 3, cols = 37;
  std::vector<double> expected;
  for (int64_t i = 0; i < rows * cols; ++i) expected.push_back(sequential.uniform());
  auto picked = torch::tensor(std::vector<int64_t>{0, 2}, torch::kLong).to(test_device());
  auto actual = counter_uniforms(rng, picked, cols).to(torch::kCPU);
  REQUIRE(actual.sizes() == torch::IntArrayRef({2, cols}));
  for (int64_t c = 0; c < cols; ++c) {
    CHECK(actual[0][c].item<double>() == expected[size_t(c)]);
    CHECK(actual[1][c].item<double>() == expected[size_t(2 * cols + c)]);
  }
  rng.skip(uint64_t(rows * cols));
  CHECK(rng.next() == sequential.next());
}

TEST_CASE("an uninitialised model loads a checkpoint to the same logits", "[switches]") {
  torch::NoGradGuard no_grad;
  Transformer reference = load_fixture_model("tiny-f32", torch::kFloat32);
  std::string dir = kParity + cases()["models"]["tiny-f32"]["dir"].get<std::string>();
  ModelConfig config = parse_model_config(read_file(dir + "/config.json"));
  Transformer model = uninitialized_transformer(config, test_device(), torch::kFloat32);
  load_weights(model, Checkpoint::open({dir + "/model.safetensors"}));
  model->set_fast_path(reference->fast_path());
  std::vector<int64_t> ids{0, 10, 11, 12, 13, 14, 15, 16};
  KVCache a, b;
  CHECK(torch::equal(reference->forward_cached(ids_tensor(ids, 0, 8), a, {}, false),
                     model->forward_cached(ids_tensor(ids, 0, 8), b, {}, false)));
}

TEST_CASE("the static-shape forward gives forward_chunks' logits over padded, masked keys", "[switches][graphs]") {
  torch::NoGradGuard no_grad;
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  const auto device = test_device();
  const auto& config = model->config();
  std::vector<int64_t> ids{0, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22};
  // Committed: the first 8 tokens. Then a chunk of 6 (a finished block and a partial one) with
  // logits from row 2, as the fast schedule sends it.
  auto prefilled = [&] {
    KVCache cache;
    cache.reserve(64, config, device, torch::kFloat32);
    std::vector<ForwardChunk> chunks(1);
    chunks[0].ids = ids_tensor(ids, 0, 8);
    chunks[0].cache = &cache;
    chunks[0].commit = 8;
    chunks[0].logits_from = 8;
    model->forward_chunks(chunks);
    return cache;
  };
  KVCache eager_cache = prefilled(), static_cache = prefilled();
  std::vector<ForwardChunk> chunk(1);
  chunk[0].ids = ids_tensor(ids, 8, 14);
  chunk[0].cache = &eager_cache;
  chunk[0].logits_from = 2;
  auto expected = model->forward_chunks(chunk)[0].to(torch::kCPU);
  const int64_t keys = 32;  // 14 valid keys, padded
  // Padding holds whatever was there (finite): masked off, it changes nothing.
  for (size_t layer = 0; layer < static_cache.keys.size(); ++layer) {
    static_cache.keys[layer].narrow(2, 14, keys - 14).fill_(1e4);
    static_cache.values[layer].narrow(2, 14, keys - 14).fill_(-1e4);
  }
  auto positions = torch::arange(8, 14, torch::kLong).to(device);
  auto mask = static_chunk_mask(config, 8, 6, keys).to(device);
  CHECK(mask.sum().item<int64_t>() == 6 * 8 + 4 * 4 + 2 * 6);  // cached keys, two own blocks, no padding
  auto actual = model->forward_static(ids_tensor(ids, 8, 14), positions, mask, static_cache, keys, 2).to(torch::kCPU);
  REQUIRE(actual.sizes() == expected.sizes());
  CHECK(relative_error(actual, expected) <= 1e-5);
  // The chunk's K/V landed where forward_chunks writes them.
  CHECK(relative_error(static_cache.keys[0].narrow(2, 8, 6), eager_cache.keys[0].narrow(2, 8, 6).to(torch::kCPU)) <= 1e-5);
}

TEST_CASE("decoding through CUDA graphs gives the eager tokens", "[switches][graphs]") {
  Transformer model = load_fixture_model("tiny-f32", torch::kFloat32);
  auto graphs = make_decode_graphs(model);
  if (!graphs) {
    SUCCEED("no CUDA graphs in this build or on this device (CPU): the static forward is tested above");
    return;
  }
  const auto device = model->lm_head->weight.device();
  DecodeOptions options;
  options.gen_length = 12;
  options.threshold = 0.3;
  const std::vector<int32_t> prompt{0, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  DecodeResult eager = generate_block_diffusion(model, prompt, options, {5, 2}, {});
  for (int round = 0; round < 2; ++round) {  // the second round replays the graphs captured in the first
    DiffusionSequence sequence(model->config(), prompt, options, {5, 2}, {});
    prefill_uncached(model, sequence);
    int graphed = 0;
    while (sequence.ready_for_forward()) {
      ForwardChunk chunk = sequence.next_chunk(device);
      torch::Tensor logits = graphs->forward(chunk);
      if (logits.defined()) ++graphed;
      else {
        std::vector<ForwardChunk> eager_chunk{chunk};
        logits = model->forward_chunks(eager_chunk).front();
      }
      sequence.consume(logits);
    }
    graphs->release(&sequence.cache());
    INFO("round " << round);
    CHECK(graphed == sequence.result().stats.forwards);
    CHECK(sequence.result().tokens == eager.tokens);
  }
  CHECK(graphs->graphs() >= 1);
}
