#include "infill/ignore_rules.h"

#include <fnmatch.h>

#include "infill/text_lines.h"

namespace maskfill {

std::shared_ptr<const IgnoreRules> IgnoreRules::with(std::shared_ptr<const IgnoreRules> parent, std::string folder,
                                                     std::string_view text) {
  auto rules = std::make_shared<IgnoreRules>();
  if (parent) rules->rules_ = parent->rules_;
  for (std::string_view line : split_lines(text)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    Rule rule;
    rule.folder = folder;
    if (line.front() == '!') rule.negate = true, line.remove_prefix(1);
    if (line.ends_with('/')) rule.directory_only = true, line.remove_suffix(1);
    if (line.starts_with("**/")) line.remove_prefix(3);
    else if (line.find('/') != std::string_view::npos) rule.anchored = true;
    if (line.starts_with('/')) line.remove_prefix(1);
    if (line.empty()) continue;
    rule.pattern = std::string(line);
    rules->rules_.push_back(std::move(rule));
  }
  return rules;
}

bool IgnoreRules::ignored(std::string_view path, bool is_directory) const {
  bool ignored = false;
  std::string full(path);
  size_t slash = full.rfind('/');
  std::string name = slash == std::string::npos ? full : full.substr(slash + 1);
  for (const Rule& rule : rules_) {
    if (rule.directory_only && !is_directory) continue;
    if (ignored != rule.negate) continue;  // only a rule that would change the answer matters
    std::string relative = full;
    if (!rule.folder.empty()) {
      if (!full.starts_with(rule.folder + "/")) continue;
      relative = full.substr(rule.folder.size() + 1);
    }
    bool match = rule.anchored ? fnmatch(rule.pattern.c_str(), relative.c_str(), FNM_PATHNAME) == 0
                               : fnmatch(rule.pattern.c_str(), name.c_str(), 0) == 0;
    if (match) ignored = !rule.negate;
  }
  return ignored;
}

}  // namespace maskfill
