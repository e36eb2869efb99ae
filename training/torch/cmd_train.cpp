// `maskfill train corpus|tokenizer|ar|bd|sft`: the seed's recipe, stage by stage. Each stage
// reads the previous stage's model directory and writes its own (HF layout), so a stage can be
// rerun or resumed alone (checkpoints live in the stage's output folder).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <functional>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/command.h"
#include "inference/tokenizer.h"
#include "training/bpe_trainer.h"
#include "training/corpus.h"
#include "training/torch/model_io.h"
#include "training/torch/sft_data.h"
#include "training/torch/trainer.h"

namespace maskfill::training {
namespace {
namespace fs = std::filesystem;

struct StageFlags {
  std::string corpus = "runs/corpus", tokenizer = "runs/tokenizer", init, out;
  ModelShape shape;
  StageOptions stage;
  double fim_rate = 0.5;
  int threads = 0;
  std::string export_dtype = "bfloat16";
  int64_t sft_samples = 20000;
  double next_edit_share = 0.2;
  bool eval_only = false;
  bool synth_only = false;
  void add_to(CLI::App& app) {
    app.add_option("--corpus", corpus, "corpus directory from `train corpus`")->capture_default_str();
    app.add_option("--tokenizer", tokenizer, "directory with tokenizer.json")->capture_default_str();
    app.add_option("--init", init, "model directory to start from (required for bd and sft)");
    app.add_option("--out", out, "output directory (model + log.csv + checkpoint/)")->required();
    app.add_option("--steps", stage.steps)->capture_default_str();
    app.add_option("--batch", stage.batch)->capture_default_str();
    app.add_option("--seq-len", stage.seq_len,
                   "training context in tokens (default: what the editor uses, FIM 643 and edits)")
        ->capture_default_str();
    app.add_option("--lr", stage.lr)->capture_default_str();
    app.add_option("--warmup", stage.warmup_steps, "LR warmup steps")->capture_default_str();
    app.add_option("--corruption-warmup", stage.corruption_warmup_steps,
                   "block diffusion: steps over which u_max rises from 1e-3 to 1 (0 = off)");
    app.add_option("--seed", stage.seed)->capture_default_str();
    app.add_option("--checkpoint-every", stage.checkpoint_every)->capture_default_str();
    app.add_option("--eval-every", stage.eval_every)->capture_default_str();
    app.add_option("--device", stage.device, "cpu or cuda")->capture_default_str();
    app.add_option("--precision", stage.precision,
                   "fp32, or bf16 (bf16 weights and activations, fp32 master weights in the optimizer)")
        ->check(CLI::IsMember({"fp32", "bf16"}))
        ->capture_default_str();
    app.add_option("--micro-batch", stage.micro_batch,
                   "rows per forward; a step accumulates --batch / --micro-batch of them (0 = --batch)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--peak-tflops", stage.peak_tflops,
                   "the device's dense peak in TFLOP/s at the training precision: summary.json's mfu")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--log-every", stage.log_every, "steps between log lines (each waits for the device)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--max-seconds", stage.max_seconds, "wall-clock budget for the stage (0 = none)");
    app.add_option("--fim-rate", fim_rate, "share of SPM FIM samples")->capture_default_str();
    app.add_option("--hidden", shape.hidden)->capture_default_str();
    app.add_option("--layers", shape.layers)->capture_default_str();
    app.add_option("--heads", shape.heads)->capture_default_str();
    app.add_option("--kv-heads", shape.kv_heads)->capture_default_str();
    app.add_option("--intermediate", shape.intermediate)->capture_default_str();
    app.add_option("--context", shape.context, "max_position_embeddings")->capture_default_str();
    app.add_option("--threads", threads, "torch CPU threads (0 = all cores)");
    app.add_option("--export-dtype", export_dtype, "dtype of the written model.safetensors")->capture_default_str();
    app.add_option("--sft-samples", sft_samples, "SFT: samples to synthesize")->capture_default_str();
    app.add_option("--next-edit-share", next_edit_share,
                   "SFT: share of next-edit samples (renames in the editor's next-edit prompt format)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    app.add_flag("--synth-only", synth_only,
                 "sft: synthesise the SFT streams for the shape flags into --out and exit (a later sft run "
                 "with the same --out, shape, --seq-len, --sft-samples, --next-edit-share and --seed loads them)");
    app.add_flag("--eval-only", eval_only,
                 "load --init, print the validation loss (block diffusion: the unbiased ELBO and the old "
                 "clipped, forced-mask estimate) and exit");
  }
};

// Samples leave room for the 3 FIM sentinels and the few extra tokens a FIM split costs.
int64_t pretraining_sample_tokens(int64_t seq_len) { return std::max<int64_t>(16, seq_len - 8); }

TokenStream cached_stream(const StageFlags& f, const Tokenizer& tokenizer, bool validation) {
  fs::path cache = fs::path(f.out) / fmt::format("{}-L{}.tokens", validation ? "validation" : "train", f.stage.seq_len);
  if (fs::exists(cache)) return TokenStream::load(cache.string());
  TokenStream stream =
      build_pretraining_stream(f.corpus, validation, tokenizer, pretraining_sample_tokens(f.stage.seq_len));
  stream.save(cache.string());
  return stream;
}

// The SFT streams are synthesised once and kept in --out (a minute of one core for 20,000
// samples: `--synth-only` does it before a GPU run, which then only loads them). The name holds
// everything the streams depend on.
TokenStream cached_sft_stream(const StageFlags& f, const Tokenizer& tokenizer, const SftMix& mix, bool validation) {
  const int64_t samples = validation ? std::max<int64_t>(200, f.sft_samples / 20) : f.sft_samples;
  fs::path cache = fs::path(f.out) / fmt::format("sft-{}-L{}-C{}-N{}-E{}-S{}.tokens", validation ? "validation" : "train",
                                                 f.stage.seq_len, mix.config.max_position_embeddings, samples,
                                                 int(std::lround(f.next_edit_share * 1000)), f.stage.seed);
  if (fs::exists(cache)) {
    spdlog::info("sft {} stream: {} (synthesised before)", validation ? "validation" : "train", cache.string());
    return TokenStream::load(cache.string());
  }
  const std::string chat_config = (fs::path(f.tokenizer) / "tokenizer_config.json").string();
  TokenStream stream =
      build_sft_stream(f.corpus, tokenizer, chat_config, mix, samples, f.stage.seed, validation, f.stage.seq_len);
  stream.save(cache.string());
  return stream;
}

// --eval-only: the validation objective of a trained model; for block diffusion also the old,
// biased estimate (training's clipped schedule and forced mask, u ~ U(0,1)) for comparison.
int evaluate_only(Transformer& model, const TokenStream& validation, const StageFlags& f, const FimOptions& fim,
                  int32_t mask_id) {
  torch::Device device(f.stage.device);
  model->to(device);
  WindowSampler windows(validation, f.stage.seq_len, fim);
  auto batches = windows.fixed(f.stage.eval_batches, f.stage.batch);
  const int64_t block = model->config().block_size;
  nlohmann::json out = {{"stage", f.stage.name}, {"seq_len", f.stage.seq_len}, {"batches", batches.size()},
                        {"rows", f.stage.batch}};
  if (f.stage.objective == Objective::Autoregressive) {
    out["ar_ce"] = validation_loss(model, batches, Objective::Autoregressive, mask_id, NoiseSchedule{});
  } else {
    NoiseSchedule old;  // the previous validation: training's schedule with u_max 1
    old.block = block;
    out["elbo_unbiased"] = validation_loss(model, batches, Objective::BlockDiffusion, mask_id, NoiseSchedule::elbo(block));
    out["elbo_clipped_forced"] = validation_loss(model, batches, Objective::BlockDiffusion, mask_id, old);
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

void write_summary(const StageFlags& f, const StageResult& r) {
  nlohmann::json summary = {{"stage", f.stage.name},       {"steps", r.steps},
                            {"train_loss", r.train_loss},  {"val_loss", r.val_loss},
                            {"seconds", r.seconds},        {"batch", f.stage.batch},
                            {"seq_len", f.stage.seq_len},  {"lr", f.stage.lr},
                            {"corruption_warmup", f.stage.corruption_warmup_steps},
                            {"fim_rate", f.fim_rate},      {"precision", f.stage.precision},
                            {"micro_batch", f.stage.micro_batch},
                            {"tokens_per_s", r.tokens_per_s},
                            {"model_tflops_per_s", r.model_tflops_per_s},
                            {"mfu", f.stage.peak_tflops > 0 ? nlohmann::json(r.mfu) : nlohmann::json(nullptr)},
                            {"device", f.stage.device}};
  std::ofstream(fs::path(f.out) / "summary.json") << summary.dump(2) << "\n";
  spdlog::info("[{}] done: {} steps in {:.0f}s, train loss {:.4f}, validation loss {:.4f}", f.stage.name, r.steps,
               r.seconds, r.train_loss, r.val_loss);
}

int run_training_stage(StageFlags& f, const std::string& stage) {
  torch::set_num_threads(f.threads > 0 ? f.threads : int(std::max(1u, std::thread::hardware_concurrency())));
  fs::create_directories(f.out);
  Tokenizer tokenizer = Tokenizer::from_file((fs::path(f.tokenizer) / "tokenizer.json").string());
  SpecialIds special = SpecialIds::from(tokenizer);
  f.stage.name = stage;
  f.stage.out_dir = f.out;
  Transformer model{nullptr};
  if (f.synth_only) {
    if (stage != "sft") throw std::runtime_error("--synth-only is for the sft stage");
    const ModelConfig config = tiny_config(f.shape, tokenizer.vocab_size());
    const SftMix mix{config, f.next_edit_share, int64_t(f.next_edit_share * double(f.sft_samples) * 1.2) + 400};
    cached_sft_stream(f, tokenizer, mix, true);
    cached_sft_stream(f, tokenizer, mix, false);
    return 0;
  }
  if (stage == "ar") {
    f.stage.objective = Objective::Autoregressive;
    ModelConfig config = tiny_config(f.shape, tokenizer.vocab_size());
    config.attention = AttentionMode::Causal;
    config.logit_shift = true;
    model = f.init.empty() ? init_model(config, f.stage.seed) : load_model_for_training(f.init, AttentionMode::Causal);
  } else {
    if (f.init.empty() && stage == "sft") throw std::runtime_error("sft needs --init (the block-diffusion model)");
    f.stage.objective = Objective::BlockDiffusion;
    if (f.init.empty()) {  // block diffusion from scratch: the "no AR stage" ablation
      model = init_model(tiny_config(f.shape, tokenizer.vocab_size()), f.stage.seed);
    } else {
      model = load_model_for_training(f.init, AttentionMode::BlockCausal);
    }
  }
  TokenStream train, validation;
  FimOptions fim;
  if (stage == "sft") {
    // Enough next-edit samples for their share of the train stream and the validation one.
    const SftMix mix{model->config(), f.next_edit_share,
                     int64_t(f.next_edit_share * double(f.sft_samples) * 1.2) + 400};
    validation = cached_sft_stream(f, tokenizer, mix, true);
    if (!f.eval_only) train = cached_sft_stream(f, tokenizer, mix, false);
  } else {
    fim = FimOptions{f.fim_rate, &tokenizer, special, f.stage.seed};
    validation = cached_stream(f, tokenizer, true);
    if (!f.eval_only) train = cached_stream(f, tokenizer, false);
  }
  if (f.eval_only) {
    if (f.init.empty()) throw std::runtime_error("--eval-only needs --init");
    return evaluate_only(model, validation, f, fim, special.mask);
  }
  StageResult result = run_stage(model, train, validation, f.stage, special.mask, fim);
  export_model(model, f.tokenizer, (fs::path(f.out) / "model").string(), parse_dtype(f.export_dtype));
  write_summary(f, result);
  return 0;
}

int run_corpus(const std::string& packages, const std::string& out, const std::string& cache, double validation_fraction,
               double near_dup, const std::vector<std::string>& eval_tasks) {
  CorpusOptions options;
  options.eval_task_files = eval_tasks;
  options.package_list_path = packages;
  options.cache_dir = cache;
  options.validation_fraction = validation_fraction;
  options.near_duplicate_jaccard = near_dup;
  CorpusManifest manifest = gather_corpus(options);
  write_corpus(manifest, out);
  std::printf("%s", corpus_report(manifest).c_str());
  uint64_t bytes = 0, validation = 0;
  for (const auto& file : manifest.files) {
    bytes += file.bytes;
    validation += file.split == Split::Validation;
  }
  spdlog::info("corpus: {} files ({} validation), {:.1f} MB, written to {}", manifest.files.size(), validation,
               double(bytes) / 1e6, out);
  return 0;
}

struct FimStatsFlags {
  std::string corpus = "runs/corpus", tokenizer = "runs/tokenizer";
  int64_t seq_len = 512, windows = 2000, documents = 2000;
  double fim_rate = 0.5;
  uint64_t seed = 1;
  void add_to(CLI::App& app) {
    app.add_option("--corpus", corpus)->capture_default_str();
    app.add_option("--tokenizer", tokenizer)->capture_default_str();
    app.add_option("--seq-len", seq_len)->capture_default_str();
    app.add_option("--windows", windows, "training windows drawn")->capture_default_str();
    app.add_option("--documents", documents, "train documents used (every k-th, N in all)")->capture_default_str();
    app.add_option("--fim-rate", fim_rate)->capture_default_str();
    app.add_option("--seed", seed)->capture_default_str();
  }
};

int run_fim_stats(const FimStatsFlags& f) {
  Tokenizer tokenizer = Tokenizer::from_file((fs::path(f.tokenizer) / "tokenizer.json").string());
  // Every k-th train document, so all of the corpus's languages are represented.
  size_t train_files = 0;
  for (const auto& file : read_manifest((fs::path(f.corpus) / "manifest.jsonl").string()).files)
    train_files += file.split == Split::Train;
  const size_t stride = std::max<size_t>(1, train_files / size_t(std::max<int64_t>(1, f.documents)));
  std::vector<std::string> documents;
  size_t index = 0;
  for_each_document(f.corpus, Split::Train, [&](const CorpusDocument& doc) {
    if (index++ % stride == 0 && int64_t(documents.size()) < f.documents) documents.push_back(doc.text);
  });
  FimStats before = whole_document_fim_stats(documents, tokenizer, f.fim_rate, f.seq_len, f.windows, f.seed);
  TokenStream stream = pack_documents(documents, tokenizer, pretraining_sample_tokens(f.seq_len));
  WindowSampler sampler(stream, f.seq_len, FimOptions{f.fim_rate, &tokenizer, SpecialIds::from(tokenizer), f.seed});
  std::mt19937_64 rng(f.seed);
  FimStats after;
  const int64_t rows = 16;
  for (int64_t drawn = 0; drawn < f.windows; drawn += rows) sampler.sample(rows, rng, 0, &after);
  uint64_t tokens = 0;
  for (const auto& d : documents) tokens += d.size();
  nlohmann::json out = {
      {"documents", documents.size()},
      {"mean_document_bytes", documents.empty() ? 0.0 : double(tokens) / double(documents.size())},
      {"seq_len", f.seq_len},
      {"windows", f.windows},
      {"before_whole_document_fim_random_windows",
       {{"middle_tokens", before.middle_tokens}, {"seeing_suffix", before.seeing_fraction()}}},
      {"after_per_sample_fim_aligned_windows",
       {{"middle_tokens", after.middle_tokens}, {"seeing_suffix", after.seeing_fraction()},
        {"samples", stream.samples()}}}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

// Every k-th document of a split, for about `max_bytes` of text (all of them when 0): the shards
// hold files in path order, so the first bytes would be a few languages' (mostly C++ and Go in
// the v2 corpus).
void for_sampled_documents(const std::string& corpus, Split split, uint64_t max_bytes,
                           const std::function<void(const CorpusDocument&)>& visit) {
  uint64_t total = 0;
  if (max_bytes > 0)
    for (const auto& file : read_manifest((fs::path(corpus) / "manifest.jsonl").string()).files)
      total += file.split == split ? file.bytes : 0;
  const uint64_t stride = max_bytes > 0 ? std::max<uint64_t>(1, total / max_bytes) : 1;
  uint64_t index = 0;
  for_each_document(corpus, split, [&](const CorpusDocument& doc) {
    if (index++ % stride == 0) visit(doc);
  });
}

// How well a tokenizer compresses held-out text: the validation split's bytes per token, in all
// and per language, over about `max_bytes` of it (what choosing a vocabulary size is measured by:
// fewer tokens a completion means fewer decoding steps, a larger vocabulary a larger model).
nlohmann::json measure_tokenizer(const std::string& corpus, const Tokenizer& tokenizer, uint64_t max_bytes) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_language;  // bytes, tokens
  uint64_t bytes = 0, tokens = 0;
  for_sampled_documents(corpus, Split::Validation, max_bytes, [&](const CorpusDocument& doc) {
    const uint64_t n = tokenizer.encode(doc.text).size();
    bytes += doc.text.size();
    tokens += n;
    by_language[doc.language].first += doc.text.size();
    by_language[doc.language].second += n;
  });
  nlohmann::json languages = nlohmann::json::object();
  for (const auto& [language, counts] : by_language)
    languages[language] = {{"bytes", counts.first},
                           {"bytes_per_token", double(counts.first) / double(std::max<uint64_t>(1, counts.second))}};
  return {{"vocab", tokenizer.vocab_size()},
          {"validation_bytes", bytes},
          {"validation_tokens", tokens},
          {"bytes_per_token", double(bytes) / double(std::max<uint64_t>(1, tokens))},
          {"by_language", languages}};
}

int run_tokenizer(const std::string& corpus, const std::string& out, int32_t vocab, int64_t max_bytes,
                  int64_t measure_bytes) {
  BpeTrainer trainer(BpeOptions{.vocab_size = vocab, .min_pair_count = 2, .max_input_bytes = max_bytes});
  for_sampled_documents(corpus, Split::Train, uint64_t(std::max<int64_t>(0, max_bytes)),
                        [&](const CorpusDocument& doc) { trainer.add_text(doc.text); });
  write_tokenizer_files(trainer.train(), out);
  spdlog::info("tokenizer: {} tokens from {:.1f} MB written to {}", vocab, double(trainer.bytes_seen()) / 1e6, out);
  if (measure_bytes > 0) {
    Tokenizer tokenizer = Tokenizer::from_file((fs::path(out) / "tokenizer.json").string());
    nlohmann::json report = measure_tokenizer(corpus, tokenizer, uint64_t(measure_bytes));
    report["trained_bytes"] = trainer.bytes_seen();
    std::ofstream(fs::path(out) / "measured.json") << report.dump(2) << "\n";
    spdlog::info("tokenizer: {:.3f} bytes a token over {:.1f} MB of validation text", report["bytes_per_token"].get<double>(),
                 double(report["validation_bytes"].get<uint64_t>()) / 1e6);
  }
  return 0;
}

int run_train(int argc, char** argv) {
  CLI::App app{"Train maskfill's tiny model with the seed's recipe: corpus, BPE tokenizer, then AR -> "
               "block-diffusion CPT -> SFT"};
  app.require_subcommand(1);
  std::string packages = "training/packages.txt", corpus_out = "runs/corpus";
  auto* corpus_cmd = app.add_subcommand("corpus", "gather permissively licensed sources from Debian and npm packages");
  corpus_cmd->add_option("--packages", packages)->capture_default_str();
  corpus_cmd->add_option("--out", corpus_out)->capture_default_str();
  std::string corpus_cache;
  double corpus_validation = 0.1, near_dup = 0.8;
  corpus_cmd->add_option("--cache", corpus_cache,
                         "download (apt-get download) and unpack (dpkg-deb -x) packages that are not installed here");
  corpus_cmd->add_option("--validation", corpus_validation, "share of packages held out")->capture_default_str();
  corpus_cmd->add_option("--near-dup", near_dup, "MinHash Jaccard at which a file is a near-duplicate (0 = off)")
      ->capture_default_str();
  std::vector<std::string> eval_tasks = {"samples/eval/single-line.jsonl", "samples/eval/multi-line.jsonl"};
  corpus_cmd->add_option("--eval-tasks", eval_tasks,
                         "eval task files: train files that contain one of their tasks are left out (none: --eval-tasks '')")
      ->capture_default_str();
  FimStatsFlags fim_stats;
  auto* fim_cmd = app.add_subcommand(
      "fim-stats", "measure the share of FIM middle tokens whose suffix is in the same training window, for the "
                   "whole-document recipe and for per-sample FIM with aligned windows");
  fim_stats.add_to(*fim_cmd);
  std::string tok_corpus = "runs/corpus", tok_out = "runs/tokenizer";
  int32_t vocab = 6144;
  int64_t max_bytes = 0;
  auto* tok_cmd = app.add_subcommand("tokenizer", "train the byte-level BPE tokenizer");
  tok_cmd->add_option("--corpus", tok_corpus)->capture_default_str();
  tok_cmd->add_option("--out", tok_out)->capture_default_str();
  tok_cmd->add_option("--vocab", vocab)->capture_default_str();
  tok_cmd->add_option("--max-bytes", max_bytes, "train on at most this many bytes (0 = all)");
  int64_t measure_bytes = 16000000;
  tok_cmd->add_option("--measure-bytes", measure_bytes,
                      "bytes of validation text whose bytes per token go to OUT/measured.json (0 = none)")
      ->capture_default_str();
  StageFlags ar_flags, bd_flags, sft_flags;
  ar_flags.stage.lr = 2e-3;
  bd_flags.stage.lr = 1e-3;
  bd_flags.stage.corruption_warmup_steps = 100;
  sft_flags.stage.lr = 3e-4;
  sft_flags.stage.steps = 300;
  auto* ar_cmd = app.add_subcommand("ar", "stage a: next-token prediction with 50% SPM FIM");
  auto* bd_cmd = app.add_subcommand("bd", "stage b: block-diffusion continual pretraining (block 4)");
  auto* sft_cmd = app.add_subcommand("sft", "stage c: instruction edits and FIM samples, block diffusion");
  ar_flags.add_to(*ar_cmd);
  bd_flags.add_to(*bd_cmd);
  sft_flags.add_to(*sft_cmd);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::erase(eval_tasks, "");
  if (*corpus_cmd) return run_corpus(packages, corpus_out, corpus_cache, corpus_validation, near_dup, eval_tasks);
  if (*fim_cmd) return run_fim_stats(fim_stats);
  if (*tok_cmd) return run_tokenizer(tok_corpus, tok_out, vocab, max_bytes, measure_bytes);
  if (*ar_cmd) return run_training_stage(ar_flags, "ar");
  if (*bd_cmd) return run_training_stage(bd_flags, "bd");
  return run_training_stage(sft_flags, "sft");
}

const RegisterCommand train_command{"train", "corpus, tokenizer and the AR -> block-diffusion -> SFT stages", run_train};

}  // namespace
}  // namespace maskfill::training
