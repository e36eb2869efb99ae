// The subset of .gitignore that decides what a workspace index reads: comments, blank lines,
// `!` negation, a trailing `/` for directories only, a `/` inside the pattern anchoring it to
// the .gitignore's folder, a leading `**/`, and fnmatch(3) globs. Rules of a folder's
// .gitignore apply below that folder; the last matching rule wins, as in git. Hand-written
// (about 60 lines) because the only library that implements gitignore fully, libgit2, would
// be a dependency for this alone, and a rule it would honour that this misses only means a
// file is indexed that did not need to be.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace maskfill {

class IgnoreRules {
 public:
  // The rules of `parent` plus those of the .gitignore `text` found in `folder` (relative to
  // the workspace root, "" for the root itself, no trailing slash).
  static std::shared_ptr<const IgnoreRules> with(std::shared_ptr<const IgnoreRules> parent, std::string folder,
                                                 std::string_view text);

  // `path` is relative to the workspace root.
  bool ignored(std::string_view path, bool is_directory) const;

 private:
  struct Rule {
    std::string folder;   // where the .gitignore lives, relative to the root
    std::string pattern;  // without '!', trailing '/', leading '/' or '**/'
    bool negate = false, directory_only = false, anchored = false;
  };
  std::vector<Rule> rules_;  // parent's first: later rules override earlier ones
};

}  // namespace maskfill
