#include "serve/openai.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>

#include "inference/chat_template.h"
#include "inference/model_files.h"
#include "inference/tokenizer.h"
#include "infill/prompt_builder.h"

namespace maskfill::serve {
namespace {

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw ApiError(400, message, "invalid_request_error", param);
}

const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

int64_t integer(const json& body, const char* name, int64_t fallback, int64_t min, int64_t max) {
  const json* value = field(body, name);
  if (!value) return fallback;
  if (!value->is_number_integer() && !(value->is_number_float() && std::floor(value->get<double>()) == value->get<double>()))
    bad(name, std::string("'") + name + "' must be an integer");
  double v = value->get<double>();
  if (v < double(min) || v > double(max))
    bad(name, std::string("'") + name + "' must be from " + std::to_string(min) + " to " + std::to_string(max));
  return value->is_number_integer() ? value->get<int64_t>() : int64_t(v);
}

bool boolean(const json& body, const char* name, bool fallback) {
  const json* value = field(body, name);
  if (!value) return fallback;
  if (!value->is_boolean()) bad(name, std::string("'") + name + "' must be a boolean");
  return value->get<bool>();
}

std::optional<double> number(const json& body, const char* name, double min, double max) {
  const json* value = field(body, name);
  if (!value) return std::nullopt;
  if (!value->is_number()) bad(name, std::string("'") + name + "' must be a number");
  double v = value->get<double>();
  if (!(v >= min && v <= max))
    bad(name, std::string("'") + name + "' must be from " + std::to_string(min) + " to " + std::to_string(max));
  return v;
}

std::string new_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  uint64_t now = uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s-%llx%04llx", prefix, (unsigned long long)(now & 0xffffffffffULL),
                (unsigned long long)(counter++ & 0xffff));
  return buffer;
}

std::vector<std::string> stop_strings(const json& body) {
  const json* value = field(body, "stop");
  if (!value) return {};
  std::vector<std::string> out;
  if (value->is_string()) {
    out.push_back(value->get<std::string>());
  } else if (value->is_array()) {
    if (value->size() > 16) bad("stop", "'stop' may hold at most 16 strings");
    for (const json& s : *value) {
      if (!s.is_string()) bad("stop", "'stop' must be a string or an array of strings");
      out.push_back(s.get<std::string>());
    }
  } else {
    bad("stop", "'stop' must be a string or an array of strings");
  }
  return out;
}

// Fields of the OpenAI API (and vLLM's sampling extras) this server does not implement, each with
// the values that leave the answer unchanged: any other value is refused with 400 naming the
// field, never ignored (a client asking for nucleus sampling must not get greedy text unawares).
struct Unsupported {
  const char* name;
  bool (*neutral)(const json&);
  const char* allowed;  // the neutral values, for the message
};

bool is_number_equal(const json& v, double x) { return v.is_number() && v.get<double>() == x; }
bool is_false_or_zero(const json& v) { return (v.is_boolean() && !v.get<bool>()) || is_number_equal(v, 0); }
bool is_zero(const json& v) { return is_number_equal(v, 0); }
bool is_one(const json& v) { return is_number_equal(v, 1); }
bool is_empty(const json& v) { return (v.is_object() || v.is_array()) && v.empty(); }
bool at_most_one(const json& v) { return v.is_number_integer() && v.get<int64_t>() <= 1; }
bool is_text_format(const json& v) { return v.is_object() && v.value("type", json()) == "text"; }
bool no_tool_call(const json& v) { return v == "none" || v == "auto"; }
bool top_k_off(const json& v) { return is_number_equal(v, 0) || is_number_equal(v, -1); }

constexpr Unsupported kUnsupported[] = {
    {"logprobs", is_false_or_zero, "false, 0 or null"},
    {"top_logprobs", is_zero, "0 or null"},
    {"echo", is_false_or_zero, "false or null"},
    {"best_of", at_most_one, "1 or null; use n"},
    {"tools", is_empty, "an empty list or null"},
    {"functions", is_empty, "an empty list or null"},
    {"tool_choice", no_tool_call, "\"none\", \"auto\" or null"},
    {"top_p", is_one, "1 or null"},
    {"frequency_penalty", is_zero, "0 or null"},
    {"presence_penalty", is_zero, "0 or null"},
    {"repetition_penalty", is_one, "1 or null"},
    {"logit_bias", is_empty, "an empty object or null"},
    {"response_format", is_text_format, "{\"type\": \"text\"} or null"},
    {"top_k", top_k_off, "0, -1 or null"},
    {"min_p", is_zero, "0 or null"},
};

void refuse_unsupported(const json& body) {
  for (const Unsupported& u : kUnsupported)
    if (const json* v = field(body, u.name); v && !u.neutral(*v))
      throw ApiError(400, std::string("'") + u.name + "' is not supported by this server (only " + u.allowed + ")",
                     "invalid_request_error", u.name);
}

// Everything but the prompt: lengths, sampling and the block-diffusion options.
struct Decoding {
  DecodeOptions options;
  int max_tokens = 16;
};

Decoding decoding_options(const json& body, const Engine& engine, const ApiSettings& settings, bool chat) {
  const int block = int(engine.config().block_size);
  const int64_t context = engine.config().max_position_embeddings;
  Decoding d;
  int64_t max_tokens = settings.default_max_tokens;
  if (chat && field(body, "max_completion_tokens"))
    max_tokens = integer(body, "max_completion_tokens", max_tokens, 1, context);
  else
    max_tokens = integer(body, "max_tokens", chat ? std::min<int64_t>(context, 512) : max_tokens, 1, context);
  d.max_tokens = int(max_tokens);
  DecodeOptions& o = d.options;
  int block_length = int(integer(body, "dllm_block_length", integer(body, "block_length", 0, 0, 1024), 0, 1024));
  if (block_length != 0 && block_length != block)
    bad(field(body, "dllm_block_length") ? "dllm_block_length" : "block_length",
        "this model denoises blocks of " + std::to_string(block) + " tokens (the attention blocks it was trained with)");
  o.block_length = block_length;
  int64_t rounded = (max_tokens + block - 1) / block * block;
  o.gen_length = int(integer(body, "gen_length", rounded, block, rounded));
  if (o.gen_length % block) bad("gen_length", "'gen_length' must be a multiple of the block length " + std::to_string(block));
  o.extend_max = int(max_tokens) > o.gen_length ? int(max_tokens) - o.gen_length : 0;
  int blocks = o.gen_length / block;
  if (field(body, "steps")) {
    o.steps = int(integer(body, "steps", 0, 1, 1 << 20));
    if (o.steps % blocks) bad("steps", "'steps' must be a multiple of gen_length / block length (" + std::to_string(blocks) + ")");
  } else if (field(body, "dllm_denoising_steps")) {
    o.steps = int(integer(body, "dllm_denoising_steps", block, 1, 1024)) * blocks;
  }
  // Parallel commit: the server default, unless the request says otherwise.
  o.threshold = settings.threshold;
  if (const json* strategy = field(body, "dllm_unmasking_strategy")) {
    std::string s = strategy->is_string() ? strategy->get<std::string>() : "";
    if (s == "low_confidence_static") {
      o.threshold.reset();
    } else if (s == "low_confidence_dynamic") {
      if (!o.threshold) o.threshold = 0.9;
    } else if (s == "random") {
      o.remasking = Remasking::Random;
      o.threshold.reset();
    } else {
      bad("dllm_unmasking_strategy",
          "'dllm_unmasking_strategy' must be \"low_confidence_static\", \"low_confidence_dynamic\" or \"random\"");
    }
  }
  for (const char* name : {"threshold", "dllm_confidence_threshold"}) {
    auto it = body.find(name);
    if (it == body.end()) continue;
    if (it->is_null())
      o.threshold.reset();  // explicit null: one token per step
    else
      o.threshold = number(body, name, 1e-6, 1.0);
  }
  if (const json* remasking = field(body, "remasking")) {
    std::string r = remasking->is_string() ? remasking->get<std::string>() : "";
    if (r == "low_confidence") o.remasking = Remasking::LowConfidence;
    else if (r == "random") o.remasking = Remasking::Random;
    else bad("remasking", "'remasking' must be \"low_confidence\" or \"random\"");
  }
  o.temperature = number(body, "temperature", 0.0, 2.0).value_or(0.0);
  o.sampled_confidence = boolean(body, "sampled_confidence", false);
  o.seed = uint64_t(integer(body, "seed", 0, INT64_MIN, INT64_MAX));
  o.stop_at_eos = !boolean(body, "ignore_eos", false);
  o.stop = stop_strings(body);
  o.max_forwards = int(integer(body, "max_forwards", 0, 0, 1 << 24));
  o.max_ms = int(integer(body, "max_ms", 0, 0, 3600 * 1000));
  o.stop_below_confidence = number(body, "stop_below_confidence", 0.0, 1.0).value_or(0.0);
  return d;
}

std::optional<int32_t> bos_id(const Engine& engine) {
  if (!engine.tokenizer_config().add_bos_token) return std::nullopt;
  return engine.config().bos_token_id;
}

void check_model(const json& body, const ApiSettings& settings) {
  if (const json* model = field(body, "model")) {
    if (!model->is_string()) bad("model", "'model' must be a string");
    if (model->get<std::string>() != settings.model_id)
      throw ApiError(404, "The model '" + model->get<std::string>() + "' does not exist; this server serves '" +
                              settings.model_id + "'", "invalid_request_error", "model", "model_not_found");
  }
}

[[noreturn]] void context_exceeded(const std::string& prompt_size, const Decoding& d, const Engine& engine, const char* param) {
  throw ApiError(400, "This model's maximum context length is " + std::to_string(engine.config().max_position_embeddings) +
                          " tokens; the prompt has " + prompt_size + " and the completion may take " +
                          std::to_string(d.options.gen_length + d.options.extend_max),
                 "invalid_request_error", param, "context_length_exceeded");
}

// The text's ids, or the context-length error once it surely has more tokens than fit beside
// the completion (`reserved` are the ids already in front, e.g. BOS). A prompt much longer than
// the context is refused from its byte length alone, before any tokenizing (Tokenizer::encode_at_most).
std::vector<int32_t> encode_within_context(const std::string& text, size_t reserved, const Decoding& d, const Engine& engine,
                                           const char* param) {
  int64_t room = engine.config().max_position_embeddings - d.options.gen_length - d.options.extend_max - int64_t(reserved);
  std::optional<std::vector<int32_t>> ids = engine.tokenizer().encode_at_most(text, size_t(std::max<int64_t>(room, 0)));
  if (!ids) context_exceeded("more than " + std::to_string(std::max<int64_t>(room, 0)), d, engine, param);
  return std::move(*ids);
}

void check_length(const std::vector<int32_t>& prompt, const Decoding& d, const Engine& engine, const char* param) {
  if (prompt.empty()) bad(param, "the prompt is empty");
  int64_t need = int64_t(prompt.size()) + d.options.gen_length + d.options.extend_max;
  if (need > engine.config().max_position_embeddings) context_exceeded(std::to_string(prompt.size()), d, engine, param);
}

ApiRequest start(bool chat, const json& body, const ApiSettings& settings, const Decoding& d) {
  ApiRequest request;
  request.chat = chat;
  request.job = std::make_shared<Job>();
  request.job->max_tokens = d.max_tokens;
  request.job->stream = boolean(body, "stream", false);
  request.n = int(integer(body, "n", 1, 1, settings.max_n));
  request.return_token_ids = boolean(body, "return_token_ids", false);
  if (const json* options = field(body, "stream_options")) {
    if (!options->is_object()) bad("stream_options", "'stream_options' must be an object");
    request.include_usage = boolean(*options, "include_usage", false);
  }
  request.id = new_id(chat ? "chatcmpl" : "cmpl");
  request.model = settings.model_id;
  request.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return request;
}

void add_choices(ApiRequest& request, std::vector<int32_t> prompt, const Decoding& d) {
  request.prompt_tokens.push_back(int(prompt.size()));
  for (int i = 0; i < request.n; ++i) {
    ChoiceSpec spec{prompt, d.options};
    spec.options.seed = d.options.seed + uint64_t(i);  // choices differ by seed (visible when temperature > 0)
    request.job->choices.push_back(std::move(spec));
  }
}

std::vector<int32_t> token_prompt(const json& ids, const Engine& engine) {
  std::vector<int32_t> prompt;
  int32_t vocab = int32_t(engine.config().vocab_size);
  for (const json& id : ids) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab)
      bad("prompt", "token ids must be integers from 0 to " + std::to_string(vocab - 1));
    prompt.push_back(int32_t(id.get<int64_t>()));
  }
  return prompt;
}

json choice_extras(const ChoiceEvent& event) {
  const DecodeStats& s = event.result.stats;
  static const std::map<StopReason, const char*> names = {
      {StopReason::Eos, "eos"}, {StopReason::Length, "length"}, {StopReason::Cancelled, "cancelled"},
      {StopReason::Budget, "budget"}, {StopReason::StopString, "stop_string"},
      {StopReason::Unsure, "unsure"}};
  return {{"stop", names.at(event.result.stop)},        {"forwards", s.forwards},
          {"generated_tokens", s.generated_tokens},     {"prompt_tokens_computed", s.prompt_tokens_computed},
          {"prefill_ms", s.prefill_ms},                 {"decode_ms", s.decode_ms},
          {"min_confidence", s.min_confidence}};
}

json usage(const ApiRequest& request, const std::vector<ChoiceEvent>& finals) {
  int64_t prompt = 0, completion = 0, forwards = 0, cached = 0;
  for (int p : request.prompt_tokens) prompt += p;
  for (const ChoiceEvent& e : finals) {
    completion += int64_t(e.tokens.size());
    forwards += e.result.stats.forwards;
    // Each prompt counts once: its first choice's prefill says how much came from the cache.
    if (e.index % request.n == 0 && e.result.stats.prompt_tokens > 0)
      cached += e.result.stats.prompt_tokens - e.result.stats.prompt_tokens_computed;
  }
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"forwards", forwards},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

}  // namespace

json error_body(const std::string& message, const std::string& type, const std::string& param, const std::string& code) {
  return {{"error",
           {{"message", message}, {"type", type}, {"param", param.empty() ? json() : json(param)}, {"code", code.empty() ? json() : json(code)}}}};
}

ApiRequest parse_completion_request(const json& body, const Engine& engine, const ApiSettings& settings) {
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  check_model(body, settings);
  refuse_unsupported(body);
  Decoding d = decoding_options(body, engine, settings, false);
  ApiRequest request = start(false, body, settings, d);
  const json* prompt = field(body, "prompt");
  if (!prompt) bad("prompt", "'prompt' is required");
  const std::string* suffix = nullptr;  // the body's own strings are used in place, never copied
  if (const json* s = field(body, "suffix")) {
    if (!s->is_string()) bad("suffix", "'suffix' must be a string");
    suffix = &s->get_ref<const std::string&>();
  }
  // One prompt: a string or token ids. Several: an array of strings or of token-id arrays.
  std::vector<const json*> prompts;
  if (prompt->is_string() || (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number()))
    prompts.push_back(prompt);
  else if (prompt->is_array() && !prompt->empty())
    for (const json& p : *prompt) prompts.push_back(&p);
  else
    bad("prompt", "'prompt' must be a string, an array of token ids, or an array of those");
  if (prompts.size() * size_t(request.n) > size_t(settings.max_n) * 4)
    bad("prompt", "too many prompts times n (at most " + std::to_string(settings.max_n * 4) + " sequences per request)");
  const Tokenizer& tokenizer = engine.tokenizer();
  for (const json* each : prompts) {
    const json& p = *each;
    std::vector<int32_t> ids;
    if (p.is_string()) {
      const std::string& text = p.get_ref<const std::string&>();
      if (suffix) {
        int budget = int(engine.config().max_position_embeddings);
        try {
          ids = build_fim_prompt(tokenizer, text, *suffix, {budget, budget}, bos_id(engine)).ids;
        } catch (const std::runtime_error& e) {
          bad("suffix", e.what());
        }
      } else {
        if (std::optional<int32_t> bos = bos_id(engine)) ids.push_back(*bos);
        std::vector<int32_t> encoded = encode_within_context(text, ids.size(), d, engine, "prompt");
        ids.insert(ids.end(), encoded.begin(), encoded.end());
      }
    } else if (p.is_array()) {
      if (suffix) bad("suffix", "'suffix' needs a text prompt (token-id prompts are used as given)");
      ids = token_prompt(p, engine);
    } else {
      bad("prompt", "'prompt' must be a string, an array of token ids, or an array of those");
    }
    check_length(ids, d, engine, "prompt");
    add_choices(request, std::move(ids), d);
  }
  return request;
}

ApiRequest parse_chat_request(const json& body, const Engine& engine, const ApiSettings& settings) {
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  check_model(body, settings);
  refuse_unsupported(body);
  Decoding d = decoding_options(body, engine, settings, true);
  ApiRequest request = start(true, body, settings, d);
  const json* messages = field(body, "messages");
  if (!messages || !messages->is_array() || messages->empty()) bad("messages", "'messages' must be a non-empty array");
  std::vector<ChatMessage> chat;
  for (const json& m : *messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) bad("messages", "each message needs a string 'role'");
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant")
      bad("messages", "message role '" + role + "' is not supported (system, user, assistant)");
    std::string content;
    const json* c = field(m, "content");
    if (c && c->is_string()) {
      content = c->get<std::string>();
    } else if (c && c->is_array()) {
      for (const json& part : *c) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          bad("messages", "only text content parts are supported");
        content += part["text"].get<std::string>();
      }
    } else if (c) {
      bad("messages", "message 'content' must be a string or an array of text parts");
    }
    chat.push_back({role, std::move(content)});
  }
  std::string text;
  try {
    text = render_chat(engine.tokenizer_config(), chat, /*add_generation_prompt=*/true);
  } catch (const std::runtime_error& e) {
    bad("messages", std::string("cannot render the chat template: ") + e.what());
  }
  std::vector<int32_t> ids = encode_within_context(text, 0, d, engine, "messages");
  check_length(ids, d, engine, "messages");
  add_choices(request, std::move(ids), d);
  return request;
}

namespace {

constexpr int64_t kInfillDefaultTokens = 128;  // llama.vim's n_predict; llama.cpp's -1 means "until done"

std::string string_field(const json& body, const char* name) {
  const json* value = field(body, name);
  if (!value) return "";
  if (!value->is_string()) bad(name, std::string("'") + name + "' must be a string");
  return value->get<std::string>();
}

// input_extra: chunks of other files, joined before the prefix (llama.cpp does the same for a
// model without repository-level FIM tokens).
std::string infill_extra(const json& body) {
  const json* extra = field(body, "input_extra");
  if (!extra) return "";
  if (!extra->is_array()) bad("input_extra", "'input_extra' must be an array of {filename, text} objects");
  std::string joined;
  for (const json& chunk : *extra) {
    if (!chunk.is_object() || !chunk.contains("text") || !chunk["text"].is_string() ||
        (chunk.contains("filename") && !chunk["filename"].is_string()))
      bad("input_extra", "each 'input_extra' item must be an object with a string 'text' (and a string 'filename')");
    joined += chunk["text"].get<std::string>();
    if (!joined.empty() && joined.back() != '\n') joined += '\n';
  }
  return joined;
}

// The OpenAI-named fields decoding_options() reads, from llama.cpp's names and the shared ones.
json infill_decoding_fields(const json& body, int64_t max_tokens) {
  json mapped = {{"max_tokens", max_tokens}};
  if (int64_t ms = integer(body, "t_max_predict_ms", 0, 0, 3600 * 1000); ms > 0) mapped["max_ms"] = ms;
  for (const char* name : {"temperature", "seed", "stop", "ignore_eos", "max_forwards", "threshold", "dllm_confidence_threshold",
                           "dllm_unmasking_strategy", "dllm_block_length", "dllm_denoising_steps", "steps", "remasking"})
    if (auto it = body.find(name); it != body.end()) mapped[name] = *it;
  if (is_number_equal(mapped.value("seed", json()), -1)) mapped.erase("seed");  // llama.cpp: -1 = any seed
  return mapped;
}

std::vector<std::string> response_fields(const json& body) {
  const json* fields = field(body, "response_fields");
  if (!fields) return {};
  if (!fields->is_array()) bad("response_fields", "'response_fields' must be an array of strings");
  std::vector<std::string> out;
  for (const json& f : *fields) {
    if (!f.is_string()) bad("response_fields", "'response_fields' must be an array of strings");
    out.push_back(f.get<std::string>());
  }
  return out;
}

}  // namespace

ApiRequest parse_infill_request(const json& body, const Engine& engine, const ApiSettings& settings) {
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  const int64_t context = engine.config().max_position_embeddings;
  int64_t n_predict = integer(body, "n_predict", -1, -1, context);
  int64_t max_tokens = n_predict < 0 ? std::min(context, kInfillDefaultTokens) : std::max<int64_t>(n_predict, 1);
  Decoding d = decoding_options(infill_decoding_fields(body, max_tokens), engine, settings, false);
  ApiRequest request = start(false, body, settings, d);
  request.infill = true;
  request.id = new_id("infill");
  request.response_fields = response_fields(body);
  // The text before the cursor is the extra context, the lines above, then the line's start.
  std::string prefix = infill_extra(body) + string_field(body, "input_prefix") + string_field(body, "prompt");
  std::string suffix = string_field(body, "input_suffix");
  // What is left of the context after the completion: a quarter for the suffix, the rest for the
  // prefix, whose far end (the extra context first) is cut.
  int room = int(std::max<int64_t>(context - d.options.gen_length - d.options.extend_max - 4, 8));
  FimPrompt fim;
  try {
    fim = build_fim_prompt(engine.tokenizer(), prefix, suffix, {room - room / 4, room / 4}, bos_id(engine));
  } catch (const std::runtime_error& e) {
    bad("input_prefix", e.what());
  }
  request.truncated = fim.prefix_window.size() < prefix.size() || fim.suffix_window.size() < suffix.size();
  check_length(fim.ids, d, engine, "input_prefix");
  request.prompt_tokens.push_back(int(fim.ids.size()));
  if (n_predict != 0) add_choices(request, std::move(fim.ids), d);  // 0: a warm-up, nothing to decode
  return request;
}

namespace {

const char* infill_stop_type(const ChoiceEvent* event) {
  if (!event) return "limit";
  switch (event->result.stop) {
    case StopReason::Eos: return "eos";
    case StopReason::StopString: return "word";
    case StopReason::Cancelled: return "none";
    default: return "limit";
  }
}

json infill_timings(const ChoiceEvent* event) {
  const DecodeStats stats = event ? event->result.stats : DecodeStats{};
  double predicted = event ? double(event->tokens.size()) : 0;
  auto per_token = [](double ms, double n) { return n > 0 ? ms / n : 0.0; };
  auto per_second = [](double ms, double n) { return ms > 0 ? n * 1000 / ms : 0.0; };
  return {{"prompt_n", stats.prompt_tokens_computed},
          {"prompt_ms", stats.prefill_ms},
          {"prompt_per_token_ms", per_token(stats.prefill_ms, stats.prompt_tokens_computed)},
          {"prompt_per_second", per_second(stats.prefill_ms, stats.prompt_tokens_computed)},
          {"predicted_n", predicted},
          {"predicted_ms", stats.decode_ms},
          {"predicted_per_token_ms", per_token(stats.decode_ms, predicted)},
          {"predicted_per_second", per_second(stats.decode_ms, predicted)}};
}

// llama.cpp's final /infill (and /completion) answer; `event` is null when nothing was decoded.
json infill_final(const ApiRequest& request, const ChoiceEvent* event, const std::string& content) {
  int prompt = request.prompt_tokens.empty() ? 0 : request.prompt_tokens[0];
  int computed = event ? event->result.stats.prompt_tokens_computed : 0;
  return {{"index", 0},
          {"content", content},
          {"id_slot", 0},
          {"stop", true},
          {"model", request.model},
          {"tokens_predicted", event ? event->tokens.size() : 0},
          {"tokens_evaluated", prompt},
          {"has_new_line", content.find('\n') != std::string::npos},
          {"truncated", request.truncated},
          {"stop_type", infill_stop_type(event)},
          {"stopping_word", ""},
          {"tokens_cached", event ? prompt - computed : 0},
          {"timings", infill_timings(event)}};
}

// Only the asked-for fields, each under its path as the key ("timings/prompt_n"), as llama.cpp does.
json select_fields(const json& full, const std::vector<std::string>& paths) {
  if (paths.empty()) return full;
  json out = json::object();
  for (const std::string& path : paths) {
    const json* node = &full;
    for (size_t start = 0; node && start <= path.size();) {
      size_t end = std::min(path.find('/', start), path.size());
      auto it = node->is_object() ? node->find(path.substr(start, end - start)) : node->end();
      node = node->is_object() && it != node->end() ? &*it : nullptr;
      start = end + 1;
    }
    if (node) out[path] = *node;
  }
  return out;
}

}  // namespace

json make_response(const ApiRequest& request, const std::vector<ChoiceEvent>& finals) {
  if (request.infill) {
    const ChoiceEvent* event = finals.empty() ? nullptr : &finals[0];
    return select_fields(infill_final(request, event, event ? event->text : ""), request.response_fields);
  }
  std::vector<const ChoiceEvent*> ordered;
  for (const ChoiceEvent& e : finals) ordered.push_back(&e);
  std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->index < b->index; });
  json choices = json::array();
  for (const ChoiceEvent* e : ordered) {
    json choice = {{"index", e->index}, {"finish_reason", e->finish_reason}, {"maskfill", choice_extras(*e)}};
    if (request.chat) {
      choice["message"] = {{"role", "assistant"}, {"content", e->text}};
      choice["logprobs"] = nullptr;
    } else {
      choice["text"] = e->text;
      choice["logprobs"] = nullptr;
    }
    if (request.return_token_ids) {
      choice["token_ids"] = e->tokens;
      choice["prompt_token_ids"] = request.job->choices.at(e->index).prompt;
    }
    choices.push_back(std::move(choice));
  }
  return {{"id", request.id},
          {"object", request.chat ? "chat.completion" : "text_completion"},
          {"created", request.created},
          {"model", request.model},
          {"choices", std::move(choices)},
          {"usage", usage(request, finals)}};
}

json make_chunk(const ApiRequest& request, const ChoiceEvent& event, bool first_for_choice) {
  if (request.infill && event.done) return infill_final(request, &event, event.delta);
  if (request.infill) return {{"index", 0}, {"content", event.delta}, {"id_slot", 0}, {"stop", false}};
  json choice = {{"index", event.index}, {"finish_reason", event.done ? json(event.finish_reason) : json()}};
  if (request.chat) {
    json delta = json::object();
    if (first_for_choice) delta["role"] = "assistant";
    if (!event.delta.empty() || (first_for_choice && !event.done)) delta["content"] = event.delta;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = event.delta;
  }
  choice["logprobs"] = nullptr;
  if (event.done) {
    choice["maskfill"] = choice_extras(event);
    if (request.return_token_ids) choice["token_ids"] = event.tokens;
  }
  return {{"id", request.id},
          {"object", request.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", request.created},
          {"model", request.model},
          {"choices", json::array({std::move(choice)})}};
}

json make_usage_chunk(const ApiRequest& request, const std::vector<ChoiceEvent>& finals) {
  return {{"id", request.id},
          {"object", request.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", request.created},
          {"model", request.model},
          {"choices", json::array()},
          {"usage", usage(request, finals)}};
}

}  // namespace maskfill::serve
