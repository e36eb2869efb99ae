#include "serve/http_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/algorithm/string/trim.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <list>
#include <spdlog/spdlog.h>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace maskfill::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

bool constant_time_equal(const std::string& presented, const std::string& key) {
  // The loop runs over the key's length whatever is presented.
  unsigned char diff = presented.size() == key.size() ? 0 : 1;
  for (size_t i = 0; i < key.size(); ++i) {
    unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= p ^ static_cast<unsigned char>(key[i]);
  }
  return diff == 0;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

namespace {

std::string json_error(const std::string& message, const std::string& type, const std::string& code = "") {
  nlohmann::json body = {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code.empty() ? nlohmann::json() : nlohmann::json(code)}}}};
  return body.dump();
}

// Every open connection with the time after which the janitor shuts its socket down. A socket is
// unregistered (under the lock) before it is closed, so the janitor never touches a reused fd.
class Registry {
 public:
  struct Entry {
    int fd;
    Clock::time_point deadline;
    bool busy = false;  // a request is being read or answered
  };
  Entry* add(int fd) {
    std::lock_guard lock(mutex_);
    entries_.push_back({fd, Clock::time_point::max()});
    return &entries_.back();
  }
  void remove(Entry* entry) {
    std::lock_guard lock(mutex_);
    entries_.remove_if([&](const Entry& e) { return &e == entry; });
    changed_.notify_all();
  }
  void set_busy(Entry* entry, bool busy) {
    std::lock_guard lock(mutex_);
    entry->busy = busy;
    if (!busy) changed_.notify_all();
  }
  // Until no request is in flight or the drain deadline (which end_drain() moves to now) passes.
  void wait_quiet() {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, drain_until_, [&] {
      return Clock::now() >= drain_until_ || std::none_of(entries_.begin(), entries_.end(), [](const Entry& e) { return e.busy; });
    });
  }
  void start_drain(Clock::time_point until) {
    std::lock_guard lock(mutex_);
    drain_until_ = until;
  }
  void end_drain() {
    std::lock_guard lock(mutex_);
    drain_until_ = Clock::now();
    changed_.notify_all();
  }
  void set_deadline(Entry* entry, Clock::time_point deadline) {
    std::lock_guard lock(mutex_);
    entry->deadline = deadline;
  }
  void expire(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (Entry& e : entries_)
      if (e.deadline <= now) {
        ::shutdown(e.fd, SHUT_RDWR);
        e.deadline = Clock::time_point::max();
      }
  }
  void shutdown_all() {
    std::lock_guard lock(mutex_);
    for (Entry& e : entries_) ::shutdown(e.fd, SHUT_RDWR);
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::list<Entry> entries_;
  Clock::time_point drain_until_ = Clock::time_point::min();  // min: stop without draining
};

class Connection final : public HttpResponder {
 public:
  // `stopping`: once set (a drain began), answers say Connection: close.
  Connection(tcp::socket& socket, Registry& registry, Registry::Entry* entry, int timeout_ms, bool keep_alive,
             bool interim_ok = false, const std::atomic<bool>* stopping = nullptr)
      : socket_(socket), registry_(registry), entry_(entry), timeout_(timeout_ms), keep_alive_(keep_alive),
        interim_ok_(interim_ok), stopping_(stopping) {}

  void send(int status, const std::string& content_type, const std::string& body) override {
    if (answered_) return;
    answered_ = true;
    http::response<http::string_body> response{static_cast<http::status>(status), 11};
    response.set(http::field::server, "maskfill");
    if (!content_type.empty()) response.set(http::field::content_type, content_type);
    for (const auto& [name, value] : headers_) response.set(name, value);
    response.keep_alive(keep_alive());
    response.body() = body;
    response.prepare_payload();
    beast::error_code ec;
    arm();
    http::write(socket_, response, ec);
    disarm();
    if (ec) broken_ = true;
    status_ = status;
  }

  bool start_events() override {
    if (answered_) return false;
    answered_ = true;
    streaming_ = true;
    status_ = 200;
    http::response<http::empty_body> response{http::status::ok, 11};
    response.set(http::field::server, "maskfill");
    response.set(http::field::content_type, "text/event-stream");
    response.set(http::field::cache_control, "no-cache");
    for (const auto& [name, value] : headers_) response.set(name, value);
    response.keep_alive(keep_alive());
    response.chunked(true);
    http::response_serializer<http::empty_body> serializer{response};
    beast::error_code ec;
    arm();
    http::write_header(socket_, serializer, ec);
    disarm();
    if (ec) broken_ = true;
    return !broken_;
  }

  bool send_event(const std::string& data) override {
    if (broken_) return false;
    std::string frame = "data: " + data + "\n\n";
    beast::error_code ec;
    arm();
    asio::write(socket_, http::make_chunk(asio::buffer(frame)), ec);
    disarm();
    if (ec) broken_ = true;
    return !broken_;
  }

  void end_events() override {
    if (broken_ || !streaming_) return;
    beast::error_code ec;
    arm();
    asio::write(socket_, http::make_chunk_last(), ec);
    disarm();
    if (ec) broken_ = true;
    streaming_ = false;
  }

  // The peer's FIN alone does not say it is gone: a client may half-close (shutdown(SHUT_WR))
  // after its request and still read the answer. So the first FIN is answered with a probe the
  // client ignores; a peer that closed its socket answers the probe with a reset, which the next
  // call sees (POLLERR / POLLHUP), while a half-closed one reads on and is served.
  bool client_gone() override {
    if (broken_) return true;
    pollfd p{socket_.native_handle(), POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLHUP | POLLERR))
      broken_ = true;
    else if ((p.revents & POLLRDHUP) && !probed_)
      probe();
    return broken_;
  }

  // An SSE comment inside a stream; before the answer, an interim 100 Continue, which HTTP/1.1
  // clients must accept at any time. HTTP/1.0 has no interim answers: its FIN means gone.
  void probe() {
    probed_ = true;
    beast::error_code ec;
    arm();
    if (streaming_)
      asio::write(socket_, http::make_chunk(asio::buffer(std::string_view(":\n\n"))), ec);
    else if (!answered_ && interim_ok_)
      asio::write(socket_, asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")), ec);
    else
      ec = asio::error::eof;
    disarm();
    if (ec) broken_ = true;
  }

  bool answered() const { return answered_; }
  bool broken() const { return broken_; }
  bool streaming() const { return streaming_; }
  int status() const { return status_; }
  void add_header(std::string name, std::string value) { headers_.emplace_back(std::move(name), std::move(value)); }

 private:
  bool keep_alive() const { return keep_alive_ && !(stopping_ && *stopping_); }
  void arm() { registry_.set_deadline(entry_, Clock::now() + timeout_); }
  void disarm() { registry_.set_deadline(entry_, Clock::time_point::max()); }

  tcp::socket& socket_;
  Registry& registry_;
  Registry::Entry* entry_;
  std::chrono::milliseconds timeout_;
  bool keep_alive_;
  bool interim_ok_;  // HTTP/1.1: a 100 Continue may precede the answer
  const std::atomic<bool>* stopping_;
  std::vector<std::pair<std::string, std::string>> headers_;  // on every answer (CORS)
  bool answered_ = false, broken_ = false, streaming_ = false, probed_ = false;
  int status_ = 0;
};

}  // namespace

struct HttpServer::Impl {
  HttpOptions options;
  HttpHandler handler;
  RejectListener on_reject;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  Registry registry;
  std::atomic<bool> stopping{false};  // no more accepts, no new requests
  std::atomic<bool> finished{false};  // run() is returning
  std::atomic<int> threads{0};
  std::mutex threads_mutex;
  std::condition_variable threads_done;
  std::thread janitor;

  void stop_accepting();

  void reject(const std::string& reason, const std::string& target) {
    if (on_reject) on_reject(reason, target);
  }

  bool authorized(const http::request<http::string_body>& request) {
    if (!options.api_key) return true;
    std::string path(request.target());
    path = path.substr(0, path.find('?'));
    for (const std::string& p : options.public_paths)
      if (path == p) return true;
    auto header = request.find(http::field::authorization);
    if (header == request.end()) return false;
    std::string value(header->value());
    const std::string scheme = "Bearer ";
    if (value.size() < scheme.size() || !beast::iequals(value.substr(0, scheme.size()), scheme)) return false;
    return constant_time_equal(value.substr(scheme.size()), *options.api_key);
  }

  // An answer given from the header alone (a refusal, or a CORS preflight); the connection ends.
  struct EarlyAnswer {
    int status;
    std::string reason;  // for metrics (RejectListener); empty: not a refusal
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers = {};
  };

  // The Origin a browser sent, when the CORS allow-list (opt-in) lists it ("*": any).
  std::optional<std::string> allowed_origin(const http::request_header<>& header) const {
    auto origin = header.find(http::field::origin);
    if (options.cors_origins.empty() || origin == header.end()) return std::nullopt;
    std::string value(origin->value());
    for (const std::string& allowed : options.cors_origins)
      if (allowed == "*" || allowed == value) return value;
    return std::nullopt;
  }

  std::vector<std::pair<std::string, std::string>> cors_headers(const http::request_header<>& header) const {
    if (auto origin = allowed_origin(header)) return {{"Access-Control-Allow-Origin", *origin}, {"Vary", "Origin"}};
    return {};
  }

  // A browser's preflight carries no credentials, so it is answered before authentication.
  std::optional<EarlyAnswer> answer_preflight(const http::request_header<>& header) const {
    if (options.cors_origins.empty() || header.method() != http::verb::options ||
        header.find(http::field::access_control_request_method) == header.end())
      return std::nullopt;
    if (!allowed_origin(header))
      return EarlyAnswer{403, "cors", json_error("This origin is not in the server's CORS allow-list (--cors-origin)", "invalid_request_error")};
    return EarlyAnswer{204, "", "", {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                                     {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                                     {"Access-Control-Max-Age", "600"}}};
  }

  // What the header alone refuses, before a byte of the body is read: a client without the key
  // cannot make the server wait for (or buffer) a body it declared.
  std::optional<EarlyAnswer> answer_from_header(const http::request_parser<http::string_body>& parser) {
    const auto& header = parser.get();
    if (stopping)  // a drain began while this connection waited: only requests in flight finish
      return EarlyAnswer{503, "busy", json_error("server is shutting down", "server_error", "shutting_down")};
    // Only chunked framing is understood. Any other transfer coding (gzip, "gzip, chunked")
    // would leave the body's end unknown, and bytes after it could be read as a second
    // request (smuggling): refuse it and close, as RFC 9112 asks of a server.
    auto coding = header.find(http::field::transfer_encoding);
    if (coding != header.end() && !beast::iequals(boost::algorithm::trim_copy(std::string(coding->value())), "chunked"))
      return EarlyAnswer{400, "bad_request",
                     json_error("Transfer-Encoding '" + std::string(coding->value()).substr(0, 64) + "' is not supported (only chunked)",
                                "invalid_request_error")};
    if (auto preflight = answer_preflight(header)) return preflight;
    if (!authorized(header))
      return EarlyAnswer{401, "unauthorized",
                     json_error("Missing or wrong API key (send Authorization: Bearer <key>)", "invalid_request_error", "invalid_api_key")};
    if (auto length = parser.content_length(); length && *length > options.max_body) return too_large();
    return std::nullopt;
  }

  EarlyAnswer too_large() const {
    return {413, "too_large",
            json_error("The request body is larger than " + std::to_string(options.max_body) + " bytes", "invalid_request_error",
                       "request_too_large")};
  }

  // What a failed read answers: nothing for a closed, reset or timed-out connection.
  std::optional<EarlyAnswer> answer_from_error(const beast::error_code& ec) const {
    if (ec == http::error::body_limit) return too_large();
    if (ec == http::error::header_limit)
      return EarlyAnswer{431, "too_large", json_error("The request headers are too large", "invalid_request_error")};
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() && ec != http::error::end_of_stream &&
        ec != http::error::partial_message)
      return EarlyAnswer{400, "bad_request", json_error("Malformed HTTP request: " + ec.message(), "invalid_request_error")};
    return std::nullopt;
  }

  // Waits for a request's first byte: a fresh connection for at most the header timeout (one that
  // sends nothing holds a slot as much as one that trickles), a kept-alive one for the idle timeout.
  bool await_request(tcp::socket& socket, const beast::flat_buffer& buffer, Registry::Entry* entry, bool first) {
    if (buffer.size() > 0) return true;
    registry.set_deadline(entry, Clock::now() + std::chrono::milliseconds(first ? options.header_timeout_ms : options.idle_timeout_ms));
    beast::error_code ec;
    socket.wait(tcp::socket::wait_read, ec);
    return !ec;
  }

  // The header within the header timeout, then (once the header is accepted) the body within the
  // body timeout. Sets `early` when the request is answered with an error and the connection ends.
  std::optional<http::request<http::string_body>> read_request(tcp::socket& socket, beast::flat_buffer& buffer,
                                                               Registry::Entry* entry, std::optional<EarlyAnswer>& early) {
    http::request_parser<http::string_body> parser;
    // A declared length is judged after authentication (answer_from_header). Not boost::none:
    // Beast 1.74 compares a length with an empty limit as "too large".
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.header_limit(64 * 1024);
    beast::error_code ec;
    registry.set_deadline(entry, Clock::now() + std::chrono::milliseconds(options.header_timeout_ms));
    http::read_header(socket, buffer, parser, ec);
    registry.set_busy(entry, !ec);  // a drain waits for this request (cleared when answered)
    if (!ec && (early = answer_from_header(parser))) {
      for (auto& h : cors_headers(parser.get())) early->headers.push_back(std::move(h));  // so a browser can read it
      return std::nullopt;
    }
    parser.body_limit(options.max_body);  // chunked bodies
    registry.set_deadline(entry, Clock::now() + std::chrono::milliseconds(options.idle_timeout_ms));
    // curl and others wait (about a second) for this before sending a large body.
    if (!ec && !parser.is_done() && beast::iequals(parser.get()[http::field::expect], "100-continue"))
      asio::write(socket, asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")), ec);
    if (!ec && !parser.is_done()) http::read(socket, buffer, parser, ec);
    registry.set_deadline(entry, Clock::time_point::max());
    if (ec) {
      early = answer_from_error(ec);
      return std::nullopt;
    }
    return parser.release();
  }

  // Runs the handler; false when the connection must end.
  bool answer(tcp::socket& socket, Registry::Entry* entry, http::request<http::string_body>& request, const std::string& peer) {
    bool keep_alive = request.keep_alive() && !stopping;
    Connection connection(socket, registry, entry, options.idle_timeout_ms, keep_alive, request.version() >= 11, &stopping);
    for (const auto& [name, value] : cors_headers(request)) connection.add_header(name, value);
    HttpRequest r{std::string(request.method_string()), std::string(request.target()), std::move(request.body()), peer};
    try {
      handler(r, connection);
    } catch (const std::exception& e) {
      spdlog::error("serve: {} {}: {}", r.method, r.target, e.what());
    }
    // A handler that left without answering saw its client go; else it is a bug.
    if (!connection.answered() && !connection.client_gone())
      connection.send(500, "application/json", json_error("internal error", "server_error"));
    else if (connection.streaming())
      connection.end_events();
    return keep_alive && !connection.broken();
  }

  // Closing with unread request bytes would reset the connection before the client read the
  // answer: stop sending, then drain what it still sends (bounded in bytes and time).
  void linger(tcp::socket& socket, Registry::Entry* entry) {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    registry.set_deadline(entry, Clock::now() + std::min(std::chrono::milliseconds(options.idle_timeout_ms), std::chrono::milliseconds(2000)));
    std::array<char, 16384> sink;
    size_t drained = 0;
    while (drained < (64u << 20)) {
      size_t n = socket.read_some(asio::buffer(sink), ec);
      if (ec) break;
      drained += n;
    }
  }

  void serve(tcp::socket socket) {
    beast::error_code ec;
    std::string peer;
    auto endpoint = socket.remote_endpoint(ec);
    if (!ec) peer = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    Registry::Entry* entry = registry.add(socket.native_handle());
    beast::flat_buffer buffer;
    for (bool first = true; !stopping && await_request(socket, buffer, entry, first); first = false) {
      std::optional<EarlyAnswer> early;
      std::optional<http::request<http::string_body>> request = read_request(socket, buffer, entry, early);
      if (early) {
        if (!early->reason.empty()) reject(early->reason, "");
        Connection connection(socket, registry, entry, options.idle_timeout_ms, false);
        for (const auto& [name, value] : early->headers) connection.add_header(name, value);
        connection.send(early->status, early->body.empty() ? "" : "application/json", early->body);
        linger(socket, entry);
      }
      if (!request || !answer(socket, entry, *request, peer)) break;
      registry.set_busy(entry, false);
    }
    registry.remove(entry);  // before the close, so the janitor never sees a reused descriptor
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }
};

HttpServer::HttpServer(HttpOptions options, HttpHandler handler, RejectListener on_reject) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  impl_->on_reject = std::move(on_reject);
}

HttpServer::~HttpServer() {
  stop();
  if (impl_->janitor.joinable()) impl_->janitor.join();
}

void HttpServer::listen() {
  Impl& m = *impl_;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(m.options.host == "localhost" ? "127.0.0.1" : m.options.host, ec);
  if (ec) throw std::runtime_error("'" + m.options.host + "' is not an IP address");
  tcp::endpoint endpoint(address, static_cast<unsigned short>(m.options.port));
  m.acceptor.open(endpoint.protocol(), ec);
  if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(endpoint, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + m.options.host + ":" + std::to_string(m.options.port) + ": " + ec.message());
  port_ = m.acceptor.local_endpoint().port();
}

void HttpServer::run() {
  Impl& m = *impl_;
  // Deadlines still hold during a drain: the janitor runs until run() returns.
  m.janitor = std::thread([&m] {
    while (!m.finished) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      m.registry.expire(Clock::now());
    }
  });
  while (!m.stopping) {
    tcp::socket socket(m.io);
    boost::system::error_code ec;
    m.acceptor.accept(socket, ec);
    if (m.stopping) break;
    if (ec) {
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (m.threads >= m.options.max_connections) {
      m.reject("busy", "");
      std::string body = json_error("Too many connections; retry later", "server_error", "too_many_connections");
      std::string response = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body;
      asio::write(socket, asio::buffer(response), ec);
      socket.close(ec);
      continue;
    }
    ++m.threads;
    // The socket object is gone before the count drops, so nothing of this connection touches
    // the io_context once run() may return.
    auto owned = std::make_unique<tcp::socket>(std::move(socket));
    std::thread([&m, owned = std::move(owned)]() mutable {
      m.serve(std::move(*owned));
      owned.reset();
      std::lock_guard lock(m.threads_mutex);
      --m.threads;
      m.threads_done.notify_all();
    }).detach();
  }
  m.registry.wait_quiet();  // a drain: requests in flight finish (bounded)
  m.registry.shutdown_all();
  std::unique_lock lock(m.threads_mutex);
  m.threads_done.wait(lock, [&] { return m.threads == 0; });
  m.finished = true;
}

void HttpServer::Impl::stop_accepting() {
  if (stopping.exchange(true)) return;
  // Wakes a blocking accept() (close() from another thread would race it).
  ::shutdown(acceptor.native_handle(), SHUT_RDWR);
}

void HttpServer::stop() {
  impl_->registry.end_drain();
  impl_->stop_accepting();
  impl_->registry.shutdown_all();
}

void HttpServer::drain(std::chrono::milliseconds grace) {
  impl_->registry.start_drain(Clock::now() + grace);
  impl_->stop_accepting();
}

}  // namespace maskfill::serve
