// Delivers the Slack share of the outbox, in order: release announcements and their thread,
// direct messages (conversations.open first), card updates (chat.update); each marked sent only
// after Slack accepted it. Paced per channel (about one a second, short bursts allowed).
#pragma once

#include "integrations/net/outbox_pump.hpp"
#include "integrations/slack/web_api.hpp"
#include "storage/database.hpp"
#include "storage/outbox.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <string>

namespace releasebot::integrations::slack {

class outbox_sender {
public:
  outbox_sender(boost::asio::any_io_executor executor, storage::database& db, web_api& api);

  // Runs until stop(): delivers whatever is pending, then waits for poke() or a retry timer.
  boost::asio::awaitable<void> run() { return pump_.run(); }
  void poke() { pump_.poke(); }
  void stop() { pump_.stop(); }

  std::uint64_t delivered() const { return delivered_; }

private:
  struct pacing_bucket {
    double tokens = 4.0;
    std::chrono::steady_clock::time_point refreshed = std::chrono::steady_clock::now();
    // Refills for the time passed; how long until a whole token is there (zero: now).
    std::chrono::steady_clock::duration refill(std::chrono::steady_clock::time_point now);
  };

  // false: stop this round and try again later (order is kept).
  boost::asio::awaitable<bool> deliver(const storage::outbox_message& message);
  boost::asio::awaitable<std::string> direct_channel(const std::string& user);
  struct lookup {
    bool looked = false;  // false: Slack could not be asked now (retry later)
    std::optional<std::string> ts;  // the message's ts when it is there
  };
  boost::asio::awaitable<lookup> find_posted(std::string channel, std::string thread_ts, storage::row_id id,
                                             storage::instant since);
  boost::asio::awaitable<void> pace(const std::string& channel);
  void record_sent(const storage::outbox_message& message, const std::optional<storage::release_record>& release,
                   const std::string& channel, const std::string& ts);
  std::chrono::steady_clock::duration wait_for_turn(const storage::outbox_message& message);

  boost::asio::any_io_executor executor_;
  storage::database& db_;
  web_api& api_;
  net::outbox_pump pump_;
  std::map<std::string, std::string> direct_channels_;  // user → D…
  std::map<std::string, pacing_bucket> buckets_;
  std::uint64_t delivered_ = 0;
};

}  // namespace releasebot::integrations::slack
