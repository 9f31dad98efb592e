#include "integrations/net/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace releasebot::integrations::net {

namespace {

asio::ip::tcp::endpoint parse_listen(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error{"listen address '" + address + "' needs host:port"};
  boost::system::error_code error;
  auto host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const auto ip = asio::ip::make_address(host, error);
  int port = -1;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (error || port < 0 || port > 65535) {
    throw std::runtime_error{"listen address '" + address + "' is not an IP address and port, like 127.0.0.1:3978"};
  }
  return {ip, static_cast<unsigned short>(port)};
}

server_response plain(int status, std::string text) {
  return {status, "text/plain; charset=utf-8", std::move(text)};
}

}  // namespace

http_server::http_server(asio::any_io_executor executor, const std::string& listen_address, handler on_request,
                         server_limits limits)
    : executor_{executor}, acceptor_{executor}, on_request_{std::move(on_request)}, limits_{limits} {
  const auto where = parse_listen(listen_address);
  try {
    acceptor_.open(where.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(where);
    acceptor_.listen();
  } catch (const boost::system::system_error& error) {
    throw std::runtime_error{"cannot listen on " + listen_address + ": " + error.code().message()};
  }
}

http_server::~http_server() = default;

unsigned short http_server::port() const { return acceptor_.local_endpoint().port(); }

void http_server::stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> http_server::run() {
  while (!stopping_) {
    auto [error, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (error) {
      if (stopping_ || error == asio::error::operation_aborted) break;
      spdlog::warn("http: accept failed: {}", error.message());
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay{true}, ignored);  // answers are single small writes
    asio::co_spawn(executor_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> http_server::serve(asio::ip::tcp::socket socket) {
  beast::tcp_stream stream{std::move(socket)};
  beast::flat_buffer buffer;
  while (!stopping_) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(limits_.max_body_bytes);
    stream.expires_after(limits_.read_timeout);
    auto [read_error, bytes] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)bytes;
    server_response response;
    bool keep_alive = false;
    if (read_error == http::error::body_limit) {
      response = plain(413, "request body too large");
    } else if (read_error == http::error::header_limit) {
      response = plain(431, "request headers too large");
    } else if (read_error) {
      break;  // closed, timed out, or not HTTP: nothing to answer
    } else {
      auto& message = parser.get();
      keep_alive = message.keep_alive();
      server_request request;
      request.method = std::string{message.method_string()};
      request.target = std::string{message.target()};
      for (const auto& field : message) {
        std::string name{field.name_string()};
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        request.headers[name] = std::string{field.value()};
      }
      request.body = std::move(message.body());
      try {
        response = co_await on_request_(std::move(request));
      } catch (const std::exception& failure) {
        spdlog::error("http: handler failed: {}", failure.what());
        response = plain(500, "internal error");
      }
    }
    http::response<http::string_body> answer{static_cast<http::status>(response.status), 11};
    answer.set(http::field::server, "releasebot");
    answer.set(http::field::content_type, response.content_type);
    answer.keep_alive(keep_alive);
    answer.body() = std::move(response.body);
    answer.prepare_payload();
    stream.expires_after(limits_.read_timeout);
    auto [write_error, written] = co_await http::async_write(stream, answer, asio::as_tuple(asio::use_awaitable));
    (void)written;
    if (write_error || !keep_alive) break;
    stream.expires_after(limits_.idle_timeout);
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

}  // namespace releasebot::integrations::net
