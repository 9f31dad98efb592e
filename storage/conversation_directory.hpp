// Where the bot can reach a conversation or a person on platforms that address messages by
// service endpoint and conversation (Teams): remembered from every activity, used to write first.
#pragma once

#include "storage/database.hpp"
#include "storage/timestamps.hpp"

namespace releasebot::storage {

struct conversation_address {
  std::string conversation_id;
  std::string service_url;
  std::string tenant_id;
  std::string kind;  // personal | channel | groupChat
};

struct person_address {
  std::string user_id;   // the stable id the bot uses (Teams: aadObjectId)
  std::string chat_id;   // the per-bot id to create a chat with (Teams: 29:…)
  std::optional<std::string> direct_conversation_id;
  std::string service_url;
  std::string tenant_id;
};

class conversation_directory {
public:
  conversation_directory(database& db, std::string platform) : db_{db}, platform_{std::move(platform)} {}

  void remember_conversation(const conversation_address& address, instant at);
  std::optional<conversation_address> conversation(std::string_view conversation_id);
  // Keeps a known direct conversation when the new record has none.
  void remember_person(const person_address& address, instant at);
  std::optional<person_address> person(std::string_view user_id);
  void set_direct_conversation(std::string_view user_id, std::string_view conversation_id);

private:
  database& db_;
  std::string platform_;
};

}  // namespace releasebot::storage
