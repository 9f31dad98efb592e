#include "commands/time_text.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <sstream>

namespace releasebot::commands {

namespace {

const date::time_zone* find_zone(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

bool is_known_zone(std::string_view zone) { return find_zone(zone) != nullptr; }

std::variant<std::chrono::sys_seconds, time_error> parse_time(std::string_view text, std::string_view default_zone) {
  std::istringstream in{std::string{text}};
  std::string day;
  std::string clock;
  std::string zone_name;
  std::string extra;
  in >> day >> clock >> zone_name >> extra;
  if (!extra.empty()) return time_error{"unexpected '" + extra + "' after the time zone"};
  if (clock.empty()) return time_error{"a time is YYYY-MM-DD HH:MM, optionally followed by a zone like Australia/Adelaide"};
  std::istringstream parse_in{day + ' ' + clock};
  date::local_seconds local;
  const bool with_seconds = std::count(clock.begin(), clock.end(), ':') == 2;
  parse_in >> date::parse(with_seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", local);
  if (parse_in.fail() || parse_in.peek() != EOF) {
    return time_error{"'" + day + ' ' + clock + "' is not a time — write YYYY-MM-DD HH:MM, e.g. 2026-12-01 17:00"};
  }
  if (zone_name.empty()) zone_name = std::string{default_zone};
  const auto* zone = find_zone(zone_name);
  if (zone == nullptr) return time_error{"unknown time zone '" + zone_name + "' — use an IANA name like Australia/Adelaide"};
  const auto info = zone->get_info(local);
  if (info.result == date::local_info::nonexistent) {
    return time_error{day + ' ' + clock + " does not exist in " + zone_name +
                      " (clocks jump forward then) — pick a time outside the daylight-saving change"};
  }
  if (info.result == date::local_info::ambiguous) {
    return time_error{day + ' ' + clock + " happens twice in " + zone_name +
                      " (clocks go back then) — pick a time outside the daylight-saving change, or give it in UTC"};
  }
  return std::chrono::sys_seconds{zone->to_sys(local)};
}

std::variant<std::chrono::sys_seconds, time_error> parse_date(std::string_view text, std::string_view zone) {
  return parse_time(std::string{text} + " 00:00 " + std::string{zone}, zone);
}

std::string format_time(std::chrono::sys_seconds at, std::string_view zone_name) {
  const auto* zone = find_zone(zone_name);
  if (zone == nullptr) return date::format("%Y-%m-%d %H:%M UTC", at);
  const auto zoned = date::make_zoned(zone, std::chrono::floor<std::chrono::minutes>(at));
  auto text = date::format("%Y-%m-%d %H:%M %Z", zoned);
  if (!text.ends_with(zone_name)) text += " (" + std::string{zone_name} + ")";
  return text;
}

}  // namespace releasebot::commands
