// What the bot knows of a person beyond their id: the time zone their platform reports.
#pragma once

#include "storage/database.hpp"
#include "storage/timestamps.hpp"

namespace releasebot::storage {

class people {
public:
  explicit people(database& db) : db_{db} {}

  // false when the stored zone was already this one.
  bool set_time_zone(std::string_view user, std::string_view zone, instant at);
  std::optional<std::string> time_zone_of(std::string_view user);

private:
  database& db_;
};

}  // namespace releasebot::storage
