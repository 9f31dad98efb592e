// A client for Slack's Web API: keep-alive HTTPS, JSON bodies, ok:false surfaced, 429 and 5xx
// retried as Slack asks. Tokens never appear in logs or errors.
#pragma once

#include "integrations/net/http_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace releasebot::integrations::slack {

struct api_result {
  bool ok = false;
  nlohmann::json body;  // the parsed answer (when there was one)
  std::string error;    // "chat.postMessage: channel_not_found", "auth.test: HTTP 503", …
  std::string error_code;  // Slack's error name alone ("invalid_auth"), or "http_503", "network"
  bool retryable = false;  // worth trying again later (network, 5xx, rate limited)
  std::optional<std::chrono::seconds> retry_after;  // HTTP 429: when Slack said to try again
};

class web_api {
public:
  web_api(boost::asio::any_io_executor executor, boost::asio::ssl::context& tls, std::string base_url,
          std::string token);
  ~web_api();

  // POSTs `arguments` as JSON (charset=utf-8) to <base>/<method>, or form-encoded when `form`.
  // Retries HTTP 429 after Retry-After and 5xx/network failures with backoff, up to `attempts`.
  // Without `retry_unknown_outcome` only 429s are retried: a call that is not safe to repeat
  // (chat.postMessage) may have been carried out when the network failed or Slack answered 5xx.
  boost::asio::awaitable<api_result> call(std::string method, nlohmann::json arguments, bool form = false,
                                          int attempts = 4, bool retry_unknown_outcome = true);

  const std::string& base_url() const { return base_url_; }
  // Calls made and retries slept, for logs and benchmarks.
  std::uint64_t calls_made() const { return calls_made_; }

private:
  boost::asio::awaitable<api_result> call_once(std::string method, const nlohmann::json& arguments, bool form,
                                               std::chrono::seconds& retry_after);

  boost::asio::any_io_executor executor_;
  net::http_client http_;
  std::string base_url_;
  std::string token_;
  std::uint64_t calls_made_ = 0;
};

}  // namespace releasebot::integrations::slack
