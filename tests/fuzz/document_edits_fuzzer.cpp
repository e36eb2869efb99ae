// Random didChange sequences through the DocumentStore (parse_content_changes -> change ->
// SourceDocument::replace with incremental tree-sitter reparse), checked against a separate,
// deliberately naive reference: the text as a list of code points, with LSP line/character
// mapping written from the spec (lines end at \n, \r\n or \r; characters count UTF-16 or UTF-8
// code units; past-the-end positions clamp; a position inside a character rounds down to it).
//
// Mode byte (first input byte): bits 0-1 language (none, python, c, javascript); bit 2 utf-8
// positions; bit 3 "raw bytes": the text alphabet then includes invalid UTF-8, the reference is
// off (the spec has no meaning for it) and only the store's own promises are checked — no crash,
// and a change that throws leaves the document untouched.
//
// After every change: the store's text equals the reference. At the end: when the text parses
// without errors, the incrementally maintained tree equals a fresh parse.
#include <fuzzer/FuzzedDataProvider.h>
#include <tree_sitter/api.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "infill/source_document.h"
#include "lsp-server/document_store.h"

namespace {

namespace lsp = maskfill::lsp;
using nlohmann::json;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "document_edits_fuzzer: %s\n", what.c_str());
  std::abort();
}

std::string show(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// Pieces the fuzzer strings together: line breaks of every kind, multi-byte characters of each
// UTF-8 length (the 4-byte one is a UTF-16 surrogate pair), and code-ish tokens so parsers see
// real structure.
const std::vector<std::string> kValidPieces = {
    "a", "x1", " ", "    ", "\t", "\n", "\r\n", "\r", "\u00e9", "\u20ac", "\U0001F600", "(", ")", "{", "}",
    "[", "]", ":", ";", ",", "\"", "'", "=", "+", "def f(x):\n", "return x\n", "int main() {", "if (a) {",
    "function g() {", "// c\n", "# c\n", "/*", "*/", "class A:\n", "\\", "0"};
const std::vector<std::string> kRawPieces = {"\xff", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\x80", "\xed\xa0\x80",
                                            std::string(1, '\0')};

std::string random_text(FuzzedDataProvider& input, bool raw, size_t max_pieces) {
  std::string text;
  size_t pieces = input.ConsumeIntegralInRange<size_t>(0, max_pieces);
  for (size_t i = 0; i < pieces && input.remaining_bytes() > 0; ++i) {
    size_t pick = input.ConsumeIntegralInRange<size_t>(0, kValidPieces.size() + (raw ? kRawPieces.size() : 0) - 1);
    text += pick < kValidPieces.size() ? kValidPieces[pick] : kRawPieces[pick - kValidPieces.size()];
  }
  return text;
}

// ---- the reference model ----------------------------------------------------------------------

struct CodePoint {
  size_t offset;  // first byte in the UTF-8 text
  size_t bytes;
  char32_t value;
};

std::vector<CodePoint> decode(const std::string& text) {
  std::vector<CodePoint> points;
  for (size_t i = 0; i < text.size();) {
    unsigned char lead = static_cast<unsigned char>(text[i]);
    size_t bytes = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    char32_t value = lead < 0x80 ? lead : lead & (0xFF >> (bytes + 1));
    for (size_t k = 1; k < bytes; ++k) value = (value << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    points.push_back({i, bytes, value});
    i += bytes;
  }
  return points;
}

size_t reference_offset(const std::string& text, uint32_t line, uint32_t character, bool utf8) {
  std::vector<CodePoint> points = decode(text);
  size_t i = 0;
  for (uint32_t current = 0; current < line; ++current) {  // skip whole lines
    while (i < points.size() && points[i].value != U'\n' && points[i].value != U'\r') ++i;
    if (i == points.size()) return text.size();  // fewer lines: the end of the text
    bool crlf = points[i].value == U'\r' && i + 1 < points.size() && points[i + 1].value == U'\n';
    i += crlf ? 2 : 1;
  }
  uint64_t units = 0;
  for (; i < points.size() && points[i].value != U'\n' && points[i].value != U'\r'; ++i) {
    uint64_t width = utf8 ? points[i].bytes : (points[i].value > 0xFFFF ? 2 : 1);
    if (units + width > character) return points[i].offset;  // inside or at this character
    units += width;
  }
  return i == points.size() ? text.size() : points[i].offset;  // clamped to the line end
}

// ---- the check --------------------------------------------------------------------------------

const char* kUri = "file:///fuzz/doc";
const char* kLanguages[] = {"plaintext", "python", "c", "javascript"};

uint32_t random_coordinate(FuzzedDataProvider& input) {
  // Mostly near the text, sometimes far past it (clamping), sometimes the extremes.
  switch (input.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: return UINT32_MAX;
    case 1: return input.ConsumeIntegral<uint32_t>();
    default: return input.ConsumeIntegralInRange<uint32_t>(0, 12);
  }
}

json random_change(FuzzedDataProvider& input, bool raw) {
  std::string text = random_text(input, raw, 6);
  if (input.ConsumeIntegralInRange<int>(0, 15) == 0) return {{"text", text}};  // full replacement
  json start = {{"line", random_coordinate(input)}, {"character", random_coordinate(input)}};
  json end = {{"line", random_coordinate(input)}, {"character", random_coordinate(input)}};
  auto key = [](const json& p) { return std::make_pair(p["line"].get<uint32_t>(), p["character"].get<uint32_t>()); };
  if (key(end) < key(start)) std::swap(start, end);
  return {{"range", {{"start", start}, {"end", end}}}, {"text", text}};
}

void apply_reference(std::string& reference, const json& change, bool utf8) {
  if (!change.contains("range")) {
    reference = change["text"].get<std::string>();
    return;
  }
  const json& range = change["range"];
  size_t begin = reference_offset(reference, range["start"]["line"], range["start"]["character"], utf8);
  size_t end = reference_offset(reference, range["end"]["line"], range["end"]["character"], utf8);
  if (begin > end) fail("reference: ordered positions gave reversed offsets");
  reference.replace(begin, end - begin, change["text"].get<std::string>());
}

bool has_syntax_error(const maskfill::SourceDocument& document) {
  return ts_node_has_error(ts_tree_root_node(document.tree()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const uint8_t mode = input.ConsumeIntegral<uint8_t>();
  const char* language_id = kLanguages[mode & 3];
  const bool utf8 = mode & 4;
  const bool raw = mode & 8;
  const lsp::PositionEncoding encoding = utf8 ? lsp::PositionEncoding::Utf8 : lsp::PositionEncoding::Utf16;

  lsp::DocumentStore store;
  std::string reference = random_text(input, raw, 40);
  store.open(kUri, language_id, 0, reference);
  for (int version = 1; input.remaining_bytes() > 0 && version < 200; ++version) {
    json changes = json::array();
    size_t count = input.ConsumeIntegralInRange<size_t>(1, 3);
    for (size_t i = 0; i < count; ++i) changes.push_back(random_change(input, raw));

    std::string before = store.snapshot(kUri)->source.text();
    try {
      store.change(kUri, version, lsp::parse_content_changes(changes), encoding);
    } catch (const std::exception& e) {
      if (!raw) fail(std::string("a change of valid text was rejected: ") + e.what() + "\n" + show(changes));
      if (store.snapshot(kUri)->source.text() != before)
        fail(std::string("a change that threw (") + e.what() + ") modified the document");
      continue;
    }
    if (raw) continue;
    for (const json& change : changes) apply_reference(reference, change, utf8);
    const std::string text = store.snapshot(kUri)->source.text();
    if (text != reference)
      fail("text differs from the reference after " + show(changes) + "\nstore:     " + json(text).dump() +
           "\nreference: " + json(reference).dump());
    if (store.version(kUri) != version) fail("version not updated");
  }

  auto document = store.snapshot(kUri);
  if (document->source.tree()) {
    maskfill::SourceDocument fresh(document->source.text(), document->source.language());
    if (!has_syntax_error(fresh) && document->source.tree_sexp() != fresh.tree_sexp())
      fail("incremental tree differs from a fresh parse of " + json(document->source.text()).dump() +
           "\nincremental: " + document->source.tree_sexp() + "\nfresh:       " + fresh.tree_sexp());
  }
  return 0;
}
