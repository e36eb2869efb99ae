// Golden span tests (golden/spans.json) for every supported language, plus token-boundary snapping.
#include <catch2/catch.hpp>

#include <set>

#include "infill/span_finder.h"
#include "infill/syntax_queries.h"
#include "test_support.h"

using namespace maskfill;
using namespace maskfill::test;

TEST_CASE("every language's query files compile against its grammar") {
  for (const char* name : {"python", "javascript", "typescript", "tsx", "c", "cpp", "go", "rust", "java"})
    for (QueryKind kind : {QueryKind::Decline, QueryKind::Blocks, QueryKind::Scopes}) {
      INFO(name << " query " << static_cast<int>(kind));
      CHECK_NOTHROW(syntax_query(*find_language_by_name(name), kind));
    }
}

TEST_CASE("golden inline completion spans") {
  nlohmann::json golden = read_golden("spans.json");
  std::set<std::string> languages;
  for (const auto& entry : golden["inline"]) {
    Marked marked = take_cursor(entry["text"]);
    const LanguageInfo* language = find_language_by_name(entry["language"].get<std::string>());
    REQUIRE(language);
    languages.insert(language->name);
    SourceDocument doc(marked.text, language);
    InlineSpan span = find_inline_span(doc, marked.cursor, entry.value("invoked", false));
    INFO(language->name << ": " << entry["text"].get<std::string>());
    CHECK(span.declined_reason == entry["declined"].get<std::string>());
    if (!span.declined_reason.empty()) continue;
    CHECK((span.shape == SpanShape::MultiLine ? "MultiLine" : "RestOfLine") == entry["shape"].get<std::string>());
    CHECK(span.rule == entry["rule"].get<std::string>());
    CHECK(span.estimated_tokens >= (span.shape == SpanShape::MultiLine ? 16 : 8));
    CHECK(span.estimated_tokens <= 128);
  }
  CHECK(languages.size() == 9);
}

TEST_CASE("golden instruction-edit spans") {
  const auto golden = read_golden("spans.json");  // kept alive for the loop below
  for (const auto& entry : golden["edit"]) {
    Marked marked = take_cursor(entry["text"]);
    SourceDocument doc(marked.text, find_language_by_name(entry["language"].get<std::string>()));
    std::optional<ByteRange> span = find_edit_span(doc, {marked.cursor, marked.cursor});
    INFO(entry["language"].get<std::string>() << ": " << entry["text"].get<std::string>());
    if (entry["span"].is_null()) {
      CHECK(!span);
      continue;
    }
    REQUIRE(span);
    CHECK(marked.text.substr(span->begin, span->end - span->begin) == entry["span"].get<std::string>());
  }
}

TEST_CASE("a non-empty edit selection is kept as is") {
  SourceDocument doc("x = 1\ny = 2\n", find_language_by_name("python"));
  CHECK(find_edit_span(doc, {2, 8}) == ByteRange{2, 8});
  CHECK_THROWS_AS(find_edit_span(doc, {5, 99}), std::out_of_range);
}

TEST_CASE("longer context in front of the cursor sizes the mask larger") {
  SourceDocument short_lines("a = 1\nb = 2\nc = ", find_language_by_name("python"));
  SourceDocument long_lines(
      "alpha = compute_something(first_argument, second_argument)\n"
      "beta = compute_something_else(third_argument, fourth_argument)\ngamma = ",
      find_language_by_name("python"));
  CHECK(find_inline_span(long_lines, long_lines.text().size(), false).estimated_tokens >
        find_inline_span(short_lines, short_lines.text().size(), false).estimated_tokens);
}

TEST_CASE("fill selections snap outward to pre-tokenizer boundaries") {
  const Tokenizer& tokenizer = seedcoder_tokenizer();
  std::string text = "result = compute_total(values)\nprint(result)\n";
  size_t inside_word = text.find("pute");  // in the middle of "compute"
  ByteRange snapped = snap_to_token_boundaries(tokenizer, text, {inside_word, inside_word + 2});
  CHECK(text.substr(snapped.begin, snapped.end - snapped.begin) == " compute");
  // Already on boundaries: unchanged.
  size_t print = text.find("print");
  CHECK(snap_to_token_boundaries(tokenizer, text, {print, print + 5}) == ByteRange{print, print + 5});
  // Multi-byte characters are never split.
  std::string utf8 = "s = \"héllo\"\n";
  size_t e = utf8.find("é");
  ByteRange inside = snap_to_token_boundaries(tokenizer, utf8, {e + 1, e + 1});
  CHECK((inside.begin <= e && inside.end >= e + 2));
}
