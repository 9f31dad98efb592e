// Who is who on each platform: the stable id the bot keys everything by (Slack U…/W…, Teams Entra
// object id, a console name), how to reach them (Teams: the per-bot "29:" id, service URL,
// tenant, a 1:1 conversation once made), and what people read (display name, e-mail/UPN).
// Filled from every event, from the platform's own directory (Slack users.info, the Teams roster)
// and on demand; a person's time zone lives beside it in `people`.
#pragma once

#include "storage/database.hpp"
#include "storage/timestamps.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace releasebot::storage {

struct person_record {
  std::string user_id;         // stable id; a Teams "29:" id only until the object id is known
  std::string chat_id;         // Teams "29:…" (what a 1:1 conversation is created with)
  std::string display_name;
  std::string email;
  std::string principal_name;  // Teams userPrincipalName
  std::string service_url;
  std::string tenant_id;
  std::string team_id;         // the team the roster came from
  std::optional<std::string> direct_conversation_id;
  std::optional<instant> refreshed_at;  // last read from the platform's directory
  std::optional<instant> left_team_at;  // removed from the team (kept: history shows their name)
};

// What people read for someone: their name, else their e-mail or UPN, else a readable stand-in.
// Never an id.
std::string readable_name(const std::optional<person_record>& person);
inline constexpr std::string_view unknown_person_name = "a person not yet seen";

class people_directory {
public:
  people_directory(database& db, std::string platform) : db_{db}, platform_{std::move(platform)} {}

  // Adds or completes a record: empty fields keep what is stored. `from_directory` stamps
  // refreshed_at (the platform's directory said so) and clears left_team_at. When the record's
  // chat id was known as a person of its own (a "29:" id before the object id was learnt), that
  // person's roles, requests and messages move to the stable id.
  void remember(const person_record& person, instant at, bool from_directory = false);
  std::optional<person_record> find(std::string_view user_id);
  std::optional<person_record> find_by_chat_id(std::string_view chat_id);
  // By e-mail or UPN, case-insensitively.
  std::optional<person_record> find_by_address(std::string_view email_or_upn);
  // Someone the roster placed in a team (for a look-up in that team), the most recent.
  std::optional<person_record> anyone_in_a_team();
  void set_direct_conversation(std::string_view user_id, std::string_view conversation_id);
  void left_team(std::string_view user_id, instant at);

private:
  void adopt(std::string_view old_id, std::string_view new_id, instant at);
  std::optional<person_record> first_where(std::string_view condition,
                                           std::optional<std::string_view> value = std::nullopt);

  database& db_;
  std::string platform_;
};

}  // namespace releasebot::storage
