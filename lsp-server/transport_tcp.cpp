#include <utility>  // before asio: Boost 1.74 uses std::exchange without including it

#include <boost/asio.hpp>
#include <charconv>
#include <stdexcept>

#include "lsp-server/transport.h"

namespace maskfill::lsp {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class TcpTransport : public Transport {
 public:
  TcpTransport(std::unique_ptr<asio::io_context> context, tcp::socket socket)
      : context_(std::move(context)), socket_(std::move(socket)) {}

  size_t read_some(char* buffer, size_t capacity) override {
    boost::system::error_code error;
    size_t n = socket_.read_some(asio::buffer(buffer, capacity), error);
    return error ? 0 : n;  // eof, reset: the session ends
  }

  void write(std::string_view bytes) override {
    boost::system::error_code error;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), error);
    if (error) throw std::runtime_error("writing to the socket: " + error.message());
  }

 private:
  std::unique_ptr<asio::io_context> context_;
  tcp::socket socket_;
};

asio::ip::address resolve_address(const std::string& host) {
  if (host == "localhost") return asio::ip::address_v4::loopback();
  boost::system::error_code error;
  asio::ip::address address = asio::ip::make_address(host, error);
  if (error) throw std::invalid_argument("'" + host + "' is not an IP address (use 127.0.0.1 or ::1)");
  return address;
}

}  // namespace

ListenOptions parse_listen_address(const std::string& text) {
  ListenOptions options;
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    throw std::invalid_argument("--listen expects HOST:PORT, e.g. 127.0.0.1:7000; got '" + text + "'");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string_view port = std::string_view(text).substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535)
    throw std::invalid_argument("invalid port '" + std::string(port) + "' in --listen");
  options.address = host.empty() ? "127.0.0.1" : host;
  options.port = static_cast<unsigned short>(value);
  return options;
}

std::unique_ptr<Transport> accept_tcp_client(const ListenOptions& options,
                                             const std::function<void(const std::string&)>& on_listening) {
  asio::ip::address address = resolve_address(options.address);
  if (!address.is_loopback() && !options.allow_remote)
    throw std::runtime_error("refusing to listen on non-loopback address " + address.to_string() +
                             " (the protocol has no authentication); pass --allow-remote to override");
  auto context = std::make_unique<asio::io_context>();
  tcp::acceptor acceptor(*context, tcp::endpoint(address, options.port));
  tcp::endpoint bound = acceptor.local_endpoint();
  std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  on_listening(host + ":" + std::to_string(bound.port()));
  tcp::socket socket(*context);
  acceptor.accept(socket);
  socket.set_option(tcp::no_delay(true));
  return std::make_unique<TcpTransport>(std::move(context), std::move(socket));
}

}  // namespace maskfill::lsp
