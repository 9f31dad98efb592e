#include "commands/version.hpp"

#include <charconv>

namespace releasebot::commands {

std::string version::to_string() const {
  return std::to_string(major) + '.' + std::to_string(minor) + '.' + std::to_string(patch);
}

std::optional<std::vector<int>> parse_version_prefix(std::string_view text) {
  if (!text.empty() && (text.front() == 'v' || text.front() == 'V')) text.remove_prefix(1);
  std::vector<int> parts;
  while (true) {
    const auto dot = text.find('.');
    const auto part = text.substr(0, dot);
    if (part.empty() || part.size() > 6 || (part.size() > 1 && part.front() == '0')) return std::nullopt;
    // Digits only: from_chars alone would take "-1" as a part.
    if (part.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    int value = 0;
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (error != std::errc{} || end != part.data() + part.size()) return std::nullopt;
    parts.push_back(value);
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
    if (parts.size() == 3) return std::nullopt;
  }
  return parts;
}

std::optional<version> parse_version(std::string_view text) {
  const auto parts = parse_version_prefix(text);
  if (!parts || parts->size() != 3) return std::nullopt;
  return version{(*parts)[0], (*parts)[1], (*parts)[2]};
}

bool matches_prefix(const version& candidate, const std::vector<int>& prefix) {
  const int parts[] = {candidate.major, candidate.minor, candidate.patch};
  for (std::size_t i = 0; i < prefix.size() && i < 3; ++i) {
    if (parts[i] != prefix[i]) return false;
  }
  return true;
}

}  // namespace releasebot::commands
