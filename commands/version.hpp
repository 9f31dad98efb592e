// Semantic versions as people type them: 4.2.0, v4.2.0, or a prefix like 4.2.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace releasebot::commands {

struct version {
  int major = 0;
  int minor = 0;
  int patch = 0;

  std::string to_string() const;
  auto operator<=>(const version&) const = default;
};

// Exactly MAJOR.MINOR.PATCH, optional leading v/V, no leading zeros, each part < 1,000,000.
std::optional<version> parse_version(std::string_view text);

// One to three numeric parts ("4", "4.2", "4.2.0"), optional leading v.
std::optional<std::vector<int>> parse_version_prefix(std::string_view text);
bool matches_prefix(const version& candidate, const std::vector<int>& prefix);

}  // namespace releasebot::commands
