// When a person may be disturbed: working hours and days in their own time zone.
#pragma once

#include "commands/policy.hpp"

#include <chrono>
#include <string_view>

namespace releasebot::commands {

// The earliest instant at or after `earliest` that lies within working hours on a working day,
// as a clock on the wall in `zone` shows them (daylight-saving changes included).
std::chrono::sys_seconds next_working_moment(std::chrono::sys_seconds earliest, std::string_view zone,
                                             const nudge_policy& hours);

// The start of the working day after the one `at` falls in (at most one nudge per working day).
std::chrono::sys_seconds next_working_day(std::chrono::sys_seconds at, std::string_view zone, const nudge_policy& hours);

}  // namespace releasebot::commands
