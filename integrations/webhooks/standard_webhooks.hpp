// The Standard Webhooks signature scheme (standardwebhooks.com), for the generic pipeline
// endpoint: headers webhook-id, webhook-timestamp (Unix seconds) and webhook-signature (a
// space-separated list of "v1,<base64 HMAC-SHA256>"), signed content "<id>.<timestamp>.<body>",
// a secret "whsec_<base64 key>". Pure; no I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace releasebot::integrations::webhooks {

inline constexpr std::chrono::seconds timestamp_tolerance{5 * 60};

// The key bytes of a "whsec_…" secret (the prefix is optional, as the spec's libraries accept);
// nullopt when it is not base64.
std::optional<std::string> secret_key(std::string_view secret);

// "v1,<base64>" for this message.
std::string sign(std::string_view key, std::string_view id, std::string_view timestamp, std::string_view body);

// Empty when the signature holds; else the reason, in one line (for the log and a 401 body).
std::string verify(std::string_view key, std::string_view id, std::string_view timestamp,
                   std::string_view signatures, std::string_view body, std::chrono::sys_seconds now);

}  // namespace releasebot::integrations::webhooks
