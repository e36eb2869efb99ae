// URL helpers of http_fetch.h, on libcurl's URL parser (CURLU) rather than hand-written parsing.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <regex>

#include "inference/hub/http_fetch.h"

namespace maskfill::hub {
namespace {

using Url = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

Url parse(const std::string& url) {
  Url handle(curl_url(), curl_url_cleanup);
  if (!handle || curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    throw NetworkError("not a valid URL: " + url);
  return handle;
}

std::string part(const Url& url, CURLUPart which, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url.get(), which, &value, flags) != CURLUE_OK) return {};
  std::string text = value;
  curl_free(value);
  return text;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

std::string host_of(const std::string& url) { return lower(part(parse(url), CURLUPART_HOST)); }

bool same_host_and_port(const std::string& a, const std::string& b) {
  Url first = parse(a), second = parse(b);
  return lower(part(first, CURLUPART_HOST)) == lower(part(second, CURLUPART_HOST)) &&
         part(first, CURLUPART_PORT, CURLU_DEFAULT_PORT) == part(second, CURLUPART_PORT, CURLU_DEFAULT_PORT);
}

std::string resolve_location(const std::string& base, const std::string& location) {
  Url url = parse(base);
  // Setting a URL on a handle that holds one resolves a relative location against it.
  if (curl_url_set(url.get(), CURLUPART_URL, location.c_str(), 0) != CURLUE_OK)
    throw NetworkError("the server redirected to an invalid location: " + location);
  return part(url, CURLUPART_URL);
}

std::string url_escape(const std::string& text, bool keep_slashes) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slashes && c == '/')) {
      out += static_cast<char>(c);
    } else {
      static const char hex[] = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string next_link(const std::string& link_header) {
  static const std::regex next(R"re(<([^>]*)>\s*;\s*rel="?next"?)re");
  std::smatch match;
  return std::regex_search(link_header, match, next) ? match[1].str() : std::string();
}

}  // namespace maskfill::hub
