// `maskfill bench decode`: ms per 4-token block forward at cached prefixes of 128/512/2048
// tokens, and block diffusion (threshold 0.9; one token per step) against AR greedy on the same
// prompts and lengths, in one run. Without --model it uses random weights of the tiny shape.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "common/command.h"
#include "infill/plan.h"
#include "inference/model_files.h"
#include "inference/safetensors.h"
#include "inference/tokenizer.h"
#include "inference/torch/decode_flags.h"
#include "inference/torch/decode_graphs.h"
#include "inference/torch/decoding.h"
#include "inference/torch/torch_engine.h"
#include "training/torch/model_io.h"

namespace maskfill {
namespace {

using Clock = std::chrono::steady_clock;

double load_average() {
  double load[1] = {0};
  return getloadavg(load, 1) == 1 ? load[0] : -1;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void sync(torch::Device device) {
#if defined(TORCH_VERSION_MAJOR) && TORCH_VERSION_MAJOR >= 2
  if (device.is_cuda()) torch::cuda::synchronize();
#else
  (void)device;
#endif
}

// A KV cache holding `cached` random prompt tokens, prefilled in chunks so even large models fit.
KVCache random_prefix_cache(Transformer& model, int64_t cached) {
  torch::NoGradGuard no_grad;
  auto device = model->lm_head->weight.device();
  const auto& config = model->config();
  KVCache cache;
  cache.reserve(cached + config.block_size, config, device, model->lm_head->weight.scalar_type());
  auto prefix = torch::randint(10, config.vocab_size, {cached}, torch::kLong).to(device);
  for (int64_t done = 0; done < cached; done += 512) {
    int64_t n = std::min<int64_t>(512, cached - done);
    auto mask = attention_mask(config.attention, config.block_size, done, n, done + n, device);
    model->forward_cached(prefix.narrow(0, done, n), cache, mask, true);
  }
  return cache;
}

// Median ms of a forward `run` returns the logits of (reading them forces the work to finish on
// any device), after two warm-ups; 0 when `run` returns no logits.
template <typename Forward>
double median_forward_ms(torch::Device device, int repeats, Forward run) {
  std::vector<double> times;
  for (int i = 0; i < repeats + 2; ++i) {
    sync(device);
    auto t = Clock::now();
    torch::Tensor logits = run();
    if (!logits.defined()) return 0;
    (void)logits.sum().item<float>();
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
    if (i >= 2) times.push_back(ms);
  }
  return median(times);
}

// Median ms of a denoise forward (4 query tokens, cache not advanced) after a prefix of `cached`.
double ms_per_block_forward(Transformer& model, int64_t cached, int repeats) {
  torch::NoGradGuard no_grad;
  auto device = model->lm_head->weight.device();
  KVCache cache = random_prefix_cache(model, cached);
  auto block = torch::randint(10, model->config().vocab_size, {model->config().block_size}, torch::kLong).to(device);
  return median_forward_ms(device, repeats, [&] { return model->forward_cached(block, cache, {}, false); });
}

// Median ms of the pieces of one decoding step after a cached prefix of `cached` tokens: an AR
// forward (1 token), a block-diffusion denoising forward (4 tokens), the same with the previous
// block committed in it (8 tokens), and the step rule on a block's logits.
nlohmann::json step_costs(Transformer& model, int64_t cached, int repeats) {
  torch::NoGradGuard no_grad;
  auto device = model->lm_head->weight.device();
  const auto& config = model->config();
  const int64_t B = config.block_size;
  KVCache cache;
  cache.reserve(cached + 2 * B, config, device, model->lm_head->weight.scalar_type());
  auto prefix = torch::randint(10, config.vocab_size, {cached}, torch::kLong).to(device);
  std::vector<ForwardChunk> prefill{{prefix, &cache, cached, cached}};
  model->forward_chunks(prefill);
  auto time = [&](auto&& work) {
    std::vector<double> times;
    for (int i = 0; i < repeats + 2; ++i) {
      sync(device);
      auto t = Clock::now();
      work();
      sync(device);
      if (i >= 2) times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    }
    return median(times);
  };
  auto one = torch::randint(10, config.vocab_size, {1}, torch::kLong).to(device);
  auto four = torch::randint(10, config.vocab_size, {B}, torch::kLong).to(device);
  auto eight = torch::randint(10, config.vocab_size, {2 * B}, torch::kLong).to(device);
  double ar = time([&] { (void)model->forward_cached(one, cache, {}, false).sum().item<float>(); });
  double one_packed = time([&] {
    std::vector<ForwardChunk> c{{one, &cache, 0, 0}};
    (void)model->forward_chunks(c)[0].sum().item<float>();
  });
  double block_cached_path = time([&] { (void)model->forward_cached(four, cache, {}, false).sum().item<float>(); });
  double block = time([&] {
    std::vector<ForwardChunk> c{{four, &cache, 0, 0}};
    (void)model->forward_chunks(c)[0].sum().item<float>();
  });
  double with_commit = time([&] {
    std::vector<ForwardChunk> c{{eight, &cache, 0, B}};  // commit 0: the cache stays as it is
    (void)model->forward_chunks(c)[0].sum().item<float>();
  });
  // Three candidates' blocks in one step, each on its own copy of the cache.
  std::vector<KVCache> copies;
  for (int i = 0; i < 3; ++i) copies.push_back(cache.copy_prefix(cached, cached + 2 * B));
  double three_blocks = time([&] {
    std::vector<ForwardChunk> c;
    for (KVCache& copy : copies) c.push_back({four, &copy, 0, 0});
    for (auto& logits : model->forward_chunks(c)) (void)logits.sum().item<float>();
  });
  std::vector<ForwardChunk> c{{four, &cache, 0, 0}};
  auto logits = model->forward_chunks(c)[0];
  DecodeOptions options;
  SplitMix64 rng(0);
  double rule = time([&] { choose_tokens(logits, std::vector<bool>(size_t(B), true), 1, options, rng, config.mask_token_id); });
  options.temperature = 0.4;
  double sampled_rule =
      time([&] { choose_tokens(logits, std::vector<bool>(size_t(B), true), 1, options, rng, config.mask_token_id); });
  return {{"cached", cached},
          {"ar_forward_ms", ar},
          {"one_token_packed_forward_ms", one_packed},
          {"block_forward_unpacked_ms", block_cached_path},
          {"block_forward_ms", block},
          {"block_forward_with_commit_ms", with_commit},
          {"three_blocks_forward_ms", three_blocks},
          {"step_rule_ms", rule},
          {"sampled_step_rule_ms", sampled_rule}};
}

struct Row {
  std::string name;
  int forwards = 0, tokens = 0;  // forwards after the prefill
  double ms = 0, decode_ms = 0;
  double tokens_per_second() const { return ms > 0 ? 1000.0 * tokens / ms : 0; }
  double decode_tokens_per_second() const { return decode_ms > 0 ? 1000.0 * tokens / decode_ms : 0; }
};

// Every method decodes exactly `gen_length` tokens per prompt (no EOS stop), so tokens are
// counted from the request, not from the text before the first EOS.
void add(Row& row, const DecodeResult& r, int gen_length) {
  row.forwards += r.stats.forwards;
  row.tokens += gen_length;
  row.ms += r.stats.prefill_ms + r.stats.decode_ms;
  row.decode_ms += r.stats.decode_ms;
}

// Prefill ms per token of uncached prompts of `short_length` and `long_length` tokens (chunked
// prefill), measured alternately so machine load hits both alike; medians and the median of the
// per-round ratios.
struct PrefillScaling {
  double short_ms_per_token = 0, long_ms_per_token = 0, ratio = 0;
};

PrefillScaling prefill_scaling(Transformer& model, const std::vector<int32_t>& source, int64_t short_length,
                               int64_t long_length, int rounds) {
  auto measure = [&](int64_t length) {
    std::vector<int32_t> prompt;
    while (int64_t(prompt.size()) < length) prompt.insert(prompt.end(), source.begin(), source.end());
    prompt.resize(size_t(length));
    DecodeOptions options;
    options.gen_length = int(model->config().block_size);
    DiffusionSequence sequence(model->config(), prompt, options, {model->config().mask_token_id, -1}, {});
    auto t = Clock::now();
    prefill_uncached(model, sequence);
    sync(model->lm_head->weight.device());
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count() / double(sequence.prefill_length());
  };
  measure(short_length);  // warm-up
  std::vector<double> shorts, longs, ratios;
  for (int i = 0; i < rounds; ++i) {
    shorts.push_back(measure(short_length));
    longs.push_back(measure(long_length));
    ratios.push_back(longs.back() / shorts.back());
  }
  return {median(shorts), median(longs), median(ratios)};
}

std::vector<std::vector<int32_t>> bench_prompts(const Tokenizer* tokenizer, int64_t vocab, int count, int length) {
  std::vector<std::vector<int32_t>> prompts;
  std::mt19937 rng(7);
  if (tokenizer) {
    // Real code from the samples folder, cut at different places.
    std::ifstream in(std::string(MASKFILL_BENCH_SAMPLE));
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto ids = tokenizer->encode(buffer.str());
    for (int i = 0; i < count && ids.size() > size_t(length); ++i) {
      size_t start = rng() % (ids.size() - length);
      prompts.emplace_back(ids.begin() + start, ids.begin() + start + length);
    }
  }
  while (int(prompts.size()) < count) {
    std::vector<int32_t> p(length);
    for (auto& id : p) id = 10 + int32_t(rng() % (vocab - 10));
    prompts.push_back(p);
  }
  return prompts;
}

// Stable-DiffCoder-8B's shape (shared reference §1.1), for timing with random weights.
ModelConfig stable_diffcoder_8b_config() {
  ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = 155136;
  c.hidden_size = 4096;
  c.intermediate_size = 14336;
  c.num_hidden_layers = 32;
  c.num_attention_heads = 32;
  c.num_key_value_heads = 8;
  c.head_dim = 128;
  c.max_position_embeddings = 8192;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 500000.0;
  return c;
}

// Device memory bandwidth from a large device-to-device copy, counting bytes read and written.
double copy_bandwidth_gbs(torch::Device device) {
  auto source = torch::empty({int64_t(1) << 29}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  auto target = torch::empty_like(source);
  target.copy_(source);
  sync(device);
  auto t = Clock::now();
  for (int i = 0; i < 5; ++i) target.copy_(source);
  sync(device);
  double s = std::chrono::duration<double>(Clock::now() - t).count() / 5;
  return 2.0 * double(source.nbytes()) / s / 1e9;
}

// Milliseconds to prefill `tokens` prompt tokens into an empty cache, the engine's way (its
// chunk size on this device), median of `repeats`.
double prefill_ms(Transformer& model, int64_t tokens, int repeats) {
  torch::NoGradGuard no_grad;
  const auto device = model->lm_head->weight.device();
  const auto& config = model->config();
  auto ids = torch::randint(10, config.vocab_size, {tokens}, torch::kLong).to(device);
  const int64_t chunk = prefill_chunk_tokens(device);
  std::vector<double> times;
  for (int i = 0; i < repeats + 1; ++i) {
    KVCache cache;
    cache.reserve(tokens + config.block_size, config, device, model->lm_head->weight.scalar_type());
    sync(device);
    auto t = Clock::now();
    for (int64_t done = 0; done < tokens; done += chunk) {
      std::vector<ForwardChunk> chunks(1);
      chunks[0].ids = ids.narrow(0, done, std::min(chunk, tokens - done));
      chunks[0].cache = &cache;
      chunks[0].commit = chunks[0].ids.size(0);
      chunks[0].logits_from = chunks[0].commit;
      model->forward_chunks(chunks);
    }
    sync(device);
    if (i >= 1) times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  return median(times);
}

// ms per 4-token block forward replayed from a CUDA graph (decode_graphs.h) at a cached prefix,
// as the engine runs a sequence decoded alone; 0 when this build or device has no graphs.
double ms_per_graphed_block_forward(Transformer& model, int64_t cached, int repeats) {
  auto graphs = make_decode_graphs(model);
  if (!graphs) return 0;
  torch::NoGradGuard no_grad;
  auto device = model->lm_head->weight.device();
  KVCache cache = random_prefix_cache(model, cached);
  ForwardChunk chunk;
  chunk.ids = torch::randint(10, model->config().vocab_size, {model->config().block_size}, torch::kLong).to(device);
  chunk.cache = &cache;
  double ms = median_forward_ms(device, repeats, [&] { return graphs->forward(chunk); });
  graphs->release(&cache);
  return ms;
}

// The step rule on one block's logits of this model's vocabulary, on the host (logits copied
// over, float64 there) and on the device (only the choice copied back): greedy and sampled.
nlohmann::json step_rule_costs(const Transformer& model, int repeats) {
  const auto& config = model->config();
  const auto device = model->lm_head->weight.device();
  auto logits = torch::randn({config.block_size, config.vocab_size}, torch::TensorOptions().device(device)) * 3;
  const bool was_on_device = step_rule_on_device();
  nlohmann::json out;
  for (bool on_device : {false, true}) {
    set_step_rule_on_device(on_device);
    for (double temperature : {0.0, 0.6}) {
      DecodeOptions options;
      options.threshold = 0.3;
      options.temperature = temperature;
      SplitMix64 rng(1);
      std::vector<double> times;
      for (int i = 0; i < repeats + 2; ++i) {
        sync(device);
        auto t = Clock::now();
        choose_tokens(logits, std::vector<bool>(size_t(config.block_size), true), 1, options, rng, config.mask_token_id);
        if (i >= 2) times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
      }
      out[std::string(on_device ? "device" : "host") + (temperature > 0 ? "_sampled_ms" : "_greedy_ms")] = median(times);
    }
  }
  set_step_rule_on_device(was_on_device);
  return out;
}

// Bytes one 4-token forward must read at a cached prefix: every weight once (the embedding
// only for the 4 rows it gathers) plus the prefix's K/V in every layer.
double forward_bytes(const Transformer& model, int64_t prefix) {
  const auto& config = model->config();
  double bytes = 0;
  for (const auto& p : model->named_parameters())
    if (p.key() != "model.embed_tokens.weight" || config.tie_word_embeddings) bytes += double(p.value().nbytes());
  const double element = double(model->lm_head->weight.element_size());
  bytes += 2.0 * double(config.num_hidden_layers * config.num_key_value_heads * config.head_dim) * double(prefix) * element;
  return bytes;
}

int run_bench_decode(int argc, char** argv) {
  CLI::App app{"Decoding benchmark: forward latency vs cache length, block diffusion vs AR greedy"};
  ModelFlags flags;
  flags.add_to(app);
  int prompts = 6, prompt_length = 96, gen_length = 32, repeats = 10;
  std::vector<int64_t> prefixes{128, 512, 2048};
  std::string shape, switches;
  double peak_bandwidth_gbs = 4800;
  double default_threshold = InfillSettings{}.threshold.value_or(0.9);
  bool json_output = false;
  app.add_option("--prompts", prompts)->capture_default_str();
  app.add_option("--prompt-length", prompt_length)->capture_default_str();
  app.add_option("--gen-length", gen_length)->capture_default_str();
  app.add_option("--repeats", repeats)->capture_default_str();
  app.add_option("--shape", shape, "random weights of a named shape instead of a model: 8b")
      ->check(CLI::IsMember({"8b"}));
  app.add_option("--threshold", default_threshold, "the block-diffusion threshold compared with AR")->capture_default_str();
  app.add_flag("--json", json_output, "print one JSON object (keys in README's benchmark section)");
  app.add_option("--switches", switches,
                 "forward-path switch sets to time one after another, ';'-separated (e.g. 'none;merged;all'); "
                 "each set is a comma list of merged, rope, sdpa, norm, step, or all / none");
  app.add_option("--peak-bandwidth-gbs", peak_bandwidth_gbs, "the device's nominal memory bandwidth for the roofline")
      ->capture_default_str();
  app.add_option("--prefixes", prefixes, "cached prefix lengths for the forward timing")
      ->delimiter(',')
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto set_threads = [&](const ModelConfig& config) {
    torch::set_num_threads(flags.device.threads > 0 ? flags.device.threads : default_threads(config));
  };
  torch::Device device = resolve_device(flags.device.device);
  keep_freed_buffers_for_reuse();  // as the engine does
  std::string dir = flags.model.empty() ? default_model_dir() : flags.model;
  std::unique_ptr<Tokenizer> tokenizer;
  Transformer model{nullptr};
  std::string label;
  if (shape == "8b") {
    // Allocated and filled where it runs: a CPU-side default init of 8B float32 weights is slow.
    ModelConfig config = stable_diffcoder_8b_config();
    model = uninitialized_transformer(config, device, inference_dtype(flags.device.dtype, config, device));
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.dim() >= 2 ? p.normal_(0.0, 0.02) : p.fill_(1.0);
    label = "random weights, Stable-DiffCoder-8B shape";
  } else if (!dir.empty()) {
    ModelFiles files = locate_model_files(dir);
    tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_file(files.tokenizer_json_path));
    model = Transformer(files.config);
    load_weights(model, Checkpoint::open(files.safetensors_paths));
    label = dir;
  } else {
    auto config = training::tiny_config(training::ModelShape{}, 6144);
    config.max_position_embeddings = 4096;
    model = training::init_model(config, 1);
    label = "random weights, tiny shape";
  }
  const torch::Dtype dtype = inference_dtype(flags.device.dtype, model->config(), device);
  model->to(device, dtype);
  model->eval();
  const auto& config = model->config();
  set_threads(config);
  FILE* info = json_output ? stderr : stdout;  // with --json, stdout carries only the JSON object
  std::fprintf(info, "model: %s (%lld layers, hidden %lld) on %s\n\n", label.c_str(), (long long)config.num_hidden_layers,
              (long long)config.hidden_size, device.str().c_str());

  model->set_fast_path(default_fast_path(device));
  std::fprintf(info, "%-28s %10s   (switches: %s)\n", "4-token block forward", "ms (median)",
               model->fast_path().describe().c_str());
  std::vector<double> ms;
  for (int64_t prefix : prefixes) {
    if (prefix + config.block_size > config.max_position_embeddings) continue;
    ms.push_back(ms_per_block_forward(model, prefix, repeats));
    std::fprintf(info, "  cached prefix %-13lld %10.3f\n", (long long)prefix, ms.back());
  }
  if (ms.size() >= 2) std::fprintf(info, "  ratio %lld/%lld: %.2f (goal < 1.5)\n\n", (long long)prefixes[ms.size() - 1],
                                  (long long)prefixes[0], ms.back() / ms.front());
  double copy_gbs = 0;
  if (device.is_cuda()) {
    copy_gbs = copy_bandwidth_gbs(device);
    std::fprintf(info, "weights %.2f GB, copy bandwidth %.0f GB/s (nominal %.0f) -> roofline %.3f ms per forward\n\n",
                 forward_bytes(model, 0) / 1e9, copy_gbs, peak_bandwidth_gbs,
                 1e3 * forward_bytes(model, 0) / (peak_bandwidth_gbs * 1e9));
  }
  // Each switch set against the same weights: before/after figures from one run.
  nlohmann::json sweep = nlohmann::json::array();
  std::stringstream sets(switches);
  std::string set;
  while (std::getline(sets, set, ';')) {
    if (set.empty()) continue;
    model->set_fast_path(parse_fast_path(set));
    nlohmann::json row = {{"switches", set}, {"applied", model->fast_path().describe()}};
    try {
      for (int64_t prefix : prefixes) {
        if (prefix + config.block_size > config.max_position_embeddings) continue;
        const double forward = model->fast_path().cuda_graphs ? ms_per_graphed_block_forward(model, prefix, repeats)
                                                              : ms_per_block_forward(model, prefix, repeats);
        const double roofline = 1e3 * forward_bytes(model, prefix) / (peak_bandwidth_gbs * 1e9);
        row["forward_ms"][std::to_string(prefix)] = forward;
        row["vs_roofline"][std::to_string(prefix)] = forward / roofline;
      }
    } catch (const std::exception& e) {  // one switch set's failure must not lose the others' figures
      row["error"] = std::string(e.what()).substr(0, 300);
    }
    std::fprintf(info, "switches %-28s %s\n", set.c_str(), row["forward_ms"].dump().c_str());
    sweep.push_back(row);
  }
  model->set_fast_path(default_fast_path(device));
  if (shape == "8b") {  // the decode comparison needs a trained model to mean anything
    if (!json_output) return 0;
    nlohmann::json summary = {{"model", label},
                              {"device", device.str()},
                              {"dtype", dtype == torch::kBFloat16 ? "bfloat16" : "float32"},
                              {"switches", model->fast_path().describe()},
                              {"copy_bandwidth_gbs", copy_gbs},
                              {"peak_bandwidth_gbs", peak_bandwidth_gbs},
                              {"weights_gb", forward_bytes(model, 0) / 1e9},
                              {"block_forward_ms", ms},
                              {"prefixes", prefixes},
                              {"switch_sweep", sweep},
                              {"step_rule", step_rule_costs(model, repeats)}};
    // The default switches, then the same with prompt chunks attending in parts (`flash`).
    FastPath in_parts = model->fast_path();
    in_parts.prefill_in_parts = true;
    for (const auto& [key, fast] : {std::pair{"prefill_ms", model->fast_path()}, std::pair{"prefill_ms_flash", in_parts}}) {
      model->set_fast_path(fast);
      try {
        for (int64_t tokens : {int64_t(512), int64_t(2048), int64_t(4096)})
          if (tokens + config.block_size <= config.max_position_embeddings)
            summary[key][std::to_string(tokens)] = prefill_ms(model, tokens, 3);
      } catch (const std::exception& e) {  // an unproven switch's failure must not lose the other figures
        summary[key] = {{"error", std::string(e.what()).substr(0, 300)}};
      }
    }
    model->set_fast_path(default_fast_path(device));
    std::printf("%s\n", summary.dump(2).c_str());
    return 0;
  }

  auto inputs = bench_prompts(tokenizer.get(), config.vocab_size, prompts, prompt_length);
  Row threshold{"block diffusion, threshold " + std::to_string(default_threshold).substr(0, 4)},
      one_per_step{"block diffusion, 1 token/step"}, ar{"AR greedy"};
  DiffusionTokens special{config.mask_token_id, config.eos_token_id};
  for (const auto& prompt : inputs) {
    DecodeOptions options;
    options.gen_length = gen_length;
    options.stop_at_eos = false;  // same lengths for every method
    options.threshold = default_threshold;
    add(threshold, generate_block_diffusion(model, prompt, options, special, {}), gen_length);
    options.threshold.reset();
    add(one_per_step, generate_block_diffusion(model, prompt, options, special, {}), gen_length);
    add(ar, generate_greedy_autoregressive(model, prompt, gen_length, -1, {}), gen_length);
  }
  // Prefill cost per token at ~512 and ~2K prompt tokens, no cache.
  std::vector<int32_t> source = inputs.front();
  int64_t long_prompt = std::min<int64_t>(2048, config.max_position_embeddings) - 2 * config.block_size;
  PrefillScaling scaling = prefill_scaling(model, source, 512, long_prompt, 5);
  double prefill_512 = scaling.short_ms_per_token, prefill_2k = scaling.long_ms_per_token;
  nlohmann::json summary = {
      {"model", label},
      {"device", device.str()},
      {"dtype", dtype == torch::kBFloat16 ? "bfloat16" : dtype == torch::kFloat16 ? "float16" : "float32"},
      {"threads", torch::get_num_threads()},
      {"load_average_1m", load_average()},
      {"gen_length", gen_length},
      {"prompts", prompts},
      {"block_forward_ms", ms},
      {"forwards_per_token_1step", double(one_per_step.forwards) / one_per_step.tokens},
      {"forwards_per_token_threshold", double(threshold.forwards) / threshold.tokens},
      {"default_threshold", default_threshold},
      {"tokens_per_second", {{"threshold", threshold.decode_tokens_per_second()},
                             {"one_per_step", one_per_step.decode_tokens_per_second()},
                             {"ar", ar.decode_tokens_per_second()}}},
      {"speedup_vs_ar", threshold.decode_tokens_per_second() / ar.decode_tokens_per_second()},
      {"speedup_vs_ar_1step", one_per_step.decode_tokens_per_second() / ar.decode_tokens_per_second()},
      {"speedup_vs_ar_with_prefill", threshold.tokens_per_second() / ar.tokens_per_second()},
      {"prefill_ms_per_token_512", prefill_512},
      {"prefill_ms_per_token_2k", prefill_2k},
      {"prefill_2k_tokens", long_prompt},
      {"prefill_scaling_2k_vs_512", scaling.ratio},
      {"step_costs", step_costs(model, 256, repeats)}};
  if (json_output) {
    std::printf("%s\n", summary.dump(2).c_str());
    return 0;
  }
  std::printf("%-34s %8s %8s %12s %12s\n", "method", "forwards", "tokens", "forwards/tok", "tokens/s");
  for (const Row* row : {&threshold, &one_per_step, &ar})
    std::printf("%-34s %8d %8d %12.2f %12.1f\n", row->name.c_str(), row->forwards, row->tokens,
                double(row->forwards) / row->tokens, row->decode_tokens_per_second());
  std::printf("(forwards after the prefill; tokens/s of decoding, prefill excluded: both methods share it)\n");
  std::printf("speedup vs AR: %.2fx at threshold %.2f, %.2fx at one token per step\n\n",
              summary["speedup_vs_ar"].get<double>(), default_threshold, summary["speedup_vs_ar_1step"].get<double>());
  std::printf("prefill ms/token: %.3f at 512 tokens, %.3f at %lld tokens (ratio %.2f)\n", prefill_512, prefill_2k,
              (long long)long_prompt, scaling.ratio);
  return 0;
}

const RegisterCommand bench_decode_command{"bench-decode", "ms per forward and decoding throughput", run_bench_decode};

}  // namespace
}  // namespace maskfill
