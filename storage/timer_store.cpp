#include "storage/timer_store.hpp"

namespace releasebot::storage {

namespace {

constexpr const char* timer_columns = "id, kind, release_id, key, due_at, state, created_at, fired_at, late";

timer_record read_timer(const statement& row) {
  timer_record timer;
  timer.id = row.column_int(0);
  timer.kind = row.column_text(1);
  timer.release_id = row.column_optional_int(2);
  timer.key = row.column_text(3);
  timer.due_at = from_iso(row.column_text(4));
  timer.state = row.column_text(5);
  timer.created_at = from_iso(row.column_text(6));
  timer.fired_at = from_optional_iso(row.column_optional_text(7));
  timer.late = row.column_int(8) != 0;
  return timer;
}

std::vector<timer_record> read_timers(statement& query) {
  std::vector<timer_record> timers;
  while (query.step()) timers.push_back(read_timer(query));
  return timers;
}

}  // namespace

row_id timer_store::schedule(const timer_record& timer) {
  db_.prepare("UPDATE timers SET state = 'cancelled' WHERE state = 'pending' AND kind = ? AND key = ? AND "
              "release_id IS ?")
      .bind_all(timer.kind, timer.key, timer.release_id)
      .execute();
  db_.prepare("INSERT INTO timers (kind, release_id, key, due_at, created_at) VALUES (?,?,?,?,?)")
      .bind_all(timer.kind, timer.release_id, timer.key, to_iso(timer.due_at), to_iso(timer.created_at))
      .execute();
  return db_.last_insert_id();
}

int timer_store::cancel(row_id release_id, std::string_view kind) {
  if (kind.empty()) {
    return db_.prepare("UPDATE timers SET state = 'cancelled' WHERE state = 'pending' AND release_id = ?")
        .bind(1, release_id)
        .execute();
  }
  return db_.prepare("UPDATE timers SET state = 'cancelled' WHERE state = 'pending' AND release_id = ? AND kind = ?")
      .bind_all(release_id, kind)
      .execute();
}

int timer_store::cancel_one(row_id release_id, std::string_view kind, std::string_view key) {
  return db_.prepare("UPDATE timers SET state = 'cancelled' WHERE state = 'pending' AND release_id = ? AND kind = ? "
                     "AND key = ?")
      .bind_all(release_id, kind, key)
      .execute();
}

std::optional<instant> timer_store::next_due() {
  auto query = db_.prepare("SELECT min(due_at) FROM timers WHERE state = 'pending'");
  query.step();
  return from_optional_iso(query.column_optional_text(0));
}

std::vector<timer_record> timer_store::due(instant now) {
  auto query = db_.prepare(std::string{"SELECT "} + timer_columns +
                           " FROM timers WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id");
  query.bind(1, to_iso(now));
  return read_timers(query);
}

std::optional<timer_record> timer_store::find(row_id id) {
  auto query = db_.prepare(std::string{"SELECT "} + timer_columns + " FROM timers WHERE id = ?");
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return read_timer(query);
}

std::vector<timer_record> timer_store::pending_for(row_id release_id) {
  auto query = db_.prepare(std::string{"SELECT "} + timer_columns +
                           " FROM timers WHERE state = 'pending' AND release_id = ? ORDER BY due_at, id");
  query.bind(1, release_id);
  return read_timers(query);
}

void timer_store::finish(row_id id, std::string_view state, instant at, bool late) {
  db_.prepare("UPDATE timers SET state = ?, fired_at = ?, late = ? WHERE id = ?")
      .bind_all(state, to_iso(at), late ? 1 : 0, id)
      .execute();
}

}  // namespace releasebot::storage
