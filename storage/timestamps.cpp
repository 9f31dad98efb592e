#include "storage/timestamps.hpp"

#include "storage/database.hpp"

#include <date/date.h>

#include <sstream>

namespace releasebot::storage {

std::string to_iso(instant at) { return date::format("%Y-%m-%dT%H:%M:%SZ", at); }

instant from_iso(std::string_view text) {
  std::istringstream in{std::string{text}};
  instant at;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", at);
  if (in.fail()) throw database_error{"stored time '" + std::string{text} + "' is not ISO-8601 UTC"};
  return at;
}

std::optional<instant> from_optional_iso(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return from_iso(*text);
}

}  // namespace releasebot::storage
