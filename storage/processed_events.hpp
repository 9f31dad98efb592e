// Event ids already applied, with the reply that was given, so redeliveries change nothing.
#pragma once

#include "storage/database.hpp"
#include "storage/timestamps.hpp"

namespace releasebot::storage {

class processed_events {
public:
  explicit processed_events(database& db) : db_{db} {}

  std::optional<std::string> stored_reply(std::string_view platform, std::string_view event_id);
  void record(std::string_view platform, std::string_view event_id, std::string_view reply, instant at);

private:
  database& db_;
};

}  // namespace releasebot::storage
