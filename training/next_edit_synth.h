// SFT samples for next-edit suggestions (issue #24), in the editor's own prompt format: a rename
// is made at one definition of a training-split file (training/next_edit_tasks.h), the editor's
// planner (plan_next_edit, masked form) builds every site's prompt from the edit history exactly
// as it does in the editor, and the response is the site's right answer. The model learns to
// read the diff header: the new name is in it and nowhere else.
//
// New names are drawn from word changes (`count` -> `total`, `getName` -> `getLabel`), prefixes,
// suffixes and case changes, never the `_next`/`Next` suffix of the benchmark's tasks, so the
// benchmark measures reading the header rather than a memorised suffix.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "infill/plan.h"

namespace maskfill::training {

struct NextEditSample {
  std::string path, language;
  std::string old_name, new_name;
  std::vector<int32_t> prompt;    // the site's prompt as plan_next_edit builds it
  std::vector<int32_t> response;  // the site's right answer (the new name)
};

struct NextEditSynthOptions {
  int renames_per_file = 2;  // at most, among the file's unique definitions, picked at random
  int sites_per_rename = 2;  // at most, among the sites the planner found and the truth holds
};

// A new name for `name` that the benchmark's renames never write (`rng` picks the change).
std::string synthetic_new_name(const std::string& name, std::mt19937_64& rng);

// Samples from one file (`language` a grammar name); none when it does not parse.
std::vector<NextEditSample> next_edit_samples(const std::string& path, const std::string& text,
                                              const std::string& language, const ModelView& model,
                                              const NextEditSynthOptions& options, std::mt19937_64& rng);

}  // namespace maskfill::training
