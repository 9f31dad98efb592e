// releasebot as a Teams bot: the Bot Framework messaging endpoint (every request authenticated),
// card clicks answered with the updated card, and the Teams share of the outbox delivered through
// the Bot Connector, proactive messages included.
#pragma once

#include "bot/dispatcher.hpp"
#include "integrations/net/http_client.hpp"
#include "integrations/net/http_server.hpp"
#include "integrations/net/outbox_pump.hpp"
#include "integrations/teams/activity.hpp"
#include "integrations/teams/connector_client.hpp"
#include "integrations/teams/key_cache.hpp"
#include "integrations/teams/teams_settings.hpp"
#include "storage/database.hpp"
#include "storage/outbox.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>

namespace releasebot::integrations::teams {

class teams_app {
public:
  using dispatch_function = std::function<bot::dispatch_result(const bot::inbound&)>;

  // Binds the endpoint now (throws with the address when it cannot).
  teams_app(boost::asio::any_io_executor executor, storage::database& db, dispatch_function dispatch,
            std::function<void()> after_change, teams_settings settings);
  ~teams_app();

  boost::asio::awaitable<void> run();  // until stop()
  void stop();
  void deliver_soon();
  unsigned short port() const { return server_->port(); }

private:
  boost::asio::awaitable<net::server_response> on_request(net::server_request request);
  boost::asio::awaitable<void> answer(conversation_reference where, std::string reply_to_id, commands::message reply);
  boost::asio::awaitable<bool> deliver(const storage::outbox_message& message);
  void report_undeliverable(const storage::outbox_message& message, const connector_result& result);

  boost::asio::any_io_executor executor_;
  storage::database& db_;
  dispatch_function dispatch_;
  std::function<void()> after_change_;
  teams_settings settings_;
  boost::asio::ssl::context tls_;
  net::http_client http_;
  key_cache keys_;
  connector_client connector_;
  std::unique_ptr<net::http_server> server_;
  net::outbox_pump pump_;
};

}  // namespace releasebot::integrations::teams
