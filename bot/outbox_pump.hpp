// The one outbox pump: delivers a platform's share of the outbox through its delivery_channel,
// oldest first and in order within each conversation (a person's direct messages; a channel and
// its threads), paced as the platform asks, retrying with backoff or after the platform's
// Retry-After (a waiting conversation never holds up the others), checking after a crash whether
// a post had already gone out, marking each message sent or refused, and telling the release's
// coordinator, in the domain's words, when a person or channel cannot be reached.
#pragma once

#include "bot/delivery.hpp"
#include "bot/metrics.hpp"
#include "storage/database.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace releasebot::bot {

class outbox_pump {
public:
  outbox_pump(boost::asio::any_io_executor executor, storage::database& db, delivery_channel& channel,
              metrics* stats = nullptr);

  boost::asio::awaitable<void> run();  // until stop()
  // Delivers what can go out now, then returns (the console prints its share after each command).
  boost::asio::awaitable<void> deliver_now();
  void poke();
  void stop();
  // Called when delivering queued a message for another platform (a pipeline's notice in a
  // release thread), so that its pump looks now.
  void on_queued(std::function<void()> callback) { queued_elsewhere_ = std::move(callback); }
  const std::string& platform() const { return platform_; }

  // How long to wait before attempt `attempts + 1` of a message that failed `attempts` times.
  static std::chrono::milliseconds backoff(int attempts);

private:
  using clock = std::chrono::steady_clock;
  struct bucket {
    double tokens = 0;
    clock::time_point refreshed{};
  };

  // One pass over the heads of every conversation; returns when the next look is due.
  boost::asio::awaitable<std::optional<clock::time_point>> round(bool& settled_any);
  // false: the message stays pending (its conversation waits until `held_until_`).
  boost::asio::awaitable<bool> deliver(const storage::outbox_message& message, const std::string& conversation);
  void hold(const std::string& conversation, clock::duration wait);
  storage::durability marks_durability() const;
  // Inside the caller's transaction: a channel's notice for the release's thread.
  void enqueue_thread_notice(const storage::release_record& release, const commands::message& body);
  clock::duration pacing_wait(const std::string& conversation);
  void record_sent(const storage::outbox_message& message, const std::optional<storage::release_record>& release,
                   const delivery_result& result);
  void record_refused(const storage::outbox_message& message, const std::optional<storage::release_record>& release,
                      const delivery_result& result);
  void count(std::string_view result);

  storage::database& db_;
  delivery_channel& channel_;
  metrics* stats_;
  std::string platform_;
  boost::asio::steady_timer wake_;
  std::map<std::string, clock::time_point> held_until_;  // conversation → not before
  std::map<std::string, bucket> buckets_;                // conversation → pacing tokens
  std::function<void()> queued_elsewhere_;
  bool stopping_ = false;
  bool poked_ = false;
  bool in_round_ = false;
};

}  // namespace releasebot::bot
