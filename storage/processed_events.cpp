#include "storage/processed_events.hpp"

namespace releasebot::storage {

std::optional<stored_answer> processed_events::stored_reply(std::string_view platform, std::string_view event_id) {
  auto query = db_.prepare("SELECT reply, reply_posted_at IS NOT NULL FROM processed_events WHERE platform = ? AND "
                           "event_id = ?");
  query.bind_all(platform, event_id);
  if (!query.step()) return std::nullopt;
  return stored_answer{query.column_text(0), query.column_int(1) != 0};
}

void processed_events::mark_reply_posted(std::string_view platform, std::string_view event_id, instant at) {
  db_.prepare("UPDATE processed_events SET reply_posted_at = ? WHERE platform = ? AND event_id = ? AND "
              "reply_posted_at IS NULL")
      .bind_all(to_iso(at), platform, event_id)
      .execute();
}

void processed_events::record(std::string_view platform, std::string_view event_id, std::string_view reply,
                              instant at) {
  db_.prepare("INSERT INTO processed_events (platform, event_id, reply, processed_at) VALUES (?,?,?,?)")
      .bind_all(platform, event_id, reply, to_iso(at))
      .execute();
}

}  // namespace releasebot::storage
