#include "storage/processed_events.hpp"

namespace releasebot::storage {

std::optional<std::string> processed_events::stored_reply(std::string_view platform, std::string_view event_id) {
  auto query = db_.prepare("SELECT reply FROM processed_events WHERE platform = ? AND event_id = ?");
  query.bind_all(platform, event_id);
  if (!query.step()) return std::nullopt;
  return query.column_text(0);
}

void processed_events::record(std::string_view platform, std::string_view event_id, std::string_view reply,
                              instant at) {
  db_.prepare("INSERT INTO processed_events (platform, event_id, reply, processed_at) VALUES (?,?,?,?)")
      .bind_all(platform, event_id, reply, to_iso(at))
      .execute();
}

}  // namespace releasebot::storage
