#include "integrations/slack/web_api.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <random>

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace releasebot::integrations::slack {

namespace {

std::string form_body(const nlohmann::json& arguments) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [key, value] : arguments.items()) {
    fields.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return net::form_encode(fields);
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

web_api::web_api(asio::any_io_executor executor, asio::ssl::context& tls, std::string base_url, std::string token)
    : executor_{executor}, http_{executor, tls}, base_url_{std::move(base_url)}, token_{std::move(token)} {
  if (!base_url_.ends_with('/')) base_url_ += '/';
}

web_api::~web_api() = default;

asio::awaitable<api_result> web_api::call_once(std::string method, const nlohmann::json& arguments, bool form,
                                               std::chrono::seconds& retry_after) {
  retry_after = std::chrono::seconds{0};
  // Built outside co_await: GCC 12 mishandles braced lists of string literals inside it.
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("Authorization", "Bearer " + token_);
  headers.emplace_back("Content-Type", form ? "application/x-www-form-urlencoded" : "application/json; charset=utf-8");
  auto url = base_url_ + method;
  auto body = form ? form_body(arguments) : arguments.dump();
  auto answer = co_await http_.request(http::verb::post, std::move(url), std::move(headers), std::move(body));
  if (!answer.reached) co_return failure(method, "network", answer.error, true);
  ++calls_made_;
  const auto status = answer.status;
  if (status == 429) {
    long seconds = 1;
    if (const auto header = answer.headers.find("retry-after"); header != answer.headers.end()) {
      try {
        seconds = std::max(0L, std::stol(header->second));
      } catch (const std::exception&) {
        seconds = 1;
      }
    }
    retry_after = std::chrono::seconds{std::min(seconds, 300L)};
    auto limited = failure(method, "ratelimited", "rate limited, retry after " + std::to_string(seconds) + " s", true);
    limited.retry_after = retry_after;
    co_return limited;
  }
  if (status >= 500) co_return failure(method, "http_" + std::to_string(status), "HTTP " + std::to_string(status), true);
  if (status != 200) co_return failure(method, "http_" + std::to_string(status), "HTTP " + std::to_string(status), false);
  api_result result;
  try {
    result.body = nlohmann::json::parse(answer.body);
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

asio::awaitable<api_result> web_api::call(std::string method, nlohmann::json arguments, bool form, int attempts,
                                          bool retry_unknown_outcome) {
  api_result result;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    std::chrono::seconds retry_after{0};
    result = co_await call_once(method, arguments, form, retry_after);
    if (result.ok || !result.retryable || attempt + 1 == attempts) break;
    if (!retry_unknown_outcome && result.error_code != "ratelimited") break;
    const auto wait = retry_after.count() > 0 ? std::chrono::duration_cast<std::chrono::milliseconds>(retry_after)
                                              : backoff(attempt);
    spdlog::warn("slack {} — retrying in {} ms", result.error, wait.count());
    asio::steady_timer timer{executor_, wait};
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return result;
}

}  // namespace releasebot::integrations::slack
