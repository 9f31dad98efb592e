// The bot's one HTTP/1.1 server on Beast, plain or TLS (certificate reloadable), with a router
// that each part of the bot registers its routes on: per-route body limits and read timeouts,
// 404 for unknown paths, 405 with Allow for wrong methods, keep-alive with an idle timeout.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace releasebot::integrations::net {

struct server_request {
  std::string method;  // "POST"
  std::string target;  // "/api/messages?x=1", as sent
  std::string path;    // "/api/messages"
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::chrono::steady_clock::time_point received{};  // when its header had arrived
};

struct server_response {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

server_response plain_response(int status, std::string text);
server_response json_response(int status, const nlohmann::json& body);

struct route_limits {
  std::size_t max_body_bytes = 256 * 1024;
  std::chrono::milliseconds read_timeout{10'000};  // header and body of one request
};

class http_router {
public:
  using handler = std::function<boost::asio::awaitable<server_response>(server_request)>;

  // `path` is matched exactly, or as a prefix when it ends with "/*" ("/hooks/*" takes
  // "/hooks/github"). Registering the same method and path twice throws std::logic_error.
  void add(std::string method, std::string path, handler on_request, route_limits limits = {});

  struct route {
    std::string method;
    std::string path;
    handler on_request;
    route_limits limits;
  };
  struct lookup {
    const route* found = nullptr;  // the route for this method and path
    std::string allow;             // the path is known for these methods only (405), else empty (404)
    route_limits limits;           // what to read the body with (the path's most generous, on a miss)
  };
  lookup find(std::string_view method, std::string_view path) const;
  bool empty() const { return routes_.empty(); }

private:
  std::vector<route> routes_;
};

struct server_settings {
  std::string listen = "127.0.0.1:3978";
  std::filesystem::path tls_certificate;  // both set: HTTPS; both empty: plain HTTP
  std::filesystem::path tls_private_key;
  std::chrono::milliseconds idle_timeout{60'000};       // keep-alive connection with no request
  std::chrono::milliseconds handshake_timeout{10'000};  // TLS
  std::size_t max_header_bytes = 16 * 1024;
};

class http_server {
public:
  // Binds now and loads the certificate (throws a std::runtime_error naming the address or the
  // file when it cannot).
  http_server(boost::asio::any_io_executor executor, server_settings settings, const http_router& routes);
  ~http_server();

  boost::asio::awaitable<void> run();  // accepts until stop()
  void stop();
  unsigned short port() const;  // the bound port (useful with port 0)
  bool tls() const { return tls_ != nullptr; }
  // Reads the certificate and key again (SIGHUP); on failure keeps the old ones and says why.
  std::string reload_tls();

private:
  template <typename Stream>
  boost::asio::awaitable<void> serve(Stream& stream);
  boost::asio::awaitable<void> serve_plain(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<void> serve_tls(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<server_response> answer(server_request request, const http_router::route& route);

  boost::asio::any_io_executor executor_;
  server_settings settings_;
  const http_router& routes_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // connections keep the one they started with
  bool stopping_ = false;
  std::set<boost::beast::tcp_stream*> idle_connections_;  // waiting for a next request
};

// Parses "host:port" ("[::1]:3978"); throws std::runtime_error with the fix.
boost::asio::ip::tcp::endpoint parse_listen_address(const std::string& address);

}  // namespace releasebot::integrations::net
