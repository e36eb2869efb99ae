#include "training/sft_generic_edits.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "infill/text_lines.h"
#include "training/next_edit_synth.h"
#include "training/syntax_tree.h"

namespace maskfill::training {
namespace {

constexpr int kMaxNameDepth = 4;  // C and C++ keep a function's name under nested declarators

// A function or method with a body, by the grammar's names: JavaScript's function_declaration
// and method_definition, Go's method_declaration, Rust's function_item, Java's
// constructor_declaration, C's function_definition...
bool is_function(TSNode node) {
  std::string_view type = node_type(node);
  const bool named_like_one = type.find("function") != std::string_view::npos ||
                              type.find("method") != std::string_view::npos || type == "constructor_declaration";
  return named_like_one && type.find("arrow") == std::string_view::npos && !ts_node_is_null(field(node, "body"));
}

// The identifier that names a function: its `name` field, or the end of its declarator chain.
std::optional<TSNode> name_of(TSNode function) {
  TSNode name = field(function, "name");
  for (int depth = 0; ts_node_is_null(name) && depth < kMaxNameDepth; ++depth) {
    function = field(function, "declarator");
    if (ts_node_is_null(function)) return std::nullopt;
    std::string_view type = node_type(function);
    if (type == "identifier" || type == "field_identifier") name = function;
  }
  if (ts_node_is_null(name)) return std::nullopt;
  return name;
}

// Whether the text before a function on its line is only keywords (`export`, `pub`, `static`):
// the snippet then starts at the line, as the user would select it.
bool only_words(std::string_view prefix) {
  return std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ' ' || c == '\t';
  });
}

// Where each whole word spelled `word` starts in `text`.
std::vector<size_t> word_offsets(std::string_view text, std::string_view word) {
  std::vector<size_t> offsets;
  for (std::string_view found : words_in(text))
    if (found == word) offsets.push_back(size_t(found.data() - text.data()));
  return offsets;
}

// One function of the document: its text from the start of its first line, where that is.
struct Function {
  TSNode node;
  std::string name;
  size_t begin = 0;   // the start of the function's first line in the document
  std::string text;   // the document's bytes from `begin` to the function's end, plus "\n"
};

class GenericEdits {
 public:
  GenericEdits(const std::string& path, const SourceDocument& doc, std::mt19937_64& rng)
      : path_(path), doc_(doc), text_(doc.text()), rng_(rng) {}

  std::optional<EditSample> rename_variable(const Function& fn) {
    std::map<std::string, int> uses;
    walk_named(fn.node, [&](TSNode node) {
      if (node_type(node) == "identifier") ++uses[std::string(node_text(text_, node))];
      return true;
    });
    std::vector<std::string> local;
    for (const auto& [name, count] : uses)
      if (name != fn.name && count >= 2 && word_offsets(text_, name).size() == size_t(count)) local.push_back(name);
    if (local.empty()) return std::nullopt;
    const std::string from = local[rng_() % local.size()];
    const std::string to = synthetic_new_name(from, rng_);
    if (!word_offsets(text_, to).empty()) return std::nullopt;
    return sample("rename-variable", "Rename `" + from + "` to `" + to + "` in `" + fn.name + "`.", fn.text,
                  renamed(fn.text, from, to));
  }

  std::optional<EditSample> rename_function(const Function& fn) {
    // Every spelling of the name in the function is a name (its recursive calls): none in a
    // comment or a string, where renaming would change what the text says.
    for (size_t at : word_offsets(fn.text, fn.name)) {
      TSNode node = ts_node_descendant_for_byte_range(ts_tree_root_node(doc_.tree()), uint32_t(fn.begin + at),
                                                      uint32_t(fn.begin + at + fn.name.size()));
      if (node_type(node).find("identifier") == std::string_view::npos ||
          ts_node_end_byte(node) - ts_node_start_byte(node) != fn.name.size())
        return std::nullopt;
    }
    const std::string to = synthetic_new_name(fn.name, rng_);
    if (!word_offsets(text_, to).empty()) return std::nullopt;
    return sample("rename-function", "Rename the function `" + fn.name + "` to `" + to + "`.", fn.text,
                  renamed(fn.text, fn.name, to));
  }

  std::optional<EditSample> restore_statement(const Function& fn) {
    std::vector<std::pair<size_t, size_t>> lines;  // [begin, end) in fn.text of candidate lines
    walk_named(field(fn.node, "body"), [&](TSNode node) {
      std::string_view type = node_type(node);
      const bool statement = type.ends_with("statement") || type.ends_with("declaration");
      if (!statement || type.find("function") != std::string_view::npos || type.find("class") != std::string_view::npos)
        return true;
      std::string_view code = node_text(text_, node);
      if (code.find('\n') != std::string_view::npos) return true;  // a compound statement: look inside
      size_t begin = line_start(text_, ts_node_start_byte(node)), end = line_end(text_, ts_node_end_byte(node));
      if (trim(std::string_view(text_).substr(begin, end - begin)) != code) return false;  // shares its line
      if (begin <= fn.begin || end + 1 >= fn.begin + fn.text.size()) return false;  // not the first or last line
      // Not a block's only statement: what is left must say what is missing (as in Python's).
      int siblings = 0;
      for (TSNode sibling : named_children(ts_node_parent(node)))
        siblings += node_type(sibling).find("comment") == std::string_view::npos;
      if (siblings < 2) return false;
      lines.emplace_back(begin - fn.begin, end + 1 - fn.begin);
      return false;
    });
    if (lines.empty()) return std::nullopt;
    const auto [begin, end] = lines[rng_() % lines.size()];
    const size_t line_number = size_t(std::count(fn.text.begin(), fn.text.begin() + std::ptrdiff_t(begin), '\n')) + 1;
    return sample("restore-statement",
                  "A statement is missing from `" + fn.name + "`: it belongs on line " + std::to_string(line_number) +
                      ". Add it back.",
                  fn.text.substr(0, begin) + fn.text.substr(end), fn.text);
  }

 private:
  static std::string renamed(const std::string& code, const std::string& from, const std::string& to) {
    std::string out = code;
    std::vector<size_t> offsets = word_offsets(code, from);
    for (auto it = offsets.rbegin(); it != offsets.rend(); ++it) out.replace(*it, from.size(), to);
    return out;
  }

  // Input and output dedented alike: the function as the user would select it.
  EditSample sample(std::string kind, std::string instruction, const std::string& input, const std::string& output) {
    const std::string indent = common_indent(output);
    return {std::move(kind), doc_.language()->name, path_, std::move(instruction), shift_lines(input, indent, ""),
            shift_lines(output, indent, "")};
  }

  const std::string& path_;
  const SourceDocument& doc_;
  const std::string& text_;
  std::mt19937_64& rng_;
};

}  // namespace

void add_generic_edits(const std::string& path, const SourceDocument& doc, size_t max_snippet_bytes, int per_file,
                       std::mt19937_64& rng, std::vector<EditSample>& out) {
  if (!doc.tree() || !doc.language() || ts_node_has_error(ts_tree_root_node(doc.tree()))) return;
  const std::string& text = doc.text();
  std::vector<Function> functions;
  walk_named(ts_tree_root_node(doc.tree()), [&](TSNode node) {
    if (!is_function(node)) return true;
    std::optional<TSNode> name = name_of(node);
    const size_t begin = line_start(text, ts_node_start_byte(node)), end = ts_node_end_byte(node);
    if (name && end - begin <= max_snippet_bytes && ts_node_end_point(node).row > ts_node_start_point(node).row &&
        only_words(std::string_view(text).substr(begin, ts_node_start_byte(node) - begin))) {
      std::string spelled(node_text(text, *name));
      if (!spelled.empty() && word_offsets(spelled, spelled).size() == 1)  // one plain name, not `A::f`
        functions.push_back({node, std::move(spelled), begin, text.substr(begin, end - begin) + "\n"});
    }
    return false;  // a nested function is part of this one's text
  });
  std::shuffle(functions.begin(), functions.end(), rng);
  GenericEdits edits(path, doc, rng);
  std::map<std::string, int> made_of_kind;
  int made = 0;
  for (const Function& fn : functions) {
    if (made >= per_file) break;
    std::vector<EditSample> options;
    for (auto& edit : {edits.rename_variable(fn), edits.rename_function(fn), edits.restore_statement(fn)})
      if (edit && edit->input != edit->output) options.push_back(*edit);
    if (options.empty()) continue;
    std::shuffle(options.begin(), options.end(), rng);
    auto least_made = std::min_element(options.begin(), options.end(), [&](const EditSample& a, const EditSample& b) {
      return made_of_kind[a.kind] < made_of_kind[b.kind];
    });
    ++made_of_kind[least_made->kind];
    out.push_back(std::move(*least_made));
    ++made;
  }
}

}  // namespace maskfill::training
