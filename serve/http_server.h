// A small HTTP/1.1 server on Boost.Beast: keep-alive, chunked server-sent events, a body limit
// (413), header and idle / slow-client timeouts, Bearer authentication compared in constant time,
// a bounded drain on shutdown, half-closed clients served, and an opt-in CORS allow-list. It
// knows nothing of the API: every request goes to one handler.
//
// Connections are asynchronous (a few io threads, a timer per connection): an idle or trickling
// connection costs a few KB and no thread, so thousands can be held (max_connections overall,
// max_connections_per_ip from one address; more get 503). Handlers block (inference, streamed
// events), so each request's handler runs on a worker thread (at most max_handlers at once; more
// wait their turn) and its writes are handed to the io threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace maskfill::serve {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path (and query)
  std::string body;
  std::string peer;    // "127.0.0.1:53422"
};

// How a handler answers: one whole response, or a stream of server-sent events.
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  virtual void send(int status, const std::string& content_type, const std::string& body) = 0;
  virtual bool start_events() = 0;                      // 200, text/event-stream, chunked
  virtual bool send_event(const std::string& data) = 0;  // "data: <data>\n\n"; false: the client is gone
  virtual void end_events() = 0;
  virtual bool client_gone() = 0;  // the peer closed or reset the connection
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponder&)>;
// What the HTTP layer refused, for metrics: "too_large", "unauthorized", "busy", "bad_request", "cors".
using RejectListener = std::function<void(const std::string& reason, const std::string& target)>;

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see HttpServer::port())
  size_t max_body = 4 << 20;
  int max_connections = 16384;       // lowered at listen() to what the open-file limit allows
  int max_connections_per_ip = 256;  // from one client address (loopback included)
  int max_handlers = 512;            // requests answered at once, each on a worker thread
  int io_threads = 2;                // threads reading and writing sockets (never blocked)
  int header_timeout_ms = 10000;    // a request's header (and a new connection's first byte)
  int idle_timeout_ms = 30000;      // keep-alive idle, a request's body, a write
  std::optional<std::string> api_key;  // Bearer token; nullopt: no authentication
  std::vector<std::string> public_paths = {"/health"};  // served without the key
  // Browser origins allowed to call the API ("https://app.example", or "*"); empty: CORS off.
  // Their preflights (OPTIONS) are answered before authentication.
  std::vector<std::string> cors_origins;
};

class HttpServer {
 public:
  HttpServer(HttpOptions options, HttpHandler handler, RejectListener on_reject = {});
  ~HttpServer();
  // Binds and listens; throws std::runtime_error naming the address on failure.
  void listen();
  int port() const { return port_; }
  int max_connections() const;  // after listen(): the cap in force (see HttpOptions)
  // Accepts until stop() or drain(); returns after every connection and handler has ended.
  void run();
  void stop();  // any thread, or a signal-waiting thread; during a drain, ends it now
  // Stops accepting; requests in flight finish, for at most `grace`, then every connection is
  // closed. A request that arrives meanwhile on an open connection gets 503 "server is
  // shutting down". Any thread.
  void drain(std::chrono::milliseconds grace);

  struct Impl;  // public only so that http_server.cpp's connections can name it

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// Constant-time equality of a presented token with the key (length leaks, content does not).
bool constant_time_equal(const std::string& a, const std::string& b);

bool is_loopback_host(const std::string& host);

}  // namespace maskfill::serve
