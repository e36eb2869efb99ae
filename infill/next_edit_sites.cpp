#include "infill/next_edit_sites.h"

#include <tree_sitter/api.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <queue>

#include "infill/definitions.h"
#include "infill/syntax_queries.h"
#include "infill/text_lines.h"
#include "infill/workspace_index.h"

namespace maskfill {
namespace {

// How far up from the edited node a parameter list is looked for, and from a name to the
// definition it names (a C++ qualified name sits three levels below its function declarator).
constexpr int kMaxAncestors = 64;
constexpr int kMaxNameDepth = 4;

bool identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string_view node_type(TSNode node) { return ts_node_type(node); }

// Identifiers of every kind: identifier, field_identifier, type_identifier, property_identifier...
// but not a qualified one (C++'s `Formatter::make_group`, Rust's `csv::Reader`): its `name` is.
bool qualified_node(TSNode node) {
  std::string_view type = node_type(node);
  return type == "qualified_identifier" || type == "scoped_identifier";
}

bool identifier_node(TSNode node) {
  return !ts_node_is_null(node) && node_type(node).find("identifier") != std::string_view::npos &&
         !qualified_node(node);
}

TSNode node_at(const SourceDocument& doc, size_t begin, size_t end) {
  if (!doc.tree()) return TSNode{};
  return ts_node_named_descendant_for_byte_range(ts_tree_root_node(doc.tree()), static_cast<uint32_t>(begin),
                                                 static_cast<uint32_t>(end));
}

TSNode field(TSNode node, const char* name) {
  return ts_node_child_by_field_name(node, name, static_cast<uint32_t>(std::strlen(name)));
}

std::string node_text(const SourceDocument& doc, TSNode node) {
  uint32_t begin = ts_node_start_byte(node), end = ts_node_end_byte(node);
  return doc.text().substr(begin, end - begin);
}

// Whether bytes [begin, begin + length) of `doc` are one identifier of the syntax tree (not a
// keyword, a comment or a string). Never without a tree: a word changed in prose renames nothing.
bool is_identifier_token(const SourceDocument& doc, size_t begin, size_t length) {
  if (!doc.tree()) return false;
  TSNode node = node_at(doc, begin, begin + length);
  return identifier_node(node) && ts_node_start_byte(node) == begin && ts_node_end_byte(node) == begin + length;
}

// --- Classification -------------------------------------------------------------------------

struct Rename {
  std::string old_name, new_name;
};

// The identifier the change replaced by another one, when it did.
std::optional<Rename> renamed_identifier(const SourceDocument& before, const SourceDocument& after,
                                         const TextChange& change) {
  std::string_view old_word = identifier_around(before.text(), change.begin, change.old_end);
  std::string_view new_word = identifier_around(after.text(), change.begin, change.new_end);
  if (old_word.empty() || new_word.empty() || old_word == new_word) return std::nullopt;
  size_t old_begin = static_cast<size_t>(old_word.data() - before.text().data());
  size_t new_begin = static_cast<size_t>(new_word.data() - after.text().data());
  if (!is_identifier_token(before, old_begin, old_word.size()) || !is_identifier_token(after, new_begin, new_word.size()))
    return std::nullopt;
  return Rename{std::string(old_word), std::string(new_word)};
}

// The name a function's node declares: its `name` field, a C/C++ declarator's innermost name,
// or the variable an anonymous function (JavaScript's `const f = (a) => ...`) is assigned to.
TSNode function_name(TSNode function) {
  TSNode name = field(function, "name");
  if (ts_node_is_null(name)) name = field(function, "declarator");
  for (int depth = 0; depth < kMaxNameDepth && !ts_node_is_null(name) && !identifier_node(name); ++depth) {
    TSNode inner = field(name, "name");
    name = ts_node_is_null(inner) ? field(name, "declarator") : inner;
  }
  TSNode parent = ts_node_parent(function);
  if (ts_node_is_null(name) && !ts_node_is_null(parent) && node_type(parent) == "variable_declarator")
    name = field(parent, "name");
  return identifier_node(name) ? name : TSNode{};
}

struct ParameterList {
  std::string function;
  int count = 0;
  std::vector<std::string> entries;  // each parameter's text
};

// The named entries of a parameter, argument or element list, comments left out.
std::vector<TSNode> named_entries(TSNode list) {
  std::vector<TSNode> entries;
  TSTreeCursor cursor = ts_tree_cursor_new(list);
  for (bool more = ts_tree_cursor_goto_first_child(&cursor); more; more = ts_tree_cursor_goto_next_sibling(&cursor)) {
    TSNode child = ts_tree_cursor_current_node(&cursor);
    if (ts_node_is_named(child) && node_type(child).find("comment") == std::string_view::npos) entries.push_back(child);
  }
  ts_tree_cursor_delete(&cursor);
  return entries;
}

int parameter_count(TSNode list) { return static_cast<int>(named_entries(list).size()); }

// The parameter list of a named function that holds bytes [begin, end] of `doc` (the node at the
// change, or one of its ancestors, is some node's `parameters` field), when it parses cleanly.
std::optional<ParameterList> parameter_list_at(const SourceDocument& doc, size_t begin, size_t end) {
  TSNode node = node_at(doc, begin, end);
  for (int depth = 0; depth < kMaxAncestors && !ts_node_is_null(node); ++depth) {
    TSNode parent = ts_node_parent(node);
    if (ts_node_is_null(parent)) break;
    if (ts_node_eq(field(parent, "parameters"), node)) {
      TSNode name = function_name(parent);
      if (ts_node_is_null(name)) return std::nullopt;  // a lambda: nothing calls it by name
      if (ts_node_has_error(node)) return std::nullopt;  // half typed: its count means nothing yet
      ParameterList list{node_text(doc, name), 0, {}};
      for (TSNode entry : named_entries(node)) list.entries.push_back(node_text(doc, entry));
      list.count = static_cast<int>(list.entries.size());
      return list;
    }
    node = parent;
  }
  return std::nullopt;
}

// --- Changed types ---------------------------------------------------------------------------

// A node that declares a function: it has parameters, or its declarator does (C and C++ keep
// them in a function_declarator, under pointer or reference declarators).
bool function_like(TSNode node) {
  for (int depth = 0; depth <= kMaxNameDepth && !ts_node_is_null(node); ++depth) {
    if (!ts_node_is_null(field(node, "parameters"))) return true;
    node = field(node, "declarator");
  }
  return false;
}

// A parameter's index among the named entries of its list, comments left out; Python's `self` or
// `cls` is not counted, as calls through an object or class do not pass it.
int parameter_index(TSNode list, TSNode parameter, std::string_view first_name) {
  int index = 0;
  bool first = true;
  TSTreeCursor cursor = ts_tree_cursor_new(list);
  for (bool more = ts_tree_cursor_goto_first_child(&cursor); more; more = ts_tree_cursor_goto_next_sibling(&cursor)) {
    TSNode child = ts_tree_cursor_current_node(&cursor);
    if (!ts_node_is_named(child) || node_type(child).find("comment") != std::string_view::npos) continue;
    if (ts_node_eq(child, parameter)) break;
    if (!(first && (first_name == "self" || first_name == "cls"))) ++index;
    first = false;
  }
  ts_tree_cursor_delete(&cursor);
  return index;
}

struct TypeSlot {
  NextEditKind kind = NextEditKind::None;  // ReturnType or ParameterType
  std::string function, type, parameter;
  int index = -1;  // ParameterType: the argument calls pass for it
};

// The name a parameter node declares (its `name` or `pattern` field, or its first identifier).
std::string parameter_name(const SourceDocument& doc, TSNode parameter) {
  for (const char* name : {"name", "pattern", "declarator"}) {
    TSNode named = field(parameter, name);
    if (identifier_node(named)) return node_text(doc, named);
  }
  TSNode first = ts_node_named_child(parameter, 0);
  return identifier_node(first) ? node_text(doc, first) : "";
}

// The type annotation that holds bytes [begin, end] of `doc`, when it is a named function's
// return type (`return_type`: Python, TypeScript, Rust; `result`: Go; the function's own `type`:
// C, C++, Java) or a parameter's type, and parses cleanly.
std::optional<TypeSlot> type_slot_at(const SourceDocument& doc, size_t begin, size_t end) {
  TSNode node = node_at(doc, begin, end);
  for (int depth = 0; depth < kMaxAncestors && !ts_node_is_null(node); ++depth) {
    TSNode parent = ts_node_parent(node);
    if (ts_node_is_null(parent)) break;
    for (const char* name : {"return_type", "result", "type"}) {
      if (!ts_node_eq(field(parent, name), node) || ts_node_has_error(node)) continue;
      if (function_like(parent)) {
        TSNode function = function_name(parent);
        if (ts_node_is_null(function)) return std::nullopt;
        return TypeSlot{NextEditKind::ReturnType, node_text(doc, function), node_text(doc, node), "", -1};
      }
      TSNode list = ts_node_parent(parent);
      TSNode owner = ts_node_is_null(list) ? TSNode{} : ts_node_parent(list);
      if (ts_node_is_null(owner) || !ts_node_eq(field(owner, "parameters"), list)) return std::nullopt;
      TSNode function = function_name(owner);
      // C and C++: the list belongs to a function_declarator, named by its declarator.
      if (ts_node_is_null(function)) return std::nullopt;
      TSNode first = ts_node_named_child(list, 0);
      std::string first_name = ts_node_is_null(first) ? "" : parameter_name(doc, first);
      if (ts_node_is_null(field(first, "type")) && identifier_node(first)) first_name = node_text(doc, first);
      return TypeSlot{NextEditKind::ParameterType, node_text(doc, function), node_text(doc, node),
                      parameter_name(doc, parent), parameter_index(list, parent, first_name)};
    }
    node = parent;
  }
  return std::nullopt;
}

struct TypeChange {
  TypeSlot slot;
  std::string old_type;
};

// The function return or parameter type the change edited, when it edited one and it still parses.
std::optional<TypeChange> changed_type(const SourceDocument& before, const SourceDocument& after,
                                       const TextChange& change) {
  std::optional<TypeSlot> old_slot = type_slot_at(before, change.begin, change.old_end);
  // Typing at the end of a type (`int` → `int64`) inserts after its last byte.
  if (!old_slot && change.begin == change.old_end && change.begin > 0)
    old_slot = type_slot_at(before, change.begin - 1, change.begin);
  std::optional<TypeSlot> new_slot = type_slot_at(after, change.begin, change.new_end);
  if (!old_slot || !new_slot || old_slot->kind != new_slot->kind || old_slot->function != new_slot->function ||
      old_slot->index != new_slot->index || old_slot->type == new_slot->type)
    return std::nullopt;
  return TypeChange{*new_slot, old_slot->type};
}

// --- Changed literals ------------------------------------------------------------------------

// A literal node (is_literal_type), not the parts inside a string.
bool literal_node(TSNode node) { return !ts_node_is_null(node) && is_literal_type(node_type(node)); }

// The literal holding bytes [begin, end] of `doc`: the node there or one of its two parents (an
// edit inside a string is in its content node).
TSNode literal_at(const SourceDocument& doc, size_t begin, size_t end) {
  TSNode node = node_at(doc, begin, end);
  for (int depth = 0; depth < 3 && !ts_node_is_null(node); ++depth, node = ts_node_parent(node))
    if (literal_node(node)) return node;
  return TSNode{};
}

// Where a literal sits, so that "the same literal in the same place" can be compared across
// lines: its parent's type, its index among the parent's named children, the name it is bound
// to (a keyword argument's, a pair's key, an assignment's left side) and, in an argument list,
// the function called. `timeout=30` matches `timeout=30`, not `retries=30`; the second argument
// of `sleep(…, 30)` matches another call of `sleep`, not of `print`.
std::string literal_context(const SourceDocument& doc, TSNode literal) {
  TSNode parent = ts_node_parent(literal);
  if (ts_node_is_null(parent)) return "";
  std::string key(node_type(parent));
  uint32_t named = ts_node_named_child_count(parent);
  for (uint32_t i = 0; i < named; ++i)
    if (ts_node_eq(ts_node_named_child(parent, i), literal)) key += "#" + std::to_string(i);
  constexpr size_t kMaxBoundName = 200;
  for (const char* name : {"name", "key", "left", "field"}) {
    TSNode bound = field(parent, name);
    if (!ts_node_is_null(bound) && !ts_node_eq(bound, literal) && ts_node_end_byte(bound) - ts_node_start_byte(bound) <= kMaxBoundName)
      key += std::string("|") + name + "=" + node_text(doc, bound);
  }
  if (node_type(parent).find("argument") != std::string_view::npos) {
    TSNode call = ts_node_parent(parent);
    TSNode function = ts_node_is_null(call) ? TSNode{} : field(call, "function");
    if (!ts_node_is_null(function) && ts_node_end_byte(function) - ts_node_start_byte(function) <= kMaxBoundName)
      key += "|call=" + node_text(doc, function);
  }
  return key;
}

struct LiteralChange {
  std::string old_text, new_text, context;
};

bool numeric_literal_type(std::string_view type) {
  for (std::string_view part : {"integer", "float", "number", "decimal", "octal", "hex", "binary"})
    if (type.find(part) != std::string_view::npos) return true;
  return false;
}

// A number may change its grammar type and stay the same setting: `1` → `1.5` (integer →
// float), Java's `0` → `010` (decimal → octal). Any other change of type is not a changed value.
bool same_literal_kind(std::string_view old_type, std::string_view new_type) {
  return old_type == new_type || (numeric_literal_type(old_type) && numeric_literal_type(new_type));
}

// The literal the change edited, when it edited one literal and left it a literal of its kind.
std::optional<LiteralChange> changed_literal(const SourceDocument& before, const SourceDocument& after,
                                             const TextChange& change) {
  TSNode old_literal = literal_at(before, change.begin, change.old_end);
  // Typing at the end of a literal ("30" → "300") inserts after its last byte.
  if (ts_node_is_null(old_literal) && change.begin == change.old_end && change.begin > 0)
    old_literal = literal_at(before, change.begin - 1, change.begin);
  TSNode new_literal = literal_at(after, change.begin, change.new_end);
  if (ts_node_is_null(old_literal) || ts_node_is_null(new_literal)) return std::nullopt;
  if (!same_literal_kind(node_type(old_literal), node_type(new_literal)) ||
      ts_node_start_byte(old_literal) != ts_node_start_byte(new_literal))
    return std::nullopt;
  if (ts_node_has_error(new_literal) || ts_node_end_byte(old_literal) < change.old_end) return std::nullopt;
  LiteralChange literal{node_text(before, old_literal), node_text(after, new_literal), literal_context(before, old_literal)};
  if (literal.old_text == literal.new_text || literal.context.empty()) return std::nullopt;
  return literal;
}

// The bytes of the lines from `lines` above the one holding `offset` to `lines` below it.
ByteRange nearby_lines(std::string_view text, size_t offset, int lines) {
  size_t begin = line_start(text, offset);
  for (int i = 0; i < lines && begin > 0; ++i) begin = line_start(text, begin - 1);
  size_t end = line_end(text, offset);
  for (int i = 0; i < lines && end < text.size(); ++i) end = line_end(text, end + 1);
  return {begin, end};
}

// --- Changed returns -------------------------------------------------------------------------

constexpr size_t kMaxChangedText = 200;  // a longer returned value or call is not classified

bool return_node(TSNode node) {
  std::string_view type = node_type(node);
  return type == "return_statement" || type == "return_expression";
}

// Where a `return` stops belonging to an enclosing function: a function, method, lambda, closure
// or arrow function (JavaScript's `x => { return x; }` has a `parameter`, not `parameters`).
bool function_boundary(TSNode node) {
  std::string_view type = node_type(node);
  return function_like(node) || type.find("function") != std::string_view::npos ||
         type.find("lambda") != std::string_view::npos || type.find("closure") != std::string_view::npos;
}

bool holds(TSNode node, size_t begin, size_t end) {
  return ts_node_start_byte(node) <= begin && ts_node_end_byte(node) >= end;
}

struct ValueForm {
  std::string_view type, shape;
};
constexpr ValueForm kValueForms[] = {
    {"expression_list", "tuple"}, {"tuple", "tuple"},         {"tuple_expression", "tuple"},
    {"sequence_expression", "tuple"}, {"comma_expression", "tuple"}, {"list", "list"},
    {"array", "list"},            {"array_expression", "list"}, {"initializer_list", "list"},
    {"dictionary", "map"},        {"object", "map"},           {"set", "set"},
    {"composite_literal", "struct"}, {"struct_expression", "struct"}};

// Parentheses around one value are no form.
TSNode unparenthesized(TSNode value) {
  for (int depth = 0; depth < kMaxNameDepth; ++depth) {
    std::string_view type = node_type(value);
    if ((type != "parenthesized_expression" && type != "expression_list") || ts_node_named_child_count(value) != 1) break;
    value = ts_node_named_child(value, 0);
  }
  return value;
}

const ValueForm* value_form(TSNode value) {
  std::string_view type = node_type(value);
  for (const ValueForm& form : kValueForms)
    if (type == form.type) return &form;
  return nullptr;
}

// What callers see of a returned value's form: a tuple, list, map or set and its number of
// elements, a struct literal and its number of fields, a call (a constructor, mostly), or a plain
// value. Parentheses are no form; `x` and `x + 1` are both a plain value. A tuple also names the
// form of each element, since callers unpack it: `(a, b)` made `(a, b), None` is still two
// elements, but the first is no longer what they took.
std::string value_shape(TSNode value) {
  // Go puts every returned value in an expression_list: one value is not a tuple.
  value = unparenthesized(value);
  const ValueForm* form = value_form(value);
  if (form) {
    // A struct literal's fields are in its body; a comma expression nests to the right.
    TSNode list = ts_node_is_null(field(value, "body")) ? value : field(value, "body");
    std::vector<TSNode> elements;
    for (int depth = 0; depth < kMaxAncestors; ++depth) {
      std::vector<TSNode> entries = named_entries(list);
      elements.insert(elements.end(), entries.begin(), entries.end());
      bool nested = form->shape == "tuple" && !entries.empty() && node_type(entries.back()) == form->type &&
                    form->type != "tuple";
      if (!nested) break;
      elements.pop_back();
      list = entries.back();
    }
    std::string shape = std::string(form->shape) + "/" + std::to_string(elements.size());
    if (form->shape == "tuple") {
      shape += "(";
      for (TSNode element : elements) {
        const ValueForm* element_form = value_form(unparenthesized(element));
        shape += std::string(element_form ? element_form->shape : "value") + ",";
      }
      shape += ")";
    }
    return shape;
  }
  std::string_view type = node_type(value);
  if (type == "call" || type.ends_with("call_expression") || type == "method_invocation" || type == "new_expression" ||
      type == "object_creation_expression")
    return "call";
  return "value";
}

struct ReturnedValue {
  size_t statement = 0;  // where the return statement begins
  std::string function, text, shape;
  ByteRange name;        // the function's name token
};

// The value returned by the `return` of a named function whose value holds bytes [begin, end].
std::optional<ReturnedValue> returned_value_holding(const SourceDocument& doc, size_t lookup, size_t begin, size_t end) {
  TSNode statement = node_at(doc, lookup, std::max(lookup, end));
  for (int depth = 0; depth < kMaxAncestors && !ts_node_is_null(statement) && !return_node(statement); ++depth) {
    if (function_boundary(statement)) return std::nullopt;  // a lambda's or no return
    statement = ts_node_parent(statement);
  }
  if (ts_node_is_null(statement) || !return_node(statement) || ts_node_has_error(statement)) return std::nullopt;
  std::vector<TSNode> values = named_entries(statement);
  if (values.empty() || !holds(values.front(), begin, end)) return std::nullopt;  // `return` alone, or not its value
  TSNode function = ts_node_parent(statement);
  for (int depth = 0; depth < kMaxAncestors && !ts_node_is_null(function) && !function_boundary(function); ++depth)
    function = ts_node_parent(function);
  TSNode name = ts_node_is_null(function) ? TSNode{} : function_name(function);
  if (ts_node_is_null(name)) return std::nullopt;  // a lambda's: nothing calls it by name
  return ReturnedValue{ts_node_start_byte(statement), node_text(doc, name), node_text(doc, values.front()),
                       value_shape(values.front()), {ts_node_start_byte(name), ts_node_end_byte(name)}};
}

// As above; typing at the end of a value (`total` → `total, count`) inserts after its last byte.
std::optional<ReturnedValue> returned_value_at(const SourceDocument& doc, size_t begin, size_t end) {
  std::optional<ReturnedValue> value = returned_value_holding(doc, begin, begin, end);
  if (!value && begin == end && begin > 0) value = returned_value_holding(doc, begin - 1, begin, end);
  return value;
}

std::string return_type_text(const SourceDocument& doc, ByteRange name) {
  std::optional<ByteRange> type = return_type_span(doc, name);
  return type ? doc.text().substr(type->begin, type->size()) : "";
}

struct ShapeChange {
  ReturnedValue old_value, new_value;
};

// The returned value the change reshaped, in the same return of the same function, its declared
// return type unchanged. A value edited within its shape (a name, a literal) is not reshaped.
std::optional<ShapeChange> changed_return_shape(const SourceDocument& before, const SourceDocument& after,
                                                const TextChange& change) {
  std::optional<ReturnedValue> old_value = returned_value_at(before, change.begin, change.old_end);
  std::optional<ReturnedValue> new_value = returned_value_at(after, change.begin, change.new_end);
  if (!old_value || !new_value || old_value->statement != new_value->statement ||
      old_value->function != new_value->function || old_value->shape == new_value->shape)
    return std::nullopt;
  if (old_value->text.size() > kMaxChangedText || new_value->text.size() > kMaxChangedText) return std::nullopt;
  if (return_type_text(before, old_value->name) != return_type_text(after, new_value->name)) return std::nullopt;
  return ShapeChange{std::move(*old_value), std::move(*new_value)};
}

// --- Changed calls ---------------------------------------------------------------------------

// The innermost call of `doc` holding bytes [begin, end], or with `start`, the innermost one
// beginning there; none with a syntax error (half typed).
std::optional<CallSyntax> call_holding(const SourceDocument& doc, size_t begin, size_t end,
                                       std::optional<size_t> start = std::nullopt) {
  TSNode node = node_at(doc, begin, end);
  for (int depth = 0; depth < kMaxAncestors && !ts_node_is_null(node); ++depth, node = ts_node_parent(node)) {
    if (!holds(node, begin, end) || (start && ts_node_start_byte(node) != *start)) continue;
    std::optional<CallSyntax> call = call_syntax(doc, node);
    if (call) return ts_node_has_error(node) ? std::nullopt : call;
  }
  return std::nullopt;
}

std::vector<std::string> argument_texts(const SourceDocument& doc, ByteRange arguments) {
  std::vector<std::string> texts;
  TSNode list = node_at(doc, arguments.begin, arguments.end);
  for (TSNode argument : named_entries(list)) texts.push_back(node_text(doc, argument));
  return texts;
}

// The same arguments in another order.
bool reordered(const SourceDocument& before, const CallSyntax& old_call, const SourceDocument& after,
               const CallSyntax& new_call) {
  std::vector<std::string> old_texts = argument_texts(before, old_call.arguments);
  std::vector<std::string> new_texts = argument_texts(after, new_call.arguments);
  if (old_texts == new_texts) return false;
  std::sort(old_texts.begin(), old_texts.end());
  std::sort(new_texts.begin(), new_texts.end());
  return old_texts == new_texts;
}

bool defines(const SourceDocument& doc, std::string_view name) {
  if (name.empty()) return false;
  std::vector<Definition> definitions = find_definitions(doc);
  return std::any_of(definitions.begin(), definitions.end(), [&](const Definition& d) { return d.name == name; });
}

std::string_view bytes(const SourceDocument& doc, ByteRange range) {
  return std::string_view(doc.text()).substr(range.begin, range.size());
}

struct CallChange {
  CallSyntax old_call, new_call;
  std::string old_text, new_text, old_callee;
  bool callee_changed = false;
  bool arguments_appended = false;  // the old arguments kept as they were, more after them
};

// The call the change edited: its callee replaced (`log.info(x)` → `logger.info(x)`), or its
// arguments added, removed or reordered at a call of a function this document does not define
// (a defined one's count changes where it is defined: ParameterCount). An argument edited in
// place is a rename or a literal, not a new pattern.
std::optional<CallChange> changed_call(const SourceDocument& before, const SourceDocument& after,
                                       const TextChange& change) {
  // A literal edited in place stays a literal change, also in a callee (`"".to_owned()`).
  if (changed_literal(before, after, change)) return std::nullopt;
  std::optional<CallSyntax> new_call = call_holding(after, change.begin, change.new_end);
  if (!new_call) return std::nullopt;
  std::optional<CallSyntax> old_call = call_holding(before, change.begin, change.old_end, new_call->call.begin);
  if (!old_call) return std::nullopt;
  CallChange call{*old_call, *new_call, std::string(bytes(before, old_call->call)),
                  std::string(bytes(after, new_call->call)), std::string(bytes(before, old_call->callee)), false};
  if (call.old_text.size() > kMaxChangedText || call.new_text.size() > kMaxChangedText ||
      call.old_callee.find('\n') != std::string::npos)
    return std::nullopt;
  call.callee_changed = call.old_callee != bytes(after, new_call->callee);
  if (call.callee_changed) return call;
  bool arguments_changed = old_call->argument_count != new_call->argument_count || reordered(before, *old_call, after, *new_call);
  if (!arguments_changed || defines(after, bytes(after, new_call->name))) return std::nullopt;
  std::vector<std::string> old_arguments = argument_texts(before, old_call->arguments);
  std::vector<std::string> new_arguments = argument_texts(after, new_call->arguments);
  call.arguments_appended = new_arguments.size() > old_arguments.size() &&
                            std::equal(old_arguments.begin(), old_arguments.end(), new_arguments.begin());
  return call;
}

// --- Scanning -------------------------------------------------------------------------------

// Comments and string literals (the decline query's captures), sorted, minus the code inside
// them (f-string interpolations, template substitutions), which uses identifiers for real.
class LiteralRanges {
 public:
  LiteralRanges(const SourceDocument& doc, size_t limit) {
    if (!doc.tree() || !doc.language()) return;
    const TSQuery& query = syntax_query(*doc.language(), QueryKind::Decline);
    TSQueryCursor* cursor = ts_query_cursor_new();
    ts_query_cursor_set_byte_range(cursor, 0, static_cast<uint32_t>(limit));
    ts_query_cursor_exec(cursor, &query, ts_tree_root_node(doc.tree()));
    TSQueryMatch match;
    uint32_t index = 0;
    while (ts_query_cursor_next_capture(cursor, &match, &index)) add_without_code(match.captures[index].node);
    ts_query_cursor_delete(cursor);
    std::sort(ranges_.begin(), ranges_.end(), [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
  }

  bool contains(size_t begin) const {
    auto after = std::upper_bound(ranges_.begin(), ranges_.end(), begin,
                                  [](size_t offset, const ByteRange& range) { return offset < range.begin; });
    return after != ranges_.begin() && begin < std::prev(after)->end;
  }

 private:
  void add_without_code(TSNode literal) {
    size_t start = ts_node_start_byte(literal);
    TSTreeCursor cursor = ts_tree_cursor_new(literal);
    for (bool more = ts_tree_cursor_goto_first_child(&cursor); more; more = ts_tree_cursor_goto_next_sibling(&cursor)) {
      TSNode child = ts_tree_cursor_current_node(&cursor);
      if (node_type(child) != "interpolation" && node_type(child) != "template_substitution") continue;
      ranges_.push_back({start, ts_node_start_byte(child)});
      start = ts_node_end_byte(child);
    }
    ts_tree_cursor_delete(&cursor);
    ranges_.push_back({start, ts_node_end_byte(literal)});
  }

  std::vector<ByteRange> ranges_;
};

// The argument list "( ... )" opening at `open`, parentheses balanced and quoted text skipped (a
// quote left open at the end of its line is a Rust lifetime or a C++ digit separator, not a
// string); nothing if it does not close within `max_bytes`.
std::optional<ByteRange> argument_list(std::string_view text, size_t open, size_t max_bytes) {
  size_t stop = std::min(text.size(), open + max_bytes);
  int depth = 0;
  for (size_t at = open; at < stop; ++at) {
    char c = text[at];
    if (c == '"' || c == '\'') {
      size_t close = at + 1;
      while (close < stop && text[close] != c && text[close] != '\n') close += text[close] == '\\' ? 2 : 1;
      if (close < stop && text[close] == c) at = close;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && --depth == 0) {
      return ByteRange{open, at + 1};
    }
  }
  return std::nullopt;
}

// Whether the name at [begin, end) whose '(' is at `open` is a function's own name (its
// parameter list opens there), not a call.
bool names_a_definition(const SourceDocument& doc, size_t begin, size_t end, size_t open) {
  TSNode node = node_at(doc, begin, end);
  for (int depth = 0; depth < kMaxNameDepth && !ts_node_is_null(node); ++depth) {
    node = ts_node_parent(node);
    TSNode parameters = ts_node_is_null(node) ? TSNode{} : field(node, "parameters");
    if (!ts_node_is_null(parameters) && ts_node_start_byte(parameters) == open) return true;
  }
  return false;
}

// What one document yields for the edit: candidate spans kept nearest to `anchor` first, at most
// `capacity` of them (a bounded heap: a generated file with a million uses costs no memory).
class NearestSites {
 public:
  NearestSites(size_t anchor, size_t capacity) : anchor_(anchor), capacity_(capacity) {}

  void offer(ByteRange span) {
    // Two calls on one line are one return-type site: the same span is offered once.
    if (span.begin == last_.begin && span.end == last_.end && offered_ > 0) return;
    last_ = span;
    ++offered_;
    if (capacity_ == 0) return;
    Entry entry{distance(span.begin), span};
    if (heap_.size() < capacity_) {
      heap_.push(entry);
    } else if (entry < heap_.top()) {
      heap_.pop();
      heap_.push(entry);
    }
  }

  size_t offered() const { return offered_; }

  std::vector<ByteRange> take_sorted() {
    std::vector<ByteRange> spans(heap_.size());
    for (size_t i = heap_.size(); i > 0; --i) {
      spans[i - 1] = heap_.top().span;
      heap_.pop();
    }
    return spans;
  }

 private:
  struct Entry {
    size_t distance;
    ByteRange span;
    bool operator<(const Entry& other) const {
      return distance != other.distance ? distance < other.distance : span.begin < other.span.begin;
    }
  };
  size_t distance(size_t offset) const { return offset > anchor_ ? offset - anchor_ : anchor_ - offset; }

  size_t anchor_, capacity_, offered_ = 0;
  ByteRange last_{};
  std::priority_queue<Entry> heap_;
};

struct SiteSearch {
  NextEditKind kind;
  std::string word;       // the old name of a rename, the function of a parameter change, the old literal
  std::string reason;
  const NextEditLimits* limits;
  std::string context;    // Literal: literal_context() of the edited literal before the edit
  ByteRange within{0, std::string::npos};  // Literal: the nearby lines; the rest is not searched
  int parameter_index = -1;  // ParameterType: the argument wanted, by position...
  std::string parameter;     // ...or by name (a keyword argument)
  int argument_count = -1;   // CallPattern: the calls wanted pass this many arguments...
  bool whole_call = false;   // ...and are a site whole (a changed callee) or by their arguments
  bool workspace = false;    // its sites may be in files that are not open (collect_in_workspace)
  SitePart part = SitePart::Whole;
  size_t keep_front = 0, keep_back = 0;  // CalleeWords: the callee's bytes kept before and after
  int passed = -1;                       // AppendedArguments: only at calls passing this many...
  bool or_one_fewer = false;             // ...or one fewer (a method's `self`, which calls pass
                                         // before the dot)
};

// The bytes of site `span` that the edit changes there (NextEditSite::part).
ByteRange site_part(const SourceDocument& doc, ByteRange span, const SiteSearch& search) {
  if (search.part == SitePart::CalleeWords)  // the site is a call whose callee reads `search.word`
    return {span.begin + search.keep_front, span.begin + search.word.size() - search.keep_back};
  if (search.part != SitePart::AppendedArguments) return span;
  TSNode list = node_at(doc, span.begin, span.end);
  if (ts_node_is_null(list) || ts_node_start_byte(list) != span.begin || ts_node_end_byte(list) != span.end) return span;
  std::vector<TSNode> passed = named_entries(list);
  const int count = static_cast<int>(passed.size());
  if (count != search.passed && !(search.or_one_fewer && count == search.passed - 1)) return span;
  if (std::any_of(passed.begin(), passed.end(), [](TSNode entry) { return ts_node_has_error(entry); })) return span;
  const size_t at = passed.empty() ? span.begin + 1 : ts_node_end_byte(passed.back());
  return {at, at};
}

// The argument a call passes for a parameter: a keyword argument naming it, else the one at its
// position when that is positional. `arguments` are the bytes of the call's "( ... )".
std::optional<ByteRange> argument_for(const SourceDocument& doc, ByteRange arguments, const SiteSearch& search) {
  TSNode list = node_at(doc, arguments.begin, arguments.end);
  if (ts_node_is_null(list) || ts_node_start_byte(list) != arguments.begin || ts_node_end_byte(list) != arguments.end)
    return std::nullopt;
  std::vector<TSNode> passed = named_entries(list);
  auto keyword = [](TSNode node) { return node_type(node) == "keyword_argument"; };
  for (TSNode argument : passed)
    if (keyword(argument) && !search.parameter.empty() && node_text(doc, field(argument, "name")) == search.parameter)
      return ByteRange{ts_node_start_byte(argument), ts_node_end_byte(argument)};
  if (search.parameter_index < 0 || size_t(search.parameter_index) >= passed.size()) return std::nullopt;
  TSNode argument = passed[size_t(search.parameter_index)];
  if (keyword(argument)) return std::nullopt;
  return ByteRange{ts_node_start_byte(argument), ts_node_end_byte(argument)};
}

// A call of `search.word` (the callee exactly, not `self.word` for `word`) with the old call's
// argument count, whose "( ... )" are `arguments`: the site a changed call pattern implies there.
std::optional<ByteRange> call_site(const SourceDocument& doc, size_t at, ByteRange arguments, const SiteSearch& search) {
  TSNode list = node_at(doc, arguments.begin, arguments.end);
  std::optional<CallSyntax> call = ts_node_is_null(list) ? std::nullopt : call_syntax(doc, ts_node_parent(list));
  if (!call || call->arguments.begin != arguments.begin || call->arguments.end != arguments.end ||
      call->callee.begin != at || call->callee.end != at + search.word.size() || call->argument_count != search.argument_count)
    return std::nullopt;
  return search.whole_call ? call->call : call->arguments;
}

// The lines of a call whose function's return type changed: from its line's first non-blank
// byte to the end of the line where its arguments close.
ByteRange call_lines(std::string_view text, size_t name, ByteRange arguments) {
  size_t begin = line_start(text, name);
  while (begin < name && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  return {begin, line_end(text, arguments.end > 0 ? arguments.end - 1 : 0)};
}

// Offers every site of `search` in the first `limit` bytes of `doc`, skipping `skip` (the edited
// bytes) and comments and strings.
void scan_document(const SourceDocument& doc, const SiteSearch& search, ByteRange skip, size_t limit,
                   NearestSites& sites) {
  std::string_view text = std::string_view(doc.text()).substr(0, limit);
  // Made at the first occurrence: an open document that never mentions the word costs a text
  // search, not a query over its whole tree.
  std::optional<LiteralRanges> literals;
  auto in_literal = [&](size_t at) {
    if (!literals) literals.emplace(doc, limit);
    return literals->contains(at);
  };
  for (size_t at = text.find(search.word, search.within.begin); at != std::string_view::npos;
       at = text.find(search.word, at + 1)) {
    size_t end = at + search.word.size();
    if (end > search.within.end) break;
    // Whole words only; a quote at the word's edge is a boundary itself (C++'s `"key"sv`).
    auto joined = [](char outside, char edge) { return identifier_char(outside) && identifier_char(edge); };
    if ((at > 0 && joined(text[at - 1], search.word.front())) ||
        (end < text.size() && joined(text[end], search.word.back())))
      continue;
    if (at < skip.end && end > skip.begin) continue;
    if (search.kind == NextEditKind::Literal) {
      TSNode literal = literal_at(doc, at, end);
      if (!ts_node_is_null(literal) && ts_node_start_byte(literal) == at && ts_node_end_byte(literal) == end &&
          literal_context(doc, literal) == search.context)
        sites.offer({at, end});
      continue;
    }
    // A call pattern's callee may begin with a string (`'|'.join`, `"".to_owned`): call_site's
    // syntax tree check keeps out the calls in comments and strings instead.
    if (search.kind != NextEditKind::CallPattern && in_literal(at)) continue;
    // JSX text is prose, as a string is (the decline query leaves it to inline completion), and a
    // JSX attribute's name is no use: `data` in `data-testid` is part of one name.
    if (TSNode node = node_at(doc, at, end); !ts_node_is_null(node)) {
      if (node_type(node) == "jsx_text") continue;
      if (node_type(node) == "property_identifier" && ts_node_end_byte(node) - ts_node_start_byte(node) > end - at &&
          node_type(ts_node_parent(node)) == "jsx_attribute")
        continue;
    }
    if (search.kind == NextEditKind::Rename) {
      sites.offer({at, end});
      continue;
    }
    size_t open = text.find_first_not_of(" \t", end);
    if (open == std::string_view::npos || text[open] != '(' || names_a_definition(doc, at, end, open)) continue;
    std::optional<ByteRange> arguments = argument_list(text, open, search.limits->max_argument_bytes);
    if (!arguments) continue;
    if (search.kind == NextEditKind::ReturnType || search.kind == NextEditKind::ReturnShape) {
      sites.offer(call_lines(text, at, *arguments));
    } else if (search.kind == NextEditKind::CallPattern) {
      if (std::optional<ByteRange> call = call_site(doc, at, *arguments, search)) sites.offer(*call);
    } else if (search.kind == NextEditKind::ParameterType) {
      if (std::optional<ByteRange> argument = argument_for(doc, *arguments, search)) sites.offer(*argument);
    } else {
      sites.offer(*arguments);
    }
  }
}

// Adds the sites of one document, nearest to `anchor` first; true if the cap or a bound cut them.
bool collect(const std::string& path, const SourceDocument& doc, const SiteSearch& search, ByteRange skip,
             size_t anchor, NextEdit& result) {
  const NextEditLimits& limits = *search.limits;
  size_t room = limits.max_sites - std::min(limits.max_sites, result.sites.size());
  size_t limit = std::min(doc.text().size(), limits.max_scan_bytes);
  NearestSites sites(anchor, room);
  scan_document(doc, search, skip, limit, sites);
  for (const ByteRange& span : sites.take_sorted())
    result.sites.push_back({path, nullptr, span, search.reason, site_part(doc, span, search)});
  return sites.offered() > room || limit < doc.text().size();
}

// Where sites are looked for besides the edited document.
struct SiteScope {
  const std::vector<OpenDocument>& open_documents;
  const WorkspaceIndex* index;  // the workspace's files that are not open; null: none
};

constexpr size_t kMaxCandidateFiles = 4096;  // files naming the word, ranked before the cap

// How many leading folders two paths share: a file next to the edited one is more likely to use
// what it defines than one in another corner of the workspace.
size_t shared_folders(std::string_view a, std::string_view b) {
  size_t shared = 0;
  for (size_t i = 0; i < a.size() && i < b.size() && a[i] == b[i]; ++i) shared += a[i] == '/';
  return shared;
}

// The workspace's files that are not open and may use `search.word`, read from disk now, with
// their sites. Only for an edit whose other uses can be in another file (a renamed definition,
// a function's parameters, type or returned value: search.workspace) and of the edited
// document's language; at most limits.max_workspace_files files are read, nearest folders first.
bool collect_in_workspace(const SourceDocument& after, const std::string& path, const SiteScope& scope,
                          const SiteSearch& search, NextEdit& result) {
  const NextEditLimits& limits = *search.limits;
  if (!scope.index || !search.workspace || !after.language() || result.sites.size() >= limits.max_sites) return false;
  auto is_open = [&](const std::string& file) {
    return file == path || std::any_of(scope.open_documents.begin(), scope.open_documents.end(),
                                       [&](const OpenDocument& open) { return open.path == file; });
  };
  bool truncated = false;
  size_t read = 0;
  std::vector<std::string> files = scope.index->files_mentioning(search.word, after.language()->name, kMaxCandidateFiles);
  std::stable_sort(files.begin(), files.end(), [&](const std::string& a, const std::string& b) {
    return shared_folders(a, path) > shared_folders(b, path);
  });
  for (const std::string& file : files) {
    if (is_open(file)) continue;
    if (read++ == limits.max_workspace_files || result.sites.size() >= limits.max_sites) {
      truncated = true;
      break;
    }
    std::optional<std::string> text = scope.index->read(file);
    if (!text) continue;
    auto doc = std::make_shared<const SourceDocument>(std::move(*text), after.language());
    const size_t first = result.sites.size();
    truncated = collect(file, *doc, search, ByteRange{}, 0, result) || truncated;
    for (size_t i = first; i < result.sites.size(); ++i) result.sites[i].doc = doc;
  }
  return truncated;
}

void collect_everywhere(const SourceDocument& after, const std::string& path, const SiteScope& scope,
                        const SiteSearch& search, NextEdit& result) {
  ByteRange edited{result.change.begin, result.change.new_end};
  bool truncated = collect(path, after, search, edited, result.change.begin, result);
  size_t searched = 0;
  for (const OpenDocument& open : scope.open_documents) {
    if (open.path == path || !open.doc) continue;
    if (searched++ == search.limits->max_documents) {
      truncated = true;
      break;
    }
    truncated = collect(open.path, *open.doc, search, ByteRange{}, 0, result) || truncated;
  }
  truncated = collect_in_workspace(after, path, scope, search, result) || truncated;
  result.truncated = truncated;
}

// A reshaped return value implies the lines that call the function, as a changed return type does.
bool follow_return_shape(const SourceDocument& before, const SourceDocument& after, const std::string& path,
                         const SiteScope& scope, const NextEditLimits& limits,
                         NextEdit& result) {
  std::optional<ShapeChange> shape = changed_return_shape(before, after, result.change);
  if (!shape) return false;
  result.kind = NextEditKind::ReturnShape;
  result.old_name = shape->old_value.text;
  result.new_name = shape->new_value.text;
  result.function = shape->new_value.function;
  SiteSearch search{result.kind, result.function,
                    "uses what `" + result.function + "` returns, its return value changed from `" + result.old_name +
                        "` to `" + result.new_name + "`",
                    &limits};
  search.workspace = true;  // its callers may be anywhere
  collect_everywhere(after, path, scope, search, result);
  return true;
}

// Where the edited call changed only its callee's words, or only appended arguments, its sites
// change there only: their arguments (or the arguments they pass already) stay in view.
void only_changed_part(const SourceDocument& before, const SourceDocument& after, const CallChange& call,
                       SiteSearch& search, NextEdit& result) {
  if (call.callee_changed && bytes(before, call.old_call.arguments) == bytes(after, call.new_call.arguments)) {
    std::string_view old_callee = call.old_callee, new_callee = bytes(after, call.new_call.callee);
    size_t front = 0, back = 0;
    while (front < old_callee.size() && front < new_callee.size() && old_callee[front] == new_callee[front]) ++front;
    while (back < old_callee.size() - front && back < new_callee.size() - front &&
           old_callee[old_callee.size() - 1 - back] == new_callee[new_callee.size() - 1 - back])
      ++back;
    // Whole words: `method` → `method_v2` rewrites `method`, `log.info` → `logger.info` `log`.
    while (front > 0 && identifier_char(old_callee[front - 1])) --front;
    while (back > 0 && identifier_char(old_callee[old_callee.size() - back])) --back;
    search.part = result.part = SitePart::CalleeWords;
    search.keep_front = front;
    search.keep_back = back;
    result.part_text = std::string(new_callee.substr(front, new_callee.size() - front - back));
  } else if (!call.callee_changed && call.arguments_appended) {
    TSNode list = node_at(after, call.new_call.arguments.begin, call.new_call.arguments.end);
    std::vector<TSNode> passed = named_entries(list);
    const int kept = call.old_call.argument_count;
    if (passed.size() <= size_t(kept)) return;
    const size_t from = kept == 0 ? call.new_call.arguments.begin + 1 : ts_node_end_byte(passed[size_t(kept - 1)]);
    search.part = result.part = SitePart::AppendedArguments;
    search.passed = kept;
    result.part_text = std::string(bytes(after, {from, ts_node_end_byte(passed.back())}));
  }
}

// A changed call implies the other calls of the old callee with as many arguments nearby, in
// this document only (as a changed literal does): a pattern repeated in the lines around it.
bool follow_call_pattern(const SourceDocument& before, const SourceDocument& after, const std::string& path,
                         const NextEditLimits& limits, NextEdit& result) {
  std::optional<CallChange> call = changed_call(before, after, result.change);
  if (!call) return false;
  result.kind = NextEditKind::CallPattern;
  result.old_name = call->old_text;
  result.new_name = call->new_text;
  result.function = call->old_callee;
  SiteSearch search{result.kind, call->old_callee,
                    "calls `" + call->old_callee + "` as the edited call did, changed from `" + call->old_text +
                        "` to `" + call->new_text + "`",
                    &limits, "", nearby_lines(after.text(), result.change.begin, limits.literal_lines)};
  search.argument_count = call->old_call.argument_count;
  search.whole_call = call->callee_changed;
  only_changed_part(before, after, *call, search, result);
  // The edited call is no site of itself, also when its arguments only moved.
  result.truncated = collect(path, after, search, call->new_call.callee, result.change.begin, result);
  return true;
}

}  // namespace

bool is_literal_type(std::string_view type) {
  if (type.ends_with("_literal")) return true;
  for (std::string_view kind : {"integer", "float", "number", "string", "true", "false", "none", "null", "nil", "char"})
    if (type == kind) return true;
  return false;
}

std::optional<ByteRange> return_type_span(const SourceDocument& doc, ByteRange name) {
  TSNode node = node_at(doc, name.begin, name.end);
  for (int depth = 0; depth <= kMaxNameDepth && !ts_node_is_null(node); ++depth, node = ts_node_parent(node)) {
    if (!function_like(node)) continue;
    TSNode declared = function_name(node);
    if (ts_node_is_null(declared) || ts_node_start_byte(declared) != name.begin) return std::nullopt;
    // C and C++: the type sits on the definition whose declarator (chain) is this declarator.
    for (int up = 0; up <= kMaxNameDepth && !ts_node_is_null(node); ++up) {
      for (const char* field_name : {"return_type", "result", "type"}) {
        TSNode type = field(node, field_name);
        if (!ts_node_is_null(type)) return ByteRange{ts_node_start_byte(type), ts_node_end_byte(type)};
      }
      TSNode parent = ts_node_parent(node);
      if (ts_node_is_null(parent) || !ts_node_eq(field(parent, "declarator"), node)) break;
      node = parent;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<CallSyntax> call_syntax(const SourceDocument& doc, TSNode node) {
  if (ts_node_is_null(node)) return std::nullopt;
  std::string_view type = node_type(node);
  if (type != "call" && type != "call_expression" && type != "method_invocation") return std::nullopt;
  // Not Python's `f(x for x in xs)` (a generator is its argument list) nor a tagged template.
  TSNode arguments = field(node, "arguments");
  if (ts_node_is_null(arguments) || node_type(arguments).find("argument") == std::string_view::npos ||
      doc.text()[ts_node_start_byte(arguments)] != '(')
    return std::nullopt;
  CallSyntax call;
  call.call = {ts_node_start_byte(node), ts_node_end_byte(node)};
  call.arguments = {ts_node_start_byte(arguments), ts_node_end_byte(arguments)};
  std::string_view callee = trim(std::string_view(doc.text()).substr(call.call.begin, call.arguments.begin - call.call.begin));
  call.callee = {call.call.begin, call.call.begin + callee.size()};
  call.argument_count = parameter_count(arguments);
  // The identifier the callee ends with, through member, scoped and generic names; Java's
  // method_invocation names its method itself.
  TSNode name = field(node, "function");
  if (ts_node_is_null(name)) name = field(node, "name");
  for (int depth = 0; depth < kMaxNameDepth && !ts_node_is_null(name) && !identifier_node(name); ++depth) {
    TSNode inner{};
    for (const char* part : {"name", "attribute", "property", "field", "function"})
      if (inner = field(name, part); !ts_node_is_null(inner)) break;
    name = inner;
  }
  if (identifier_node(name)) call.name = {ts_node_start_byte(name), ts_node_end_byte(name)};
  return call;
}

const char* next_edit_kind_name(NextEditKind kind) {
  switch (kind) {
    case NextEditKind::None: return "none";
    case NextEditKind::Rename: return "rename";
    case NextEditKind::ParameterCount: return "parameter_count";
    case NextEditKind::Literal: return "literal";
    case NextEditKind::ReturnType: return "return_type";
    case NextEditKind::ParameterType: return "parameter_type";
    case NextEditKind::ReturnShape: return "return_shape";
    case NextEditKind::CallPattern: return "call_pattern";
  }
  return "none";
}

bool defines_outside_functions(const SourceDocument& doc, std::string_view name) {
  if (!doc.tree()) return false;
  auto inside_function = [](TSNode node) {
    for (node = ts_node_parent(node); !ts_node_is_null(node); node = ts_node_parent(node)) {
      std::string_view type = ts_node_type(node);
      for (std::string_view word : {"function", "method", "lambda", "closure", "constructor", "func_literal"})
        if (type.find(word) != std::string_view::npos) return true;
    }
    return false;
  };
  for (const Definition& definition : find_definitions(doc)) {
    if (definition.name != name) continue;
    TSNode node = ts_node_descendant_for_byte_range(ts_tree_root_node(doc.tree()), uint32_t(definition.begin),
                                                    uint32_t(definition.end));
    if (!inside_function(node)) return true;
  }
  return false;
}

NextEdit find_next_edit_sites(const SourceDocument& before, const SourceDocument& after, const std::string& path,
                              const std::vector<OpenDocument>& open_documents, const NextEditLimits& limits,
                              const WorkspaceIndex* index) {
  const SiteScope scope{open_documents, index};
  NextEdit result;
  result.change = find_change(before.text(), after.text());
  if (result.change.empty()) return result;
  // A parameter added or removed is checked first: renaming a parameter changes no count.
  std::optional<ParameterList> old_list = parameter_list_at(before, result.change.begin, result.change.old_end);
  std::optional<ParameterList> new_list = parameter_list_at(after, result.change.begin, result.change.new_end);
  if (old_list && new_list && old_list->function == new_list->function && old_list->count != new_list->count) {
    result.kind = NextEditKind::ParameterCount;
    result.old_name = result.new_name = new_list->function;
    result.old_parameters = old_list->count;
    result.new_parameters = new_list->count;
    SiteSearch search{result.kind, new_list->function,
                      "calls `" + new_list->function + "`, whose parameters went from " +
                          std::to_string(old_list->count) + " to " + std::to_string(new_list->count),
                      &limits};
    search.workspace = true;
    // Parameters appended after the old ones: a call passing the old ones gains arguments at
    // its end, and the arguments it passes stay in view.
    if (new_list->count > old_list->count &&
        std::equal(old_list->entries.begin(), old_list->entries.end(), new_list->entries.begin())) {
      search.part = result.part = SitePart::AppendedArguments;
      search.passed = old_list->count;
      const std::string first = old_list->entries.empty() ? "" : old_list->entries.front();
      search.or_one_fewer = first == "self" || first == "cls" || first == "&self" || first == "&mut self" ||
                            first == "mut self";
    }
    collect_everywhere(after, path, scope, search, result);
    return result;
  }
  // A type changed inside an annotation is not a rename of the type, even when it is a name.
  if (std::optional<TypeChange> type = changed_type(before, after, result.change)) {
    result.kind = type->slot.kind;
    result.old_name = type->old_type;
    result.new_name = type->slot.type;
    result.function = type->slot.function;
    result.parameter = type->slot.parameter;
    const std::string change = "from `" + type->old_type + "` to `" + type->slot.type + "`";
    SiteSearch search{result.kind, type->slot.function,
                      result.kind == NextEditKind::ReturnType
                          ? "uses what `" + type->slot.function + "` returns, its return type changed " + change
                          : "passes `" + type->slot.parameter + "` to `" + type->slot.function + "`, its type changed " +
                                change,
                      &limits};
    search.parameter_index = type->slot.index;
    search.parameter = type->slot.parameter;
    search.workspace = true;
    collect_everywhere(after, path, scope, search, result);
    return result;
  }
  // A reshaped value or a changed call is checked before a rename: a name edited inside a value
  // or an argument changes no shape and no call pattern, so it still classifies as a rename. A
  // callee renamed at one call is a call pattern: its calls nearby, not every use of the name.
  if (follow_return_shape(before, after, path, scope, limits, result)) return result;
  if (follow_call_pattern(before, after, path, limits, result)) return result;
  if (std::optional<Rename> rename = renamed_identifier(before, after, result.change)) {
    result.kind = NextEditKind::Rename;
    result.old_name = rename->old_name;
    result.new_name = rename->new_name;
    SiteSearch search{result.kind, rename->old_name,
                      "uses `" + rename->old_name + "`, renamed to `" + rename->new_name + "`", &limits};
    // Another file can use a definition (a function, a class, a method, a module's variable),
    // not a local or a parameter: only such a rename is looked for in the workspace.
    search.workspace = index && defines_outside_functions(before, rename->old_name);
    collect_everywhere(after, path, scope, search, result);
    return result;
  }
  // A changed literal implies the same literal in the same place nearby, in this document only.
  if (std::optional<LiteralChange> literal = changed_literal(before, after, result.change)) {
    result.kind = NextEditKind::Literal;
    result.old_name = literal->old_text;
    result.new_name = literal->new_text;
    SiteSearch search{result.kind, literal->old_text,
                      "repeats `" + literal->old_text + "`, changed to `" + literal->new_text + "` nearby", &limits,
                      literal->context, nearby_lines(after.text(), result.change.begin, limits.literal_lines)};
    result.truncated = collect(path, after, search, ByteRange{result.change.begin, result.change.new_end},
                               result.change.begin, result);
  }
  return result;
}

}  // namespace maskfill
