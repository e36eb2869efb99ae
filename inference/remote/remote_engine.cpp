#include "inference/remote/remote_engine.h"

#include <stdexcept>

#ifdef MASKFILL_HAVE_CURL
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "common/json_fields.h"
#include "common/read_file.h"
#include "inference/model_files.h"
#include "inference/remote/completion_wire.h"
#include "inference/remote/http_exchange.h"
#include "inference/tokenizer.h"
#endif

namespace maskfill {
#ifdef MASKFILL_HAVE_CURL
namespace {

using json = nlohmann::json;
using remote::Exchange;
using remote::Share;

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

// The text files of a model, from the server or from a local snapshot.
struct ModelText {
  std::string config, tokenizer, tokenizer_config;
};

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
    std::vector<int32_t> prompt;
    DecodeOptions options;
    CancelCheck cancel;
    bool text = false;         // sent as a text prompt
    bool with_suffix = false;  // ... with `suffix`
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
  void send(Sequence& s);
  void complete(Sequence& s, CURLcode code);
  void read_answer(Sequence& s);

  RemoteEngine& engine_;
  CURLM* multi_;
  std::map<int, Sequence> sequences_;
  int next_ = 1;
};

class RemoteEngine final : public Engine {
 public:
  RemoteEngine(RemoteOptions options, RemoteHealthListener listener) : options_(std::move(options)), listener_(std::move(listener)) {
    remote::global_init();
    base_ = normalize_backend_url(options_.url);
    if (base_.rfind("http://", 0) != 0 && base_.rfind("https://", 0) != 0)
      throw std::runtime_error("the backend URL must start with http:// or https://, got '" + options_.url + "'");
    read_model_list();
    std::optional<ModelText> served = server_model_files();
    choose_prompt_form(served.has_value());
    load_model(tokens_ || options_.model_dir.empty() ? served : std::nullopt);
  }

  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  const ModelConfig& config() const override { return config_; }
  const TokenizerConfig& tokenizer_config() const override { return tokenizer_config_; }
  std::string description() const override {
    std::string how = tokens_ ? "" : text_form_ == TextPromptForm::Suffix ? "; text prompts with suffix" : "; SPM text prompts";
    return "remote: " + base_ + " (" + (server_description_.empty() ? model_id_ : server_description_) + how + ")";
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
  const Share& share() const { return share_; }
  void report(bool ok, const std::string& message) {
    if (listener_) listener_(ok, message);
  }
  bool sends_tokens() const { return tokens_; }

  // The request body for a sequence, in the current prompt form.
  json request(const std::vector<int32_t>& prompt, const DecodeOptions& options) const {
    if (tokens_) return remote::token_request(model_id_, prompt, options);
    return remote::text_request(model_id_, text_prompt(*tokenizer_, prompt, text_form_, config_.bos_token_id), options);
  }

  // Auto mode: after a 400 that names `suffix`, the SPM text from now on. True when the request
  // should be sent again in that form.
  // `sent_suffix`: the refused request had one (sequences sent together all come back refused).
  bool fall_back_from_suffix(const Exchange& x, bool sent_suffix) {
    if (!suffix_fallback_ || !sent_suffix || x.status() != 400) return false;
    if (x.error_param() != "suffix" && x.error_message().find("suffix") == std::string::npos) return false;
    if (text_form_ == TextPromptForm::Suffix)
      spdlog::warn("the backend {} does not take `suffix` ({}); sending SPM prompts as text from now on", base_, x.error_message());
    text_form_ = TextPromptForm::Spm;
    return true;
  }

 private:
  void read_model_list() {
    json models = parse_json_or_discarded(remote::get_text(options_, share_, base_, "/v1/models"));
    if (models.is_discarded() || !models.is_object() || !models.contains("data") || !models["data"].is_array() ||
        models["data"].empty() || !models["data"][0].is_object() || !models["data"][0].contains("id") ||
        !models["data"][0]["id"].is_string())
      throw std::runtime_error(base_ + "/v1/models is not an OpenAI-compatible model list");
    const json& model = models["data"][0];
    model_id_ = model["id"].get<std::string>();
    if (model.contains("maskfill") && model["maskfill"].is_object() && model["maskfill"].contains("description") &&
        model["maskfill"]["description"].is_string())
      server_description_ = model["maskfill"]["description"].get<std::string>();
  }

  // The server's copy of the model files, or nullopt when it does not serve them (404: not a
  // `maskfill serve`, or one started with --no-maskfill-endpoints).
  std::optional<ModelText> server_model_files() {
    const std::string files = "/v1/maskfill/model-files/";
    remote::GetResult config = remote::get(options_, share_, base_, files + "config.json");
    if (config.status == 404 || config.status == 405) return std::nullopt;
    if (config.status != 200)
      throw std::runtime_error("the backend " + base_ + " answered HTTP " + std::to_string(config.status) + " for " + files + "config.json");
    return ModelText{config.body, remote::get_text(options_, share_, base_, files + "tokenizer.json"),
                     remote::get_text(options_, share_, base_, files + "tokenizer_config.json")};
  }

  void choose_prompt_form(bool served) {
    if (options_.prompt == RemotePrompt::Tokens && !served)
      throw std::runtime_error("the backend at " + base_ + " does not serve maskfill's model files, so it cannot take token-id "
                               "prompts; set backend.prompt to auto, suffix or spm to send text prompts");
    tokens_ = served && (options_.prompt == RemotePrompt::Auto || options_.prompt == RemotePrompt::Tokens);
    text_form_ = options_.prompt == RemotePrompt::Spm ? TextPromptForm::Spm : TextPromptForm::Suffix;
    suffix_fallback_ = options_.prompt == RemotePrompt::Auto;
  }

  // From the server when it serves them (token-id prompts, or no local snapshot given), else
  // from the local snapshot.
  void load_model(const std::optional<ModelText>& served) {
    ModelText text;
    std::string where;
    if (served) {
      text = *served;
      where = "the backend's model files";
    } else if (!options_.model_dir.empty()) {
      text = read_local(options_.model_dir);
      where = options_.model_dir;
    } else {
      throw std::runtime_error("the backend at " + base_ + " does not serve maskfill's model files; set the model path "
                               "(--model DIR or maskfill.modelPath) to a copy of the snapshot it runs (config.json, "
                               "tokenizer.json and tokenizer_config.json are enough)");
    }
    try {
      config_ = parse_model_config(text.config);
      tokenizer_config_ = parse_tokenizer_config(text.tokenizer_config);
      tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_json_text(text.tokenizer));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(where + ": " + e.what());
    }
    if (!tokens_) spdlog::info("backend {}: text prompts, tokenizer from {}", base_, where);
  }

  static ModelText read_local(const std::string& dir) {
    return {read_file(dir + "/config.json"), read_file(dir + "/tokenizer.json"), read_file(dir + "/tokenizer_config.json")};
  }

  RemoteOptions options_;
  RemoteHealthListener listener_;
  std::string base_, model_id_, server_description_;
  Share share_;
  ModelConfig config_;
  TokenizerConfig tokenizer_config_;
  std::unique_ptr<Tokenizer> tokenizer_;
  bool tokens_ = true;
  bool suffix_fallback_ = false;
  TextPromptForm text_form_ = TextPromptForm::Suffix;
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
  Sequence s;
  s.prompt = prompt;
  s.options = options;
  s.cancel = std::move(cancel);
  s.result.stats.prompt_tokens = int(prompt.size());
  send(s);
  int handle = next_++;
  sequences_.emplace(handle, std::move(s));
  return handle;
}

void RemoteBatch::send(Sequence& s) {
  s.text = !engine_.sends_tokens();
  s.exchange = std::make_unique<Exchange>(engine_.options(), engine_.share(), engine_.base() + "/v1/completions");
  s.exchange->add_header("X-Maskfill-Affinity: " + affinity_key(s.prompt));
  json body = engine_.request(s.prompt, s.options);
  s.with_suffix = body.contains("suffix");
  s.exchange->post_json(body.dump(-1, ' ', false, json::error_handler_t::replace));
  s.exchange->finish_setup();
  curl_multi_add_handle(multi_, s.exchange->easy);
}

void RemoteBatch::complete(Sequence& s, CURLcode code) {
  Exchange& x = *s.exchange;
  if (code == CURLE_OK && s.text && engine_.fall_back_from_suffix(x, s.with_suffix)) {
    detach(s);
    send(s);  // the same sequence again, as SPM text
    return;
  }
  s.done = true;
  if (code != CURLE_OK || x.status() != 200)
    s.error = remote::failure(engine_.base(), engine_.options(), code, x);
  else
    read_answer(s);
  detach(s);
  engine_.report(s.error.empty(), s.error);
}

void RemoteBatch::read_answer(Sequence& s) {
  json answer = parse_json_or_discarded(s.exchange->response);
  try {
    if (answer.is_discarded()) throw std::runtime_error("not JSON");
    if (s.text)
      remote::read_text_choice(answer, engine_.tokenizer(), s.result);
    else
      remote::read_token_choice(answer, engine_.tokenizer(), s.result);
  } catch (const std::runtime_error&) {
    s.error = "the backend " + engine_.base() + " answered something that is not a completion" +
              (s.text ? " with text" : " with token_ids");
  }
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
      CURL* easy = message->easy_handle;
      CURLcode result = message->data.result;
      for (auto& [handle, s] : sequences_)
        if (s.exchange && s.exchange->easy == easy) {
          complete(s, result);
          progressed = progressed || s.done;
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

RemotePrompt parse_remote_prompt(const std::string& name) {
  if (name == "auto") return RemotePrompt::Auto;
  if (name == "tokens") return RemotePrompt::Tokens;
  if (name == "suffix") return RemotePrompt::Suffix;
  if (name == "spm") return RemotePrompt::Spm;
  throw std::invalid_argument("the backend prompt form must be auto, tokens, suffix or spm, got '" + name + "'");
}

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
