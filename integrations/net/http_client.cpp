#include "integrations/net/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <variant>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace releasebot::integrations::net {

namespace {

using tls_stream = asio::ssl::stream<beast::tcp_stream>;
constexpr auto io_timeout = std::chrono::seconds{15};
constexpr std::size_t max_response_bytes = 4 * 1024 * 1024;

std::string origin_of(const endpoint& where) {
  return (where.tls ? "https://" : "http://") + where.host + ":" + where.port;
}

template <typename Stream>
asio::awaitable<http::response<http::string_body>> exchange(Stream& stream, beast::flat_buffer& buffer,
                                                             http::request<http::string_body>& request) {
  beast::get_lowest_layer(stream).expires_after(io_timeout);
  co_await http::async_write(stream, request, asio::use_awaitable);
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_response_bytes);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  co_return parser.release();
}

}  // namespace

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body += '&';
    body += boost::urls::encode(name, boost::urls::unreserved_chars) + '=' +
            boost::urls::encode(value, boost::urls::unreserved_chars);
  }
  return body;
}

struct http_client::connection {
  std::variant<std::monostate, beast::tcp_stream, tls_stream> stream;
  beast::flat_buffer buffer;
  bool reused = false;
};

http_client::http_client(asio::any_io_executor executor, asio::ssl::context& tls)
    : executor_{std::move(executor)}, tls_{tls} {}

http_client::~http_client() = default;

asio::awaitable<std::unique_ptr<http_client::connection>> http_client::take_connection(const endpoint& where) {
  auto& idle = idle_[origin_of(where)];
  if (!idle.empty()) {
    auto reused = std::move(idle.back());
    idle.pop_back();
    reused->reused = true;
    co_return reused;
  }
  asio::ip::tcp::resolver resolver{executor_};
  const auto addresses = co_await resolver.async_resolve(where.host, where.port, asio::use_awaitable);
  auto fresh = std::make_unique<connection>();
  if (where.tls) {
    auto& stream = fresh->stream.emplace<tls_stream>(executor_, tls_);
    prepare_tls(stream, where.host);
    beast::get_lowest_layer(stream).expires_after(io_timeout);
    co_await beast::get_lowest_layer(stream).async_connect(addresses, asio::use_awaitable);
    beast::get_lowest_layer(stream).socket().set_option(asio::ip::tcp::no_delay{true});
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  } else {
    auto& stream = fresh->stream.emplace<beast::tcp_stream>(executor_);
    stream.expires_after(io_timeout);
    co_await stream.async_connect(addresses, asio::use_awaitable);
    stream.socket().set_option(asio::ip::tcp::no_delay{true});
  }
  co_return fresh;
}

asio::awaitable<http_result> http_client::request(http::verb method, std::string url,
                                                  std::vector<std::pair<std::string, std::string>> headers,
                                                  std::string body) {
  http_result result;
  const auto where = parse_endpoint(url);
  if (!where) {
    result.error = "'" + url + "' is not an http(s) URL";
    co_return result;
  }
  http::request<http::string_body> request{method, where->target, 11};
  request.set(http::field::host, where->host);
  request.set(http::field::user_agent, "releasebot");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::move(body);
  request.keep_alive(true);
  request.prepare_payload();

  http::response<http::string_body> response;
  for (int round = 0;; ++round) {
    std::unique_ptr<connection> conn;
    result.maybe_delivered = false;  // a kept-alive connection the server had closed took nothing
    try {
      conn = co_await take_connection(*where);
      result.maybe_delivered = true;
      if (auto* secure = std::get_if<tls_stream>(&conn->stream)) {
        response = co_await exchange(*secure, conn->buffer, request);
      } else {
        response = co_await exchange(std::get<beast::tcp_stream>(conn->stream), conn->buffer, request);
      }
    } catch (const boost::system::system_error& error) {
      // A kept-alive connection the server closed meanwhile: one fresh try before it counts.
      if (conn && conn->reused && round == 0) continue;
      result.error = "cannot reach " + where->host + ":" + where->port + ": " + error.code().message();
      co_return result;
    }
    if (response.keep_alive() && reuse_) idle_[origin_of(*where)].push_back(std::move(conn));
    break;
  }
  result.reached = true;
  result.maybe_delivered = true;
  result.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    std::string name{field.name_string()};
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    result.headers[name] = std::string{field.value()};
  }
  result.body = std::move(response.body());
  co_return result;
}

}  // namespace releasebot::integrations::net
