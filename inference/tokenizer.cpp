// Byte-level BPE with HF `tokenizers` semantics. Pipeline of encode(): invalid UTF-8 becomes
// U+FFFD (HF only takes valid strings) -> added tokens cut out (non-normalized ones first, then
// normalized ones; the normalizer is null) -> pre-tokenizer pieces -> BPE of each piece's bytes,
// cached per piece. The post-processor is not applied: callers add BOS per tokenizer_config.
#include "inference/tokenizer.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>

#include "common/json_fields.h"
#include "common/read_file.h"
#include "common/utf8.h"
#include "inference/added_tokens.h"
#include "inference/byte_level.h"
#include "inference/pretokenizer.h"

namespace maskfill {
namespace {

using json = nlohmann::json;

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

struct Merge {
  int32_t rank;
  int32_t merged_id;
};

// Lets unordered_map<std::string, ...> be searched with a string_view without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Piece -> ids cache; bounded by clearing when full (pieces of source code repeat a lot).
class BpeCache {
 public:
  bool find(std::string_view piece, std::vector<int32_t>& out) const {
    std::shared_lock lock(mutex_);
    auto it = map_.find(piece);
    if (it == map_.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void put(std::string_view piece, std::vector<int32_t> ids) {
    std::unique_lock lock(mutex_);
    if (map_.size() >= kCapacity) map_.clear();
    map_.emplace(std::string(piece), std::move(ids));
  }
  static constexpr size_t kMaxPieceBytes = 256;

 private:
  static constexpr size_t kCapacity = 200000;
  mutable std::shared_mutex mutex_;
  StringMap<std::vector<int32_t>> map_;
};

// Token ids above this are refused: the table of tokens is indexed by id (the largest real
// vocabularies have ~260k entries).
constexpr int64_t kMaxTokenId = (int64_t(1) << 24) - 1;

// Everything loaded from tokenizer.json (Tokenizer::Impl is this, kept private in the header).
struct BpeTokenizer {
  StringMap<int32_t> token_ids;  // vocab + added tokens, by token text
  std::vector<std::string> tokens;                     // by id; empty where no token
  std::vector<std::string> token_bytes;                // what each id decodes to
  std::vector<bool> special;
  StringMap<int32_t> raw_vocab;  // vocab by the bytes a token stands for
  std::array<int32_t, 256> byte_ids{};                 // id of each single-byte symbol, -1 if none
  std::unordered_map<uint64_t, Merge> merges;
  std::optional<int32_t> unk_id;
  bool ignore_merges = false;
  std::unique_ptr<AddedTokenSplitter> raw_splitter, normalized_splitter;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  size_t max_token_bytes = 0;  // 0: no bound (see Tokenizer::max_token_bytes)
  // Added tokens with lstrip/rstrip: next to one, any run of whitespace joins a single token.
  std::vector<std::string> stripping_tokens;

  // The bytes that surely hold more than `max_tokens` tokens of `text`, or SIZE_MAX when no such
  // bound holds for it.
  size_t bytes_bound(std::string_view text, size_t max_tokens) const;
  mutable BpeCache cache;

  void bpe(std::string_view piece, std::vector<int32_t>& out) const;
  void bpe_in_parts(std::string_view piece, std::vector<int32_t>& out, Tokenizer::EncodeWork* work) const;
  void encode_section(std::string_view text, std::vector<int32_t>& out, Tokenizer::EncodeWork* work) const;
};

// The longest byte string one token can stand for, or 0 when a text's length does not bound its
// token count from below: a byte with no token (and no unk) is dropped.
size_t token_length_bound(const BpeTokenizer& impl, const std::vector<AddedToken>& added) {
  bool every_byte = impl.unk_id.has_value() ||
                    std::all_of(impl.byte_ids.begin(), impl.byte_ids.end(), [](int32_t id) { return id >= 0; });
  if (!every_byte) return 0;
  size_t longest = 1;
  for (const std::string& bytes : impl.token_bytes) longest = std::max(longest, bytes.size());
  for (const AddedToken& token : added) longest = std::max(longest, token.content.size());
  return longest;
}

// n * k, saturating (a window bound must not wrap around).
size_t window_bytes(size_t n, size_t k) { return k != 0 && n > SIZE_MAX / k ? SIZE_MAX : n * k; }

bool utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t BpeTokenizer::bytes_bound(std::string_view text, size_t max_tokens) const {
  if (max_token_bytes == 0) return SIZE_MAX;
  for (const std::string& token : stripping_tokens)
    if (text.find(token) != std::string_view::npos) return SIZE_MAX;
  return window_bytes(max_tokens, max_token_bytes);
}

void set_token(BpeTokenizer& impl, const std::string& token, int32_t id) {
  if (static_cast<size_t>(id) >= impl.tokens.size()) {
    impl.tokens.resize(id + 1);
    impl.special.resize(id + 1, false);
  }
  impl.tokens[id] = token;
}

void load_model(BpeTokenizer& impl, const JsonField& model) {
  std::string type = model.string_or("type", "BPE");
  if (type != "BPE") model.at("type").fail("is '" + type + "', which is not supported (BPE only)");
  if (auto dropout = model.get("dropout"); dropout && dropout->number() > 0)
    dropout->fail("is above 0: BPE dropout is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (auto value = model.get(key); value && !value->string().empty())
      value->fail("is not supported (must be empty or null)");
  if (auto value = model.get("byte_fallback"); value && value->boolean())
    value->fail("is true: BPE byte_fallback is not supported");
  impl.ignore_merges = model.boolean_or("ignore_merges", false);

  for (const auto& [token, id] : model.at("vocab").members()) {
    int32_t value = static_cast<int32_t>(id.integer(0, kMaxTokenId));
    set_token(impl, token, value);
    impl.token_ids[token] = value;
    if (auto bytes = byte_level::decode(token)) impl.raw_vocab.emplace(*bytes, value);
  }
  if (auto unk = model.get("unk_token")) {
    auto it = impl.token_ids.find(unk->string());
    if (it != impl.token_ids.end()) impl.unk_id = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    auto it = impl.token_ids.find(byte_level::byte_to_symbol(static_cast<uint8_t>(b)));
    impl.byte_ids[b] = it == impl.token_ids.end() ? -1 : it->second;
  }

  auto merges = model.get("merges");
  if (!merges) return;
  int32_t rank = 0;
  for (const JsonField& merge : merges->items()) {
    std::string left, right;
    if (merge.json().is_string()) {  // "a b"
      const std::string& text = merge.string_ref();
      size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos)
        merge.fail("is '" + text + "', which is not two tokens");
      left = text.substr(0, space), right = text.substr(space + 1);
    } else if (merge.json().is_array() && merge.size() == 2) {
      left = merge.items()[0].string(), right = merge.items()[1].string();
    } else {
      merge.expected("\"a b\" or [a, b]");
    }
    auto find = [&](const std::string& token) {
      auto it = impl.token_ids.find(token);
      if (it == impl.token_ids.end()) merge.fail("uses '" + token + "', which is not in the vocab");
      return it->second;
    };
    int32_t left_id = find(left), right_id = find(right), merged_id = find(left + right);
    impl.merges[pair_key(left_id, right_id)] = {rank, merged_id};  // a repeated pair: the last wins, as in HF
    ++rank;
  }
}

std::vector<AddedToken> load_added_tokens(BpeTokenizer& impl, const JsonField& added) {
  std::vector<AddedToken> tokens;
  for (const JsonField& entry : added.items()) {
    AddedToken token;
    token.content = entry.at("content").string();
    token.id = static_cast<int32_t>(entry.at("id").integer(0, kMaxTokenId));
    token.special = entry.boolean_or("special", false);
    token.lstrip = entry.boolean_or("lstrip", false);
    token.rstrip = entry.boolean_or("rstrip", false);
    token.single_word = entry.boolean_or("single_word", false);
    token.normalized = entry.boolean_or("normalized", !token.special);
    set_token(impl, token.content, token.id);
    impl.token_ids[token.content] = token.id;
    impl.special[token.id] = token.special;
    tokens.push_back(std::move(token));
  }
  return tokens;
}

void check_decoder(const JsonField& root) {
  auto decoder = root.get("decoder");
  if (!decoder) root.fail("has no decoder: only ByteLevel is supported");
  std::string type = decoder->at("type").string();
  if (type != "ByteLevel") decoder->at("type").fail("is '" + type + "', which is not supported (ByteLevel only)");
}

}  // namespace

struct Tokenizer::Impl : BpeTokenizer {};

// Merges lowest rank first, leftmost on ties (HF's heap order), over a linked list of symbols.
void BpeTokenizer::bpe(std::string_view piece, std::vector<int32_t>& out) const {
  if (ignore_merges) {
    auto it = raw_vocab.find(piece);
    if (it != raw_vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  struct Symbol {
    int32_t id, prev, next;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  for (char c : piece) {
    int32_t id = byte_ids[static_cast<uint8_t>(c)];
    if (id < 0) {
      if (!unk_id) continue;  // HF drops a symbol that is not in the vocab when there is no unk
      id = *unk_id;
    }
    int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    int32_t rank, left, merged_id;
    int32_t left_symbol_id, right_symbol_id;  // to detect stale candidates
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : left > other.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int32_t left) {
    if (left < 0) return;
    int32_t right = symbols[left].next;
    if (right < 0) return;
    auto it = merges.find(pair_key(symbols[left].id, symbols[right].id));
    if (it != merges.end()) queue.push({it->second.rank, left, it->second.merged_id, symbols[left].id, symbols[right].id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_pair(i);
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.left];
    if (left.id != top.left_symbol_id || left.next < 0 || symbols[left.next].id != top.right_symbol_id) continue;
    Symbol& right = symbols[left.next];
    left.id = top.merged_id;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    right.id = -1;  // removed
    push_pair(left.prev);
    push_pair(top.left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

// A piece longer than kMaxBpeBytes (only hostile or degenerate text: a megabyte of spaces is one
// piece) is merged in parts cut at character boundaries. BPE's queue and symbol list cost ~70
// bytes per input byte, so one unbounded run would make a request's memory grow with its body.
void BpeTokenizer::bpe_in_parts(std::string_view piece, std::vector<int32_t>& out, Tokenizer::EncodeWork* work) const {
  if (work && piece.size() > Tokenizer::kMaxBpeBytes) ++work->pieces_cut;
  while (!piece.empty()) {
    size_t cut = std::min(piece.size(), Tokenizer::kMaxBpeBytes);
    while (cut < piece.size() && cut > 1 && utf8_continuation(piece[cut])) --cut;
    if (work) work->largest_bpe = std::max(work->largest_bpe, cut);
    bpe(piece.substr(0, cut), out);
    piece.remove_prefix(cut);
  }
}

void BpeTokenizer::encode_section(std::string_view text, std::vector<int32_t>& out, Tokenizer::EncodeWork* work) const {
  std::vector<std::string_view> pieces;
  std::deque<std::string> storage;
  pre_tokenizer->split(text, pieces, storage);
  std::vector<int32_t> ids;
  for (std::string_view piece : pieces) {
    bool cacheable = piece.size() <= BpeCache::kMaxPieceBytes;
    if (cacheable && cache.find(piece, out)) continue;
    ids.clear();
    bpe_in_parts(piece, ids, work);
    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) cache.put(piece, ids);
  }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::string& tokenizer_json_path) {
  return from_json_text(read_file(tokenizer_json_path), tokenizer_json_path);
}

Tokenizer Tokenizer::from_json_text(const std::string& tokenizer_json_text, const std::string& source) {
  json document = parse_json_text(tokenizer_json_text, source);
  JsonField root(document, source);
  root.require_object();
  auto impl = std::make_unique<Impl>();
  if (auto normalizer = root.get("normalizer"))
    throw JsonFieldError(source + ": normalizer '" + normalizer->string_or("type", "?") + "' is not supported (only null)");
  load_model(*impl, root.at("model"));
  std::vector<AddedToken> added;
  if (auto tokens = root.get("added_tokens")) added = load_added_tokens(*impl, *tokens);
  std::vector<AddedToken> raw, normalized;
  for (auto& token : added) (token.normalized ? normalized : raw).push_back(token);
  impl->raw_splitter = std::make_unique<AddedTokenSplitter>(std::move(raw));
  impl->normalized_splitter = std::make_unique<AddedTokenSplitter>(std::move(normalized));
  auto pre_tokenizer = root.get("pre_tokenizer");
  if (!pre_tokenizer) root.fail("has no pre_tokenizer: it must end with ByteLevel (byte-level BPE only)");
  impl->pre_tokenizer = std::make_unique<PreTokenizer>(*pre_tokenizer);
  if (!impl->pre_tokenizer->has_byte_level())
    pre_tokenizer->fail("must end with ByteLevel (byte-level BPE only)");
  check_decoder(root);
  // What each id decodes to: the bytes behind byte-level symbols, else the token's own UTF-8.
  impl->token_bytes.resize(impl->tokens.size());
  for (size_t id = 0; id < impl->tokens.size(); ++id) {
    auto bytes = byte_level::decode(impl->tokens[id]);
    impl->token_bytes[id] = bytes ? *bytes : impl->tokens[id];
  }
  impl->max_token_bytes = token_length_bound(*impl, added);
  for (const AddedToken& token : added)
    if (token.lstrip || token.rstrip) impl->stripping_tokens.push_back(token.content);
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, EncodeWork* work) const {
  if (work) work->bytes += text.size();
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::lossy(text);
    text = repaired;
  }
  std::vector<TextSection> sections, subsections;
  impl_->raw_splitter->split(text, sections);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3);
  for (const TextSection& section : sections) {
    if (section.added_token_id >= 0) {
      ids.push_back(section.added_token_id);
      continue;
    }
    subsections.clear();
    impl_->normalized_splitter->split(section.text, subsections);
    for (const TextSection& subsection : subsections) {
      if (subsection.added_token_id >= 0) ids.push_back(subsection.added_token_id);
      else impl_->encode_section(subsection.text, ids, work);
    }
  }
  return ids;
}

size_t Tokenizer::max_token_bytes() const { return impl_->max_token_bytes; }

// Repairing invalid UTF-8 never shortens a text (each bad sequence of 1-3 bytes becomes the
// 3-byte U+FFFD), so the bound holds for the raw bytes too.
std::optional<std::vector<int32_t>> Tokenizer::encode_at_most(std::string_view text, size_t max_tokens,
                                                              EncodeWork* work) const {
  if (text.size() > impl_->bytes_bound(text, max_tokens)) return std::nullopt;
  std::vector<int32_t> ids = encode(text, work);
  if (ids.size() > max_tokens) return std::nullopt;
  return ids;
}

// A line that starts before the window runs past max_tokens tokens to the end of the text, so no
// caller keeping whole lines within max_tokens could keep it: dropping it changes nothing.
std::string_view Tokenizer::tail_window(std::string_view text, size_t max_tokens) const {
  size_t limit = impl_->bytes_bound(text, max_tokens);
  if (text.size() <= limit) return text;
  size_t start = text.size() - limit;
  if (text[start - 1] != '\n') {
    size_t newline = text.find('\n', start);
    if (newline != std::string_view::npos && newline + 1 < text.size()) start = newline + 1;
    else while (start < text.size() && utf8_continuation(text[start])) ++start;  // one long line: cut it
  }
  return text.substr(start);
}

std::string_view Tokenizer::head_window(std::string_view text, size_t max_tokens) const {
  size_t limit = impl_->bytes_bound(text, max_tokens);
  if (text.size() <= limit) return text;
  if (limit == 0) return text.substr(0, 0);
  size_t end = limit;
  if (text[end - 1] != '\n') {
    size_t newline = text.rfind('\n', end - 1);
    if (newline != std::string_view::npos) end = newline + 1;
    else while (end > 0 && utf8_continuation(text[end])) --end;
  }
  return text.substr(0, end);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= impl_->tokens.size() || impl_->tokens[id].empty()) continue;
    if (skip_special_tokens && impl_->special[id]) continue;
    bytes += impl_->token_bytes[id];
  }
  return utf8::lossy(bytes);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  auto it = impl_->token_ids.find(token);
  if (it == impl_->token_ids.end()) return std::nullopt;
  return it->second;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->tokens.size()) return {};
  return impl_->tokens[id];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->special.size() && impl_->special[id];
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->tokens.size()); }

std::vector<std::string> Tokenizer::pretokenize(std::string_view text) const {
  std::string repaired = utf8::lossy(text);
  std::vector<std::string_view> pieces;
  std::deque<std::string> storage;
  impl_->pre_tokenizer->split(repaired, pieces, storage);
  return {pieces.begin(), pieces.end()};
}

}  // namespace maskfill
