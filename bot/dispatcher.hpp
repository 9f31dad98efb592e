// Turns an inbound event into exactly one applied command: de-duplicates, parses, runs the
// handler, and commits state, audit, outbox and the event id in one transaction. Several events
// may share one transaction (group commit: one sync for all), each in its own savepoint so that a
// refused command undoes only itself.
#pragma once

#include "bot/inbound.hpp"
#include "bot/metrics.hpp"
#include "commands/engine.hpp"
#include "commands/message.hpp"
#include "storage/database.hpp"

#include <chrono>
#include <functional>
#include <span>
#include <vector>

namespace releasebot::bot {

struct dispatch_result {
  commands::message reply;
  bool refused = false;      // nothing changed: parse error, refusal or failure
  bool failed = false;       // …because of a failure on our side (storage), not the request
  bool duplicate = false;    // the event was applied before; reply is the stored one
  bool reply_posted = false; // …and that reply already reached the platform
  bool changed = false;      // this delivery committed a change
  bool make_public = false;
};

class dispatcher {
public:
  using clock_function = std::function<std::chrono::sys_seconds()>;

  dispatcher(storage::database& db, commands::engine& engine, clock_function now);

  dispatch_result dispatch(const inbound& event);
  // In order, in one transaction committed once; a result is `changed` only once it is durable.
  std::vector<dispatch_result> dispatch_all(std::span<const inbound> events);
  // Counts every command by family and outcome in releasebot_commands_total.
  void count_in(metrics& stats) { stats_ = &stats; }

private:
  dispatch_result apply(const inbound& event, bool& wrote);
  dispatch_result apply_counted(const inbound& event, bool& wrote);

  storage::database& db_;
  commands::engine& engine_;
  clock_function now_;
  metrics* stats_ = nullptr;
};

}  // namespace releasebot::bot
