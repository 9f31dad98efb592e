// Internal to webhooks/: how a pipeline's words go into a command — one word for a version or an
// environment, one line for a text, the source's environment names in the policy's words.
#pragma once

#include "integrations/webhooks/pipeline_event.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace releasebot::integrations::webhooks {

// A version or environment goes into the command as one word.
inline bool is_word(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_' || c == '+';
  });
}

// One line of words: the command grammar ends at a line break.
inline std::string one_line(std::string text) {
  for (auto& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

inline std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The pipeline's name for an environment, in the policy's words.
inline std::string mapped_environment(const source_settings& source, const std::string& environment) {
  const auto found = source.environments.find(environment);
  return found != source.environments.end() ? found->second : environment;
}

}  // namespace releasebot::integrations::webhooks
