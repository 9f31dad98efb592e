#include "storage/timestamps.hpp"

#include "storage/database.hpp"

#include <date/date.h>

namespace releasebot::storage {

namespace {

// Formatting and parsing by hand: date::format/parse go through iostreams and locales, which
// cost a noticeable share of every command's time (several timestamps are written per command).
void put_digits(char* at, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

bool read_digits(std::string_view text, std::size_t from, int width, int& value) {
  value = 0;
  for (int i = 0; i < width; ++i) {
    const char c = text[from + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

}  // namespace

std::string to_iso(instant at) {
  const auto day = date::floor<date::days>(at);
  const date::year_month_day civil{day};
  const auto seconds = (at - day).count();
  const int year = static_cast<int>(civil.year());
  if (year < 0 || year > 9999) return date::format("%Y-%m-%dT%H:%M:%SZ", at);  // never in practice
  std::string text = "0000-00-00T00:00:00Z";
  put_digits(text.data(), static_cast<unsigned>(year), 4);
  put_digits(text.data() + 5, static_cast<unsigned>(civil.month()), 2);
  put_digits(text.data() + 8, static_cast<unsigned>(civil.day()), 2);
  put_digits(text.data() + 11, static_cast<unsigned>(seconds / 3600), 2);
  put_digits(text.data() + 14, static_cast<unsigned>(seconds / 60 % 60), 2);
  put_digits(text.data() + 17, static_cast<unsigned>(seconds % 60), 2);
  return text;
}

instant from_iso(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  const bool shaped = text.size() == 20 && text[4] == '-' && text[7] == '-' && text[10] == 'T' && text[13] == ':' &&
                      text[16] == ':' && text[19] == 'Z' && read_digits(text, 0, 4, year) &&
                      read_digits(text, 5, 2, month) && read_digits(text, 8, 2, day) &&
                      read_digits(text, 11, 2, hour) && read_digits(text, 14, 2, minute) &&
                      read_digits(text, 17, 2, second);
  const date::year_month_day civil{date::year{year}, date::month{static_cast<unsigned>(month)},
                                   date::day{static_cast<unsigned>(day)}};
  if (!shaped || !civil.ok() || hour > 23 || minute > 59 || second > 59) {
    throw database_error{"stored time '" + std::string{text} + "' is not ISO-8601 UTC"};
  }
  return instant{date::sys_days{civil}.time_since_epoch() + std::chrono::hours{hour} + std::chrono::minutes{minute} +
                 std::chrono::seconds{second}};
}

std::optional<instant> from_optional_iso(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return from_iso(*text);
}

}  // namespace releasebot::storage
