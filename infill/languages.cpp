// The languages maskfill parses: LSP languageId and file-extension lookup onto the tree-sitter
// grammars compiled into maskfill_grammars (cmake/Grammars.cmake).
#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>

#include "infill/source_document.h"

extern "C" {
const TSLanguage* tree_sitter_python();
const TSLanguage* tree_sitter_javascript();
const TSLanguage* tree_sitter_typescript();
const TSLanguage* tree_sitter_tsx();
const TSLanguage* tree_sitter_c();
const TSLanguage* tree_sitter_cpp();
const TSLanguage* tree_sitter_go();
const TSLanguage* tree_sitter_rust();
const TSLanguage* tree_sitter_java();
}

namespace maskfill {
namespace {

struct LanguageEntry {
  LanguageInfo info;
  std::array<std::string_view, 4> language_ids;  // LSP languageIds, empty slots unused
  std::array<std::string_view, 6> extensions;    // without the dot, lower case
};

const std::array<LanguageEntry, 9>& language_table() {
  static const std::array<LanguageEntry, 9> table{{
      {{"python", tree_sitter_python()}, {"python"}, {"py", "pyi", "pyw"}},
      {{"javascript", tree_sitter_javascript()}, {"javascript", "javascriptreact", "jsx"},
       {"js", "mjs", "cjs", "jsx"}},
      {{"typescript", tree_sitter_typescript()}, {"typescript"}, {"ts", "mts", "cts"}},
      {{"tsx", tree_sitter_tsx()}, {"typescriptreact", "tsx"}, {"tsx"}},
      {{"c", tree_sitter_c()}, {"c"}, {"c", "h"}},
      {{"cpp", tree_sitter_cpp()}, {"cpp", "cuda-cpp", "c++"}, {"cpp", "cc", "cxx", "hpp", "hh", "hxx"}},
      {{"go", tree_sitter_go()}, {"go"}, {"go"}},
      {{"rust", tree_sitter_rust()}, {"rust"}, {"rs"}},
      {{"java", tree_sitter_java()}, {"java"}, {"java"}},
  }};
  return table;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The extension of the last path component, ignoring any URI query or fragment.
std::string extension_of(std::string_view path_or_uri) {
  path_or_uri = path_or_uri.substr(0, path_or_uri.find_first_of("?#"));
  size_t slash = path_or_uri.find_last_of("/\\");
  std::string_view name = slash == std::string_view::npos ? path_or_uri : path_or_uri.substr(slash + 1);
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) return "";
  return lower(name.substr(dot + 1));
}

}  // namespace

const LanguageInfo* find_language(std::string_view language_id, std::string_view path_or_uri) {
  std::string id = lower(language_id);
  if (!id.empty())
    for (const LanguageEntry& entry : language_table())
      for (std::string_view known : entry.language_ids)
        if (!known.empty() && known == id) return &entry.info;
  std::string extension = extension_of(path_or_uri);
  if (!extension.empty())
    for (const LanguageEntry& entry : language_table())
      for (std::string_view known : entry.extensions)
        if (!known.empty() && known == extension) return &entry.info;
  return nullptr;
}

const LanguageInfo* find_language_by_name(std::string_view name) {
  for (const LanguageEntry& entry : language_table())
    if (entry.info.name == name) return &entry.info;
  return nullptr;
}

}  // namespace maskfill
