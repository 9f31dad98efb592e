#include "storage/outbox.hpp"

namespace releasebot::storage {

std::string conversation_of(const outbox_message& message) {
  return message.destination == "direct" ? "direct:" + message.recipient : "channel:" + message.channel;
}

row_id outbox::enqueue(const outbox_message& message) {
  const std::string conversation = conversation_of(message);
  db_.prepare("INSERT INTO outbox (platform, destination, channel, release_id, recipient, broadcast, starts_thread, "
              "payload, created_at, updates, conversation) VALUES (?,?,?,?,?,?,?,?,?,?,?)")
      .bind_all(message.platform, message.destination, message.channel, message.release_id, message.recipient,
                message.broadcast ? 1 : 0, message.starts_thread ? 1 : 0, message.payload,
                to_iso(message.created_at), message.updates, conversation)
      .execute();
  return db_.last_insert_id();
}

namespace {

constexpr std::string_view message_columns =
    "id, platform, destination, channel, release_id, recipient, broadcast, starts_thread, payload, created_at, "
    "attempts, updates, posting_since";

std::vector<outbox_message> read_messages(statement& query) {
  std::vector<outbox_message> messages;
  while (query.step()) {
    outbox_message message;
    message.id = query.column_int(0);
    message.platform = query.column_text(1);
    message.destination = query.column_text(2);
    message.channel = query.column_text(3);
    message.release_id = query.column_optional_int(4);
    message.recipient = query.column_text(5);
    message.broadcast = query.column_int(6) != 0;
    message.starts_thread = query.column_int(7) != 0;
    message.payload = query.column_text(8);
    message.created_at = from_iso(query.column_text(9));
    message.attempts = static_cast<int>(query.column_int(10));
    message.updates = query.column_optional_int(11);
    message.posting_since = from_optional_iso(query.column_optional_text(12));
    messages.push_back(std::move(message));
  }
  return messages;
}

}  // namespace

std::vector<outbox_message> outbox::pending(std::string_view platform, int limit) {
  auto query = db_.prepare(std::string{"SELECT "} + std::string{message_columns} +
                           " FROM outbox WHERE platform = ? AND sent_at IS NULL AND failed_reason IS NULL "
                           "ORDER BY id LIMIT ?");
  query.bind_all(platform, limit);
  return read_messages(query);
}

std::vector<outbox_message> outbox::pending_heads(std::string_view platform, int limit) {
  // Walks the conversations with something pending by index seeks (one per conversation), so
  // that a long backlog in one channel costs nothing here.
  auto query = db_.prepare(
      "WITH RECURSIVE conversations(name) AS ("
      " SELECT min(conversation) FROM outbox WHERE platform = ?1 AND sent_at IS NULL AND failed_reason IS NULL"
      " UNION ALL"
      " SELECT (SELECT min(conversation) FROM outbox WHERE platform = ?1 AND sent_at IS NULL AND"
      "         failed_reason IS NULL AND conversation > name)"
      " FROM conversations WHERE name IS NOT NULL) "
      "SELECT " + std::string{message_columns} + " FROM outbox WHERE id IN ("
      " SELECT (SELECT min(id) FROM outbox WHERE platform = ?1 AND sent_at IS NULL AND failed_reason IS NULL AND"
      "         conversation = name)"
      " FROM conversations WHERE name IS NOT NULL) "
      "ORDER BY id LIMIT ?2");
  query.bind_all(platform, limit);
  return read_messages(query);
}

void outbox::mark_sent(row_id id, instant at, std::string_view platform_ref) {
  db_.prepare("UPDATE outbox SET sent_at = ?, platform_ref = ? WHERE id = ?")
      .bind_all(to_iso(at), platform_ref, id)
      .execute();
}

void outbox::mark_failed(row_id id, std::string_view reason) {
  db_.prepare("UPDATE outbox SET failed_reason = ?, attempts = attempts + 1 WHERE id = ?").bind_all(reason, id).execute();
}

namespace {
constexpr std::string_view waiting_mark = "waiting for the recipient: ";
}

void outbox::mark_waiting(row_id id, std::string_view reason) {
  db_.prepare("UPDATE outbox SET failed_reason = ?, attempts = attempts + 1, held = 1 WHERE id = ?")
      .bind_all(std::string{waiting_mark} + std::string{reason}, id)
      .execute();
}

bool outbox::was_held(row_id id) {
  auto query = db_.prepare("SELECT held FROM outbox WHERE id = ?");
  query.bind(1, id);
  return query.step() && query.column_int(0) != 0;
}

int outbox::requeue_waiting(std::string_view platform, std::string_view recipient) {
  return db_.prepare("UPDATE outbox SET failed_reason = NULL, posting_since = NULL WHERE platform = ? AND recipient = ? "
                     "AND destination = 'direct' AND sent_at IS NULL AND substr(failed_reason, 1, ?) = ?")
      .bind_all(platform, recipient, static_cast<int>(waiting_mark.size()), waiting_mark)
      .execute();
}

void outbox::mark_posting(row_id id, instant at) {
  db_.prepare("UPDATE outbox SET posting_since = ? WHERE id = ?").bind_all(to_iso(at), id).execute();
}

void outbox::count_attempt(row_id id, bool outcome_known) {
  if (outcome_known) {
    db_.prepare("UPDATE outbox SET attempts = attempts + 1, posting_since = NULL WHERE id = ?").bind(1, id).execute();
  } else {
    db_.prepare("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?").bind(1, id).execute();
  }
}

std::int64_t outbox::pending_count(std::string_view platform) {
  auto query =
      db_.prepare("SELECT count(*) FROM outbox WHERE platform = ? AND sent_at IS NULL AND failed_reason IS NULL");
  query.bind(1, platform);
  query.step();
  return query.column_int(0);
}

bool outbox::has_newer_edit(const outbox_message& message) {
  if (!message.updates) return false;
  auto query = db_.prepare(
      "SELECT 1 FROM outbox WHERE updates = ? AND id > ? AND platform = ? AND sent_at IS NULL "
      "AND failed_reason IS NULL LIMIT 1");
  query.bind(1, *message.updates);
  query.bind(2, message.id);
  query.bind(3, message.platform);
  return query.step();
}

bool outbox::has_unsent(std::string_view platform, row_id release_id, std::string_view channel) {
  auto query = db_.prepare(
      "SELECT 1 FROM outbox WHERE platform = ? AND release_id = ? AND channel = ? AND sent_at IS NULL "
      "AND failed_reason IS NULL LIMIT 1");
  query.bind(1, platform);
  query.bind(2, release_id);
  query.bind(3, channel);
  return query.step();
}

}  // namespace releasebot::storage

namespace releasebot::storage {

std::vector<outbox_backlog> outbox::backlog() {
  auto query = db_.prepare(
      "SELECT platform, count(*), min(created_at) FROM outbox WHERE sent_at IS NULL AND failed_reason IS NULL "
      "GROUP BY platform ORDER BY platform");
  std::vector<outbox_backlog> out;
  while (query.step()) {
    out.push_back({query.column_text(0), query.column_int(1), from_optional_iso(query.column_optional_text(2))});
  }
  return out;
}

std::optional<std::string> outbox::platform_ref_of(row_id id) {
  auto query = db_.prepare("SELECT platform_ref FROM outbox WHERE id = ?");
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return query.column_optional_text(0);
}

}  // namespace releasebot::storage
