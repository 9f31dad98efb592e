// Group commit: events that arrive together (a burst of commands, many clicks at once) are applied
// in one transaction and share one sync of the database, instead of one sync each. Each waits for
// the commit that makes it durable before its answer (and so the platform's ack) goes out.
#pragma once

#include "bot/dispatcher.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <memory>
#include <vector>

namespace releasebot::bot {

class group_commit {
public:
  group_commit(boost::asio::any_io_executor executor, dispatcher& dispatch, std::size_t largest_group = 256);

  // Applies the event with whatever else is waiting, in the order submitted.
  boost::asio::awaitable<dispatch_result> submit(inbound event);

  std::size_t groups_committed() const { return groups_; }

private:
  struct waiting {
    explicit waiting(boost::asio::any_io_executor executor, inbound what);
    inbound event;
    dispatch_result result;
    bool done = false;
    boost::asio::steady_timer finished;  // never expires; cancelled when `result` is ready
  };

  boost::asio::awaitable<void> drain();

  boost::asio::any_io_executor executor_;
  dispatcher& dispatch_;
  std::size_t largest_group_;
  std::vector<std::shared_ptr<waiting>> queue_;
  bool draining_ = false;
  std::size_t groups_ = 0;
};

}  // namespace releasebot::bot
