#include "inference/remote/http_exchange.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/json_fields.h"

namespace maskfill::remote {
namespace {

size_t append_body(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// The string field `name` of the answer's error: OpenAI's {"error": {...}}, vLLM's flat
// {"object": "error", "message": ...}, or {"error": "text"}; "" when absent.
std::string error_field(const std::string& response, const char* name) {
  nlohmann::json body = parse_json_or_discarded(response);
  if (body.is_discarded() || !body.is_object()) return "";
  const nlohmann::json* holder = &body;
  if (body.contains("error")) {
    const nlohmann::json& error = body["error"];
    if (error.is_string()) return std::string(name) == "message" ? error.get<std::string>() : "";
    holder = &error;
  }
  if (!holder->is_object() || !holder->contains(name) || !(*holder)[name].is_string()) return "";
  return (*holder)[name].get<std::string>();
}

}  // namespace

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Share::Share() {
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

Share::~Share() { curl_share_cleanup(share_); }

Exchange::Exchange(const RemoteOptions& options, const Share& share, const std::string& url) {
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

Exchange::~Exchange() {
  if (easy) curl_easy_cleanup(easy);
  if (headers) curl_slist_free_all(headers);
}

void Exchange::post_json(std::string text) {
  body = std::move(text);
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip before the body
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, long(body.size()));
}

long Exchange::status() const {
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

std::string Exchange::error_message() const { return error_field(response, "message"); }
std::string Exchange::error_param() const { return error_field(response, "param"); }

std::string failure(const std::string& base, const RemoteOptions& options, CURLcode code, const Exchange& x) {
  if (code == CURLE_OPERATION_TIMEDOUT)
    return "the backend " + base + " did not answer within " + std::to_string(options.timeout_ms) + " ms";
  if (code == CURLE_COULDNT_CONNECT) return "cannot reach the backend " + base + ": connection refused (is the model server running?)";
  if (code == CURLE_COULDNT_RESOLVE_HOST) return "cannot reach the backend " + base + ": unknown host";
  if (code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION)
    return "cannot reach the backend " + base + ": TLS failed (" + std::string(x.error[0] ? x.error : curl_easy_strerror(code)) + ")";
  if (code != CURLE_OK) {
    std::string detail = x.error[0] ? x.error : curl_easy_strerror(code);
    return "cannot reach the backend " + base + ": " + detail;
  }
  long status = x.status();
  if (status == 401)
    return "the backend " + base + " refused the API key (set MASKFILL_API_KEY or maskfill.backend.apiKeyFile)";
  std::string message = x.error_message();
  return "the backend " + base + " answered HTTP " + std::to_string(status) + (message.empty() ? "" : ": " + message);
}

GetResult get(const RemoteOptions& options, const Share& share, const std::string& base, const std::string& path) {
  Exchange x(options, share, base + path);
  x.finish_setup();
  CURLcode code = curl_easy_perform(x.easy);
  if (code != CURLE_OK || x.status() == 401) throw std::runtime_error(failure(base, options, code, x));
  return {x.status(), std::move(x.response)};
}

std::string get_text(const RemoteOptions& options, const Share& share, const std::string& base, const std::string& path) {
  Exchange x(options, share, base + path);
  x.finish_setup();
  CURLcode code = curl_easy_perform(x.easy);
  if (code != CURLE_OK || x.status() != 200) throw std::runtime_error(failure(base, options, code, x));
  return x.response;
}

}  // namespace maskfill::remote
