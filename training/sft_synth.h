// SFT data synthesized from training-split files with tree-sitter program transformations.
//
// Usage:
//   SftOptions opt;  opt.seed = 7;
//   SftSamples s = synthesize_corpus("data/corpus", opt);   // training split only
//   write_sft_jsonl(s, "data/sft.jsonl");
//   // the trainer renders s.edits into the chat template (user: instruction + "\n\n" + input,
//   // assistant: output) and s.fims into SPM FIM: <[fim-suffix]>S<[fim-prefix]>P<[fim-middle]>M
//
// Edits (Python): rename a variable or the function, add or remove a docstring, for-append
// loop <-> list comprehension, restore a deleted statement, add a keyword parameter. Every
// edit's input and output parse without errors. Every other language with a grammar: rename a
// variable or the function, restore a deleted statement (sft_generic_edits.h), from a file that
// parses (a method alone may not parse outside its class). FIM: random character-level splits and
// AST-aligned spans (any language with a grammar). Deterministic: the same corpus, options and
// seed give the same samples in the same order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace maskfill::training {

struct EditSample {
  std::string kind;         // "rename-variable", "rename-function", "add-docstring",
                            // "remove-docstring", "loop-to-comprehension",
                            // "comprehension-to-loop", "restore-statement", "add-parameter"
  std::string language;
  std::string path;         // source file it came from
  std::string instruction;  // what the user asks, in English
  std::string input;        // code before the edit
  std::string output;       // code after the edit
};

struct FimSample {
  std::string kind;  // "random" (character-level split) or "ast" (a whole syntax node)
  std::string language;
  std::string path;
  std::string prefix, middle, suffix;
};

struct SftSamples {
  std::vector<EditSample> edits;
  std::vector<FimSample> fims;
};

struct SftOptions {
  uint64_t seed = 1;
  size_t max_snippet_bytes = 1500;  // edit inputs: one function at most this long
  size_t fim_window_bytes = 1500;   // FIM: prefix + middle + suffix at most this long
  size_t fim_max_middle_bytes = 300;
  int edits_per_file = 4;           // at most, of distinct kinds where possible
  int random_fims_per_file = 1;
  int ast_fims_per_file = 1;
};

// Samples from one file. `language` is a grammar name ("python", "javascript", ...).
SftSamples synthesize_file(const std::string& path, const std::string& text, const std::string& language,
                           const SftOptions& options);
// All training-split documents of a corpus written by write_corpus (validation never read).
SftSamples synthesize_corpus(const std::string& corpus_dir, const SftOptions& options);

// One JSON object a line: {"type":"edit",kind,language,path,instruction,input,output} or
// {"type":"fim",kind,language,path,prefix,middle,suffix}.
void write_sft_jsonl(const SftSamples& samples, const std::string& path);
SftSamples read_sft_jsonl(const std::string& path);  // throws naming the line on bad input

// The individual transformations (Python source of one function, dedented). Each returns the
// empty optional-like sample (kind == "") when it does not apply. `pick` selects among the
// candidate places (taken modulo their count) so callers control randomness.
EditSample rename_variable(const std::string& code, uint64_t pick);
EditSample rename_function(const std::string& code, uint64_t pick);
EditSample remove_docstring(const std::string& code);
EditSample add_docstring(const std::string& code);
EditSample loop_to_comprehension(const std::string& code, uint64_t pick);
EditSample comprehension_to_loop(const std::string& code, uint64_t pick);
EditSample restore_statement(const std::string& code, uint64_t pick);
EditSample add_parameter(const std::string& code, uint64_t pick);

}  // namespace maskfill::training
