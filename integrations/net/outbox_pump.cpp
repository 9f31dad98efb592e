#include "integrations/net/outbox_pump.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

namespace asio = boost::asio;

namespace releasebot::integrations::net {

namespace {
constexpr auto retry_after_failure = std::chrono::seconds{5};
constexpr auto idle_wait = std::chrono::seconds{30};
constexpr int batch = 100;
}  // namespace

outbox_pump::outbox_pump(asio::any_io_executor executor, storage::database& db, std::string platform,
                         deliver_function deliver, wait_function wait_for_turn)
    : db_{db},
      platform_{std::move(platform)},
      deliver_{std::move(deliver)},
      wait_for_turn_{std::move(wait_for_turn)},
      wake_{executor} {}

void outbox_pump::poke() {
  poked_ = true;
  wake_.cancel();
}

void outbox_pump::stop() {
  stopping_ = true;
  wake_.cancel();
}

asio::awaitable<void> outbox_pump::run() {
  while (!stopping_) {
    poked_ = false;
    bool failed = false;
    bool worked = false;
    std::optional<std::chrono::steady_clock::duration> next_turn;
    try {
      std::vector<storage::outbox_message> heads;
      {
        storage::transaction tx{db_};
        heads = storage::outbox{db_}.pending_heads(platform_, batch);
      }
      for (const auto& message : heads) {
        if (stopping_) break;
        if (wait_for_turn_) {
          if (const auto wait = wait_for_turn_(message); wait > std::chrono::steady_clock::duration::zero()) {
            next_turn = std::min(next_turn.value_or(wait), wait);
            continue;
          }
        }
        if (!co_await deliver_(message)) {
          failed = true;
          break;
        }
        worked = true;
      }
    } catch (const std::exception& error) {
      spdlog::error("{}: outbox delivery failed: {}", platform_, error.what());
      failed = true;
    }
    // Delivering can queue more (a report of an undeliverable message): look again at once.
    if ((poked_ || worked) && !failed) continue;
    if (failed) {
      wake_.expires_after(retry_after_failure);
    } else if (next_turn) {
      wake_.expires_after(*next_turn);
    } else {
      wake_.expires_after(idle_wait);
    }
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace releasebot::integrations::net
