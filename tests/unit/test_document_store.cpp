// Randomized edit sequences: the incrementally edited text and tree must equal an independent
// UTF-16 model of the text and a fresh parse of it.
#include <catch2/catch.hpp>

#include <random>

#include "lsp-server/document_store.h"

using namespace maskfill::lsp;
using nlohmann::json;

namespace {

std::u16string to_utf16(const std::string& utf8) {
  std::u16string out;
  for (size_t i = 0; i < utf8.size();) {
    unsigned char lead = utf8[i];
    size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    char32_t code = length == 1 ? lead : lead & (0xFF >> (length + 1));
    for (size_t k = 1; k < length; ++k) code = (code << 6) | (utf8[i + k] & 0x3F);
    if (code >= 0x10000) {
      out += char16_t(0xD800 + ((code - 0x10000) >> 10));
      out += char16_t(0xDC00 + ((code - 0x10000) & 0x3FF));
    } else {
      out += char16_t(code);
    }
    i += length;
  }
  return out;
}

std::string to_utf8(const std::u16string& utf16) {
  std::string out;
  for (size_t i = 0; i < utf16.size(); ++i) {
    char32_t code = utf16[i];
    if (code >= 0xD800 && code < 0xDC00) code = 0x10000 + ((code - 0xD800) << 10) + (utf16[++i] - 0xDC00);
    if (code < 0x80) {
      out += char(code);
    } else if (code < 0x800) {
      out += char(0xC0 | (code >> 6));
      out += char(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += char(0xE0 | (code >> 12));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    } else {
      out += char(0xF0 | (code >> 18));
      out += char(0x80 | ((code >> 12) & 0x3F));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    }
  }
  return out;
}

// The oracle: lines of a UTF-16 string, split at \r\n, \r or \n.
struct Utf16Lines {
  std::vector<size_t> starts, ends;  // ends exclude the terminator
  explicit Utf16Lines(const std::u16string& text) {
    starts.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] != u'\n' && text[i] != u'\r') continue;
      ends.push_back(i);
      if (text[i] == u'\r' && i + 1 < text.size() && text[i + 1] == u'\n') ++i;
      starts.push_back(i + 1);
    }
    ends.push_back(text.size());
  }
  size_t offset(Position p, const std::u16string& text) const {
    if (p.line >= starts.size()) return text.size();
    return std::min(starts[p.line] + p.character, ends[p.line]);
  }
};

// A random position on a character boundary; sometimes past the line end or the last line.
Position random_position(std::mt19937& random, const std::u16string& text) {
  Utf16Lines lines(text);
  uint32_t line = random() % (lines.starts.size() + 1);
  if (line >= lines.starts.size()) return {line, static_cast<uint32_t>(random() % 5)};
  size_t length = lines.ends[line] - lines.starts[line];
  uint32_t character = random() % (length + 3);
  while (character > 0 && character < length) {
    char16_t unit = text[lines.starts[line] + character];
    if (unit < 0xDC00 || unit > 0xDFFF) break;  // not the second half of a surrogate pair
    --character;
  }
  return {line, character};
}

const std::vector<std::string> kSnippets = {
    "", "x", " ", "\n", "\r\n", "    ", "(", ")", "{", "}", "[", "]", ":", ";", ",", "\"", "'", "#", "//",
    "def f(a, b):\n    return a + b\n", "if x:\n", "for i in range(3):\n  pass\n", "int main() { return 0; }\n",
    "fn main() {}\n", "class A {\n}\n", "\xF0\x9F\x98\x80", "\xC3\xA9t\xC3\xA9", "/* c */", "x = [1, 2,\n 3]\n",
};

struct Language {
  const char* language_id;
  const char* uri;
  const char* text;
};

}  // namespace

TEST_CASE("random incremental edits equal a fresh rebuild and parse", "[documents]") {
  const std::vector<Language> languages = {
      {"python", "file:///t/a.py", "import os\n\ndef main():\n    print('h\xC3\xA9llo \xF0\x9F\x98\x80')\n"},
      {"javascript", "file:///t/a.js", "function f(a) {\r\n  return a * 2;\r\n}\r\n"},
      {"typescriptreact", "file:///t/a.tsx", "const A = () => <div>{1}</div>;\n"},
      {"c", "file:///t/a.c", "int main(void) {\n  return 0;\n}\n"},
      {"cpp", "file:///t/a.cpp", "#include <vector>\nint f() { std::vector<int> v; return v.size(); }\n"},
      {"go", "file:///t/a.go", "package main\n\nfunc main() {\n}\n"},
      {"rust", "file:///t/a.rs", "fn main() {\n    let x = 1;\n}\n"},
      {"java", "file:///t/A.java", "class A {\n  void f() {}\n}\n"},
      {"", "file:///t/b.py", "x = 1\n"},          // no languageId: picked by extension
      {"plaintext", "file:///t/n.txt", "no tree\rhere\n"},  // synced without a tree
  };
  std::mt19937 random(20240601);
  for (const Language& language : languages) {
    DYNAMIC_SECTION(language.uri) {
      DocumentStore store;
      store.open(language.uri, language.language_id, 1, language.text);
      std::u16string model = to_utf16(language.text);
      for (int version = 2; version < 300; ++version) {
        json changes = json::array();
        int count = 1 + random() % 3;
        for (int k = 0; k < count; ++k) {
          Position a = random_position(random, model), b = random_position(random, model);
          if (std::tie(a.line, a.character) > std::tie(b.line, b.character)) std::swap(a, b);
          std::string insert = kSnippets[random() % kSnippets.size()];
          if (random() % 50 == 0) {  // occasionally a full replacement
            changes.push_back({{"text", insert}});
            model = to_utf16(insert);
            continue;
          }
          changes.push_back({{"range", {{"start", {{"line", a.line}, {"character", a.character}}},
                                        {"end", {{"line", b.line}, {"character", b.character}}}}},
                             {"text", insert}});
          Utf16Lines lines(model);
          size_t begin = lines.offset(a, model), end = lines.offset(b, model);
          model = model.substr(0, begin) + to_utf16(insert) + model.substr(end);
        }
        store.change(language.uri, version, parse_content_changes(changes), PositionEncoding::Utf16);
        auto document = store.snapshot(language.uri);
        REQUIRE(document->version == version);
        REQUIRE(document->source.text() == to_utf8(model));
        if (version % 10 == 0 || version == 299) {
          maskfill::SourceDocument fresh(document->source.text(), document->source.language());
          REQUIRE(document->source.tree_sexp() == fresh.tree_sexp());
        }
      }
      auto document = store.snapshot(language.uri);
      bool expects_tree = std::string(language.uri).find(".txt") == std::string::npos;
      CHECK((document->source.tree() != nullptr) == expects_tree);
    }
  }
}

TEST_CASE("UTF-8 position encoding edits bytes", "[documents]") {
  DocumentStore store;
  store.open("file:///u.py", "python", 1, "s = '\xF0\x9F\x98\x80'\n");
  json changes = json::array({{{"range", {{"start", {{"line", 0}, {"character", 9}}},
                                          {"end", {{"line", 0}, {"character", 10}}}}},
                               {"text", "\"  # ok"}}});
  store.change("file:///u.py", 2, parse_content_changes(changes), PositionEncoding::Utf8);
  CHECK(store.snapshot("file:///u.py")->source.text() == "s = '\xF0\x9F\x98\x80\"  # ok\n");
}

TEST_CASE("a single ranged change reports its bytes and what it removed, batches and reloads do not", "[documents]") {
  DocumentStore store;
  store.open("file:///r.py", "python", 1, "total = 0\ntotal += 1\n");
  auto range = [](int line, int from, int to) {
    return json{{"start", {{"line", line}, {"character", from}}}, {"end", {{"line", line}, {"character", to}}}};
  };
  std::optional<AppliedChange> one = store.change(
      "file:///r.py", 2, parse_content_changes(json::array({{{"range", range(1, 0, 5)}, {"text", "acc"}}})),
      PositionEncoding::Utf16);
  REQUIRE(one);
  CHECK(one->begin == 10);
  CHECK(one->old_end == 15);
  CHECK(one->new_end == 13);
  CHECK(one->removed == "total");
  json two = json::array({{{"range", range(0, 0, 5)}, {"text", "acc"}}, {{"range", range(1, 0, 3)}, {"text", "n"}}});
  CHECK_FALSE(store.change("file:///r.py", 3, parse_content_changes(two), PositionEncoding::Utf16));
  CHECK_FALSE(store.change("file:///r.py", 4, parse_content_changes(json::array({{{"text", "x = 1\n"}}})),
                           PositionEncoding::Utf16));
}

TEST_CASE("bad changes are rejected without touching the document", "[documents]") {
  DocumentStore store;
  store.open("file:///a.py", "python", 1, "x = 1\n");
  json missing_end = json::array({{{"range", {{"start", {{"line", 0}, {"character", 0}}}}}, {"text", ""}}});
  json reversed = json::array({{{"range", {{"start", {{"line", 0}, {"character", 3}}},
                                           {"end", {{"line", 0}, {"character", 1}}}}},
                                {"text", ""}}});
  CHECK_THROWS(parse_content_changes(json::object()));
  CHECK_THROWS(parse_content_changes(missing_end));
  CHECK_THROWS_AS(parse_content_changes(reversed), std::invalid_argument);
  CHECK_THROWS_AS(store.change("file:///other.py", 2, {}, PositionEncoding::Utf16), std::out_of_range);
  CHECK(store.snapshot("file:///a.py")->source.text() == "x = 1\n");
  CHECK(store.close("file:///a.py"));
  CHECK_FALSE(store.close("file:///a.py"));
  CHECK(store.snapshot("file:///a.py") == nullptr);
}

TEST_CASE("snapshots do not move when the document changes", "[documents]") {
  DocumentStore store;
  store.open("file:///a.py", "python", 1, "x = 1\n");
  auto before = store.snapshot("file:///a.py");
  store.change("file:///a.py", 2, parse_content_changes(json::array({{{"text", "y = 2\n"}}})), PositionEncoding::Utf16);
  CHECK(before->source.text() == "x = 1\n");
  CHECK(before->version == 1);
  CHECK(before->source.tree_sexp().find("module") != std::string::npos);
  CHECK(store.version("file:///a.py") == 2);
}
