#include "bot/scheduler.hpp"

#include "storage/timer_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <tuple>

namespace asio = boost::asio;

namespace releasebot::bot {

namespace {

// Wall-clock changes (NTP steps, a suspended VM) are caught within this long.
constexpr std::chrono::minutes longest_sleep{5};

// Reminders that supersede each other: only the newest of a group that came due together fires.
std::tuple<std::int64_t, std::string, std::string> group_of(const storage::timer_record& timer) {
  const bool superseding = timer.kind == "cutoff_reminder";
  return {timer.release_id.value_or(0), timer.kind, superseding ? std::string{} : timer.key};
}

}  // namespace

scheduler::scheduler(storage::database& db, commands::engine& engine, clock_function now)
    : db_{db}, engine_{engine}, now_{std::move(now)} {}

std::optional<std::chrono::sys_seconds> scheduler::next_due() { return storage::timer_store{db_}.next_due(); }

int scheduler::fire_due() {
  const auto now = now_();
  std::vector<storage::timer_record> due;
  {
    storage::transaction tx{db_};
    due = storage::timer_store{db_}.due(now);
  }
  std::map<std::tuple<std::int64_t, std::string, std::string>, storage::row_id> newest;
  for (const auto& timer : due) newest[group_of(timer)] = timer.id;  // due is oldest first

  int fired = 0;
  for (const auto& timer : due) {
    try {
      storage::transaction tx{db_};
      storage::timer_store timers{db_};
      const auto current = timers.find(timer.id);
      if (!current || current->state != "pending") continue;  // fired by another process meanwhile
      const bool late = now - timer.due_at > late_after;
      if (newest[group_of(timer)] != timer.id) {
        timers.finish(timer.id, "skipped", now, late);
      } else {
        const bool did = engine_.fire(*current, now, late);
        timers.finish(timer.id, did ? "fired" : "skipped", now, late);
        if (did) ++fired;
        if (did && stats_ != nullptr) stats_->add("releasebot_timer_firings_total", {{"kind", timer.kind}});
      }
      tx.commit();
    } catch (const std::exception& error) {
      spdlog::error("timer {} ({} {}) failed: {}", timer.id, timer.kind, timer.key, error.what());
    }
  }
  return fired;
}

asio::awaitable<void> scheduler::run(std::function<void()> after_firing) {
  wake_.emplace(co_await asio::this_coro::executor);
  while (!stopped_) {
    if (fire_due() > 0 && after_firing) after_firing();
    auto sleep = std::chrono::duration_cast<std::chrono::steady_clock::duration>(longest_sleep);
    if (const auto next = next_due()) {
      const auto until = *next - now_();
      sleep = std::min(sleep, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::max(until, std::chrono::sys_seconds::duration{0})));
    }
    wake_->expires_after(sleep);
    co_await wake_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void scheduler::poke() {
  if (wake_) wake_->cancel();
}

void scheduler::stop() {
  stopped_ = true;
  poke();
}

}  // namespace releasebot::bot
