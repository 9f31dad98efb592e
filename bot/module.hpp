// The one shape of every outside system the bot talks through (Slack, Teams, later webhooks,
// Jira, …): built from its settings with the shared context, it registers its routes on the bot's
// HTTP server, runs its connections until stopped, says whether it is ready, and hands the one
// outbox pump its delivery channel.
#pragma once

#include "bot/delivery.hpp"
#include "bot/dispatcher.hpp"
#include "bot/metrics.hpp"
#include "bot/reply_ledger.hpp"
#include "integrations/net/http_server.hpp"
#include "storage/database.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace releasebot::bot {

struct module_context {
  boost::asio::any_io_executor executor;
  storage::database& db;
  integrations::net::http_router& routes;
  metrics& stats;
  // Applies one event durably (group commit) before the platform is answered or acked.
  std::function<boost::asio::awaitable<dispatch_result>(inbound)> dispatch;
  // Something committed: the scheduler and every pump may have work.
  std::function<void()> after_change;
  // Replies to events already posted: a redelivery posts nothing new.
  reply_ledger& replies;
};

struct readiness {
  bool ready = false;
  std::string reason;  // when not ready, in one line: what is wrong
};

class platform_module {
public:
  virtual ~platform_module() = default;

  virtual std::string_view name() const = 0;
  // Runs until stop() and returns "", or returns the fatal problem in one line (a refused token).
  virtual boost::asio::awaitable<std::string> run() = 0;
  virtual void stop() = 0;
  virtual readiness ready() const = 0;
  // What the outbox pump delivers this platform's messages through; nullptr: it has none.
  virtual delivery_channel* delivery() = 0;
};

}  // namespace releasebot::bot
