#include "storage/people.hpp"

namespace releasebot::storage {

bool people::set_time_zone(std::string_view user, std::string_view zone, instant at) {
  return db_.prepare("INSERT INTO people (user_id, time_zone, updated_at) VALUES (?,?,?) "
                     "ON CONFLICT (user_id) DO UPDATE SET time_zone = excluded.time_zone, updated_at = excluded.updated_at "
                     "WHERE time_zone <> excluded.time_zone")
             .bind_all(user, zone, to_iso(at))
             .execute() > 0;
}

std::optional<std::string> people::time_zone_of(std::string_view user) {
  auto query = db_.prepare("SELECT time_zone FROM people WHERE user_id = ?");
  query.bind(1, user);
  if (!query.step()) return std::nullopt;
  return query.column_text(0);
}

}  // namespace releasebot::storage
