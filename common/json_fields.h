// Typed reading of untrusted JSON (model files, safetensors headers, LSP params and settings).
// Every access checks presence and type and fails with a JsonFieldError whose message names the
// source, the field and what was expected, e.g.
//   config.json: field 'rope_parameters.rope_type' must be a string, got number 0
// so no library exception text (`[json.exception...]`) ever reaches a user.
//
//   nlohmann::json root = parse_json_text(text, "config.json");
//   JsonField config(root, "config.json");
//   int64_t layers = config.at("num_hidden_layers").integer(1, 4096);    // required
//   if (auto rope = config.get("rope_parameters"))                          // optional (absent or null)
//     type = rope->string_or("rope_type", "default");
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace maskfill {

// A JSON document that is malformed or has the wrong shape. Deliberately not a nlohmann type.
class JsonFieldError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "null", "boolean", "number", "string", "array" or "object".
inline const char* json_kind(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return "number";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::object: return "object";
    default: return "binary";
  }
}

// The kind plus, for scalars, a short preview: `string "32"`, `number 0`, `array`.
inline std::string json_describe(const nlohmann::json& value) {
  std::string out = json_kind(value);
  if (value.is_primitive() && !value.is_null()) {
    std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    out += " " + text;
  }
  return out;
}

// A library-free description of a nlohmann exception, for a last-resort handler that must tell
// a user what went wrong without passing on `[json.exception...]` text.
inline std::string json_error_summary(const nlohmann::json::exception& error) {
  if (dynamic_cast<const nlohmann::json::parse_error*>(&error)) return "invalid JSON";
  if (dynamic_cast<const nlohmann::json::type_error*>(&error)) return "a field has the wrong type";
  if (dynamic_cast<const nlohmann::json::out_of_range*>(&error)) return "a required field is missing";
  return "a malformed JSON value";
}

// Parses untrusted JSON text. Errors (syntax, nesting deeper than `max_depth`) are reported as
// "SOURCE is not valid JSON (line L, column C)" / "... nested deeper than N levels" without
// library text. Deep nesting is refused because copying, dumping or walking a value recurses.
struct JsonTooDeep {};
inline auto json_depth_limit(int max_depth) {
  return [max_depth](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > max_depth) throw JsonTooDeep{};
    return true;
  };
}

inline nlohmann::json parse_json_text(std::string_view text, const std::string& source, int max_depth = 512) {
  try {
    return nlohmann::json::parse(text, json_depth_limit(max_depth));
  } catch (const JsonTooDeep&) {
    throw JsonFieldError(source + " is nested deeper than " + std::to_string(max_depth) + " levels");
  } catch (const nlohmann::json::parse_error& error) {
    // error.byte is the 1-based offset of the last character read.
    size_t offset = error.byte > 0 ? std::min<size_t>(error.byte - 1, text.size()) : 0;
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') ++line, column = 1;
      else ++column;
    }
    if (offset >= text.size())
      throw JsonFieldError(source + " is not valid JSON (it ends early, at line " + std::to_string(line) + ")");
    throw JsonFieldError(source + " is not valid JSON (line " + std::to_string(line) + ", column " +
                         std::to_string(column) + ")");
  } catch (const nlohmann::json::exception&) {  // e.g. a number out of range
    throw JsonFieldError(source + " is not valid JSON");
  }
}

// The same limit without messages: a discarded value for invalid or too-deep text (answers read
// from a remote server, where the caller only needs to know it cannot use them).
inline nlohmann::json parse_json_or_discarded(std::string_view text, int max_depth = 512) {
  try {
    return nlohmann::json::parse(text, json_depth_limit(max_depth), /*allow_exceptions=*/false);
  } catch (const JsonTooDeep&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

// A checked view of one value inside a named JSON document. Cheap to copy (a pointer, the
// source name and the path). The document must outlive it.
class JsonField {
 public:
  JsonField(const nlohmann::json& value, std::string source, std::string path = {})
      : value_(&value), source_(std::move(source)), path_(std::move(path)) {}

  const nlohmann::json& json() const { return *value_; }
  const std::string& source() const { return source_; }
  const std::string& path() const { return path_; }
  bool is_null() const { return value_->is_null(); }

  // ---- failures ----------------------------------------------------------------------------
  // "SOURCE: field 'PATH' PROBLEM" (or "SOURCE: PROBLEM" at the top level).
  [[noreturn]] void fail(std::string_view problem) const {
    if (path_.empty()) throw JsonFieldError(source_ + ": " + std::string(problem));
    throw JsonFieldError(source_ + ": field '" + path_ + "' " + std::string(problem));
  }
  // "... must be WHAT, got KIND"
  [[noreturn]] void expected(std::string_view what) const {
    if (path_.empty())
      throw JsonFieldError(source_ + " must hold " + std::string(what) + ", got " + json_describe(*value_));
    fail("must be " + std::string(what) + ", got " + json_describe(*value_));
  }

  // ---- objects -----------------------------------------------------------------------------
  // Present and not null (JSON null counts as absent, as in HF's config files).
  bool has(std::string_view key) const {
    if (!value_->is_object()) return false;
    auto it = value_->find(key);
    return it != value_->end() && !it->is_null();
  }
  // A required member: this must be an object and the member present and not null.
  JsonField at(std::string_view key) const {
    require_object();
    auto it = value_->find(key);
    if (it == value_->end() || it->is_null()) {
      if (path_.empty()) throw JsonFieldError(source_ + ": field '" + std::string(key) + "' is missing");
      throw JsonFieldError(source_ + ": field '" + child_path(key) + "' is missing");
    }
    return JsonField(*it, source_, child_path(key));
  }
  // An optional member: nullopt when absent or null. This must be an object.
  std::optional<JsonField> get(std::string_view key) const {
    require_object();
    auto it = value_->find(key);
    if (it == value_->end() || it->is_null()) return std::nullopt;
    return JsonField(*it, source_, child_path(key));
  }
  // The object's members in document order (nlohmann: sorted by key).
  std::vector<std::pair<std::string, JsonField>> members() const {
    require_object();
    std::vector<std::pair<std::string, JsonField>> out;
    out.reserve(value_->size());
    for (auto it = value_->begin(); it != value_->end(); ++it)
      out.emplace_back(it.key(), JsonField(it.value(), source_, child_path(it.key())));
    return out;
  }

  // ---- arrays ------------------------------------------------------------------------------
  std::vector<JsonField> items() const {
    require_array();
    std::vector<JsonField> out;
    out.reserve(value_->size());
    for (size_t i = 0; i < value_->size(); ++i)
      out.emplace_back((*value_)[i], source_, path_ + "[" + std::to_string(i) + "]");
    return out;
  }
  size_t size() const { return value_->is_array() || value_->is_object() ? value_->size() : 0; }

  // ---- scalars -----------------------------------------------------------------------------
  const JsonField& require_object() const {
    if (!value_->is_object()) expected("a JSON object");
    return *this;
  }
  const JsonField& require_array() const {
    if (!value_->is_array()) expected("an array");
    return *this;
  }
  std::string string() const {
    if (!value_->is_string()) expected("a string");
    return value_->get<std::string>();
  }
  const std::string& string_ref() const {
    if (!value_->is_string()) expected("a string");
    return value_->get_ref<const std::string&>();
  }
  bool boolean() const {
    if (!value_->is_boolean()) expected("true or false");
    return value_->get<bool>();
  }
  double number() const {
    if (!value_->is_number()) expected("a number");
    return value_->get<double>();
  }
  // An integer in [min, max]; "must be an integer from MIN to MAX" otherwise.
  int64_t integer(int64_t min = std::numeric_limits<int64_t>::min(),
                  int64_t max = std::numeric_limits<int64_t>::max()) const {
    bool in_range = false;
    if (value_->is_number_unsigned())
      in_range = value_->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
                 value_->get<int64_t>() >= min && value_->get<int64_t>() <= max;
    else if (value_->is_number_integer())
      in_range = value_->get<int64_t>() >= min && value_->get<int64_t>() <= max;
    if (!in_range) {
      if (min == std::numeric_limits<int64_t>::min() && max == std::numeric_limits<int64_t>::max())
        expected("an integer");
      if (max == std::numeric_limits<int64_t>::max()) expected("an integer of at least " + std::to_string(min));
      expected("an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return value_->get<int64_t>();
  }
  uint64_t unsigned_integer() const {
    if (!value_->is_number_unsigned()) expected("a non-negative integer");
    return value_->get<uint64_t>();
  }

  // ---- optional members with a fallback ----------------------------------------------------
  std::string string_or(std::string_view key, std::string fallback) const {
    auto field = get(key);
    return field ? field->string() : std::move(fallback);
  }
  bool boolean_or(std::string_view key, bool fallback) const {
    auto field = get(key);
    return field ? field->boolean() : fallback;
  }
  double number_or(std::string_view key, double fallback) const {
    auto field = get(key);
    return field ? field->number() : fallback;
  }
  int64_t integer_or(std::string_view key, int64_t fallback, int64_t min = std::numeric_limits<int64_t>::min(),
                     int64_t max = std::numeric_limits<int64_t>::max()) const {
    auto field = get(key);
    return field ? field->integer(min, max) : fallback;
  }

 private:
  std::string child_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const nlohmann::json* value_;
  std::string source_;
  std::string path_;
};

}  // namespace maskfill
