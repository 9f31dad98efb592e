// A small HTTP/1.1 server on Beast for the bot's endpoints: keep-alive, a read timeout on every
// request, header and body size limits (413), and one handler for every request.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace releasebot::integrations::net {

struct server_request {
  std::string method;  // "POST"
  std::string target;  // "/api/messages"
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

struct server_response {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
};

struct server_limits {
  std::size_t max_body_bytes = 256 * 1024;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds idle_timeout{60};
};

class http_server {
public:
  using handler = std::function<boost::asio::awaitable<server_response>(server_request)>;

  // Binds now (throws a std::runtime_error naming the address when it cannot).
  http_server(boost::asio::any_io_executor executor, const std::string& listen_address, handler on_request,
              server_limits limits = {});
  ~http_server();

  boost::asio::awaitable<void> run();  // accepts until stop()
  void stop();
  unsigned short port() const;  // the bound port (useful with port 0)

private:
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::any_io_executor executor_;
  boost::asio::ip::tcp::acceptor acceptor_;
  handler on_request_;
  server_limits limits_;
  bool stopping_ = false;
};

}  // namespace releasebot::integrations::net
