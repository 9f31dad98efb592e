#include "bot/group_commit.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace releasebot::bot {

group_commit::waiting::waiting(asio::any_io_executor executor, inbound what)
    : event{std::move(what)}, finished{executor, asio::steady_timer::time_point::max()} {}

group_commit::group_commit(asio::any_io_executor executor, dispatcher& dispatch, std::size_t largest_group)
    : executor_{executor}, dispatch_{dispatch}, largest_group_{largest_group} {}

asio::awaitable<dispatch_result> group_commit::submit(inbound event) {
  auto entry = std::make_shared<waiting>(executor_, std::move(event));
  queue_.push_back(entry);
  if (!draining_) {
    draining_ = true;
    asio::co_spawn(executor_, drain(), asio::detached);
  }
  while (!entry->done) co_await entry->finished.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return std::move(entry->result);
}

asio::awaitable<void> group_commit::drain() {
  while (!queue_.empty()) {
    // Let whatever is already readable on the sockets join this group: yield to the event loop
    // until two passes in a row bring nothing new. Costs microseconds when there is no burst.
    for (int quiet_passes = 0; quiet_passes < 2 && queue_.size() < largest_group_;) {
      const auto before = queue_.size();
      co_await asio::post(executor_, asio::use_awaitable);
      quiet_passes = queue_.size() == before ? quiet_passes + 1 : 0;
    }
    const auto take = std::min(queue_.size(), largest_group_);
    std::vector<std::shared_ptr<waiting>> group(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
    std::vector<inbound> events;
    events.reserve(group.size());
    for (const auto& entry : group) events.push_back(std::move(entry->event));
    auto results = dispatch_.dispatch_all(events);
    ++groups_;
    for (std::size_t i = 0; i < group.size(); ++i) {
      group[i]->result = std::move(results[i]);
      group[i]->done = true;
      group[i]->finished.cancel();
    }
  }
  draining_ = false;
}

}  // namespace releasebot::bot
