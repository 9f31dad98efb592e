// releasebot as a Slack app: checks the bot token, runs Socket Mode and the outbox sender, turns
// envelopes into applied commands and answers people where Slack expects the answer.
#pragma once

#include "bot/dispatcher.hpp"
#include "integrations/slack/outbox_sender.hpp"
#include "integrations/slack/socket_mode.hpp"
#include "integrations/slack/web_api.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace releasebot::integrations::slack {

struct slack_settings {
  std::string app_token;  // xapp-…
  std::string bot_token;  // xoxb-…
  std::string api_url = "https://slack.com/api/";
  socket_mode_settings socket;
};

class slack_app {
public:
  // Applies one event durably (e.g. bot::group_commit::submit) before its envelope is acked.
  using dispatch_function = std::function<boost::asio::awaitable<bot::dispatch_result>(bot::inbound)>;

  // `after_change` runs after every event that committed a change (the scheduler may need to look).
  slack_app(boost::asio::any_io_executor executor, storage::database& db, dispatch_function dispatch,
            std::function<void()> after_change, slack_settings settings);
  ~slack_app();

  // Returns "" after stop(), or the fatal problem in one line (a refused token, Socket Mode off).
  boost::asio::awaitable<std::string> run();
  void stop();
  // New messages are in the outbox (e.g. a timer fired): deliver them.
  void deliver_soon();

private:
  boost::asio::awaitable<nlohmann::json> handle(const envelope& env);
  boost::asio::awaitable<std::string> time_zone_of(const std::string& user);
  boost::asio::awaitable<void> answer(reply_route route, envelope_type type, commands::message reply, bool make_public);

  boost::asio::any_io_executor executor_;
  storage::database& db_;
  dispatch_function dispatch_;
  std::function<void()> after_change_;
  slack_settings settings_;
  boost::asio::ssl::context tls_;
  std::unique_ptr<web_api> bot_api_;
  std::unique_ptr<web_api> app_api_;
  std::unique_ptr<outbox_sender> sender_;
  std::unique_ptr<socket_mode_client> socket_;
  std::map<std::string, std::string> time_zones_;  // user → IANA zone, from users.info
  std::string bot_user_id_;
  bool stopping_ = false;
};

}  // namespace releasebot::integrations::slack
