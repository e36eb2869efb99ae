// The post-processing pipeline: the rules of postprocess.h in the order they must run.
#include "infill/postprocess.h"

#include "infill/text_lines.h"

namespace maskfill {

std::optional<std::string> postprocess_candidate(std::string_view raw, const PostprocessContext& context) {
  std::string text = context.single_line ? first_line_only(raw) : std::string(raw);
  if (context.after_indentation) text.erase(0, text.find_first_not_of(" \t"));
  text = remove_suffix_overlap(text, context.suffix);
  text = match_indentation(text, context.style, context.min_indent);
  // Trailing spaces are noise; trailing newlines would double the line break the suffix starts with.
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' ||
                           ((text.back() == '\n' || text.back() == '\r') && context.suffix.starts_with('\n'))))
    text.pop_back();
  if (is_blank(text)) return std::nullopt;
  return text;
}

}  // namespace maskfill
