#include "serve/service.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/json_fields.h"
#include "inference/model_files.h"
#include "inference/tokenizer.h"

namespace maskfill::serve {

constexpr int kMaxRequestJsonDepth = 64;
namespace {

using Clock = std::chrono::steady_clock;

// Remembers the status a handler answered with, for metrics and the access log.
class Recorder final : public HttpResponder {
 public:
  explicit Recorder(HttpResponder& inner) : inner_(inner) {}
  void send(int status, const std::string& type, const std::string& body) override {
    status_ = status;
    inner_.send(status, type, body);
  }
  bool start_events() override {
    status_ = 200;
    return inner_.start_events();
  }
  bool send_event(const std::string& data) override { return inner_.send_event(data); }
  void end_events() override { inner_.end_events(); }
  bool client_gone() override { return inner_.client_gone(); }
  int status() const { return status_; }

 private:
  HttpResponder& inner_;
  int status_ = 0;
};

std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

// %XX escapes decoded (the SDKs escape a model id's '/'); a malformed escape stays as it is.
std::string percent_decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += char(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Endpoint label for metrics: known routes only, so label cardinality stays bounded.
std::string endpoint_label(const std::string& path) {
  static const std::set<std::string> known = {"/v1/completions", "/v1/chat/completions", "/infill", "/v1/models", "/health", "/metrics"};
  if (known.count(path)) return path;
  if (path.rfind("/v1/maskfill/model-files/", 0) == 0) return "/v1/maskfill/model-files";
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models";
  return "other";
}

}  // namespace

IdleTrimmer::IdleTrimmer(int idle_ms) : idle_(idle_ms), thread_([this] { loop(); }) {}

IdleTrimmer::~IdleTrimmer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void IdleTrimmer::begin() {
  std::lock_guard lock(mutex_);
  ++in_flight_;
}

void IdleTrimmer::end() {
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
    dirty_ = true;
  }
  changed_.notify_all();
}

int IdleTrimmer::trims() const {
  std::lock_guard lock(mutex_);
  return trims_;
}

// Waits for "idle and something ended since the last trim", then for `idle_` more without a new
// request, then trims once; a steady stream of requests never trims (the heap is in use anyway).
void IdleTrimmer::loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    changed_.wait(lock, [&] { return stop_ || (dirty_ && in_flight_ == 0); });
    if (stop_) return;
    if (changed_.wait_for(lock, idle_, [&] { return stop_ || in_flight_ > 0; })) continue;
    dirty_ = false;
    lock.unlock();
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    lock.lock();
    ++trims_;
  }
}

Service::Service(Engine& engine, ServiceOptions options)
    : engine_(engine), options_(std::move(options)), batcher_(std::make_unique<Batcher>(engine, options_.batch, metrics_)) {
  if (options_.trim_after_idle_ms >= 0) trimmer_ = std::make_unique<IdleTrimmer>(options_.trim_after_idle_ms);
}

Service::~Service() { batcher_->stop(); }

void Service::respond(HttpResponder& responder, int status, const json& body) {
  responder.send(status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace));
}

void Service::handle(const HttpRequest& request, HttpResponder& raw) {
  // Counts the request in flight for the idle trimmer, however handle() leaves.
  struct InFlight {
    IdleTrimmer* trimmer;
    explicit InFlight(IdleTrimmer* t) : trimmer(t) { if (trimmer) trimmer->begin(); }
    ~InFlight() { if (trimmer) trimmer->end(); }
  } in_flight(trimmer_.get());
  Recorder responder(raw);
  auto start = Clock::now();
  std::string path = path_of(request.target);
  if (options_.log_prompts && !request.body.empty()) spdlog::info("serve: {} {} body: {}", request.method, path, request.body);
  auto method_is = [&](const char* method) {
    if (request.method == method) return true;
    respond(responder, 405, error_body("Use " + std::string(method) + " for " + path, "invalid_request_error"));
    return false;
  };
  if (path == "/v1/completions" || path == "/v1/chat/completions" || path == "/infill") {
    if (method_is("POST"))
      completions(request, responder, path == "/infill" ? parse_infill_request
                                      : path == "/v1/chat/completions" ? parse_chat_request : parse_completion_request);
  } else if (path == "/health") {
    if (method_is("GET"))
      respond(responder, 200, {{"status", "ok"}, {"model", options_.api.model_id}, {"active", batcher_->active()}, {"waiting", batcher_->waiting()}});
  } else if (path == "/v1/models") {
    if (method_is("GET")) respond(responder, 200, {{"object", "list"}, {"data", json::array({model_object()})}});
  } else if (path.rfind("/v1/models/", 0) == 0) {
    if (method_is("GET")) retrieve_model(responder, percent_decode(path.substr(std::string("/v1/models/").size())));
  } else if (path == "/metrics") {
    if (method_is("GET")) {
      metrics_.set_prompt_cache(batcher_->prompt_cache_stats());
      responder.send(200, "text/plain; version=0.0.4; charset=utf-8", metrics_.text());
    }
  } else if (options_.maskfill_endpoints && path.rfind("/v1/maskfill/model-files/", 0) == 0) {
    if (method_is("GET")) {
      static const std::set<std::string> served = {"config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"};
      std::string name = path.substr(std::string("/v1/maskfill/model-files/").size());
      std::optional<std::string> text;
      if (served.count(name)) text = read_file(std::filesystem::path(options_.model_dir) / name);
      if (text)
        responder.send(200, "application/json", *text);
      else
        respond(responder, 404, error_body("No model file '" + name + "' (served: config.json, tokenizer.json, tokenizer_config.json, generation_config.json when present)",
                                           "invalid_request_error"));
    }
  } else {
    respond(responder, 404, error_body("No route " + request.method + " " + path, "invalid_request_error"));
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::string endpoint = endpoint_label(path);
  // 499 (as nginx logs it): the client closed the connection before the answer.
  int status = responder.status() ? responder.status() : 499;
  metrics_.request_done(endpoint, status, seconds);
  if (status == 400) metrics_.rejected("bad_request");
  if (status == 429) metrics_.rejected("busy");
  spdlog::info("serve: {} {} {} {} {:.1f} ms", request.peer, request.method, endpoint, status, seconds * 1000);
}

json Service::model_object() const {
  const ModelConfig& config = engine_.config();
  return {{"id", options_.api.model_id},
          {"object", "model"},
          {"created", 0},
          {"owned_by", "maskfill"},
          {"max_model_len", config.max_position_embeddings},
          {"maskfill", {{"description", engine_.description()},
                        {"block_size", config.block_size},
                        {"vocab_size", config.vocab_size},
                        {"default_threshold", options_.api.threshold ? json(*options_.api.threshold) : json()},
                        {"max_batch", options_.batch.max_batch}}}};
}

// GET /v1/models/{id} (the SDKs' models.retrieve): the one model, or OpenAI's 404.
void Service::retrieve_model(HttpResponder& responder, const std::string& id) {
  if (id == options_.api.model_id) {
    respond(responder, 200, model_object());
    return;
  }
  respond(responder, 404, error_body("The model '" + id.substr(0, 200) + "' does not exist; this server serves '" + options_.api.model_id + "'",
                                     "invalid_request_error", "model", "model_not_found"));
}

void Service::completions(const HttpRequest& request, HttpResponder& responder, Parser parse) {
  // Request bodies nest a few levels; the limit keeps a hostile 100,000-deep array from
  // overflowing the stack when the value is copied (common/json_fields.h).
  json body;
  try {
    body = parse_json_text(request.body, "the request body", kMaxRequestJsonDepth);
  } catch (const JsonFieldError& e) {
    respond(responder, 400, error_body(e.what(), "invalid_request_error"));
    return;
  }
  ApiRequest api;
  try {
    api = parse(body, engine_, options_.api);
  } catch (const ApiError& e) {
    respond(responder, e.status, error_body(e.what(), e.type, e.param, e.code));
    return;
  } catch (const std::exception& e) {
    // Anything else from parsing is the request's fault too (e.g. a tokenizer refusal); no
    // library text reaches the client.
    spdlog::warn("serve: request refused: {}", e.what());
    respond(responder, 400, error_body("The request could not be parsed", "invalid_request_error"));
    return;
  }
  std::shared_ptr<Job> job = api.job;
  if (job->choices.empty()) {  // /infill with n_predict 0: the editor only warms the prompt
    respond(responder, 200, make_response(api, {}));
    return;
  }
  if (!batcher_->submit(job)) {
    respond(responder, 429, error_body("The server is busy (queue full); retry later", "rate_limit_exceeded", "", "queue_full"));
    return;
  }
  std::vector<ChoiceEvent> finals;
  std::set<int> started;
  bool streaming = job->stream && responder.start_events();
  if (job->stream && !streaming) {
    batcher_->withdraw(job);
    return;
  }
  while (true) {
    std::vector<ChoiceEvent> events;
    job->wait(events, std::chrono::milliseconds(20));
    for (ChoiceEvent& event : events) {
      if (streaming) {
        bool first = started.insert(event.index).second;
        if (!responder.send_event(make_chunk(api, event, first).dump(-1, ' ', false, json::error_handler_t::replace))) {
          batcher_->withdraw(job);
          return;
        }
      }
      if (event.done) finals.push_back(std::move(event));
    }
    if (auto error = job->error()) {
      if (streaming) {
        responder.send_event(error_body(error->second, error->first >= 500 ? "server_error" : "invalid_request_error").dump());
        if (!api.infill) responder.send_event("[DONE]");
      } else {
        respond(responder, error->first, error_body(error->second, error->first >= 500 ? "server_error" : "invalid_request_error"));
      }
      return;
    }
    if (finals.size() == job->choices.size()) break;
    if (responder.client_gone()) {
      batcher_->withdraw(job);  // the batcher takes its sequences after the next step
      spdlog::info("serve: {} went away; request cancelled", request.peer);
      return;
    }
  }
  if (!streaming) {
    respond(responder, 200, make_response(api, finals));
  } else if (!api.infill) {  // llama.cpp's /infill stream ends with its stop: true event
    if (api.include_usage) responder.send_event(make_usage_chunk(api, finals).dump());
    responder.send_event("[DONE]");
  }
}

}  // namespace maskfill::serve
