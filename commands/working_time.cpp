#include "commands/working_time.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>

namespace releasebot::commands {

namespace {

const date::time_zone* zone_or_utc(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return date::locate_zone("UTC");
  }
}

bool is_working_day(date::local_days day, const nudge_policy& hours) {
  const auto weekday = date::weekday{day}.iso_encoding();
  return std::find(hours.working_days.begin(), hours.working_days.end(), weekday) != hours.working_days.end();
}

// A wall-clock time that a daylight-saving jump skipped maps to the first moment after the jump.
std::chrono::sys_seconds to_instant(const date::time_zone* zone, date::local_seconds local) {
  return std::chrono::floor<std::chrono::seconds>(zone->to_sys(local, date::choose::latest));
}

}  // namespace

std::chrono::sys_seconds next_working_moment(std::chrono::sys_seconds earliest, std::string_view zone_name,
                                             const nudge_policy& hours) {
  const auto* zone = zone_or_utc(zone_name);
  const auto local = zone->to_local(earliest);
  auto day = std::chrono::floor<date::days>(local);
  for (int i = 0; i < 15; ++i, day += date::days{1}) {
    if (!is_working_day(day, hours)) continue;
    const auto opens = to_instant(zone, day + hours.day_start);
    const auto closes = to_instant(zone, day + hours.day_end);
    if (earliest < opens) return opens;
    if (earliest < closes) return earliest;
  }
  return earliest;  // no working day configured in reach: do not hold the nudge back forever
}

std::chrono::sys_seconds next_working_day(std::chrono::sys_seconds at, std::string_view zone_name,
                                          const nudge_policy& hours) {
  const auto* zone = zone_or_utc(zone_name);
  const auto tomorrow = std::chrono::floor<date::days>(zone->to_local(at)) + date::days{1};
  return next_working_moment(to_instant(zone, date::local_seconds{tomorrow}), zone_name, hours);
}

}  // namespace releasebot::commands
