// The people of the teams releasebot is in, as the Bot Connector knows them: remembered from
// every activity (the sender, each mention, members added or removed), read from a team's roster
// when the app is installed there (paged), and fetched one by one when someone is mentioned or
// addressed whom the directory does not know yet. It turns "29:" ids into the stable Entra object
// id before a command sees them, and names people in messages before they are rendered.
#pragma once

#include "commands/message.hpp"
#include "integrations/teams/activity.hpp"
#include "integrations/teams/connector_client.hpp"
#include "storage/database.hpp"
#include "storage/people_directory.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace releasebot::integrations::teams {

// A Teams member as the REST API answers it (id, name, objectId or aadObjectId, email,
// userPrincipalName, tenantId); nullopt without a "29:" id.
std::optional<storage::person_record> person_from_member(const nlohmann::json& member);

struct roster_outcome {
  int members = 0;     // read and remembered
  std::string problem; // empty when the whole roster was read
};

class roster {
public:
  roster(storage::database& db, connector_client& connector) : db_{db}, connector_{connector} {}

  // What the activity says about people, stored. Returns the ids of people who can now be
  // reached (they wrote in a 1:1 chat or installed the app personally), to requeue their mail.
  std::vector<std::string> remember(const decoded_activity& activity);
  // Every "<@29:…>" in the event's text becomes "<@object id>" when the directory or the Bot
  // Connector knows it (at most one look-up per unknown person, short: the ack waits).
  boost::asio::awaitable<void> resolve_mentions(bot::inbound& event, const decoded_activity& activity);
  // The whole roster of a team, page by page (continuation token), into the directory.
  boost::asio::awaitable<roster_outcome> read_team(std::string service_url, std::string team_id,
                                                   std::string tenant_id);
  // People just added to a team: their names and e-mail, one look-up each.
  boost::asio::awaitable<void> read_members(std::string service_url, std::string team_id,
                                            std::vector<member_ref> members);
  // A person the directory has no address for (an admin configured by object id or UPN), looked
  // up in a team the bot is in.
  boost::asio::awaitable<std::optional<storage::person_record>> find_or_fetch(const std::string& user_id);
  // Names every mention of `body` (span.name) and points it at the "29:" id Teams pings by.
  void name(commands::message& body);

  static constexpr std::chrono::seconds lookup_deadline{2};

private:
  boost::asio::awaitable<std::optional<storage::person_record>> fetch_within(std::string service_url,
                                                                             std::string conversation_id,
                                                                             std::string member_id, std::string team_id);
  boost::asio::awaitable<std::optional<storage::person_record>> fetch(std::string service_url,
                                                                      std::string conversation_id,
                                                                      std::string member_id, std::string team_id);

  storage::database& db_;
  connector_client& connector_;
};

}  // namespace releasebot::integrations::teams
