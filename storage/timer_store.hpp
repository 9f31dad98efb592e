// Durable timers: what the bot must do at a given moment, stored with the change that made it.
#pragma once

#include "storage/database.hpp"
#include "storage/release_records.hpp"

#include <vector>

namespace releasebot::storage {

struct timer_record {
  row_id id = 0;
  std::string kind;  // cutoff_reminder | schedule_watch | signoff_nudge | retroactive_chase
  std::optional<row_id> release_id;
  std::string key;   // distinguishes timers of one kind on one release ("1440", "uat", "request-7")
  instant due_at{};
  std::string state = "pending";  // pending | fired | skipped | cancelled
  instant created_at{};
  std::optional<instant> fired_at;
  bool late = false;
};

class timer_store {
public:
  explicit timer_store(database& db) : db_{db} {}

  // Replaces a pending timer with the same kind, release and key (a moved reminder).
  row_id schedule(const timer_record& timer);
  // Cancels pending timers of the release; of one kind when kind is non-empty.
  int cancel(row_id release_id, std::string_view kind = {});
  int cancel_one(row_id release_id, std::string_view kind, std::string_view key);
  std::optional<instant> next_due();
  std::vector<timer_record> due(instant now);  // oldest due first
  std::optional<timer_record> find(row_id id);
  std::vector<timer_record> pending_for(row_id release_id);  // soonest first
  void finish(row_id id, std::string_view state, instant at, bool late);

private:
  database& db_;
};

}  // namespace releasebot::storage
