#include "storage/conversation_directory.hpp"

namespace releasebot::storage {

void conversation_directory::remember_conversation(const conversation_address& address, instant at) {
  db_.prepare("INSERT INTO conversation_references (platform, conversation_id, service_url, tenant_id, kind, updated_at) "
              "VALUES (?,?,?,?,?,?) ON CONFLICT (platform, conversation_id) DO UPDATE SET service_url = "
              "excluded.service_url, tenant_id = excluded.tenant_id, kind = excluded.kind, updated_at = excluded.updated_at "
              "WHERE service_url <> excluded.service_url OR tenant_id <> excluded.tenant_id OR kind <> excluded.kind")
      .bind_all(platform_, address.conversation_id, address.service_url, address.tenant_id, address.kind, to_iso(at))
      .execute();
}

std::optional<conversation_address> conversation_directory::conversation(std::string_view conversation_id) {
  auto query = db_.prepare(
      "SELECT conversation_id, service_url, tenant_id, kind FROM conversation_references WHERE platform = ? AND "
      "conversation_id = ?");
  query.bind_all(platform_, conversation_id);
  if (!query.step()) return std::nullopt;
  return conversation_address{query.column_text(0), query.column_text(1), query.column_text(2), query.column_text(3)};
}

void conversation_directory::remember_person(const person_address& address, instant at) {
  db_.prepare("INSERT INTO platform_users (platform, user_id, chat_id, direct_conversation_id, service_url, tenant_id, "
              "updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (platform, user_id) DO UPDATE SET chat_id = "
              "excluded.chat_id, direct_conversation_id = coalesce(excluded.direct_conversation_id, "
              "direct_conversation_id), service_url = excluded.service_url, tenant_id = excluded.tenant_id, updated_at = "
              "excluded.updated_at WHERE chat_id <> excluded.chat_id OR service_url <> excluded.service_url OR "
              "tenant_id <> excluded.tenant_id OR (excluded.direct_conversation_id IS NOT NULL AND "
              "direct_conversation_id IS NOT excluded.direct_conversation_id)")
      .bind_all(platform_, address.user_id, address.chat_id, address.direct_conversation_id, address.service_url,
                address.tenant_id, to_iso(at))
      .execute();
}

std::optional<person_address> conversation_directory::person(std::string_view user_id) {
  auto query = db_.prepare(
      "SELECT user_id, chat_id, direct_conversation_id, service_url, tenant_id FROM platform_users WHERE platform = ? "
      "AND user_id = ?");
  query.bind_all(platform_, user_id);
  if (!query.step()) return std::nullopt;
  return person_address{query.column_text(0), query.column_text(1), query.column_optional_text(2), query.column_text(3),
                        query.column_text(4)};
}

void conversation_directory::set_direct_conversation(std::string_view user_id, std::string_view conversation_id) {
  db_.prepare("UPDATE platform_users SET direct_conversation_id = ? WHERE platform = ? AND user_id = ?")
      .bind_all(conversation_id, platform_, user_id)
      .execute();
}

}  // namespace releasebot::storage
