#include "training/bpe_trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>
#include <stdexcept>
#include <unordered_set>

#include "common/utf8.h"
#include "inference/byte_level.h"
#include "inference/tokenizer.h"

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace maskfill::training {

const char* const kSeedCoderPretokenizerRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";

const std::vector<SpecialToken> kSpecialTokens = {
    {kBosId, "<[begin\u2581of\u2581sentence]>"}, {kPadId, "<[PAD\u2581TOKEN]>"},
    {kEosId, "<[end\u2581of\u2581sentence]>"},   {kSepId, "<[SEP\u2581TOKEN]>"},
    {kUnkId, "<[UNK\u2581TOKEN]>"},              {kMaskId, "<[MASK_TOKEN]>"},
    {kFimSuffixId, "<[fim-suffix]>"},            {kFimPrefixId, "<[fim-prefix]>"},
    {kFimMiddleId, "<[fim-middle]>"},
};

const char* const kSeedCoderDefaultSystemPrompt =
    "You are an AI programming assistant, utilizing the Seed-Coder model, developed by ByteDance "
    "Seed, and you only answer questions related to computer science. For politically sensitive "
    "questions, security and privacy issues, and other non-computer science questions, you will "
    "refuse to answer.";

// One line, so it renders the same with or without jinja's trim_blocks; "\\n" is a jinja string
// escape, as in Hugging Face tokenizer_config.json files.
const char* const kSeedCoderChatTemplate =
    "{% set has_system = messages[0]['role'] == 'system' %}"
    "{% if not has_system %}{{ bos_token + 'system\\nYou are an AI programming assistant, utilizing "
    "the Seed-Coder model, developed by ByteDance Seed, and you only answer questions related to "
    "computer science. For politically sensitive questions, security and privacy issues, and other "
    "non-computer science questions, you will refuse to answer.\\n\\n' + eos_token }}{% endif %}"
    "{% for message in messages %}{{ bos_token + message['role'] + '\\n' + message['content'] | trim "
    "+ eos_token }}{% endfor %}"
    "{% if add_generation_prompt %}{{ bos_token + 'assistant\\n'}}{% endif %}";

namespace {
std::vector<std::string> byte_symbols() {
  std::vector<std::string> out;
  for (int b = 0; b < 256; ++b) out.push_back(byte_level::byte_to_symbol(static_cast<uint8_t>(b)));
  return out;
}
}  // namespace

std::string tokenizer_json(const BpeModel& model) {
  ordered_json added = ordered_json::array();
  for (const auto& t : kSpecialTokens)
    added.push_back({{"id", t.id}, {"content", t.content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  std::vector<std::string> vocab = model.vocab;
  if (vocab.empty()) {  // the skeleton: specials and bytes only
    for (const auto& t : kSpecialTokens) vocab.push_back(t.content);
    for (const auto& b : byte_symbols()) vocab.push_back(b);
  }
  ordered_json vocab_json = ordered_json::object();
  for (size_t id = 0; id < vocab.size(); ++id) vocab_json[vocab[id]] = id;
  ordered_json merges = ordered_json::array();
  for (const auto& [a, b] : model.merges) merges.push_back(a + " " + b);
  ordered_json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", kSeedCoderPretokenizerRegex}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab_json},
        {"merges", merges}}}};
  return j.dump(1) + "\n";
}

std::string tokenizer_config_json() {
  ordered_json decoder = ordered_json::object();
  for (const auto& t : kSpecialTokens)
    decoder[std::to_string(t.id)] = {{"content", t.content}, {"lstrip", false}, {"normalized", false},
                                     {"rstrip", false}, {"single_word", false}, {"special", true}};
  ordered_json j = {
      {"add_bos_token", false},
      {"add_eos_token", false},
      {"added_tokens_decoder", decoder},
      {"bos_token", kSpecialTokens[kBosId].content},
      {"eos_token", kSpecialTokens[kEosId].content},
      {"pad_token", kSpecialTokens[kPadId].content},
      {"sep_token", kSpecialTokens[kSepId].content},
      {"unk_token", kSpecialTokens[kUnkId].content},
      {"mask_token", kSpecialTokens[kMaskId].content},
      {"additional_special_tokens",
       {kSpecialTokens[kFimSuffixId].content, kSpecialTokens[kFimPrefixId].content,
        kSpecialTokens[kFimMiddleId].content}},
      {"clean_up_tokenization_spaces", false},
      {"model_max_length", 4096},
      {"tokenizer_class", "PreTrainedTokenizerFast"},
      {"chat_template", kSeedCoderChatTemplate}};
  return j.dump(2) + "\n";
}

void write_tokenizer_files(const BpeModel& model, const std::string& dir) {
  fs::create_directories(dir);
  for (const auto& [name, text] : {std::pair<std::string, std::string>{"tokenizer.json", tokenizer_json(model)},
                                   {"tokenizer_config.json", tokenizer_config_json()}}) {
    std::ofstream out(fs::path(dir) / name, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + (fs::path(dir) / name).string());
  }
}

std::vector<std::string> pretokenize(std::string_view text) {
  // The skeleton tokenizer carries exactly the pre-tokenizer we write, so training splits text
  // with the very code that encodes it later.
  static const Tokenizer skeleton = Tokenizer::from_json_text(tokenizer_json(BpeModel{}));
  return skeleton.pretokenize(text);
}

BpeTrainer::BpeTrainer(BpeOptions options) : options_(options) {
  int32_t floor = static_cast<int32_t>(kSpecialTokens.size()) + 256;
  if (options_.vocab_size < floor)
    throw std::invalid_argument("vocab_size must be at least " + std::to_string(floor));
}

bool BpeTrainer::add_text(std::string_view text) {
  if (options_.max_input_bytes > 0 && bytes_seen_ >= options_.max_input_bytes) return false;
  if (!utf8::is_valid(text)) {
    spdlog::warn("bpe: skipped {} bytes of text that is not valid UTF-8", text.size());
    return true;
  }
  bytes_seen_ += static_cast<int64_t>(text.size());
  for (auto& piece : pretokenize(text)) ++word_counts_[std::move(piece)];
  return true;
}

namespace {

using Pair = std::pair<int32_t, int32_t>;
inline uint64_t key(Pair p) { return (static_cast<uint64_t>(p.first) << 32) | static_cast<uint32_t>(p.second); }
inline Pair unkey(uint64_t k) { return {static_cast<int32_t>(k >> 32), static_cast<int32_t>(k & 0xffffffffu)}; }

struct HeapEntry {
  int64_t count;
  uint64_t pair;
  // Most frequent first; ties go to the smaller pair of ids (as HF's trainer does).
  bool operator<(const HeapEntry& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

}  // namespace

BpeModel BpeTrainer::train() {
  BpeModel model;
  std::unordered_map<std::string, int32_t> token_ids;
  for (const auto& t : kSpecialTokens) model.vocab.push_back(t.content);
  for (const auto& b : byte_symbols()) model.vocab.push_back(b);
  for (size_t id = 0; id < model.vocab.size(); ++id) token_ids[model.vocab[id]] = static_cast<int32_t>(id);

  // Words in a deterministic order (the hash map's order is not).
  std::vector<std::pair<std::string, int64_t>> sorted(word_counts_.begin(), word_counts_.end());
  word_counts_.clear();
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (const auto& [text, count] : sorted) {
    Word w{{}, count};
    for (unsigned char b : text) w.symbols.push_back(kFirstByteId + b);
    words.push_back(std::move(w));
  }
  sorted.clear();

  std::unordered_map<uint64_t, int64_t> pair_counts;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;  // word indices, may hold stale ones
  for (int32_t wi = 0; wi < static_cast<int32_t>(words.size()); ++wi) {
    const auto& s = words[wi].symbols;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      uint64_t k = key({s[i], s[i + 1]});
      pair_counts[k] += words[wi].count;
      auto& list = where[k];
      if (list.empty() || list.back() != wi) list.push_back(wi);
    }
  }
  std::priority_queue<HeapEntry> heap;
  for (const auto& [k, c] : pair_counts) heap.push({c, k});

  std::vector<uint64_t> old_pairs, new_pairs;
  while (static_cast<int32_t>(model.vocab.size()) < options_.vocab_size && !heap.empty()) {
    HeapEntry top = heap.top();
    heap.pop();
    auto it = pair_counts.find(top.pair);
    int64_t current = it == pair_counts.end() ? 0 : it->second;
    if (current != top.count) {  // stale entry: requeue with the true count
      if (current > 0) heap.push({current, top.pair});
      continue;
    }
    if (current < options_.min_pair_count) break;
    auto [a, b] = unkey(top.pair);
    std::string merged = model.vocab[a] + model.vocab[b];
    int32_t new_id;
    if (auto found = token_ids.find(merged); found != token_ids.end()) {
      new_id = found->second;  // same string reached by another merge: one token, two merges
    } else {
      new_id = static_cast<int32_t>(model.vocab.size());
      model.vocab.push_back(merged);
      token_ids.emplace(merged, new_id);
    }
    model.merges.emplace_back(model.vocab[a], model.vocab[b]);

    std::vector<int32_t> touched = std::move(where[top.pair]);
    where.erase(top.pair);
    std::unordered_set<uint64_t> changed;
    for (int32_t wi : touched) {
      auto& s = words[wi].symbols;
      old_pairs.clear();
      new_pairs.clear();
      for (size_t i = 0; i + 1 < s.size(); ++i) old_pairs.push_back(key({s[i], s[i + 1]}));
      std::vector<int32_t> out;
      out.reserve(s.size());
      bool any = false;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          out.push_back(new_id);
          ++i;
          any = true;
        } else {
          out.push_back(s[i]);
        }
      }
      if (!any) continue;  // stale index
      s = std::move(out);
      for (size_t i = 0; i + 1 < s.size(); ++i) new_pairs.push_back(key({s[i], s[i + 1]}));
      int64_t c = words[wi].count;
      for (uint64_t k : old_pairs) {
        pair_counts[k] -= c;
        changed.insert(k);
      }
      for (uint64_t k : new_pairs) {
        pair_counts[k] += c;
        changed.insert(k);
        auto& list = where[k];
        if (list.empty() || list.back() != wi) list.push_back(wi);
      }
    }
    for (uint64_t k : changed) {
      auto pc = pair_counts.find(k);
      if (pc == pair_counts.end()) continue;
      if (pc->second <= 0) {
        pair_counts.erase(pc);
        continue;
      }
      heap.push({pc->second, k});
    }
  }
  if (static_cast<int32_t>(model.vocab.size()) < options_.vocab_size)
    spdlog::info("bpe: stopped at {} tokens (no pair occurs {} times)", model.vocab.size(), options_.min_pair_count);
  return model;
}

}  // namespace maskfill::training
