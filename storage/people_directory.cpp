#include "storage/people_directory.hpp"

namespace releasebot::storage {

namespace {

constexpr std::string_view columns =
    "user_id, chat_id, display_name, email, principal_name, service_url, tenant_id, team_id, direct_conversation_id, "
    "refreshed_at, left_team_at";

person_record read_person(const statement& row) {
  person_record person;
  person.user_id = row.column_text(0);
  person.chat_id = row.column_text(1);
  person.display_name = row.column_text(2);
  person.email = row.column_text(3);
  person.principal_name = row.column_text(4);
  person.service_url = row.column_text(5);
  person.tenant_id = row.column_text(6);
  person.team_id = row.column_text(7);
  person.direct_conversation_id = row.column_optional_text(8);
  person.refreshed_at = from_optional_iso(row.column_optional_text(9));
  person.left_team_at = from_optional_iso(row.column_optional_text(10));
  return person;
}

}  // namespace

std::string readable_name(const std::optional<person_record>& person) {
  if (!person) return std::string{unknown_person_name};
  if (!person->display_name.empty()) return person->display_name;
  if (!person->email.empty()) return person->email;
  if (!person->principal_name.empty()) return person->principal_name;
  return std::string{unknown_person_name};
}

void people_directory::remember(const person_record& person, instant at, bool from_directory) {
  if (person.user_id.empty()) return;
  if (!person.chat_id.empty() && person.chat_id != person.user_id) adopt(person.chat_id, person.user_id, at);
  const auto stamp = to_iso(at);
  const std::optional<std::string> refreshed = from_directory ? std::optional{stamp} : std::nullopt;
  // Only when something differs: most activities repeat what is known, and an unchanged row
  // costs no write.
  db_.prepare(
         "INSERT INTO platform_users (platform, user_id, chat_id, display_name, email, principal_name, service_url, "
         "tenant_id, team_id, direct_conversation_id, refreshed_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
         "ON CONFLICT (platform, user_id) DO UPDATE SET "
         "chat_id = coalesce(nullif(excluded.chat_id, ''), chat_id), "
         "display_name = coalesce(nullif(excluded.display_name, ''), display_name), "
         "email = coalesce(nullif(excluded.email, ''), email), "
         "principal_name = coalesce(nullif(excluded.principal_name, ''), principal_name), "
         "service_url = coalesce(nullif(excluded.service_url, ''), service_url), "
         "tenant_id = coalesce(nullif(excluded.tenant_id, ''), tenant_id), "
         "team_id = coalesce(nullif(excluded.team_id, ''), team_id), "
         "direct_conversation_id = coalesce(excluded.direct_conversation_id, direct_conversation_id), "
         "refreshed_at = coalesce(excluded.refreshed_at, refreshed_at), "
         "left_team_at = CASE WHEN excluded.refreshed_at IS NOT NULL THEN NULL ELSE left_team_at END, "
         "updated_at = excluded.updated_at "
         "WHERE (excluded.chat_id <> '' AND excluded.chat_id <> chat_id) "
         "OR (excluded.display_name <> '' AND excluded.display_name <> display_name) "
         "OR (excluded.email <> '' AND excluded.email <> email) "
         "OR (excluded.principal_name <> '' AND excluded.principal_name <> principal_name) "
         "OR (excluded.service_url <> '' AND excluded.service_url <> service_url) "
         "OR (excluded.tenant_id <> '' AND excluded.tenant_id <> tenant_id) "
         "OR (excluded.team_id <> '' AND excluded.team_id <> team_id) "
         "OR (excluded.direct_conversation_id IS NOT NULL AND direct_conversation_id IS NOT excluded.direct_conversation_id) "
         "OR excluded.refreshed_at IS NOT NULL")
      .bind_all(platform_, person.user_id, person.chat_id, person.display_name, person.email, person.principal_name,
                person.service_url, person.tenant_id, person.team_id, person.direct_conversation_id, refreshed, stamp)
      .execute();
}

std::optional<person_record> people_directory::find(std::string_view user_id) {
  if (user_id.empty()) return std::nullopt;
  return first_where("user_id = ?2 ORDER BY updated_at DESC", user_id);
}

std::optional<person_record> people_directory::find_by_chat_id(std::string_view chat_id) {
  if (chat_id.empty()) return std::nullopt;
  // A stable record first: a row keyed by the chat id itself is only a stand-in.
  return first_where("chat_id = ?2 ORDER BY user_id = chat_id, updated_at DESC", chat_id);
}

std::optional<person_record> people_directory::find_by_address(std::string_view email_or_upn) {
  if (email_or_upn.find('@') == std::string_view::npos) return std::nullopt;
  return first_where("(lower(email) = lower(?2) OR lower(principal_name) = lower(?2)) ORDER BY updated_at DESC",
                     email_or_upn);
}

std::optional<person_record> people_directory::anyone_in_a_team() {
  return first_where("team_id <> '' AND service_url <> '' ORDER BY updated_at DESC");
}

// The first of this platform's people matching `condition` (its value, if any, bound as ?2),
// ordered as it says.
std::optional<person_record> people_directory::first_where(std::string_view condition,
                                                           std::optional<std::string_view> value) {
  auto query = db_.prepare("SELECT " + std::string{columns} + " FROM platform_users WHERE platform = ?1 AND " +
                           std::string{condition} + " LIMIT 1");
  query.bind(1, platform_);
  if (value) query.bind(2, *value);
  if (!query.step()) return std::nullopt;
  return read_person(query);
}

void people_directory::set_direct_conversation(std::string_view user_id, std::string_view conversation_id) {
  db_.prepare("UPDATE platform_users SET direct_conversation_id = ? WHERE platform = ? AND user_id = ?")
      .bind_all(conversation_id, platform_, user_id)
      .execute();
}

void people_directory::left_team(std::string_view user_id, instant at) {
  db_.prepare("UPDATE platform_users SET left_team_at = ? WHERE platform = ? AND user_id = ? AND left_team_at IS NULL")
      .bind_all(to_iso(at), platform_, user_id)
      .execute();
}

// A person first met by their chat id (a mention the roster could not resolve) is the same
// person as the stable id learnt now: what was theirs becomes the stable id's. The audit trail
// keeps the id it recorded at the time.
void people_directory::adopt(std::string_view old_id, std::string_view new_id, instant at) {
  auto early = find(old_id);
  if (!early) return;
  static constexpr std::string_view moves[] = {
      "UPDATE OR IGNORE role_grants SET user_id = ?2 WHERE user_id = ?1",
      "DELETE FROM role_grants WHERE user_id = ?1 AND user_id <> ?2",
      "UPDATE signoff_requests SET assignee = ?2 WHERE assignee = ?1",
      "UPDATE releases SET coordinator = ?2 WHERE coordinator = ?1",
      "UPDATE review_items SET owner = ?2 WHERE owner = ?1",
      "UPDATE outbox SET recipient = ?2, conversation = 'direct:' || ?2 WHERE recipient = ?1 AND sent_at IS NULL",
  };
  for (const auto sql : moves) db_.prepare(sql).bind_all(old_id, new_id).execute();
  // What was learnt of them under the old id is the start of the new record; the caller's newer
  // facts are written over it.
  db_.prepare("DELETE FROM platform_users WHERE platform = ? AND user_id = ?").bind_all(platform_, old_id).execute();
  early->user_id = std::string{new_id};
  remember(*early, at);
}

}  // namespace releasebot::storage
