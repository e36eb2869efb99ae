// SFT edits for every language with a grammar, not only Python (issue #20: "SFT edits in every
// language the span finder supports"). They are the kinds that need no shape of one language,
// made from one function of a file that parses cleanly:
//   rename-variable    a name used at least twice in the function and nowhere else in the file,
//                      every use an identifier (none in a comment, a string or a member access),
//                      renamed throughout the function, in the name's own style;
//   rename-function    the function's name, wherever the function's text spells it, renamed;
//   restore-statement  a statement alone on its line inside the body is left out of the input,
//                      and the instruction says which line it belongs on.
// Python keeps its own richer set (sft_synth.cpp).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "infill/source_document.h"
#include "training/sft_synth.h"

namespace maskfill::training {

// Up to `per_file` edits of distinct kinds where possible, from functions of at most
// `max_snippet_bytes`, each sample's input the function's text dedented. Nothing when `doc`
// does not parse cleanly.
void add_generic_edits(const std::string& path, const SourceDocument& doc, size_t max_snippet_bytes, int per_file,
                       std::mt19937_64& rng, std::vector<EditSample>& out);

}  // namespace maskfill::training
