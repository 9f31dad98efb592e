#include "integrations/net/outbox_pump.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;

namespace releasebot::integrations::net {

namespace {
constexpr auto retry_after_failure = std::chrono::seconds{5};
constexpr auto idle_wait = std::chrono::seconds{30};
constexpr int batch = 100;
}  // namespace

outbox_pump::outbox_pump(asio::any_io_executor executor, storage::database& db, std::string platform,
                         deliver_function deliver)
    : db_{db}, platform_{std::move(platform)}, deliver_{std::move(deliver)}, wake_{executor} {}

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
    try {
      std::vector<storage::outbox_message> pending;
      {
        storage::transaction tx{db_};
        pending = storage::outbox{db_}.pending(platform_, batch);
      }
      for (const auto& message : pending) {
        if (stopping_) break;
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
    wake_.expires_after(failed ? std::chrono::seconds{retry_after_failure} : std::chrono::seconds{idle_wait});
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace releasebot::integrations::net
