// Fires durable timers when they come due: one Asio timer for the nearest, each firing committed
// in its own transaction with the messages it sends.
#pragma once

#include "bot/metrics.hpp"
#include "commands/engine.hpp"
#include "storage/database.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <optional>

namespace releasebot::bot {

class scheduler {
public:
  using clock_function = std::function<std::chrono::sys_seconds()>;

  scheduler(storage::database& db, commands::engine& engine, clock_function now);

  // Fires every timer due now, oldest first. Of several due reminders of the same kind for the
  // same release (the bot was down) only the newest fires; the others are skipped. Returns how
  // many fired.
  int fire_due();
  std::optional<std::chrono::sys_seconds> next_due();

  // Runs on the event loop until stop(): sleeps until the nearest timer, fires, repeats.
  boost::asio::awaitable<void> run(std::function<void()> after_firing);
  // A command may have armed an earlier timer: look again now.
  void poke();
  void stop();
  void count_firings_in(metrics& stats) { stats_ = &stats; }

  // A firing later than this after its due time is announced as late.
  static constexpr std::chrono::seconds late_after{60};

private:
  storage::database& db_;
  commands::engine& engine_;
  clock_function now_;
  std::optional<boost::asio::steady_timer> wake_;
  bool stopped_ = false;
  metrics* stats_ = nullptr;
};

}  // namespace releasebot::bot
