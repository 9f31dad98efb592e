// releasebot as a Teams bot: the Bot Framework messaging endpoint (POST /api/messages on the
// bot's HTTP server, every request authenticated), activities applied through group commit, card
// clicks answered with the updated card; its outbox share goes through the pump by way of
// outbox_sender.
#pragma once

#include "bot/module.hpp"
#include "integrations/net/http_client.hpp"
#include "integrations/teams/activity.hpp"
#include "integrations/teams/connector_client.hpp"
#include "integrations/teams/key_cache.hpp"
#include "integrations/teams/outbox_sender.hpp"
#include "integrations/teams/roster.hpp"
#include "integrations/teams/teams_settings.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace releasebot::integrations::teams {

class teams_app : public bot::platform_module {
public:
  // Registers POST /api/messages on the context's router.
  teams_app(bot::module_context& context, teams_settings settings);
  ~teams_app() override;

  std::string_view name() const override { return "teams"; }
  boost::asio::awaitable<std::string> run() override;  // until stop()
  void stop() override;
  bot::readiness ready() const override;
  bot::delivery_channel* delivery() override { return &sender_; }

private:
  boost::asio::awaitable<net::server_response> on_request(net::server_request request);
  boost::asio::awaitable<void> answer(conversation_reference where, std::string reply_to_id, bot::inbound event,
                                      bot::dispatch_result result);
  boost::asio::awaitable<void> read_roster(conversation_reference where, std::string team_id);

  bot::module_context& context_;
  teams_settings settings_;
  boost::asio::ssl::context tls_;
  net::http_client http_;
  key_cache keys_;
  connector_client connector_;
  roster roster_;
  outbox_sender sender_;
  boost::asio::steady_timer stopped_;
  bool stopping_ = false;
};

}  // namespace releasebot::integrations::teams
