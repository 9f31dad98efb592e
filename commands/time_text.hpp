// Times as people type and read them: local wall-clock time in an IANA zone, stored as UTC.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <variant>

namespace releasebot::commands {

struct time_error {
  std::string problem;
};

// "YYYY-MM-DD HH:MM[:SS] [Area/City]"; without a zone, default_zone applies. Ambiguous and
// non-existent local times (daylight-saving changes) are refused with the reason.
std::variant<std::chrono::sys_seconds, time_error> parse_time(std::string_view text, std::string_view default_zone);

// "YYYY-MM-DD" as the start of that day in the zone.
std::variant<std::chrono::sys_seconds, time_error> parse_date(std::string_view text, std::string_view zone);

// "2026-12-01 17:00 ACDT (Australia/Adelaide)"
std::string format_time(std::chrono::sys_seconds at, std::string_view zone);

bool is_known_zone(std::string_view zone);

}  // namespace releasebot::commands
