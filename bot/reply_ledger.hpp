// Which replies to events have been posted, so that a redelivered event (a lost ack, Slack's
// retry, Teams resending) posts nothing new on any platform. An applied event's mark is stored
// beside its processed id: a crash before the reply went out still answers on redelivery, a
// lost ack does not answer twice. A query or a refusal stores nothing, so it is remembered here
// for a while — long enough for any platform's retries.
#pragma once

#include "bot/dispatcher.hpp"
#include "bot/inbound.hpp"
#include "storage/database.hpp"

#include <chrono>
#include <deque>
#include <string>
#include <unordered_set>

namespace releasebot::bot {

class reply_ledger {
public:
  explicit reply_ledger(storage::database& db) : db_{db} {}

  // True once per event: the caller posts the reply. False when another delivery of the same
  // event has posted it or is posting it now.
  bool claim(const inbound& event, const dispatch_result& result);
  // The reply reached the platform (ok) or could not be posted (a redelivery may try again).
  void settle(const inbound& event, const dispatch_result& result, bool ok);

private:
  void forget_old(std::chrono::steady_clock::time_point now);

  storage::database& db_;
  std::unordered_set<std::string> claimed_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> by_age_;
};

}  // namespace releasebot::bot
