// A small HTTP(S) client on Beast: keep-alive connections per origin, timeouts, response size
// limits, peer verification. It reports what happened; deciding what to retry is the caller's.
#pragma once

#include "integrations/net/https_endpoint.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace releasebot::integrations::net {

struct http_result {
  bool reached = false;   // false: no HTTP answer (DNS, connect, TLS, timeout, reset)
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string error;      // why it was not reached
  // Not reached, but the request had started going out: the server may have acted on it.
  bool maybe_delivered = false;
};

class http_client {
public:
  http_client(boost::asio::any_io_executor executor, boost::asio::ssl::context& tls);
  ~http_client();

  // false: every request on a fresh connection, so that none is ever sent twice by the retry on a
  // kept-alive connection the server had closed (for requests that must not repeat: a pipeline start).
  void reuse_connections(bool reuse) { reuse_ = reuse; }

  boost::asio::awaitable<http_result> request(boost::beast::http::verb method, std::string url,
                                              std::vector<std::pair<std::string, std::string>> headers,
                                              std::string body = {});

private:
  struct connection;
  boost::asio::awaitable<std::unique_ptr<connection>> take_connection(const endpoint& where);

  boost::asio::any_io_executor executor_;
  boost::asio::ssl::context& tls_;
  std::map<std::string, std::vector<std::unique_ptr<connection>>> idle_;  // origin → idle connections
  bool reuse_ = true;
};

// application/x-www-form-urlencoded encoding of name/value pairs.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace releasebot::integrations::net
