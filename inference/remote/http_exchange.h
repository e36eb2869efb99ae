// libcurl plumbing of the remote engine: a connection share per engine (keep-alive connections
// and DNS reused across requests), one HTTP exchange per request, and readable messages for
// failed exchanges (never a library's raw text alone). Only built with libcurl.
#pragma once

#include <curl/curl.h>

#include <mutex>
#include <string>

#include "inference/remote/remote_engine.h"

namespace maskfill::remote {

void global_init();

class Share {
 public:
  Share();
  ~Share();
  Share(const Share&) = delete;
  Share& operator=(const Share&) = delete;
  CURLSH* get() const { return share_; }

 private:
  CURLSH* share_;
  std::mutex locks_[CURL_LOCK_DATA_LAST];
};

// One HTTP exchange set up on an easy handle (shared by blocking GETs and batched POSTs).
struct Exchange {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body, response;
  char error[CURL_ERROR_SIZE] = {0};

  Exchange(const RemoteOptions& options, const Share& share, const std::string& url);
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange();
  void add_header(const std::string& line) { headers = curl_slist_append(headers, line.c_str()); }
  void post_json(std::string text);
  void finish_setup() { curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers); }
  long status() const;
  // The OpenAI-style error object's message and param of the answer, empty when absent.
  std::string error_message() const;
  std::string error_param() const;
};

// A message for the user naming what failed: timeout, refused connection, refused key, or the
// server's own error message with its HTTP status.
std::string failure(const std::string& base, const RemoteOptions& options, CURLcode code, const Exchange& x);

struct GetResult {
  long status = 0;
  std::string body;
};
// A blocking GET; throws std::runtime_error(failure(...)) when the server cannot be reached or
// refuses the key. Other statuses are returned for the caller to judge.
GetResult get(const RemoteOptions& options, const Share& share, const std::string& base, const std::string& path);
// A GET that must answer 200.
std::string get_text(const RemoteOptions& options, const Share& share, const std::string& base, const std::string& path);

}  // namespace maskfill::remote
