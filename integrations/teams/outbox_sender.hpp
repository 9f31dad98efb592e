// Teams' share of the one delivery path: Adaptive Card activities sent, threaded (";messageid="),
// updated in place, or written first in a 1:1 chat the bot creates (for anyone in the roster,
// whether or not they ever wrote to the bot); people named from the directory; the Bot Connector's answers
// classified for the pump (429 → Retry-After; 403/404 → what the coordinator should do).
#pragma once

#include "bot/delivery.hpp"
#include "integrations/teams/connector_client.hpp"
#include "integrations/teams/roster.hpp"
#include "storage/database.hpp"

namespace releasebot::integrations::teams {

class outbox_sender : public bot::delivery_channel {
public:
  outbox_sender(storage::database& db, connector_client& connector, roster& people)
      : db_{db}, connector_{connector}, people_{people} {}

  std::string_view platform() const override { return "teams"; }
  boost::asio::awaitable<bot::delivery_result> send(const bot::delivery_request& request) override;

private:
  storage::database& db_;
  connector_client& connector_;
  roster& people_;
};

// What the pump should do with the Bot Connector's answer.
bot::delivery_result classify_delivery(const connector_result& result);

}  // namespace releasebot::integrations::teams
