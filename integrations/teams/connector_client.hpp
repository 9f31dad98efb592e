// The Bot Connector REST API, as the bot: a client-credentials token (cached until shortly before
// it expires, fetched again on a 401), sends, replies, updates and new 1:1 conversations, 429
// Retry-After honoured, and the token sent only to allow-listed service hosts.
#pragma once

#include "integrations/net/http_client.hpp"
#include "integrations/teams/teams_settings.hpp"

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace releasebot::integrations::teams {

struct connector_result {
  bool ok = false;
  int status = 0;
  nlohmann::json body;
  std::string error;       // one line, never a token
  std::string error_code;  // BotNotInConversationRoster | ConversationNotFound | http_NNN | network | not_allowed
  bool retryable = false;
  std::optional<std::chrono::seconds> retry_after;  // 429: when the Connector said to try again
};

class connector_client {
public:
  connector_client(boost::asio::any_io_executor executor, net::http_client& http, const teams_settings& settings);

  // send and update try once (the outbox pump decides about retries); a 401 refreshes the token
  // and tries again. answer() (a reply to what someone just said) retries 429 and 5xx itself.
  boost::asio::awaitable<connector_result> send(std::string service_url, std::string conversation_id,
                                                nlohmann::json activity);
  boost::asio::awaitable<connector_result> answer(std::string service_url, std::string conversation_id,
                                                  nlohmann::json activity);
  boost::asio::awaitable<connector_result> update(std::string service_url, std::string conversation_id,
                                                  std::string activity_id, nlohmann::json activity);
  // A 1:1 conversation with a person (their per-bot chat id "29:…"); answers its id.
  boost::asio::awaitable<connector_result> create_conversation(std::string service_url, std::string chat_id,
                                                               std::string tenant_id);
  // A member of a team or chat by "29:" id, Entra object id or UPN.
  boost::asio::awaitable<connector_result> member(std::string service_url, std::string conversation_id,
                                                  std::string member_id);
  // One page of a team's or chat's members: {"members":[…],"continuationToken":…}; an empty
  // continuation asks for the first page.
  boost::asio::awaitable<connector_result> members_page(std::string service_url, std::string conversation_id,
                                                        std::string continuation);
  static constexpr int members_page_size = 200;
  bool host_allowed(const std::string& service_url) const;
  int tokens_fetched() const { return tokens_fetched_; }
  // Fetches the bot's token now (at start, so that readiness means something); true when it has one.
  boost::asio::awaitable<bool> authenticate();
  bool authenticated() const { return token_.has_value(); }

private:
  boost::asio::awaitable<std::optional<std::string>> access_token(bool refresh);
  boost::asio::awaitable<connector_result> call(boost::beast::http::verb method, std::string url, nlohmann::json body,
                                                int attempts);

  boost::asio::any_io_executor executor_;
  net::http_client& http_;
  const teams_settings& settings_;
  std::optional<std::string> token_;
  std::chrono::steady_clock::time_point token_expires_{};
  int tokens_fetched_ = 0;
};

}  // namespace releasebot::integrations::teams
