#include "serve/http_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <array>
#include <deque>
#include <future>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

#include "serve/http_framing.h"

namespace maskfill::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

namespace {

// Threads for handlers, started on demand up to a bound and ended after a while idle: a handler
// blocks (inference, a stream), so it never runs on an io thread. Jobs past the bound wait.
class WorkerPool {
 public:
  explicit WorkerPool(size_t max_threads) : max_(std::max<size_t>(1, max_threads)) {}
  ~WorkerPool() { join(); }

  void post(std::function<void()> job) {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    if (jobs_.size() > idle_ && threads_ < max_) {
      ++threads_;
      std::thread([this] { work(); }).detach();
    }
    ready_.notify_one();
  }

  // Runs what is queued, then waits for every thread to end.
  void join() {
    std::unique_lock lock(mutex_);
    closing_ = true;
    ready_.notify_all();
    done_.wait(lock, [&] { return threads_ == 0; });
  }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ++idle_;
      ready_.wait_for(lock, std::chrono::seconds(10), [&] { return !jobs_.empty() || closing_; });
      --idle_;
      if (jobs_.empty()) break;  // idle too long, or closing with nothing left
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      job = nullptr;  // its captures (a connection) go before the lock is taken again
      lock.lock();
    }
    if (--threads_ == 0) done_.notify_all();
  }

  const size_t max_;
  std::mutex mutex_;
  std::condition_variable ready_, done_;
  std::deque<std::function<void()>> jobs_;
  size_t threads_ = 0, idle_ = 0;
  bool closing_ = false;
};

http::response<http::string_body> make_response(int status, const std::string& content_type, const std::string& body,
                                                const Headers& headers, bool keep_alive) {
  http::response<http::string_body> response{static_cast<http::status>(status), 11};
  response.set(http::field::server, "maskfill");
  if (!content_type.empty()) response.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) response.set(name, value);
  response.keep_alive(keep_alive);
  response.body() = body;
  response.prepare_payload();
  return response;
}

class Session;

}  // namespace

struct HttpServer::Impl {
  HttpOptions options;
  HttpHandler handler;
  RejectListener on_reject;
  asio::io_context io;
  tcp::acceptor acceptor{asio::make_strand(io)};
  asio::steady_timer accept_pause{acceptor.get_executor()};
  std::unique_ptr<WorkerPool> workers;
  int max_connections = 0;  // in force (HttpOptions, lowered to the open-file limit)
  int spare_fd = -1;        // closed for a moment to refuse a client when out of descriptors
  Clock::time_point last_fd_warning;
  std::atomic<bool> stopping{false};  // no more accepts, no new requests

  std::mutex mutex;  // guards what follows
  std::condition_variable changed;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::unordered_map<std::string, int> per_ip;
  int active = 0;  // requests being read or answered (a drain waits for them)
  Clock::time_point drain_until = Clock::time_point::min();  // min: stop without draining

  FramingPolicy policy() const {
    return {options.max_body, options.api_key, options.public_paths, options.cors_origins, stopping.load()};
  }
  void reject(const std::string& reason) {
    if (on_reject) on_reject(reason, "");
  }
  void set_active(bool begin) {
    std::lock_guard lock(mutex);
    active += begin ? 1 : -1;
    if (!begin) changed.notify_all();
  }
  void session_ended(Session* session, const std::string& ip) {
    std::lock_guard lock(mutex);
    sessions.erase(session);
    if (--per_ip[ip] <= 0) per_ip.erase(ip);
    changed.notify_all();
  }

  void accept();
  void on_accept(const beast::error_code& ec, tcp::socket socket);
  void out_of_descriptors();
  void admit(tcp::socket socket);
  void refuse(tcp::socket socket, const std::string& message);
  void close_all();
};

namespace {

// One connection, driven by completion handlers on its strand: wait for a request, read its
// head within the header timeout, judge it (http_framing), read its body within the idle
// timeout, run the handler on a worker, then wait for the next request or close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl& server, tcp::socket socket, std::string ip, std::string peer)
      : server_(server), stream_(std::move(socket)), ip_(std::move(ip)), peer_(std::move(peer)) {}
  ~Session() {
    if (busy_) server_.set_active(false);
    server_.session_ended(this, ip_);
  }

  void start() { await_request(); }

  // From close_all: ends a connection whatever it is doing (a handler's writes then fail).
  void shut() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.cancel();
  }

  // A write (or other socket work) started on the strand, awaited by a handler's worker thread.
  template <class Start>
  beast::error_code blocking(Start start) {
    // Shared: the worker may wake and return while set_value is still finishing.
    auto done = std::make_shared<std::promise<beast::error_code>>();
    auto future = done->get_future();
    asio::post(stream_.get_executor(), [this, &start, done] {
      stream_.expires_after(idle_timeout());
      start([this, done](beast::error_code ec) {
        stream_.expires_never();
        done->set_value(ec);
      });
    });
    return future.get();
  }
  template <class Query>
  auto on_strand(Query query) {
    auto task = std::make_shared<std::packaged_task<std::invoke_result_t<Query>()>>(std::move(query));
    auto future = task->get_future();
    asio::post(stream_.get_executor(), [task] { (*task)(); });
    return future.get();
  }

  beast::tcp_stream& stream() { return stream_; }
  HttpServer::Impl& server() { return server_; }
  std::chrono::milliseconds idle_timeout() const { return std::chrono::milliseconds(server_.options.idle_timeout_ms); }
  bool stopping() const { return server_.stopping; }

 private:
  std::chrono::milliseconds header_timeout() const { return std::chrono::milliseconds(server_.options.header_timeout_ms); }

  void set_busy(bool busy) {
    if (busy == busy_) return;
    busy_ = busy;
    server_.set_active(busy);
  }

  // A request's first byte: on a fresh connection within the header timeout (one that sends
  // nothing holds a slot as much as one that trickles), on a kept-alive one the idle timeout.
  // The buffer is small while waiting, so an idle connection costs little.
  void await_request() {
    if (buffer_.size() > 0) return read_header();
    buffer_.shrink_to_fit();
    stream_.expires_after(first_ ? header_timeout() : idle_timeout());
    stream_.async_read_some(buffer_.prepare(1024), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->close();
      self->buffer_.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    parser_.emplace();
    prepare_parser(*parser_);
    stream_.expires_after(header_timeout());
    http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    stream_.expires_never();
    if (ec) return fail(ec);
    set_busy(true);  // a drain waits for this request
    if (auto early = judge_head(*parser_, server_.policy())) return answer_early(std::move(*early));
    prepare_body(*parser_, server_.options.max_body);
    // curl and others wait (about a second) for this before sending a large body.
    if (!parser_->is_done() && beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(idle_timeout());
      asio::async_write(stream_, asio::buffer(kContinue), [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return dispatch();
    stream_.expires_after(idle_timeout());
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->stream_.expires_never();
      if (ec) return self->fail(ec);
      self->dispatch();
    });
  }

  // A read that failed: a malformed or oversized request is answered, a closed, reset or
  // timed-out connection just ends.
  void fail(const beast::error_code& ec) {
    if (auto early = answer_read_error(ec, server_.options.max_body)) return answer_early(std::move(*early));
    close();
  }

  void dispatch();

  // An answer from the head alone (or a read error); then the connection ends.
  void answer_early(EarlyAnswer early) {
    if (!early.reason.empty()) server_.reject(early.reason);
    auto response = std::make_shared<http::response<http::string_body>>(
        make_response(early.status, early.body.empty() ? "" : "application/json", early.body, early.headers, false));
    stream_.expires_after(idle_timeout());
    http::async_write(stream_, *response, [self = shared_from_this(), response](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->linger();
    });
  }

  // Closing with unread request bytes would reset the connection before the client read the
  // answer: stop sending, then drain what it still sends (bounded in bytes and time).
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::min(idle_timeout(), std::chrono::milliseconds(2000)));
    sink_ = std::make_unique<std::array<char, 16384>>();
    drain_input(0);
  }
  void drain_input(size_t drained) {
    if (drained >= (64u << 20)) return close();
    stream_.async_read_some(asio::buffer(*sink_), [self = shared_from_this(), drained](beast::error_code ec, size_t n) {
      if (ec) return self->close();
      self->drain_input(drained + n);
    });
  }

 public:
  // On the strand, once the handler returned.
  void answered(bool keep_alive) {
    set_busy(false);
    if (!keep_alive || stopping()) return close();
    first_ = false;
    await_request();
  }

  void close() {
    beast::error_code ec;
    stream_.expires_never();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    set_busy(false);
  }

 private:
  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::unique_ptr<std::array<char, 16384>> sink_;  // only while lingering
  std::string ip_, peer_;
  bool first_ = true, busy_ = false;

 public:
  const std::string& peer() const { return peer_; }
};

// HttpResponder for a handler on a worker thread: each write is started on the connection's
// strand and awaited, so a slow client slows its own handler and no io thread.
class Responder final : public HttpResponder {
 public:
  Responder(std::shared_ptr<Session> session, bool keep_alive, bool interim_ok, Headers headers)
      : session_(std::move(session)), keep_alive_(keep_alive), interim_ok_(interim_ok), headers_(std::move(headers)) {}

  void send(int status, const std::string& content_type, const std::string& body) override {
    if (answered_) return;
    answered_ = true;
    status_ = status;
    auto response = make_response(status, content_type, body, headers_, keep_alive());
    finish(session_->blocking([&](auto done) {
      http::async_write(session_->stream(), response, [done](beast::error_code ec, size_t) { done(ec); });
    }));
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
    finish(session_->blocking([&](auto done) {
      http::async_write_header(session_->stream(), serializer, [done](beast::error_code ec, size_t) { done(ec); });
    }));
    return !broken_;
  }

  bool send_event(const std::string& data) override {
    if (broken_) return false;
    write_chunk("data: " + data + "\n\n");
    return !broken_;
  }

  void end_events() override {
    if (broken_ || !streaming_) return;
    finish(session_->blocking([&](auto done) {
      asio::async_write(session_->stream(), http::make_chunk_last(), [done](beast::error_code ec, size_t) { done(ec); });
    }));
    streaming_ = false;
  }

  // The peer's FIN alone does not say it is gone: a client may half-close (shutdown(SHUT_WR))
  // after its request and still read the answer. So the first FIN is answered with a probe the
  // client ignores; a peer that closed its socket answers the probe with a reset, which the next
  // call sees (POLLERR / POLLHUP), while a half-closed one reads on and is served.
  bool client_gone() override {
    if (broken_) return true;
    // On the strand: the socket is never polled while another thread closes it.
    short revents = session_->on_strand([this]() -> short {
      auto& socket = session_->stream().socket();
      if (!socket.is_open()) return POLLHUP;
      pollfd p{socket.native_handle(), POLLIN | POLLRDHUP, 0};
      return ::poll(&p, 1, 0) > 0 ? p.revents : 0;
    });
    if (revents & (POLLHUP | POLLERR | POLLNVAL))
      broken_ = true;
    else if ((revents & POLLRDHUP) && !probed_)
      probe();
    return broken_;
  }

  bool answered() const { return answered_; }
  bool broken() const { return broken_; }
  bool streaming() const { return streaming_; }

 private:
  // An SSE comment inside a stream; before the answer, an interim 100 Continue, which HTTP/1.1
  // clients must accept at any time. HTTP/1.0 has no interim answers: its FIN means gone.
  void probe() {
    probed_ = true;
    if (streaming_) {
      write_chunk(":\n\n");
    } else if (!answered_ && interim_ok_) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      finish(session_->blocking([&](auto done) {
        asio::async_write(session_->stream(), asio::buffer(kContinue), [done](beast::error_code ec, size_t) { done(ec); });
      }));
    } else {
      broken_ = true;
    }
  }

  void write_chunk(const std::string& frame) {
    finish(session_->blocking([&](auto done) {
      asio::async_write(session_->stream(), http::make_chunk(asio::buffer(frame)), [done](beast::error_code ec, size_t) { done(ec); });
    }));
  }

  void finish(const beast::error_code& ec) {
    if (ec) broken_ = true;
  }
  bool keep_alive() const { return keep_alive_ && !session_->stopping(); }

  std::shared_ptr<Session> session_;
  bool keep_alive_, interim_ok_;
  Headers headers_;  // on every answer (CORS)
  bool answered_ = false, broken_ = false, streaming_ = false, probed_ = false;
  int status_ = 0;
};

// On a worker: the handler, then a fallback answer; the connection goes on on its strand.
void run_handler(const std::shared_ptr<Session>& session, http::request<http::string_body>& request) {
  HttpServer::Impl& server = session->server();
  bool keep_alive = request.keep_alive() && !server.stopping;
  Responder responder(session, keep_alive, request.version() >= 11, cors_headers(request, server.options.cors_origins));
  HttpRequest r{std::string(request.method_string()), std::string(request.target()), std::move(request.body()), session->peer()};
  try {
    server.handler(r, responder);
  } catch (const std::exception& e) {
    spdlog::error("serve: {} {}: {}", r.method, r.target, e.what());
  }
  // A handler that left without answering saw its client go; else it is a bug.
  if (!responder.answered() && !responder.client_gone())
    responder.send(500, "application/json", json_error("internal error", "server_error"));
  else if (responder.streaming())
    responder.end_events();
  bool keep = keep_alive && !responder.broken();
  asio::post(session->stream().get_executor(), [session, keep] { session->answered(keep); });
}

void Session::dispatch() {
  auto request = std::make_shared<http::request<http::string_body>>(parser_->release());
  parser_.reset();
  server_.workers->post([self = shared_from_this(), request] { run_handler(self, *request); });
}

// The soft open-file limit, or 0 when unknown.
long open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return long(limit.rlim_cur);
}

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void HttpServer::Impl::on_accept(const beast::error_code& ec, tcp::socket socket) {
  if (stopping || ec == asio::error::operation_aborted) return;
  if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) return out_of_descriptors();
  if (!ec) admit(std::move(socket));
  accept();
}

// Out of file descriptors: the waiting client is told so (through a descriptor kept spare for
// this), and accepting pauses a moment instead of failing in a loop.
void HttpServer::Impl::out_of_descriptors() {
  if (Clock::now() - last_fd_warning > std::chrono::seconds(5)) {
    last_fd_warning = Clock::now();
    spdlog::warn("serve: out of file descriptors (ulimit -n {}, {} connections open): refusing new connections", open_file_limit(),
                 [&] { std::lock_guard lock(mutex); return sessions.size(); }());
  }
  if (spare_fd >= 0) {
    ::close(spare_fd);
    int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      std::string answer = busy_response("The server is out of file descriptors; retry later");
      [[maybe_unused]] ssize_t n = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      reject("busy");
    }
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  accept_pause.expires_after(std::chrono::milliseconds(50));
  accept_pause.async_wait([this](beast::error_code ec) {
    if (!ec && !stopping) accept();
  });
}

void HttpServer::Impl::admit(tcp::socket socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  socket.set_option(tcp::no_delay(true), ec);
  std::string ip = endpoint.address().to_string();
  std::string peer = ip + ":" + std::to_string(endpoint.port());
  std::string refusal;
  std::shared_ptr<Session> session;
  {
    // One lock for the caps, the count and the stop check: close_all() sees every session.
    std::lock_guard lock(mutex);
    if (int(sessions.size()) >= max_connections)
      refusal = "Too many connections; retry later";
    else if (auto it = per_ip.find(ip); it != per_ip.end() && it->second >= options.max_connections_per_ip)
      refusal = "Too many connections from " + ip + " (at most " + std::to_string(options.max_connections_per_ip) +
                " per address, --max-connections-per-ip); retry later";
    if (refusal.empty() && !stopping) {
      ++per_ip[ip];
      session = std::make_shared<Session>(*this, std::move(socket), ip, peer);
      sessions.emplace(session.get(), session);
    }
  }
  if (!refusal.empty()) return refuse(std::move(socket), refusal);
  if (session) asio::post(session->stream().get_executor(), [session] { session->start(); });
}

void HttpServer::Impl::refuse(tcp::socket socket, const std::string& message) {
  reject("busy");
  auto owned = std::make_shared<tcp::socket>(std::move(socket));
  auto answer = std::make_shared<std::string>(busy_response(message));
  asio::async_write(*owned, asio::buffer(*answer), [owned, answer](beast::error_code, size_t) {
    beast::error_code ec;
    owned->shutdown(tcp::socket::shutdown_both, ec);
    owned->close(ec);
  });
}

void HttpServer::Impl::close_all() {
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(mutex);
    for (auto& [raw, weak] : sessions)
      if (auto session = weak.lock()) open.push_back(std::move(session));
  }
  for (auto& session : open) asio::post(session->stream().get_executor(), [session] { session->shut(); });
}

HttpServer::HttpServer(HttpOptions options, HttpHandler handler, RejectListener on_reject) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  impl_->on_reject = std::move(on_reject);
  impl_->workers = std::make_unique<WorkerPool>(size_t(std::max(1, impl_->options.max_handlers)));
}

HttpServer::~HttpServer() {
  stop();
  if (impl_->spare_fd >= 0) ::close(impl_->spare_fd);
}

int HttpServer::max_connections() const { return impl_->max_connections; }

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
  // Each connection is a descriptor; the model, logs and the engine need some too.
  m.max_connections = std::max(1, m.options.max_connections);
  if (long limit = open_file_limit(); limit > 0 && m.max_connections > limit - 128) {
    int usable = int(std::max(1L, limit - 128));
    spdlog::warn("serve: --max-connections {} is more than the open-file limit allows (ulimit -n {}): at most {} connections",
                 m.max_connections, limit, usable);
    m.max_connections = usable;
  }
  m.spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void HttpServer::run() {
  Impl& m = *impl_;
  auto guard = asio::make_work_guard(m.io);  // io threads run until every connection has ended
  std::vector<std::thread> io_threads;
  for (int i = 0; i < std::max(1, m.options.io_threads); ++i) io_threads.emplace_back([&m] { m.io.run(); });
  asio::post(m.acceptor.get_executor(), [&m] {
    if (!m.stopping) m.accept();
  });
  {
    std::unique_lock lock(m.mutex);
    m.changed.wait(lock, [&] { return m.stopping.load(); });
    // A drain: requests in flight finish, for at most the grace (stop() ends it now).
    m.changed.wait_until(lock, m.drain_until, [&] { return m.active == 0 || Clock::now() >= m.drain_until; });
  }
  m.close_all();
  {
    std::unique_lock lock(m.mutex);
    m.changed.wait(lock, [&] { return m.sessions.empty(); });
  }
  guard.reset();
  m.io.stop();
  for (auto& thread : io_threads) thread.join();
  m.workers->join();
}

void HttpServer::stop() { drain(std::chrono::milliseconds(0)); }

void HttpServer::drain(std::chrono::milliseconds grace) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mutex);
    auto until = Clock::now() + grace;
    // A second call (stop() during a drain) only ever shortens the wait.
    if (!m.stopping || until < m.drain_until) m.drain_until = until;
    m.stopping = true;
    m.changed.notify_all();
  }
  asio::post(m.acceptor.get_executor(), [&m] {
    beast::error_code ec;
    m.acceptor.close(ec);
    m.accept_pause.cancel();
  });
}

}  // namespace maskfill::serve
