#include "commands/time_text.hpp"

#include <catch2/catch.hpp>
#include <date/date.h>

#include <chrono>
#include <string>

namespace {

using namespace std::chrono_literals;
using releasebot::commands::format_time;
using releasebot::commands::is_known_zone;
using releasebot::commands::parse_date;
using releasebot::commands::parse_time;
using releasebot::commands::time_error;
using seconds_point = std::chrono::sys_seconds;

seconds_point utc(int y, unsigned m, unsigned d, int hh, int mm) {
  return seconds_point{date::sys_days{date::year{y} / date::month{m} / date::day{d}}} + std::chrono::hours{hh} +
         std::chrono::minutes{mm};
}

seconds_point parsed(std::string_view text, std::string_view zone = "UTC") {
  const auto result = parse_time(text, zone);
  if (const auto* error = std::get_if<time_error>(&result)) FAIL("'" << text << "' refused: " << error->problem);
  return std::get<seconds_point>(result);
}

std::string refusal(std::string_view text, std::string_view zone = "UTC") {
  const auto result = parse_time(text, zone);
  if (std::holds_alternative<seconds_point>(result)) FAIL("'" << text << "' was accepted");
  return std::get<time_error>(result).problem;
}

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("a time with an explicit zone is that exact UTC instant", "[time]") {
  // December: Adelaide is on ACDT, UTC+10:30.
  CHECK(parsed("2026-12-01 17:00 Australia/Adelaide") == utc(2026, 12, 1, 6, 30));
  // July: ACST, UTC+9:30 — the previous UTC day.
  CHECK(parsed("2026-07-01 09:00 Australia/Adelaide") == utc(2026, 6, 30, 23, 30));
  CHECK(parsed("2026-07-01 09:00 Europe/Berlin") == utc(2026, 7, 1, 7, 0));
  CHECK(parsed("2026-01-15 09:00 America/New_York") == utc(2026, 1, 15, 14, 0));
  CHECK(parsed("2026-07-01 09:00 UTC") == utc(2026, 7, 1, 9, 0));
  // An explicit zone wins over the default.
  CHECK(parsed("2026-07-01 09:00 Europe/Berlin", "Australia/Adelaide") == utc(2026, 7, 1, 7, 0));
}

TEST_CASE("without a zone the default zone applies", "[time]") {
  CHECK(parsed("2026-07-01 09:00", "Australia/Adelaide") == utc(2026, 6, 30, 23, 30));
  CHECK(parsed("2026-12-01 17:00", "Australia/Adelaide") == utc(2026, 12, 1, 6, 30));
  CHECK(parsed("2026-07-01 09:00", "UTC") == utc(2026, 7, 1, 9, 0));
  CHECK(parsed("  2026-07-01   09:00  ", "UTC") == utc(2026, 7, 1, 9, 0));
  CHECK(contains(refusal("2026-07-01 09:00", "Nowhere/Special"), "unknown time zone 'Nowhere/Special'"));
}

TEST_CASE("Adelaide daylight-saving changes are refused with the reason", "[time]") {
  SECTION("2026-10-04 02:30 does not exist (clocks jump 02:00 → 03:00)") {
    const auto problem = refusal("2026-10-04 02:30 Australia/Adelaide");
    CHECK(contains(problem, "does not exist"));
    CHECK(contains(problem, "2026-10-04 02:30"));
    CHECK(contains(problem, "Australia/Adelaide"));
    // The same wall time through the default zone is refused too.
    CHECK(contains(refusal("2026-10-04 02:30", "Australia/Adelaide"), "does not exist"));
    // Either side of the gap is fine: 01:59 ACST and 03:00 ACDT are one minute apart.
    CHECK(parsed("2026-10-04 03:00 Australia/Adelaide") - parsed("2026-10-04 01:59 Australia/Adelaide") == 1min);
  }
  SECTION("2026-04-05 02:30 happens twice (clocks go back 03:00 → 02:00)") {
    const auto problem = refusal("2026-04-05 02:30 Australia/Adelaide");
    CHECK(contains(problem, "happens twice"));
    CHECK(contains(problem, "2026-04-05 02:30"));
    // 01:59 ACDT to 03:00 ACST is an hour and a minute... plus the repeated hour: 2h01.
    CHECK(parsed("2026-04-05 03:00 Australia/Adelaide") - parsed("2026-04-05 01:59 Australia/Adelaide") == 2h + 1min);
  }
}

TEST_CASE("a span across the switch to daylight saving is an hour short", "[time]") {
  const auto before = parsed("2026-10-03 12:00 Australia/Adelaide");  // ACST, UTC+9:30
  const auto after = parsed("2026-10-05 12:00 Australia/Adelaide");   // ACDT, UTC+10:30
  CHECK(before == utc(2026, 10, 3, 2, 30));
  CHECK(after == utc(2026, 10, 5, 1, 30));
  CHECK(after - before == 47h);
  // And across the switch back it is an hour long.
  CHECK(parsed("2026-04-06 12:00 Australia/Adelaide") - parsed("2026-04-04 12:00 Australia/Adelaide") == 49h);
}

TEST_CASE("bad times are refused", "[time]") {
  CHECK(contains(refusal("2026-12-01 17:00 Mars/Olympus"), "unknown time zone 'Mars/Olympus'"));
  CHECK(contains(refusal("2026-12-01 17:00 adelaide"), "unknown time zone 'adelaide'"));
  CHECK(contains(refusal("tomorrow noon"), "is not a time"));
  CHECK(contains(refusal("2026-12-01"), "YYYY-MM-DD HH:MM"));
  CHECK(contains(refusal(""), "YYYY-MM-DD HH:MM"));
  CHECK(contains(refusal("2026-13-01 10:00"), "is not a time"));
  CHECK(contains(refusal("2026-02-30 10:00"), "is not a time"));
  CHECK(contains(refusal("2026-12-01 25:00"), "is not a time"));
  CHECK(contains(refusal("2026-12-01 17:60"), "is not a time"));
  CHECK(contains(refusal("2026-12-01 17:00x"), "is not a time"));
  CHECK(contains(refusal("01/12/2026 17:00"), "is not a time"));
  CHECK(contains(refusal("2026-12-01 17:00 Australia/Adelaide please"), "unexpected 'please'"));
}

TEST_CASE("parse_date is the start of the day in the zone", "[time]") {
  const auto day = parse_date("2026-10-04", "Australia/Adelaide");
  REQUIRE(std::holds_alternative<seconds_point>(day));
  CHECK(std::get<seconds_point>(day) == utc(2026, 10, 3, 14, 30));
  const auto utc_day = parse_date("2026-01-01", "UTC");
  REQUIRE(std::holds_alternative<seconds_point>(utc_day));
  CHECK(std::get<seconds_point>(utc_day) == utc(2026, 1, 1, 0, 0));
  CHECK(std::holds_alternative<time_error>(parse_date("2026-99-01", "UTC")));
  CHECK(std::holds_alternative<time_error>(parse_date("soon", "UTC")));
}

TEST_CASE("format_time shows the zone abbreviation and name", "[time]") {
  CHECK(format_time(utc(2026, 12, 1, 6, 30), "Australia/Adelaide") == "2026-12-01 17:00 ACDT (Australia/Adelaide)");
  CHECK(format_time(utc(2026, 6, 30, 23, 30), "Australia/Adelaide") == "2026-07-01 09:00 ACST (Australia/Adelaide)");
  CHECK(format_time(utc(2026, 7, 1, 7, 0), "Europe/Berlin") == "2026-07-01 09:00 CEST (Europe/Berlin)");
  // Seconds are not shown (and not rounded up).
  CHECK(format_time(utc(2026, 7, 1, 7, 0) + 59s, "Europe/London") == "2026-07-01 08:00 BST (Europe/London)");
  // For UTC the abbreviation is the name: it is not repeated.
  CHECK(format_time(utc(2026, 7, 1, 7, 0), "UTC") == "2026-07-01 07:00 UTC");
  // An unknown zone falls back to UTC rather than failing.
  CHECK(format_time(utc(2026, 7, 1, 7, 0), "Nowhere/Special") == "2026-07-01 07:00 UTC");
  // Round trip: what format_time shows parses back to the same instant.
  const auto at = parsed("2026-10-05 12:00 Australia/Adelaide");
  const auto shown = format_time(at, "Australia/Adelaide");
  CHECK(parsed(shown.substr(0, 16), "Australia/Adelaide") == at);
}

TEST_CASE("seconds may be given", "[time]") {
  CHECK(parsed("2026-07-01 09:00:30 Europe/Berlin") == utc(2026, 7, 1, 7, 0) + 30s);
  CHECK(contains(refusal("2026-07-01 09:00:61"), "is not a time"));
}

TEST_CASE("is_known_zone", "[time]") {
  CHECK(is_known_zone("Australia/Adelaide"));
  CHECK(is_known_zone("UTC"));
  CHECK(is_known_zone("Europe/Berlin"));
  CHECK_FALSE(is_known_zone("Mars/Olympus"));
  CHECK_FALSE(is_known_zone(""));
}
