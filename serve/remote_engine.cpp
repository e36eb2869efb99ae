#include "serve/remote_engine.h"

#include "common/json_fields.h"

#ifdef MASKFILL_HAVE_CURL
#include <curl/curl.h>
#endif

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "inference/model_files.h"
#include "inference/tokenizer.h"
#include "serve/openai.h"

namespace maskfill {
#ifdef MASKFILL_HAVE_CURL
namespace {

using json = nlohmann::json;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Connections (and DNS) shared by every request of one engine, so keep-alive connections are
// reused across batches.
class Share {
 public:
  Share() {
    share_ = curl_share_init();
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, +[](CURL*, curl_lock_data data, curl_lock_access, void* self) {
      static_cast<Share*>(self)->locks_[data].lock();
    });
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, +[](CURL*, curl_lock_data data, void* self) {
      static_cast<Share*>(self)->locks_[data].unlock();
    });
  }
  ~Share() { curl_share_cleanup(share_); }
  CURLSH* get() const { return share_; }

 private:
  CURLSH* share_;
  std::mutex locks_[CURL_LOCK_DATA_LAST];
};

size_t append_body(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// One HTTP exchange set up on an easy handle (shared by blocking GETs and batched POSTs).
struct Exchange {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body, response;
  char error[CURL_ERROR_SIZE] = {0};

  Exchange(const RemoteOptions& options, const Share& share, const std::string& url) {
    easy = curl_easy_init();
    if (!easy) throw std::runtime_error("cannot create an HTTP client handle");
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_SHARE, share.get());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, long(options.timeout_ms));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, long(options.connect_timeout_ms));
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "maskfill-lsp");
    if (!options.api_key.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + options.api_key).c_str());
  }
  void add_header(const std::string& line) { headers = curl_slist_append(headers, line.c_str()); }
  void post_json(std::string text) {
    body = std::move(text);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip before the body
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, long(body.size()));
  }
  void finish_setup() { curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers); }
  long status() const {
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
  }
};

// A readable message for a failed exchange (never a library's raw text alone).
std::string failure(const std::string& base, const RemoteOptions& options, CURLcode code, const Exchange& x) {
  if (code == CURLE_OPERATION_TIMEDOUT)
    return "the backend " + base + " did not answer within " + std::to_string(options.timeout_ms) + " ms";
  if (code == CURLE_COULDNT_CONNECT) return "cannot reach the backend " + base + ": connection refused (is maskfill serve running?)";
  if (code == CURLE_COULDNT_RESOLVE_HOST) return "cannot reach the backend " + base + ": unknown host";
  if (code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION)
    return "cannot reach the backend " + base + ": TLS failed (" + std::string(x.error[0] ? x.error : curl_easy_strerror(code)) + ")";
  if (code != CURLE_OK) {
    std::string detail = x.error[0] ? x.error : curl_easy_strerror(code);
    return "cannot reach the backend " + base + ": " + detail;
  }
  long status = x.status();
  std::string message;
  json body = parse_json_or_discarded(x.response);
  if (!body.is_discarded() && body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].contains("message") && body["error"]["message"].is_string())
    message = body["error"]["message"].get<std::string>();
  if (status == 401)
    return "the backend " + base + " refused the API key (set MASKFILL_API_KEY or maskfill.backend.apiKeyFile)";
  return "the backend " + base + " answered HTTP " + std::to_string(status) + (message.empty() ? "" : ": " + message);
}

std::string get_text(const RemoteOptions& options, const Share& share, const std::string& base, const std::string& path) {
  Exchange x(options, share, base + path);
  x.finish_setup();
  CURLcode code = curl_easy_perform(x.easy);
  if (code != CURLE_OK || x.status() != 200) throw std::runtime_error(failure(base, options, code, x));
  return x.response;
}

// A key for prompt-cache-aware load balancing (docs/deploy.md): FNV-1a over the prompt's first
// 128 tokens, which stay the same while a user types at one place of one document, so a proxy
// hashing on it sends those requests to the box that holds their prompt cache.
std::string affinity_key(const std::vector<int32_t>& prompt) {
  uint64_t hash = 1469598103934665603ULL;
  for (size_t i = 0; i < prompt.size() && i < 128; ++i) {
    uint32_t token = static_cast<uint32_t>(prompt[i]);
    for (int byte = 0; byte < 4; ++byte) {
      hash ^= (token >> (8 * byte)) & 0xff;
      hash *= 1099511628211ULL;
    }
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

StopReason stop_reason(const std::string& name) {
  if (name == "eos") return StopReason::Eos;
  if (name == "budget") return StopReason::Budget;
  if (name == "stop_string") return StopReason::StopString;
  if (name == "cancelled") return StopReason::Cancelled;
  return StopReason::Length;
}

class RemoteEngine;

class RemoteBatch final : public DecodeBatch {
 public:
  explicit RemoteBatch(RemoteEngine& engine);
  ~RemoteBatch() override;
  int add(const std::vector<int32_t>& prompt, const DecodeOptions& options, CancelCheck cancel) override;
  int step() override;
  int active() const override {
    int n = 0;
    for (const auto& [handle, s] : sequences_) n += !s.done;
    return n;
  }
  bool finished(int handle) const override { return find(handle).done; }
  std::vector<int32_t> committed(int handle) const override {
    const Sequence& s = find(handle);
    return s.done ? s.result.tokens : std::vector<int32_t>{};
  }
  DecodeResult take(int handle) override;

 private:
  struct Sequence {
    std::unique_ptr<Exchange> exchange;
    CancelCheck cancel;
    int prompt_tokens = 0;
    bool done = false;
    std::string error;
    DecodeResult result;
  };
  const Sequence& find(int handle) const {
    auto it = sequences_.find(handle);
    if (it == sequences_.end()) throw std::invalid_argument("unknown sequence handle " + std::to_string(handle));
    return it->second;
  }
  void detach(Sequence& s) {
    if (s.exchange) {
      curl_multi_remove_handle(multi_, s.exchange->easy);
      s.exchange.reset();
    }
  }
  void complete(Sequence& s, CURLcode code);

  RemoteEngine& engine_;
  CURLM* multi_;
  std::map<int, Sequence> sequences_;
  int next_ = 1;
};

class RemoteEngine final : public Engine {
 public:
  RemoteEngine(RemoteOptions options, RemoteHealthListener listener) : options_(std::move(options)), listener_(std::move(listener)) {
    global_init();
    base_ = normalize_backend_url(options_.url);
    if (base_.rfind("http://", 0) != 0 && base_.rfind("https://", 0) != 0)
      throw std::runtime_error("the backend URL must start with http:// or https://, got '" + options_.url + "'");
    json models = parse_json_or_discarded(get_text(options_, share_, base_, "/v1/models"));
    if (models.is_discarded() || !models.is_object() || !models.contains("data") || !models["data"].is_array() ||
        models["data"].empty() || !models["data"][0].is_object() || !models["data"][0].contains("id") ||
        !models["data"][0]["id"].is_string())
      throw std::runtime_error(base_ + "/v1/models is not an OpenAI-compatible model list");
    const json& model = models["data"][0];
    model_id_ = model["id"].get<std::string>();
    if (model.contains("maskfill") && model["maskfill"].is_object() && model["maskfill"].contains("description") &&
        model["maskfill"]["description"].is_string())
      server_description_ = model["maskfill"]["description"].get<std::string>();
    std::string files = "/v1/maskfill/model-files/";
    try {
      config_ = parse_model_config(get_text(options_, share_, base_, files + "config.json"));
      tokenizer_config_ = parse_tokenizer_config(get_text(options_, share_, base_, files + "tokenizer_config.json"));
      tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_json_text(get_text(options_, share_, base_, files + "tokenizer.json")));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(std::string("the backend's model files: ") + e.what());
    }
  }

  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  const ModelConfig& config() const override { return config_; }
  const TokenizerConfig& tokenizer_config() const override { return tokenizer_config_; }
  std::string description() const override {
    return "remote: " + base_ + " (" + (server_description_.empty() ? model_id_ : server_description_) + ")";
  }

  DecodeResult generate(const std::vector<int32_t>& prompt, const DecodeOptions& options, const CancelCheck& cancel) override {
    RemoteBatch batch(*this);
    int handle = batch.add(prompt, options, cancel);
    while (batch.active() > 0) batch.step();
    return batch.take(handle);
  }

  DecodeResult generate_autoregressive(const std::vector<int32_t>&, int, const CancelCheck&) override {
    throw std::runtime_error("autoregressive decoding is not available through a remote backend");
  }

  std::unique_ptr<DecodeBatch> start_batch() override { return std::make_unique<RemoteBatch>(*this); }

  const RemoteOptions& options() const { return options_; }
  const std::string& base() const { return base_; }
  const std::string& model_id() const { return model_id_; }
  const Share& share() const { return share_; }
  void report(bool ok, const std::string& message) {
    if (listener_) listener_(ok, message);
  }

 private:
  RemoteOptions options_;
  RemoteHealthListener listener_;
  std::string base_, model_id_, server_description_;
  Share share_;
  ModelConfig config_;
  TokenizerConfig tokenizer_config_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

RemoteBatch::RemoteBatch(RemoteEngine& engine) : engine_(engine), multi_(curl_multi_init()) {
  if (!multi_) throw std::runtime_error("cannot create an HTTP client");
}

RemoteBatch::~RemoteBatch() {
  for (auto& [handle, s] : sequences_) detach(s);
  curl_multi_cleanup(multi_);
}

int RemoteBatch::add(const std::vector<int32_t>& prompt, const DecodeOptions& options, CancelCheck cancel) {
  if (prompt.empty()) throw std::invalid_argument("the prompt is empty");
  json body = serve::decode_options_to_request(options);
  body["model"] = engine_.model_id();
  body["prompt"] = prompt;
  body["return_token_ids"] = true;
  Sequence s;
  s.exchange = std::make_unique<Exchange>(engine_.options(), engine_.share(), engine_.base() + "/v1/completions");
  s.exchange->add_header("X-Maskfill-Affinity: " + affinity_key(prompt));
  s.exchange->post_json(body.dump());
  s.exchange->finish_setup();
  s.cancel = std::move(cancel);
  s.prompt_tokens = int(prompt.size());
  s.result.stats.prompt_tokens = s.prompt_tokens;
  curl_multi_add_handle(multi_, s.exchange->easy);
  int handle = next_++;
  sequences_.emplace(handle, std::move(s));
  return handle;
}

void RemoteBatch::complete(Sequence& s, CURLcode code) {
  s.done = true;
  Exchange& x = *s.exchange;
  if (code != CURLE_OK || x.status() != 200) {
    s.error = failure(engine_.base(), engine_.options(), code, x);
  } else {
    json body = parse_json_or_discarded(x.response);
    try {
      if (body.is_discarded()) throw std::runtime_error("not JSON");
      const json& choice = body.at("choices").at(0);
      s.result.tokens = choice.at("token_ids").get<std::vector<int32_t>>();
      s.result.text = engine_.tokenizer().decode(s.result.tokens);
      s.result.stop = choice.value("finish_reason", "length") == "stop" ? StopReason::Eos : StopReason::Length;
      if (choice.contains("maskfill") && choice["maskfill"].is_object()) {
        const json& m = choice["maskfill"];
        s.result.stop = stop_reason(m.value("stop", "length"));
        s.result.stats.forwards = m.value("forwards", 0);
        s.result.stats.generated_tokens = m.value("generated_tokens", int(s.result.tokens.size()));
        s.result.stats.prompt_tokens_computed = m.value("prompt_tokens_computed", s.prompt_tokens);
        s.result.stats.prefill_ms = m.value("prefill_ms", 0.0);
        s.result.stats.decode_ms = m.value("decode_ms", 0.0);
      }
    } catch (const std::exception&) {
      s.error = "the backend " + engine_.base() + " answered something that is not a completion with token_ids";
    }
  }
  detach(s);
  engine_.report(s.error.empty(), s.error);
}

int RemoteBatch::step() {
  // Returns once at least one sequence finished or was cancelled.
  while (true) {
    bool progressed = false;
    for (auto& [handle, s] : sequences_) {
      if (s.done || !s.cancel || !s.cancel()) continue;
      detach(s);  // aborts the request: the server sees the connection close and cancels
      s.done = true;
      s.result.stop = StopReason::Cancelled;
      progressed = true;
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      for (auto& [handle, s] : sequences_)
        if (s.exchange && s.exchange->easy == message->easy_handle) {
          complete(s, message->data.result);
          progressed = true;
          break;
        }
    }
    if (progressed || active() == 0) return active();
    curl_multi_poll(multi_, nullptr, 0, 10, nullptr);  // wakes on I/O, or after 10 ms to poll the cancel checks
  }
}

DecodeResult RemoteBatch::take(int handle) {
  find(handle);
  Sequence s = std::move(sequences_.at(handle));
  sequences_.erase(handle);
  detach(s);
  if (!s.done) s.result.stop = StopReason::Cancelled;
  if (!s.error.empty()) throw std::runtime_error(s.error);
  return std::move(s.result);
}

}  // namespace
#endif  // MASKFILL_HAVE_CURL

std::string normalize_backend_url(const std::string& url) {
  std::string base = url;
  while (!base.empty() && (base.back() == '/' || base.back() == ' ')) base.pop_back();
  if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0) base.resize(base.size() - 3);
  return base;
}

std::unique_ptr<Engine> connect_remote_engine(const RemoteOptions& options, RemoteHealthListener listener) {
#ifdef MASKFILL_HAVE_CURL
  return std::make_unique<RemoteEngine>(options, std::move(listener));
#else
  (void)options;
  (void)listener;
  throw std::runtime_error("this maskfill was built without libcurl, so it cannot use a backend (install libcurl4-openssl-dev and rebuild)");
#endif
}

}  // namespace maskfill
