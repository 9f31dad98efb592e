// Event ids already applied, with the reply that was given, so redeliveries change nothing.
#pragma once

#include "storage/database.hpp"
#include "storage/timestamps.hpp"

namespace releasebot::storage {

struct stored_answer {
  std::string reply;
  bool posted = false;  // the reply reached the platform (a redelivery posts nothing new)
};

class processed_events {
public:
  explicit processed_events(database& db) : db_{db} {}

  std::optional<stored_answer> stored_reply(std::string_view platform, std::string_view event_id);
  void record(std::string_view platform, std::string_view event_id, std::string_view reply, instant at);
  void mark_reply_posted(std::string_view platform, std::string_view event_id, instant at);

private:
  database& db_;
};

}  // namespace releasebot::storage
