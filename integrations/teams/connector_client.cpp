#include "integrations/teams/connector_client.hpp"

#include "integrations/net/json_reader.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace releasebot::integrations::teams {

namespace {

constexpr auto refresh_before_expiry = std::chrono::minutes{5};
constexpr int answer_attempts = 4;

std::chrono::seconds retry_after_of(const net::http_result& answer) {
  long seconds = 1;
  if (const auto header = answer.headers.find("retry-after"); header != answer.headers.end()) {
    try {
      seconds = std::clamp(std::stol(header->second), 0L, 300L);
    } catch (const std::exception&) {
    }
  }
  return std::chrono::seconds{seconds};
}

std::string join_url(std::string base, std::string_view path) {
  if (!base.ends_with('/')) base += '/';
  return base + std::string{path};
}

std::string encoded(const std::string& id) { return boost::urls::encode(id, boost::urls::unreserved_chars); }

connector_result failure(std::string code, std::string error, bool retryable, int status = 0) {
  connector_result result;
  result.status = status;
  result.error_code = std::move(code);
  result.error = std::move(error);
  result.retryable = retryable;
  return result;
}

}  // namespace

connector_client::connector_client(asio::any_io_executor executor, net::http_client& http,
                                   const teams_settings& settings)
    : executor_{executor}, http_{http}, settings_{settings} {}

bool connector_client::host_allowed(const std::string& service_url) const {
  const auto where = net::parse_endpoint(service_url);
  if (!where) return false;
  return std::any_of(settings_.allowed_service_hosts.begin(), settings_.allowed_service_hosts.end(),
                     [&](const std::string& allowed) {
                       if (allowed.starts_with("*.")) return where->host.ends_with(allowed.substr(1));
                       return where->host == allowed;
                     });
}

asio::awaitable<std::optional<std::string>> connector_client::access_token(bool refresh) {
  if (!refresh && token_ && std::chrono::steady_clock::now() < token_expires_) co_return token_;
  token_.reset();
  auto url = settings_.token_url.empty()
                 ? "https://login.microsoftonline.com/" + settings_.tenant_id + "/oauth2/v2.0/token"
                 : settings_.token_url;
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back("grant_type", "client_credentials");
  fields.emplace_back("client_id", settings_.app_id);
  fields.emplace_back("client_secret", settings_.app_password);
  fields.emplace_back("scope", settings_.token_scope);
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  auto answer = co_await http_.request(http::verb::post, std::move(url), std::move(headers), net::form_encode(fields));
  ++tokens_fetched_;
  if (!answer.reached || answer.status != 200) {
    spdlog::error("teams: no access token ({}) — check MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD and "
                  "MICROSOFT_APP_TENANT_ID",
                  answer.reached ? "HTTP " + std::to_string(answer.status) : answer.error);
    co_return std::nullopt;
  }
  try {
    const auto body = nlohmann::json::parse(answer.body);
    token_ = body.at("access_token").get<std::string>();
    const auto lifetime = std::chrono::seconds{body.value("expires_in", 3600)};
    token_expires_ = std::chrono::steady_clock::now() + std::max(std::chrono::seconds{0}, lifetime - refresh_before_expiry);
  } catch (const std::exception&) {
    spdlog::error("teams: the token endpoint answered without an access_token");
  }
  co_return token_;
}

asio::awaitable<bool> connector_client::authenticate() { co_return (co_await access_token(false)).has_value(); }

asio::awaitable<connector_result> connector_client::call(http::verb method, std::string url, nlohmann::json body,
                                                         int attempts) {
  if (!host_allowed(url)) {
    co_return failure("not_allowed", "the service URL's host is not in [teams] allowed_service_hosts; the bot's "
                                     "token is not sent there", false);
  }
  bool refreshed = false;
  connector_result result;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    const auto token = co_await access_token(false);
    if (!token) co_return failure("no_token", "no access token from the token endpoint", true);
    std::vector<std::pair<std::string, std::string>> headers;
    headers.emplace_back("Authorization", "Bearer " + *token);
    std::string payload;
    if (!body.is_null()) {
      headers.emplace_back("Content-Type", "application/json; charset=utf-8");
      payload = body.dump();
    }
    auto answer = co_await http_.request(method, url, std::move(headers), std::move(payload));
    if (!answer.reached) {
      result = failure("network", answer.error, true);
    } else if (answer.status >= 200 && answer.status < 300) {
      result = connector_result{};
      result.ok = true;
      result.status = answer.status;
      result.body = net::parse_json_or_discarded(answer.body.empty() ? "{}" : answer.body);
      co_return result;
    } else {
      std::string code = "http_" + std::to_string(answer.status);
      const auto parsed = net::parse_json_or_discarded(answer.body);
      if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object()) {
        code = parsed["error"].value("code", code);
      }
      result = failure(code, "Bot Connector answered " + std::to_string(answer.status) + " (" + code + ")",
                       // 401: our credentials, not the message — it waits for a good token.
                       answer.status == 429 || answer.status >= 500 || answer.status == 401, answer.status);
      if (answer.status == 401 && !refreshed) {
        refreshed = true;  // the token may have been revoked or rotated early
        co_await access_token(true);
        --attempt;  // the refresh is not one of the attempts
        continue;
      }
      if (answer.status == 429) result.retry_after = retry_after_of(answer);
      if (!result.retryable || attempt + 1 >= attempts) co_return result;
      if (result.retry_after) {
        spdlog::warn("teams: rate limited, retrying in {} s", result.retry_after->count());
        asio::steady_timer timer{executor_, *result.retry_after};
        co_await timer.async_wait(asio::use_awaitable);
        continue;
      }
    }
    if (attempt + 1 >= attempts) break;
    asio::steady_timer timer{executor_, std::chrono::milliseconds{250} * (1 << attempt)};
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return result;
}

asio::awaitable<connector_result> connector_client::send(std::string service_url, std::string conversation_id,
                                                         nlohmann::json activity) {
  co_return co_await call(http::verb::post,
                          join_url(service_url, "v3/conversations/" + encoded(conversation_id) + "/activities"),
                          std::move(activity), 1);
}

asio::awaitable<connector_result> connector_client::answer(std::string service_url, std::string conversation_id,
                                                           nlohmann::json activity) {
  co_return co_await call(http::verb::post,
                          join_url(service_url, "v3/conversations/" + encoded(conversation_id) + "/activities"),
                          std::move(activity), answer_attempts);
}

asio::awaitable<connector_result> connector_client::update(std::string service_url, std::string conversation_id,
                                                           std::string activity_id, nlohmann::json activity) {
  activity["id"] = activity_id;
  co_return co_await call(http::verb::put,
                          join_url(service_url, "v3/conversations/" + encoded(conversation_id) + "/activities/" +
                                                    encoded(activity_id)),
                          std::move(activity), 1);
}

asio::awaitable<connector_result> connector_client::create_conversation(std::string service_url, std::string chat_id,
                                                                        std::string tenant_id) {
  nlohmann::json body = nlohmann::json::object();
  body["bot"] = nlohmann::json::object({{"id", "28:" + settings_.app_id}});
  body["members"] = nlohmann::json::array({nlohmann::json::object({{"id", chat_id}})});
  body["channelData"] = nlohmann::json::object({{"tenant", nlohmann::json::object({{"id", tenant_id}})}});
  body["isGroup"] = false;
  body["tenantId"] = tenant_id;
  co_return co_await call(http::verb::post, join_url(service_url, "v3/conversations"), std::move(body), 1);
}

asio::awaitable<connector_result> connector_client::member(std::string service_url, std::string conversation_id,
                                                           std::string member_id) {
  co_return co_await call(http::verb::get,
                          join_url(service_url, "v3/conversations/" + encoded(conversation_id) + "/members/" +
                                                    encoded(member_id)),
                          nullptr, 1);
}

asio::awaitable<connector_result> connector_client::members_page(std::string service_url, std::string conversation_id,
                                                                 std::string continuation) {
  auto path = "v3/conversations/" + encoded(conversation_id) + "/pagedmembers?pageSize=" + std::to_string(members_page_size);
  if (!continuation.empty()) path += "&continuationToken=" + encoded(continuation);
  co_return co_await call(http::verb::get, join_url(service_url, path), nullptr, 3);
}

}  // namespace releasebot::integrations::teams
