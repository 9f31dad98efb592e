// releasebot as a Slack app: checks the bot token, runs Socket Mode, turns envelopes into applied
// commands and answers people where Slack expects the answer; its outbox share goes through the
// pump by way of outbox_sender.
#pragma once

#include "bot/module.hpp"
#include "integrations/slack/outbox_sender.hpp"
#include "integrations/slack/people_lookup.hpp"
#include "integrations/slack/socket_mode.hpp"
#include "integrations/slack/web_api.hpp"

#include <boost/asio/awaitable.hpp>

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

class slack_app : public bot::platform_module {
public:
  slack_app(bot::module_context& context, slack_settings settings);
  ~slack_app() override;

  std::string_view name() const override { return "slack"; }
  boost::asio::awaitable<std::string> run() override;
  void stop() override;
  bot::readiness ready() const override;
  bot::delivery_channel* delivery() override { return sender_.get(); }

private:
  boost::asio::awaitable<nlohmann::json> handle(const envelope& env);
  boost::asio::awaitable<void> answer(reply_route route, envelope_type type, bot::inbound event, bot::dispatch_result result);

  bot::module_context& context_;
  slack_settings settings_;
  boost::asio::ssl::context tls_;
  std::unique_ptr<web_api> bot_api_;
  std::unique_ptr<web_api> app_api_;
  std::unique_ptr<people_lookup> people_;
  std::unique_ptr<outbox_sender> sender_;
  std::unique_ptr<socket_mode_client> socket_;
  std::string bot_user_id_;
  std::string web_api_problem_ = "not connected to Slack yet";
  bool stopping_ = false;
};

}  // namespace releasebot::integrations::slack
