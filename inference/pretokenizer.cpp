#include "inference/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <stdexcept>

#include "common/utf8.h"
#include "inference/byte_level.h"

namespace maskfill {
namespace {

// GPT-2's split, applied by ByteLevel itself when use_regex is true (HF's exact string).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Oniguruma's \w: Alphabetic, marks, decimal digits, connector punctuation.
constexpr const char* kOnigWordChars = R"(\p{Alphabetic}\p{M}\p{Nd}\p{Pc})";

std::string pcre2_error_text(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

// Each thread gets a JIT stack big enough for long runs of one character class.
pcre2_match_context* thread_match_context() {
  struct Context {
    pcre2_jit_stack* stack = pcre2_jit_stack_create(64 * 1024, 16 * 1024 * 1024, nullptr);
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    Context() { pcre2_jit_stack_assign(context, nullptr, stack); }
    ~Context() {
      pcre2_match_context_free(context);
      pcre2_jit_stack_free(stack);
    }
  };
  thread_local Context context;
  return context.context;
}

}  // namespace

std::string oniguruma_to_pcre2(const std::string& pattern) {
  std::string out;
  int class_depth = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char e = pattern[++i];
      bool in_class = class_depth > 0;
      switch (e) {
        // Oniguruma's \s is White_Space; PCRE2's UCP \s also takes U+180E.
        case 's': out += R"(\p{White_Space})"; break;
        case 'S': out += R"(\P{White_Space})"; break;
        // Oniguruma's \h is a hex digit (PCRE2: horizontal space).
        case 'h': out += in_class ? "0-9A-Fa-f" : "[0-9A-Fa-f]"; break;
        case 'H': out += in_class ? R"(\x00-/:-@G-`g-\x{10FFFF})" : "[^0-9A-Fa-f]"; break;
        case 'w': out += in_class ? std::string(kOnigWordChars) : "[" + std::string(kOnigWordChars) + "]"; break;
        case 'W':
          if (in_class) throw std::runtime_error("pre-tokenizer regex: \\W inside a character class is not supported");
          out += "[^" + std::string(kOnigWordChars) + "]";
          break;
        default: out += c; out += e;
      }
      continue;
    }
    if (c == '[') {
      if (class_depth > 0 && i + 1 < pattern.size() && pattern[i + 1] == ':') {
        size_t close = pattern.find(":]", i + 2);  // POSIX class such as [:alpha:]
        if (close != std::string::npos) {
          out += pattern.substr(i, close + 2 - i);
          i = close + 1;
          continue;
        }
      }
      if (class_depth > 0) throw std::runtime_error("pre-tokenizer regex: nested character classes are not supported");
      ++class_depth;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

struct OnigRegex::Impl {
  pcre2_code* code = nullptr;
  ~Impl() { pcre2_code_free(code); }
};

OnigRegex::OnigRegex(const std::string& oniguruma_pattern, bool literal) : impl_(std::make_unique<Impl>()) {
  std::string pattern = literal ? oniguruma_pattern : oniguruma_to_pcre2(oniguruma_pattern);
  uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  int error = 0;
  PCRE2_SIZE offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                              &error, &offset, nullptr);
  if (!impl_->code)
    throw std::runtime_error("pre-tokenizer regex /" + oniguruma_pattern + "/ does not compile at offset " +
                             std::to_string(offset) + ": " + pcre2_error_text(error));
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is missing
}

OnigRegex::OnigRegex(OnigRegex&&) noexcept = default;
OnigRegex::~OnigRegex() = default;

std::vector<OnigRegex::Segment> OnigRegex::segments(std::string_view text) const {
  std::vector<Segment> out;
  if (text.empty()) return out;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(impl_->code, nullptr), pcre2_match_data_free);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t gap_begin = 0, search_from = 0;
  bool have_last_end = false;
  size_t last_end = 0;
  while (search_from <= text.size()) {
    int rc = pcre2_match(impl_->code, subject, text.size(), search_from, PCRE2_NO_UTF_CHECK, match.get(),
                         thread_match_context());
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw std::runtime_error("pre-tokenizer regex failed: " + pcre2_error_text(rc));
    PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    size_t begin = ovector[0], end = ovector[1];
    if (begin == end && have_last_end && last_end == end) {
      // Step over one character, as onig's find_iter does, to avoid an endless empty match.
      if (search_from >= text.size()) break;
      size_t length = utf8::valid_length(text, search_from);
      search_from += length ? length : 1;
      continue;
    }
    if (begin > gap_begin) out.push_back({gap_begin, begin, false});
    out.push_back({begin, end, true});
    gap_begin = end;
    search_from = end;
    last_end = end;
    have_last_end = true;
  }
  if (gap_begin < text.size()) out.push_back({gap_begin, text.size(), false});
  return out;
}

namespace {

enum class SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };

SplitBehavior parse_behavior(const JsonField& split) {
  std::string name = split.string_or("behavior", "Isolated");
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  split.at("behavior").fail("is '" + name + "', which is not a known Split behavior");
}

// HF SplitDelimiterBehavior applied to one piece's match/gap segments.
void apply_behavior(std::string_view text, std::vector<OnigRegex::Segment> segments, SplitBehavior behavior,
                    bool invert, std::vector<std::string_view>& out) {
  if (invert)
    for (auto& segment : segments) segment.is_match = !segment.is_match;
  std::vector<std::pair<size_t, size_t>> spans;
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const auto& s : segments) spans.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::Removed:
      for (const auto& s : segments)
        if (!s.is_match) spans.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const auto& s : segments) {
        if (s.is_match && !previous_match && !spans.empty()) spans.back().second = s.end;
        else spans.emplace_back(s.begin, s.end);
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      // A match joins the segment after it (HF walks the segments backwards).
      bool next_match = false;
      for (auto s = segments.rbegin(); s != segments.rend(); ++s) {
        if (s->is_match && !next_match && !spans.empty()) spans.back().first = s->begin;
        else spans.emplace_back(s->begin, s->end);
        next_match = s->is_match;
      }
      std::reverse(spans.begin(), spans.end());
      break;
    }
    case SplitBehavior::Contiguous: {
      bool previous_match = false;
      for (const auto& s : segments) {
        if (s.is_match == previous_match && !spans.empty()) spans.back().second = s.end;
        else spans.emplace_back(s.begin, s.end);
        previous_match = s.is_match;
      }
      break;
    }
  }
  for (auto [begin, end] : spans)
    if (end > begin) out.push_back(text.substr(begin, end - begin));
}

}  // namespace

struct PreTokenizer::Step {
  std::unique_ptr<OnigRegex> regex;  // null: ByteLevel without its own regex
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;
  bool byte_level = false;
  bool add_prefix_space = false;
};

PreTokenizer::PreTokenizer(const JsonField& config) {
  if (config.is_null()) return;
  std::vector<JsonField> entries;
  if (config.at("type").string() == "Sequence") entries = config.at("pretokenizers").items();
  else entries.push_back(config);
  for (const JsonField& entry : entries) {
    std::string type = entry.at("type").string();
    if (!steps_.empty() && steps_.back().byte_level)
      entry.fail("is a '" + type + "' pre_tokenizer after ByteLevel, which is not supported");
    Step step;
    if (type == "ByteLevel") {
      step.byte_level = true;
      step.add_prefix_space = entry.boolean_or("add_prefix_space", false);
      if (entry.boolean_or("use_regex", true)) step.regex = std::make_unique<OnigRegex>(kGpt2Pattern);
    } else if (type == "Split") {
      JsonField pattern = entry.at("pattern");
      auto compile = [](const JsonField& field, bool literal) {
        std::string text = field.string();
        try {
          return std::make_unique<OnigRegex>(text, literal);
        } catch (const std::runtime_error& error) {
          field.fail(std::string("is invalid: ") + error.what());
        }
      };
      if (auto regex = pattern.get("Regex")) step.regex = compile(*regex, false);
      else if (auto literal = pattern.get("String")) step.regex = compile(*literal, true);
      else pattern.fail("must be {\"Regex\": ...} or {\"String\": ...}");
      step.behavior = parse_behavior(entry);
      step.invert = entry.boolean_or("invert", false);
    } else {
      throw JsonFieldError(entry.source() + ": pre_tokenizer '" + type + "' is not supported");
    }
    steps_.push_back(std::move(step));
  }
}

PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

bool PreTokenizer::has_byte_level() const { return !steps_.empty() && steps_.back().byte_level; }

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces,
                         std::deque<std::string>& storage) const {
  if (text.empty()) return;
  std::vector<std::string_view> current{text}, next;
  for (const Step& step : steps_) {
    next.clear();
    for (std::string_view piece : current) {
      if (step.add_prefix_space && piece.front() != ' ') piece = storage.emplace_back(" " + std::string(piece));
      if (step.regex) apply_behavior(piece, step.regex->segments(piece), step.behavior, step.invert, next);
      else next.push_back(piece);
    }
    current.swap(next);
  }
  pieces.insert(pieces.end(), current.begin(), current.end());
}

}  // namespace maskfill
