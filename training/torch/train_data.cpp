#include "training/torch/train_data.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <random>
#include <stdexcept>

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

void TokenStream::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  uint64_t sizes[2] = {ids.size(), trainable.size()};
  out.write(reinterpret_cast<const char*>(sizes), sizeof sizes);
  out.write(reinterpret_cast<const char*>(ids.data()), std::streamsize(ids.size() * sizeof(int32_t)));
  out.write(reinterpret_cast<const char*>(trainable.data()), std::streamsize(trainable.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

TokenStream TokenStream::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  uint64_t sizes[2];
  in.read(reinterpret_cast<char*>(sizes), sizeof sizes);
  if (!in || sizes[0] > (1ull << 34) || sizes[1] > sizes[0]) throw std::runtime_error("corrupt token stream " + path);
  TokenStream stream;
  stream.ids.resize(sizes[0]);
  stream.trainable.resize(sizes[1]);
  in.read(reinterpret_cast<char*>(stream.ids.data()), std::streamsize(sizes[0] * sizeof(int32_t)));
  in.read(reinterpret_cast<char*>(stream.trainable.data()), std::streamsize(sizes[1]));
  if (!in) throw std::runtime_error("truncated token stream " + path);
  return stream;
}

namespace {
size_t utf8_boundary(const std::string& text, size_t pos) {
  while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
  return pos;
}

void append(std::vector<int32_t>& out, const std::vector<int32_t>& more) { out.insert(out.end(), more.begin(), more.end()); }
}  // namespace

std::vector<int32_t> encode_spm_fim(const Tokenizer& tokenizer, const SpecialIds& special, const std::string& text,
                                    std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> pick(0, text.size());
  size_t a = utf8_boundary(text, pick(rng)), b = utf8_boundary(text, pick(rng));
  if (a > b) std::swap(a, b);
  std::vector<int32_t> out{special.fim_suffix};
  append(out, tokenizer.encode(text.substr(b)));
  out.push_back(special.fim_prefix);
  append(out, tokenizer.encode(text.substr(0, a)));
  out.push_back(special.fim_middle);
  append(out, tokenizer.encode(text.substr(a, b - a)));
  return out;
}

TokenStream build_pretraining_stream(const std::string& corpus_dir, bool validation, const Tokenizer& tokenizer,
                                     double fim_rate, uint64_t seed) {
  SpecialIds special = SpecialIds::from(tokenizer);
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution use_fim(fim_rate);
  TokenStream stream;
  size_t documents = 0;
  for_each_document(corpus_dir, validation ? Split::Validation : Split::Train, [&](const CorpusDocument& doc) {
    if (use_fim(rng)) append(stream.ids, encode_spm_fim(tokenizer, special, doc.text, rng));
    else append(stream.ids, tokenizer.encode(doc.text));
    stream.ids.push_back(special.eos);
    ++documents;
  });
  spdlog::info("{} stream: {} documents, {} tokens", validation ? "validation" : "train", documents, stream.ids.size());
  if (stream.ids.size() < 1024) throw std::runtime_error("corpus split has too few tokens to train on");
  return stream;
}

namespace {
Batch windows(const TokenStream& stream, const std::vector<size_t>& starts, int64_t length) {
  const int64_t rows = int64_t(starts.size());
  auto ids = torch::empty({rows, length}, torch::kLong);
  auto trainable = torch::ones({rows, length}, torch::kBool);
  auto id_data = ids.accessor<int64_t, 2>();
  auto train_data = trainable.accessor<bool, 2>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < length; ++i) {
      id_data[r][i] = stream.ids[starts[r] + i];
      if (!stream.trainable.empty()) train_data[r][i] = stream.trainable[starts[r] + i] != 0;
    }
  return {ids, trainable};
}
}  // namespace

Batch sample_batch(const TokenStream& stream, int64_t rows, int64_t length, std::mt19937_64& rng) {
  if (stream.ids.size() <= size_t(length)) throw std::runtime_error("token stream shorter than one window");
  std::uniform_int_distribution<size_t> start(0, stream.ids.size() - length - 1);
  std::vector<size_t> starts(rows);
  for (auto& s : starts) s = start(rng);
  return windows(stream, starts, length);
}

std::vector<Batch> validation_batches(const TokenStream& stream, int64_t batches, int64_t rows, int64_t length) {
  const size_t total = size_t(batches * rows);
  const size_t span = stream.ids.size() - length - 1;
  std::vector<Batch> out;
  for (int64_t b = 0; b < batches; ++b) {
    std::vector<size_t> starts(rows);
    for (int64_t r = 0; r < rows; ++r) starts[r] = span * size_t(b * rows + r) / total;
    out.push_back(windows(stream, starts, length));
  }
  return out;
}

}  // namespace maskfill::training
