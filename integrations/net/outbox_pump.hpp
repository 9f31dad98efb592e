// Drives one platform's share of the outbox: delivers pending messages oldest first through a
// platform's deliver function, keeping their order within each conversation (a person's direct
// messages; a channel and its threads). A conversation that is paced (rate limited) does not hold
// up the others: a sign-off request reaches its person while the release channel is busy. A failure
// stops the round and is retried later; the pump looks again at once after working or when poked.
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
  // How long until the message's conversation may take another message (zero: now).
  using wait_function = std::function<std::chrono::steady_clock::duration(const storage::outbox_message&)>;

  outbox_pump(boost::asio::any_io_executor executor, storage::database& db, std::string platform,
              deliver_function deliver, wait_function wait_for_turn = {});

  boost::asio::awaitable<void> run();  // until stop()
  void poke();
  void stop();
  bool stopping() const { return stopping_; }

private:
  storage::database& db_;
  std::string platform_;
  deliver_function deliver_;
  wait_function wait_for_turn_;
  boost::asio::steady_timer wake_;
  bool stopping_ = false;
  bool poked_ = false;
};

}  // namespace releasebot::integrations::net
