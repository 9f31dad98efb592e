// Where the bot can reach a conversation on platforms that address messages by
// service endpoint and conversation (Teams): remembered from every activity. People are in people_directory.
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

class conversation_directory {
public:
  conversation_directory(database& db, std::string platform) : db_{db}, platform_{std::move(platform)} {}

  void remember_conversation(const conversation_address& address, instant at);
  std::optional<conversation_address> conversation(std::string_view conversation_id);

private:
  database& db_;
  std::string platform_;
};

}  // namespace releasebot::storage
