// Reads platform JSON with exact error messages: every field access names its path
// ("payload.event.text is number, expected a string"). Failures throw malformed_json, which the
// decoders turn into their own error values before returning; nothing escapes them.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace releasebot::integrations::net {

struct malformed_json {
  std::string problem;
};

[[noreturn]] inline void reject_json(std::string problem) { throw malformed_json{std::move(problem)}; }

// At most `max_bytes` of `text`, cut before a UTF-8 sequence rather than inside one (a cut one
// would make the JSON it goes into unwritable).
inline std::string utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string{text};
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) --end;
  return std::string{text.substr(0, end)};
}

// Parses without throwing: a discarded value for bad JSON. nlohmann's own non-throwing parse
// still throws out_of_range for a number beyond double range (fuzzing found it), hence this.
inline nlohmann::json parse_json_or_discarded(std::string_view text) {
  try {
    return nlohmann::json::parse(text, nullptr, false);
  } catch (const nlohmann::json::exception&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

// A position in a document: "payload.event" + "text" → "payload.event.text".
struct json_reader {
  const nlohmann::json& value;
  std::string path;

  std::string where(std::string_view key) const {
    return path.empty() ? std::string{key} : path + "." + std::string{key};
  }

  // The member, or nullptr when it is absent or null (platforms send null for "not applicable").
  const nlohmann::json* find(std::string_view key) const {
    const auto it = value.find(key);
    return it == value.end() || it->is_null() ? nullptr : &*it;
  }

  const nlohmann::json& expect(std::string_view key, nlohmann::json::value_t type, std::string_view expected) const {
    const nlohmann::json* member = find(key);
    if (member == nullptr) reject_json(where(key) + " is missing");
    if (member->type() != type) {
      reject_json(where(key) + " is " + member->type_name() + ", expected " + std::string{expected});
    }
    return *member;
  }

  json_reader object(std::string_view key) const {
    return {expect(key, nlohmann::json::value_t::object, "an object"), where(key)};
  }

  std::optional<json_reader> optional_object(std::string_view key) const {
    if (find(key) == nullptr) return std::nullopt;
    return object(key);
  }

  std::string string(std::string_view key) const {
    return expect(key, nlohmann::json::value_t::string, "a string").get_ref<const std::string&>();
  }

  std::optional<std::string> optional_string(std::string_view key) const {
    if (find(key) == nullptr) return std::nullopt;
    return string(key);
  }

  std::string string_or_empty(std::string_view key) const { return optional_string(key).value_or(std::string{}); }

  // Ids (users, channels, conversations, envelopes) are never empty when a platform sends them.
  std::string id(std::string_view key) const {
    auto text = string(key);
    if (text.empty()) reject_json(where(key) + " is empty");
    return text;
  }

  std::string optional_id(std::string_view key) const { return find(key) == nullptr ? std::string{} : id(key); }

  int optional_count(std::string_view key) const {
    const nlohmann::json* member = find(key);
    if (member == nullptr) return 0;
    if (!member->is_number_integer()) reject_json(where(key) + " is " + member->type_name() + ", expected an integer");
    constexpr auto most = static_cast<std::uint64_t>(std::numeric_limits<int>::max());
    // The parser keeps every non-negative integer unsigned, so a signed one is negative.
    if (!member->is_number_unsigned() || member->get<std::uint64_t>() > most) reject_json(where(key) + " is out of range");
    return static_cast<int>(member->get<std::uint64_t>());
  }

  bool optional_flag(std::string_view key) const {
    if (find(key) == nullptr) return false;
    return expect(key, nlohmann::json::value_t::boolean, "a boolean").get<bool>();
  }
};

}  // namespace releasebot::integrations::net
