// Drives one platform's share of the outbox: delivers pending messages oldest first through a
// platform's deliver function, keeps their order (a failure stops the round and is retried
// later), looks again at once after working or when poked, and otherwise waits.
#pragma once

#include "storage/database.hpp"
#include "storage/outbox.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace releasebot::integrations::net {

class outbox_pump {
public:
  // deliver: true when the message is settled (sent, or refused for good and recorded);
  // false to stop this round and try again after a pause.
  using deliver_function = std::function<boost::asio::awaitable<bool>(const storage::outbox_message&)>;

  outbox_pump(boost::asio::any_io_executor executor, storage::database& db, std::string platform,
              deliver_function deliver);

  boost::asio::awaitable<void> run();  // until stop()
  void poke();
  void stop();
  bool stopping() const { return stopping_; }

private:
  storage::database& db_;
  std::string platform_;
  deliver_function deliver_;
  boost::asio::steady_timer wake_;
  bool stopping_ = false;
  bool poked_ = false;
};

}  // namespace releasebot::integrations::net
