// UTC instants as they are stored: ISO-8601 text with a Z, to the second.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace releasebot::storage {

using instant = std::chrono::sys_seconds;

std::string to_iso(instant at);
// Throws database_error when the text is not one of ours.
instant from_iso(std::string_view text);
std::optional<instant> from_optional_iso(const std::optional<std::string>& text);

}  // namespace releasebot::storage
