// Which replies to events have been posted, so that a redelivered event (a lost ack, Slack's
// retry, Teams resending) posts nothing new on any platform. An applied event's mark is stored
// beside its processed id: a crash before the reply went out still answers on redelivery, a
// lost ack does not answer twice. A query or a refusal stores nothing, so it is remembered here
// for a while — long enough for any platform's retries. The stored marks are written a moment
// later, many in one transaction: within the process the memory here already stops a second
// post; the mark only has to outlive a restart.
#pragma once

#include "bot/dispatcher.hpp"
#include "bot/inbound.hpp"
#include "storage/database.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace releasebot::bot {

class reply_ledger {
public:
  // `flush_after`: how long a stored mark may wait to be written with others.
  reply_ledger(storage::database& db, boost::asio::any_io_executor executor,
               std::chrono::milliseconds flush_after = std::chrono::milliseconds{500})
      : db_{db}, flush_after_{flush_after}, flush_timer_{executor} {}
  ~reply_ledger();

  // True once per event: the caller posts the reply. False when another delivery of the same
  // event has posted it or is posting it now.
  bool claim(const inbound& event, const dispatch_result& result);
  // The reply reached the platform (ok) or could not be posted (a redelivery may try again).
  void settle(const inbound& event, const dispatch_result& result, bool ok);
  // Writes the marks not written yet (also on destruction).
  void flush();

private:
  void forget_old(std::chrono::steady_clock::time_point now);

  storage::database& db_;
  std::chrono::milliseconds flush_after_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> claimed_;  // → when claimed
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> by_age_;
  std::vector<std::pair<std::string, std::string>> unwritten_;  // platform, event id
  boost::asio::steady_timer flush_timer_;
  bool flush_armed_ = false;
};

}  // namespace releasebot::bot
