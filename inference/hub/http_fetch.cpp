#include "inference/hub/http_fetch.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace maskfill::hub {
namespace {

constexpr int kMaxRedirects = 10;
constexpr size_t kMaxErrorBody = 64 * 1024;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Where a response's body goes: a text buffer, or (downloads) a file opened on the first byte
// of a 200/206 answer so that error pages and redirect bodies never reach it.
struct Sink {
  CURL* easy = nullptr;
  std::string* text = nullptr;  // text mode
  const std::string* path = nullptr;
  uint64_t offset = 0;
  const std::function<void(uint64_t)>* on_bytes = nullptr;
  FILE* file = nullptr;
  int write_errno = 0;
  std::string error_body;
  std::map<std::string, std::string> headers;

  ~Sink() {
    if (file) std::fclose(file);
  }
  bool open_file(long status) {
    // 206: the rest of a resumed file; 200: the whole file, so anything partial is dropped.
    file = std::fopen(path->c_str(), status == 206 && offset > 0 ? "ab" : "wb");
    if (!file) write_errno = errno;
    return file != nullptr;
  }
  size_t write(const char* data, size_t size) {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (text) {
      text->append(data, size);
      return size;
    }
    if (status != 200 && status != 206) {
      if (error_body.size() < kMaxErrorBody) error_body.append(data, std::min(size, kMaxErrorBody));
      return size;
    }
    if (!file && !open_file(status)) return 0;
    if (std::fwrite(data, 1, size, file) != size) {
      write_errno = errno;
      return 0;
    }
    if (*on_bytes) (*on_bytes)(size);
    return size;
  }
  void close_file() {
    if (file && std::fclose(file) != 0 && !write_errno) write_errno = errno;
    file = nullptr;
  }
};

size_t on_body(char* data, size_t size, size_t count, void* sink) {
  return static_cast<Sink*>(sink)->write(data, size * count);
}

size_t on_header(char* data, size_t size, size_t count, void* sink) {
  std::string line(data, size * count);
  auto& headers = static_cast<Sink*>(sink)->headers;
  if (line.rfind("HTTP/", 0) == 0) headers.clear();  // a new response (100 Continue, ...)
  auto colon = line.find(':');
  if (colon == std::string::npos) return size * count;
  std::string name = line.substr(0, colon), value = line.substr(colon + 1);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  auto first = value.find_first_not_of(" \t"), last = value.find_last_not_of(" \t\r\n");
  headers[name] = first == std::string::npos ? std::string() : value.substr(first, last - first + 1);
  return size * count;
}

// Words for a libcurl failure, naming the host; libcurl's own text never reaches the user.
std::string describe(CURLcode code, const std::string& url) {
  std::string host = host_of(url);
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return "cannot resolve the host name " + host + " (no network, or a wrong HF_ENDPOINT?)";
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "cannot resolve the proxy host (check https_proxy)";
    case CURLE_COULDNT_CONNECT:
      return "cannot connect to " + host + " (no network, the server is down, or a firewall)";
    case CURLE_OPERATION_TIMEDOUT:
      return "the transfer from " + host + " stalled (no data for a minute)";
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
      return "the connection to " + host + " closed during the transfer";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
      return "a secure (TLS) connection to " + host + " failed: its certificate could not be verified";
    default:
      return "network failure talking to " + host + " (libcurl code " + std::to_string(int(code)) + ")";
  }
}

using Easy = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

// One request, no redirect followed. Sends the token when `with_token`.
long perform(const std::string& url, const RequestOptions& options, bool with_token, uint64_t range_from, Sink& sink) {
  global_init();
  Easy easy(curl_easy_init(), curl_easy_cleanup);
  if (!easy) throw NetworkError("cannot create an HTTP client");
  sink.easy = easy.get();
  sink.headers.clear();
  curl_slist* headers = nullptr;
  if (with_token && !options.token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + options.token).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, curl_slist_free_all);
  std::string range = std::to_string(range_from) + "-";
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(e, CURLOPT_USERAGENT, "maskfill-model-pull");
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "identity");  // sizes and digests are of raw bytes
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, options.stall_seconds);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &sink);
  if (range_from > 0) curl_easy_setopt(e, CURLOPT_RANGE, range.c_str());
  CURLcode code = curl_easy_perform(e);
  sink.close_file();
  if (sink.write_errno)
    throw DiskError("cannot write " + (sink.path ? *sink.path : std::string("a file")) + ": " +
                    std::strerror(sink.write_errno));
  if (code != CURLE_OK) throw NetworkError(describe(code, url));
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

// Follows redirects by hand: the token goes only where the first URL's host and port are.
HttpResponse follow(const std::string& first_url, const RequestOptions& options, uint64_t range_from, Sink& sink) {
  HttpResponse response;
  response.url = first_url;
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    bool with_token = same_host_and_port(first_url, response.url);
    sink.error_body.clear();
    response.status = perform(response.url, options, with_token, range_from, sink);
    response.headers = sink.headers;
    if (response.status < 300 || response.status > 399 || response.header("location").empty()) {
      response.body = sink.text ? *sink.text : sink.error_body;
      return response;
    }
    response.url = resolve_location(response.url, response.header("location"));
    if (sink.text) sink.text->clear();
  }
  throw NetworkError("more than " + std::to_string(kMaxRedirects) + " redirects from " + first_url);
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse http_get_text(const std::string& url, const RequestOptions& options) {
  std::string text;
  Sink sink;
  sink.text = &text;
  return follow(url, options, 0, sink);
}

HttpResponse http_download(const std::string& url, const RequestOptions& options, const std::string& path,
                           uint64_t offset, const std::function<void(uint64_t)>& on_bytes) {
  Sink sink;
  sink.path = &path;
  sink.offset = offset;
  sink.on_bytes = &on_bytes;
  return follow(url, options, offset, sink);
}

}  // namespace maskfill::hub
