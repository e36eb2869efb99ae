// HTTP GETs for the hub client (libcurl): small text answers, and downloads into a file that
// resume with a Range request. Redirects are followed here rather than by libcurl so that the
// token follows huggingface_hub's rule: it goes to the first URL's host and port only, never to
// a CDN that a redirect points at (those URLs are signed and must not see the token).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>

namespace maskfill::hub {

// No HTTP answer came: DNS, connect, TLS, a closed connection, a stalled transfer.
class NetworkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A local file could not be written (disk full, permissions).
class DiskError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HttpResponse {
  long status = 0;
  std::string url;                             // the last URL requested (after redirects)
  std::map<std::string, std::string> headers;  // of the last response, names lower-cased
  std::string body;                            // text answers; for downloads only an error body
  std::string header(const std::string& name) const;
};

struct RequestOptions {
  std::string token;       // "Authorization: Bearer" to the first URL's host and port only
  long stall_seconds = 60;  // a transfer with no byte for this long counts as a network failure
};

// GET of a text answer (the API's JSON).
HttpResponse http_get_text(const std::string& url, const RequestOptions& options);

// GET of `url` into `path` from byte `offset`: with offset > 0 a Range request, appended on a 206
// answer, written from the start on a 200 (the server ignored the range). Only a 200/206 body
// reaches the file. `on_bytes(n)` reports each chunk written.
HttpResponse http_download(const std::string& url, const RequestOptions& options, const std::string& path,
                           uint64_t offset, const std::function<void(uint64_t)>& on_bytes);

// URL helpers (libcurl's URL parser).
bool same_host_and_port(const std::string& a, const std::string& b);
std::string host_of(const std::string& url);
std::string resolve_location(const std::string& base, const std::string& location);
std::string url_escape(const std::string& text, bool keep_slashes);
// The "next" URL of a `Link: <url>; rel="next"` header (pagination), or "".
std::string next_link(const std::string& link_header);

}  // namespace maskfill::hub
