#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "inference/byte_level.h"
#include "inference/pretokenizer.h"
#include "inference/tokenizer.h"

using maskfill::Tokenizer;

namespace {

std::string fixture(const std::string& name) {
  return std::string(MASKFILL_SOURCE_DIR) + "/tests/fixtures/tokenizers/" + name + "/tokenizer.json";
}

// A hand-written tokenizer small enough to know its ids: bytes 'a','b','c',' ' and merges.
std::string tiny_tokenizer_json(const std::string& extra_model = "", const std::string& added = "[]") {
  return R"({"added_tokens": )" + added + R"(, "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "abc": 5, "Ġa": 6, "bc": 7},
              "merges": ["a b", "ab c", "Ġ a", "b c"])" + extra_model + "}}";
}

}  // namespace

TEST_CASE("BPE merges by rank, lowest first") {
  Tokenizer t = Tokenizer::from_json_text(tiny_tokenizer_json());
  CHECK(t.encode("abc") == std::vector<int32_t>{5});    // a b -> ab (rank 0), ab c -> abc (rank 1)
  CHECK(t.encode("bc") == std::vector<int32_t>{7});
  CHECK(t.encode("abc abc") == std::vector<int32_t>{5, 3, 5});  // " abc": a b (rank 0) beats Ġ a (rank 2)
  CHECK(t.encode(" a") == std::vector<int32_t>{6});
  CHECK(t.encode("") == std::vector<int32_t>{});
  CHECK(t.decode({5, 6, 7}) == "abc abc");
  CHECK(t.vocab_size() == 8);
  CHECK(t.token_to_id("abc") == 5);
  CHECK_FALSE(t.token_to_id("zzz"));
  CHECK(t.id_to_token(6) == "Ġa");
  CHECK(t.id_to_token(99).empty());
}

TEST_CASE("merges may be [a, b] pairs and ignore_merges keeps whole-vocab pieces") {
  std::string pairs = R"({"added_tokens": [], "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "ignore_merges": IGNORE, "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5},
              "merges": [["b", "c"], ["a", "b"]]}})";
  auto with = [&](const char* value) {
    std::string text = pairs;
    text.replace(text.find("IGNORE"), 6, value);
    return Tokenizer::from_json_text(text);
  };
  // Without ignore_merges "abc" becomes a + bc (bc ranks first; abc is unreachable).
  CHECK(with("false").encode("abc") == std::vector<int32_t>{0, 4});
  CHECK(with("true").encode("abc") == std::vector<int32_t>{5});
}

TEST_CASE("special tokens inside text are split out first") {
  Tokenizer t = Tokenizer::from_file(fixture("seedcoder-style"));
  auto bos = *t.token_to_id("<[begin▁of▁sentence]>");
  auto eos = *t.token_to_id("<[end▁of▁sentence]>");
  auto mask = *t.token_to_id("<[MASK_TOKEN]>");
  CHECK(bos == 0);
  CHECK(*t.token_to_id("<[PAD▁TOKEN]>") == 1);
  CHECK(eos == 2);
  CHECK(mask == 5);
  CHECK(t.is_special(bos));
  CHECK_FALSE(t.is_special(300));

  std::vector<int32_t> ids = t.encode("<[begin▁of▁sentence]>user\nhi<[MASK_TOKEN]><[MASK_TOKEN]>x<[end▁of▁sentence]>");
  REQUIRE(ids.size() >= 6);
  CHECK(ids.front() == bos);
  CHECK(ids.back() == eos);
  CHECK(std::count(ids.begin(), ids.end(), mask) == 2);
  CHECK(t.decode(ids, false) == "<[begin▁of▁sentence]>user\nhi<[MASK_TOKEN]><[MASK_TOKEN]>x<[end▁of▁sentence]>");
  CHECK(t.decode(ids, true) == "user\nhix");
  // A broken special token is plain text.
  std::vector<int32_t> broken = t.encode("<[MASK_TOKEN]");
  CHECK(std::find(broken.begin(), broken.end(), mask) == broken.end());
}

TEST_CASE("lstrip/rstrip added tokens swallow neighbouring whitespace") {
  Tokenizer t = Tokenizer::from_file(fixture("seedcoder-style"));
  int32_t strip = *t.token_to_id("<[strip▁both]>");
  CHECK(t.encode("a  <[strip▁both]> \n b") == std::vector<int32_t>{*t.token_to_id("a"), strip, *t.token_to_id("b")});
}

TEST_CASE("round trip over hard strings") {
  Tokenizer t = Tokenizer::from_file(fixture("llama3-style"));
  for (std::string text : {"It's 'S 'LL ll", "naïve 中文 😀👍🏽 \r\n\r\n\t\t x", "    def f(x):\n        return x\n",
                           "١٢٣ ⅷ ½", "a\u00a0b\u3000c", "  trailing  ", "<|eot_id|> <|eot_id|>x"}) {
    INFO(text);
    CHECK(t.decode(t.encode(text), false) == text);
  }
}

TEST_CASE("Seed-Coder regex splits digits one by one and keeps newlines apart") {
  Tokenizer t = Tokenizer::from_file(fixture("seedcoder-style"));
  CHECK(t.pretokenize("x = 123\n\n  y") == std::vector<std::string>{"x", " =", " ", "1", "2", "3", "\n\n", " ", " y"});
  CHECK(t.pretokenize("It'S") == std::vector<std::string>{"It", "'S"});
}

TEST_CASE("invalid UTF-8 is encoded as U+FFFD like a lossy HF string") {
  Tokenizer t = Tokenizer::from_file(fixture("gpt2-style"));
  CHECK(t.encode(std::string("a\xff" "b")) == t.encode("a\xEF\xBF\xBD" "b"));
  CHECK(maskfill::utf8::lossy("a\xE2\x82z") == "a\xEF\xBF\xBDz");  // one U+FFFD per maximal subpart
  CHECK(maskfill::utf8::lossy("\xF0\x9F\x98") == "\xEF\xBF\xBD");
  CHECK(maskfill::utf8::lossy("\xC0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("decode of a cut multi-byte character is lossy, unknown ids are skipped") {
  Tokenizer t = Tokenizer::from_file(fixture("gpt2-style"));
  std::vector<int32_t> ids = t.encode("🦀");  // not in the fixture's merges: one id per byte
  REQUIRE(ids.size() >= 2);
  ids.pop_back();
  CHECK(t.decode(ids).find("\xEF\xBF\xBD") != std::string::npos);
  CHECK(t.decode({-1, 1 << 30}).empty());
}

TEST_CASE("long single-class runs are handled without blowing up") {
  Tokenizer t = Tokenizer::from_file(fixture("seedcoder-style"));
  std::string spaces(200000, ' '), letters(200000, 'a');
  CHECK(t.decode(t.encode(spaces + "x")) == spaces + "x");
  CHECK(t.decode(t.encode(letters)) == letters);
}

TEST_CASE("unsupported tokenizer.json parts give clear errors") {
  auto error_of = [](const std::string& text) {
    try {
      Tokenizer::from_json_text(text);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string ok = tiny_tokenizer_json();
  CHECK_THAT(error_of("{"), Catch::Contains("not valid JSON"));
  CHECK_THAT(error_of("[1]"), Catch::Contains("JSON object"));
  std::string normalizer = ok;
  normalizer.replace(normalizer.find("\"normalizer\": null"), 18, R"("normalizer": {"type": "NFC"})");
  CHECK_THAT(error_of(normalizer), Catch::Contains("normalizer 'NFC'"));
  std::string unigram = ok;
  unigram.replace(unigram.find("\"type\": \"BPE\""), 13, R"("type": "Unigram")");
  CHECK_THAT(error_of(unigram), Catch::Contains("Unigram"));
  std::string bad_merge = ok;
  bad_merge.replace(bad_merge.find("\"b c\""), 5, "\"c c\"");
  CHECK_THAT(error_of(bad_merge), Catch::Contains("'cc', which is not in the vocab"));
  std::string metaspace = ok;
  metaspace.replace(metaspace.find("\"ByteLevel\", \"add_prefix_space\""), 11, "\"Metaspace\"");
  CHECK_THAT(error_of(metaspace), Catch::Contains("Metaspace"));
  std::string bad_regex = R"({"normalizer": null, "decoder": {"type": "ByteLevel"},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}, {"type": "ByteLevel"}]},
    "model": {"type": "BPE", "vocab": {}, "merges": []}})";
  CHECK_THAT(error_of(bad_regex), Catch::Contains("does not compile"));
  CHECK_THAT(error_of(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "decoder": {"type": "ByteLevel"}})"),
             Catch::Contains("ByteLevel"));
  CHECK_THROWS_WITH(Tokenizer::from_file("/nonexistent/tokenizer.json"), Catch::Contains("/nonexistent/tokenizer.json"));
}

TEST_CASE("Oniguruma escapes are rewritten for PCRE2") {
  CHECK(maskfill::oniguruma_to_pcre2(R"([^\s\p{L}]\s+\S)") == R"([^\p{White_Space}\p{L}]\p{White_Space}+\P{White_Space})");
  CHECK(maskfill::oniguruma_to_pcre2(R"(\h[\h])") == "[0-9A-Fa-f][0-9A-Fa-f]");
  CHECK(maskfill::oniguruma_to_pcre2(R"([]\s])") == R"([]\p{White_Space}])");
  // U+180E is \s to PCRE2's UCP but not White_Space (Oniguruma, HF).
  maskfill::OnigRegex space(R"(\s+)");
  CHECK(space.segments("a\xE1\xA0\x8E" "b").size() == 1);
}

TEST_CASE("Split behaviors") {
  auto pieces = [](const std::string& behavior, bool invert) {
    nlohmann::json config = {{"type", "Sequence"},
                             {"pretokenizers",
                              {{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}},
                               {{"type", "ByteLevel"}, {"use_regex", false}}}}};
    maskfill::PreTokenizer pre(maskfill::JsonField(config, "tokenizer.json", "pre_tokenizer"));
    std::vector<std::string_view> out;
    std::deque<std::string> storage;
    pre.split("a-b--c", out, storage);
    return std::vector<std::string>(out.begin(), out.end());
  };
  using V = std::vector<std::string>;
  CHECK(pieces("Isolated", false) == V{"a", "-", "b", "-", "-", "c"});
  CHECK(pieces("Removed", false) == V{"a", "b", "c"});
  CHECK(pieces("MergedWithPrevious", false) == V{"a-", "b-", "-", "c"});
  CHECK(pieces("MergedWithNext", false) == V{"a", "-b", "-", "-c"});
  CHECK(pieces("Contiguous", false) == V{"a", "-", "b", "--", "c"});
  CHECK(pieces("Removed", true) == V{"-", "-", "-"});  // each match is its own piece
}

TEST_CASE("random bytes: decode(encode(x)) is x made valid UTF-8") {
  Tokenizer t = Tokenizer::from_file(fixture("seedcoder-style"));
  uint32_t state = 7;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  const char* pieces[] = {"<[MASK_TOKEN]>", " ", "\n", "\r\n", "a", "Z", "9", "'s", "é", "😀", "\t", "<[strip▁both]>", "_"};
  for (int round = 0; round < 500; ++round) {
    std::string text;
    int length = next() % 40;
    for (int i = 0; i < length; ++i) {
      if (next() % 3 == 0) text += static_cast<char>(next() % 256);
      else text += pieces[next() % (sizeof pieces / sizeof *pieces)];
    }
    std::string expected = maskfill::utf8::lossy(text);
    std::string decoded = t.decode(t.encode(text), false);
    if (text.find("<[strip▁both]>") == std::string::npos) {
      INFO(text);
      CHECK(decoded == expected);
    }
  }
}

// ---- Work bounded by the context, not by the text (maskfill serve's prompts) ----

namespace {

// Ordinary text: this repository's own sources, about 150 KB.
std::string repository_sources() {
  std::string text;
  for (const char* path : {"inference/tokenizer.cpp", "inference/pretokenizer.cpp", "serve/openai.cpp", "serve/service.cpp",
                           "infill/prompt_builder.cpp", "cli/cmd_serve.cpp", "README.md", "tests/serve/openai.test.mjs"}) {
    std::ifstream in(std::string(MASKFILL_SOURCE_DIR) + "/" + path, std::ios::binary);
    REQUIRE(in);
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return text;
}

std::vector<std::string> every_fixture() {
  return {fixture("gpt2-style"), fixture("llama3-style"), fixture("maskfill-tiny-sample"), fixture("seedcoder-style")};
}

}  // namespace

TEST_CASE("max_token_bytes is the longest token, or 0 when a length bounds nothing") {
  // Bytes outside the tiny vocab (no unk) are dropped: a length bounds nothing.
  CHECK(Tokenizer::from_json_text(tiny_tokenizer_json()).encode("xyz").empty());
  CHECK(Tokenizer::from_json_text(tiny_tokenizer_json()).max_token_bytes() == 0);
  // With an unk every byte is a token; an added token counts with its text.
  const std::string with_unk = R"(, "unk_token": "a")";
  CHECK(Tokenizer::from_json_text(tiny_tokenizer_json(with_unk)).max_token_bytes() == 3);  // "abc"
  CHECK(Tokenizer::from_json_text(tiny_tokenizer_json(with_unk, R"([{"id": 8, "content": "<|endoftext|>", "special": true}])"))
            .max_token_bytes() == 13);
  // lstrip swallows any run of spaces into one token: no bound for a text that holds it.
  Tokenizer stripping = Tokenizer::from_json_text(
      tiny_tokenizer_json(with_unk, R"([{"id": 8, "content": "<mask>", "special": true, "lstrip": true}])"));
  CHECK(stripping.max_token_bytes() == 6);
  std::string spaces(100, ' ');
  CHECK_FALSE(stripping.encode_at_most(spaces, 10));
  CHECK(stripping.encode_at_most(spaces + "<mask>", 10) == std::vector<int32_t>{8});
  CHECK(stripping.tail_window(spaces + "<mask>", 1).size() == 106);
  CHECK(stripping.tail_window(spaces + "<masc>", 1).size() <= 6);
  for (const std::string& path : every_fixture()) {
    Tokenizer t = Tokenizer::from_file(path);
    INFO(path);
    REQUIRE(t.max_token_bytes() > 0);
    size_t longest = 0;
    for (int32_t id = 0; id < t.vocab_size(); ++id) {
      auto bytes = maskfill::byte_level::decode(t.id_to_token(id));
      longest = std::max(longest, bytes ? bytes->size() : t.id_to_token(id).size());
    }
    CHECK(t.max_token_bytes() == longest);
  }
}

TEST_CASE("ordinary text never has a piece long enough to be merged in parts, so its ids are HF's") {
  // tests/suites/tokenizer-parity.sh checks encode() against @huggingface/tokenizers on real
  // sources; this checks that the part-wise merge never engages on such text.
  std::string text = repository_sources();
  for (const std::string& path : every_fixture()) {
    Tokenizer t = Tokenizer::from_file(path);
    Tokenizer::EncodeWork work;
    std::vector<int32_t> ids = t.encode(text, &work);
    INFO(path);
    CHECK(work.pieces_cut == 0);
    CHECK(work.largest_bpe < Tokenizer::kMaxBpeBytes / 4);
    CHECK(work.bytes == text.size());
    CHECK(t.decode(ids, /*skip_special_tokens=*/false) == text);
  }
}

TEST_CASE("encode_at_most gives encode()'s ids, or nothing once the text has more tokens") {
  std::string text = repository_sources();
  Tokenizer t = Tokenizer::from_file(fixture("seedcoder-style"));
  std::vector<int32_t> ids = t.encode(text);
  REQUIRE(ids.size() > 1000);
  CHECK(t.encode_at_most(text, ids.size()) == ids);
  CHECK(t.encode_at_most(text, ids.size() + 100) == ids);
  CHECK_FALSE(t.encode_at_most(text, ids.size() - 1));
  CHECK(t.encode_at_most("", 0) == std::vector<int32_t>{});
}

TEST_CASE("a 4 MB whitespace prompt is refused without tokenizing, and merged in bounded parts when it must be") {
  Tokenizer t = Tokenizer::from_file(fixture("seedcoder-style"));
  std::string spaces(4 << 20, ' ');
  Tokenizer::EncodeWork refused;
  CHECK_FALSE(t.encode_at_most(spaces, 2048, &refused));
  CHECK(refused.bytes == 0);  // decided from the length alone
  // A context's worth is tokenized, and BPE never sees more than kMaxBpeBytes at once.
  std::string_view window = t.tail_window(spaces, 2048);
  CHECK(window.size() <= 2048 * t.max_token_bytes());
  Tokenizer::EncodeWork work;
  std::vector<int32_t> ids = t.encode(window, &work);
  CHECK(work.bytes == window.size());
  CHECK(work.pieces_cut == 1);
  CHECK(work.largest_bpe <= Tokenizer::kMaxBpeBytes);
  CHECK(t.decode(ids) == window);
  // Parts are cut between characters, never inside one.
  std::string wide;
  for (int i = 0; i < 5000; ++i) wide += "\u3000";  // ideographic space: 3 bytes, one \s run
  Tokenizer::EncodeWork wide_work;
  CHECK(t.decode(t.encode(wide, &wide_work)) == wide);
  CHECK(wide_work.pieces_cut == 1);
}

TEST_CASE("tail and head windows hold whole lines and at most N * max_token_bytes bytes") {
  Tokenizer t = Tokenizer::from_file(fixture("seedcoder-style"));
  std::string text = repository_sources();
  size_t k = t.max_token_bytes();
  for (size_t n : {1, 10, 100, 1000}) {
    INFO(n);
    std::string_view tail = t.tail_window(text, n), head = t.head_window(text, n);
    CHECK(tail.size() <= n * k);
    CHECK(head.size() <= n * k);
    CHECK(text.ends_with(tail));
    CHECK(text.starts_with(head));
    if (n >= 100 && tail.size() < text.size()) {  // a window of thousands of bytes holds a newline to cut at
      CHECK(text[text.size() - tail.size() - 1] == '\n');
      CHECK(head.back() == '\n');
    }
  }
  CHECK(t.tail_window(text, text.size()) == text);
  // One line longer than the window is cut, between characters.
  std::string line;
  for (int i = 0; i < 100000; ++i) line += "é";
  std::string_view cut = t.tail_window(line, 10);
  CHECK(cut.size() <= 10 * k);
  CHECK(maskfill::utf8::is_valid(cut));
  CHECK(maskfill::utf8::is_valid(t.head_window(line, 10)));
}
