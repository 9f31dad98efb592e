#include "integrations/slack/web_api.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <spdlog/spdlog.h>

#include <random>
#include <variant>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace releasebot::integrations::slack {

namespace {

using tls_stream = asio::ssl::stream<beast::tcp_stream>;
constexpr auto io_timeout = std::chrono::seconds{15};
constexpr std::size_t max_response_bytes = 4 * 1024 * 1024;

std::string form_encode(const nlohmann::json& arguments) {
  std::string body;
  for (const auto& [key, value] : arguments.items()) {
    if (!body.empty()) body += '&';
    const auto text = value.is_string() ? value.get<std::string>() : value.dump();
    body += boost::urls::encode(key, boost::urls::unreserved_chars) + '=' +
            boost::urls::encode(text, boost::urls::unreserved_chars);
  }
  return body;
}

std::chrono::milliseconds backoff(int attempt) {
  static thread_local std::mt19937 random{std::random_device{}()};
  const auto ceiling = std::chrono::milliseconds{500} * (1 << std::min(attempt, 5));
  std::uniform_int_distribution<long> jitter{ceiling.count() / 2, ceiling.count()};
  return std::chrono::milliseconds{jitter(random)};
}

api_result failure(const std::string& method, std::string code, std::string detail, bool retryable) {
  api_result result;
  result.error_code = std::move(code);
  result.error = method + ": " + (detail.empty() ? result.error_code : detail);
  result.retryable = retryable;
  return result;
}

}  // namespace

struct web_api::connection {
  std::variant<std::monostate, beast::tcp_stream, tls_stream> stream;
  beast::flat_buffer buffer;
  bool reused = false;
};

web_api::web_api(asio::any_io_executor executor, asio::ssl::context& tls, std::string base_url, std::string token)
    : executor_{std::move(executor)},
      tls_{tls},
      base_url_{std::move(base_url)},
      token_{std::move(token)},
      endpoint_{net::parse_endpoint(base_url_)} {
  if (endpoint_ && !endpoint_->target.ends_with('/')) endpoint_->target += '/';
}

web_api::~web_api() = default;

asio::awaitable<std::unique_ptr<web_api::connection>> web_api::take_connection() {
  if (!idle_.empty()) {
    auto reused = std::move(idle_.back());
    idle_.pop_back();
    reused->reused = true;
    co_return reused;
  }
  asio::ip::tcp::resolver resolver{executor_};
  const auto addresses = co_await resolver.async_resolve(endpoint_->host, endpoint_->port, asio::use_awaitable);
  auto fresh = std::make_unique<connection>();
  if (endpoint_->tls) {
    fresh->stream.emplace<tls_stream>(executor_, tls_);
    auto& stream = std::get<tls_stream>(fresh->stream);
    net::prepare_tls(stream, endpoint_->host);
    beast::get_lowest_layer(stream).expires_after(io_timeout);
    co_await beast::get_lowest_layer(stream).async_connect(addresses, asio::use_awaitable);
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  } else {
    fresh->stream.emplace<beast::tcp_stream>(executor_);
    auto& stream = std::get<beast::tcp_stream>(fresh->stream);
    stream.expires_after(io_timeout);
    co_await stream.async_connect(addresses, asio::use_awaitable);
  }
  co_return fresh;
}

namespace {

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

asio::awaitable<api_result> web_api::call_once(std::string method, const nlohmann::json& arguments, bool form,
                                               std::chrono::seconds& retry_after) {
  retry_after = std::chrono::seconds{0};
  if (!endpoint_) co_return failure(method, "bad_url", "the Web API URL " + base_url_ + " is not a URL", false);
  http::request<http::string_body> request{http::verb::post, endpoint_->target + method, 11};
  request.set(http::field::host, endpoint_->host);
  request.set(http::field::user_agent, "releasebot");
  request.set(http::field::authorization, "Bearer " + token_);
  request.set(http::field::content_type,
              form ? "application/x-www-form-urlencoded" : "application/json; charset=utf-8");
  request.body() = form ? form_encode(arguments) : arguments.dump();
  request.keep_alive(true);
  request.prepare_payload();

  http::response<http::string_body> response;
  for (int round = 0;; ++round) {
    std::unique_ptr<connection> conn;
    try {
      conn = co_await take_connection();
      if (auto* secure = std::get_if<tls_stream>(&conn->stream)) {
        response = co_await exchange(*secure, conn->buffer, request);
      } else {
        response = co_await exchange(std::get<beast::tcp_stream>(conn->stream), conn->buffer, request);
      }
    } catch (const boost::system::system_error& error) {
      // A kept-alive connection the server closed meanwhile: one fresh try before it counts.
      if (conn && conn->reused && round == 0) continue;
      co_return failure(method, "network", "cannot reach " + endpoint_->host + ": " + error.code().message(), true);
    }
    ++calls_made_;
    if (response.keep_alive()) idle_.push_back(std::move(conn));
    break;
  }

  const auto status = response.result_int();
  if (status == 429) {
    long seconds = 1;
    if (const auto header = response.find(http::field::retry_after); header != response.end()) {
      try {
        seconds = std::max(0L, std::stol(std::string{header->value()}));
      } catch (const std::exception&) {
        seconds = 1;
      }
    }
    retry_after = std::chrono::seconds{std::min(seconds, 300L)};
    co_return failure(method, "ratelimited", "rate limited, retry after " + std::to_string(seconds) + " s", true);
  }
  if (status >= 500) co_return failure(method, "http_" + std::to_string(status), "HTTP " + std::to_string(status), true);
  if (status != 200) co_return failure(method, "http_" + std::to_string(status), "HTTP " + std::to_string(status), false);
  api_result result;
  try {
    result.body = nlohmann::json::parse(response.body());
  } catch (const nlohmann::json::exception&) {
    co_return failure(method, "bad_json", "the answer is not JSON", true);
  }
  result.ok = result.body.is_object() && result.body.value("ok", false);
  if (!result.ok) {
    result.error_code = result.body.is_object() ? result.body.value("error", std::string{"unknown_error"}) : "bad_json";
    result.error = method + ": " + result.error_code;
    result.retryable = result.error_code == "ratelimited" || result.error_code == "internal_error" ||
                       result.error_code == "fatal_error" || result.error_code == "service_unavailable";
  }
  co_return result;
}

asio::awaitable<api_result> web_api::call(std::string method, nlohmann::json arguments, bool form, int attempts) {
  api_result result;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    std::chrono::seconds retry_after{0};
    result = co_await call_once(method, arguments, form, retry_after);
    if (result.ok || !result.retryable || attempt + 1 == attempts) break;
    const auto wait = retry_after.count() > 0 ? std::chrono::duration_cast<std::chrono::milliseconds>(retry_after)
                                              : backoff(attempt);
    spdlog::warn("slack {} — retrying in {} ms", result.error, wait.count());
    asio::steady_timer timer{executor_, wait};
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return result;
}

}  // namespace releasebot::integrations::slack
