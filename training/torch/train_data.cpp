#include "training/torch/train_data.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include "common/utf8.h"
#include "training/corpus.h"

namespace maskfill::training {

SpecialIds SpecialIds::from(const Tokenizer& tokenizer) {
  auto id = [&](const char* token) {
    auto found = tokenizer.token_to_id(token);
    if (!found) throw std::runtime_error(std::string("tokenizer lacks the special token ") + token);
    return *found;
  };
  return {id("<[begin▁of▁sentence]>"), id("<[end▁of▁sentence]>"), id("<[PAD▁TOKEN]>"), id("<[MASK_TOKEN]>"),
          id("<[fim-prefix]>"),         id("<[fim-suffix]>"),       id("<[fim-middle]>")};
}

namespace {
constexpr char kStreamMagic[8] = {'M', 'F', 'T', 'O', 'K', 'S', '2', '\n'};
}

void TokenStream::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  uint64_t sizes[3] = {ids.size(), trainable.size(), starts.size()};
  out.write(kStreamMagic, sizeof kStreamMagic);
  out.write(reinterpret_cast<const char*>(sizes), sizeof sizes);
  out.write(reinterpret_cast<const char*>(ids.data()), std::streamsize(ids.size() * sizeof(int32_t)));
  out.write(reinterpret_cast<const char*>(trainable.data()), std::streamsize(trainable.size()));
  out.write(reinterpret_cast<const char*>(starts.data()), std::streamsize(starts.size() * sizeof(uint64_t)));
  if (!out) throw std::runtime_error("cannot write " + path);
}

TokenStream TokenStream::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  char magic[8];
  uint64_t sizes[3];
  in.read(magic, sizeof magic);
  if (!in || std::memcmp(magic, kStreamMagic, sizeof magic) != 0)
    throw std::runtime_error(path + " is a token stream of another format (delete it to rebuild)");
  in.read(reinterpret_cast<char*>(sizes), sizeof sizes);
  if (!in || sizes[0] > (1ull << 34) || sizes[1] > sizes[0] || sizes[2] > sizes[0])
    throw std::runtime_error("corrupt token stream " + path);
  TokenStream stream;
  stream.ids.resize(sizes[0]);
  stream.trainable.resize(sizes[1]);
  stream.starts.resize(sizes[2]);
  in.read(reinterpret_cast<char*>(stream.ids.data()), std::streamsize(sizes[0] * sizeof(int32_t)));
  in.read(reinterpret_cast<char*>(stream.trainable.data()), std::streamsize(sizes[1]));
  in.read(reinterpret_cast<char*>(stream.starts.data()), std::streamsize(sizes[2] * sizeof(uint64_t)));
  if (!in) throw std::runtime_error("truncated token stream " + path);
  return stream;
}

namespace {
size_t utf8_boundary(const std::string& text, size_t pos) { return utf8::next_boundary(text, pos); }

void append(std::vector<int32_t>& out, const std::vector<int32_t>& more) { out.insert(out.end(), more.begin(), more.end()); }

uint64_t mix64(uint64_t z) {  // splitmix64 finalizer
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// SPM FIM of `text` split at a and b; `middle_from` gets the index of the first middle token.
std::vector<int32_t> spm(const Tokenizer& tokenizer, const SpecialIds& special, const std::string& text, size_t a,
                         size_t b, size_t* middle_from = nullptr) {
  std::vector<int32_t> out{special.fim_suffix};
  append(out, tokenizer.encode(text.substr(b)));
  out.push_back(special.fim_prefix);
  append(out, tokenizer.encode(text.substr(0, a)));
  out.push_back(special.fim_middle);
  if (middle_from) *middle_from = out.size();
  append(out, tokenizer.encode(text.substr(a, b - a)));
  return out;
}

std::pair<size_t, size_t> fim_split(const std::string& text, std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> pick(0, text.size());
  size_t a = utf8_boundary(text, pick(rng)), b = utf8_boundary(text, pick(rng));
  if (a > b) std::swap(a, b);
  return {a, b};
}
}  // namespace

std::vector<int32_t> encode_spm_fim(const Tokenizer& tokenizer, const SpecialIds& special, const std::string& text,
                                    std::mt19937_64& rng) {
  auto [a, b] = fim_split(text, rng);
  return spm(tokenizer, special, text, a, b);
}

TokenStream pack_documents(const std::vector<std::string>& documents, const Tokenizer& tokenizer,
                           int64_t max_sample_tokens) {
  TokenStream stream;
  SpecialIds special = SpecialIds::from(tokenizer);
  // Which tokens end a line: samples are cut after one when it lies in the last quarter.
  std::vector<uint8_t> ends_line(size_t(tokenizer.vocab_size()), 0);
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    std::string text = tokenizer.decode({id}, true);
    ends_line[size_t(id)] = !text.empty() && text.back() == '\n';
  }
  const size_t budget = size_t(std::max<int64_t>(8, max_sample_tokens - 1));  // room for EOS
  for (const auto& doc : documents) {
    auto ids = tokenizer.encode(doc);
    for (size_t begin = 0; begin < ids.size() || (begin == 0 && ids.empty());) {
      size_t end = std::min(ids.size(), begin + budget);
      if (end < ids.size())
        for (size_t k = end; k > begin + budget * 3 / 4; --k)
          if (ends_line[size_t(ids[k - 1])]) {
            end = k;
            break;
          }
      stream.starts.push_back(stream.ids.size());
      stream.ids.insert(stream.ids.end(), ids.begin() + std::ptrdiff_t(begin), ids.begin() + std::ptrdiff_t(end));
      stream.ids.push_back(special.eos);
      begin = end;
      if (ids.empty()) break;
    }
  }
  return stream;
}

TokenStream build_pretraining_stream(const std::string& corpus_dir, bool validation, const Tokenizer& tokenizer,
                                     int64_t max_sample_tokens) {
  std::vector<std::string> documents;
  for_each_document(corpus_dir, validation ? Split::Validation : Split::Train,
                    [&](const CorpusDocument& doc) { documents.push_back(doc.text); });
  const size_t count = documents.size();
  // Tokenizing is the slow part (hundreds of MB): contiguous groups on every core, joined in order.
  const size_t threads = std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), count / 64 + 1));
  std::vector<TokenStream> parts(threads);
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::vector<std::string> group(std::make_move_iterator(documents.begin() + std::ptrdiff_t(count * t / threads)),
                                     std::make_move_iterator(documents.begin() + std::ptrdiff_t(count * (t + 1) / threads)));
      parts[t] = pack_documents(group, tokenizer, max_sample_tokens);
    });
  for (auto& w : workers) w.join();
  TokenStream stream;
  for (auto& part : parts) {
    for (auto& start : part.starts) stream.starts.push_back(start + stream.ids.size());
    stream.ids.insert(stream.ids.end(), part.ids.begin(), part.ids.end());
  }
  spdlog::info("{} stream: {} documents, {} samples of at most {} tokens, {} tokens", validation ? "validation" : "train",
               count, stream.starts.size(), max_sample_tokens, stream.ids.size());
  if (stream.ids.size() < 1024) throw std::runtime_error("corpus split has too few tokens to train on");
  return stream;
}

WindowSampler::WindowSampler(const TokenStream& stream, int64_t length, FimOptions fim)
    : stream_(stream), length_(length), fim_(fim) {
  if (stream.starts.empty()) throw std::runtime_error("token stream has no sample boundaries");
  // A stream shorter than a window is fine: windows wrap around to the first sample.
  if (fim.rate > 0 && !fim.tokenizer) throw std::runtime_error("FIM needs the tokenizer");
}

int64_t WindowSampler::epoch_of(int64_t step, int64_t rows) const {
  return int64_t(uint64_t(step) * uint64_t(rows) * uint64_t(length_) / stream_.ids.size());
}

Batch WindowSampler::windows(const std::vector<size_t>& first_samples, int64_t epoch, FimStats* stats) const {
  const int64_t rows = int64_t(first_samples.size());
  auto ids = torch::empty({rows, length_}, torch::kLong);
  auto trainable = torch::ones({rows, length_}, torch::kBool);
  auto id_data = ids.accessor<int64_t, 2>();
  auto train_data = trainable.accessor<bool, 2>();
  std::vector<int32_t> fim_ids;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t filled = 0;
    for (size_t sample = first_samples[size_t(r)]; filled < length_; sample = (sample + 1) % stream_.samples()) {
      const size_t begin = stream_.starts[sample], end = stream_.sample_end(sample);
      // Per (seed, epoch, sample): FIM or not, and where to split.
      std::mt19937_64 rng(mix64(fim_.seed * 0x9E3779B97F4A7C15ull ^ mix64(uint64_t(epoch) * 1000003ull + sample)));
      const bool fim = fim_.rate > 0 && end - begin > 2 && std::bernoulli_distribution(fim_.rate)(rng);
      if (stats) stats->samples++;
      if (fim) {
        // The sample's text without its EOS, split, re-encoded as SPM, then the EOS again.
        std::vector<int32_t> plain(stream_.ids.begin() + std::ptrdiff_t(begin),
                                   stream_.ids.begin() + std::ptrdiff_t(end - 1));
        std::string text = fim_.tokenizer->decode(plain, true);
        auto [a, b] = fim_split(text, rng);
        size_t middle_from = 0;
        fim_ids = spm(*fim_.tokenizer, fim_.special, text, a, b, &middle_from);
        fim_ids.push_back(stream_.ids[end - 1]);
        if (stats) {
          stats->fim_samples++;
          // The window starts at or before this sample's <fim-suffix>: every middle token that fits sees it.
          int64_t middle_in_window = std::max<int64_t>(
              0, std::min<int64_t>(int64_t(fim_ids.size()) - 1, length_ - filled) - int64_t(middle_from));
          stats->middle_tokens += uint64_t(middle_in_window);
          stats->middle_seeing_suffix += uint64_t(middle_in_window);
        }
        for (size_t k = 0; k < fim_ids.size() && filled < length_; ++k) id_data[r][filled++] = fim_ids[k];
        continue;
      }
      for (size_t k = begin; k < end && filled < length_; ++k) {
        id_data[r][filled] = stream_.ids[k];
        if (!stream_.trainable.empty()) train_data[r][filled] = stream_.trainable[k] != 0;
        ++filled;
      }
    }
  }
  return {ids, trainable};
}

Batch WindowSampler::sample(int64_t rows, std::mt19937_64& rng, int64_t epoch, FimStats* stats) const {
  std::uniform_int_distribution<size_t> pick(0, stream_.samples() - 1);
  std::vector<size_t> first(static_cast<size_t>(rows));
  for (auto& f : first) f = pick(rng);
  return windows(first, epoch, stats);
}

std::vector<Batch> WindowSampler::fixed(int64_t batches, int64_t rows, FimStats* stats) const {
  const size_t total = size_t(batches * rows), samples = stream_.samples();
  std::vector<Batch> out;
  for (int64_t b = 0; b < batches; ++b) {
    std::vector<size_t> first(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) first[size_t(r)] = samples * size_t(b * rows + r) / total;
    out.push_back(windows(first, 0, stats));
  }
  return out;
}

FimStats whole_document_fim_stats(const std::vector<std::string>& documents, const Tokenizer& tokenizer,
                                  double fim_rate, int64_t length, int64_t windows, uint64_t seed) {
  SpecialIds special = SpecialIds::from(tokenizer);
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution use_fim(fim_rate);
  struct Span {
    size_t suffix_at, middle_begin, middle_end;
  };
  std::vector<Span> spans;
  std::vector<int32_t> ids;
  FimStats stats;
  for (const auto& doc : documents) {
    stats.samples++;
    if (use_fim(rng)) {
      auto [a, b] = fim_split(doc, rng);
      size_t middle_from = 0, at = ids.size();
      auto fim = spm(tokenizer, special, doc, a, b, &middle_from);
      spans.push_back({at, at + middle_from, at + fim.size()});
      append(ids, fim);
      stats.fim_samples++;
    } else {
      append(ids, tokenizer.encode(doc));
    }
    ids.push_back(special.eos);
  }
  if (ids.size() <= size_t(length) + 1) throw std::runtime_error("too little text for one window");
  std::uniform_int_distribution<size_t> start(0, ids.size() - size_t(length) - 1);
  for (int64_t w = 0; w < windows; ++w) {
    size_t begin = start(rng), end = begin + size_t(length);
    for (const Span& s : spans) {
      size_t lo = std::max(begin, s.middle_begin), hi = std::min(end, s.middle_end);
      if (lo >= hi) continue;
      stats.middle_tokens += hi - lo;
      if (s.suffix_at >= begin) stats.middle_seeing_suffix += hi - lo;
    }
  }
  return stats;
}

}  // namespace maskfill::training
