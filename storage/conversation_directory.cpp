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

}  // namespace releasebot::storage
