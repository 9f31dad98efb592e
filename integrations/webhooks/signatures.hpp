// How each forge proves a webhook is its own: GitHub's X-Hub-Signature-256 (HMAC-SHA256 of the
// raw body, hex, "sha256=" prefix) and GitLab's X-Gitlab-Token (the secret itself). Both compared
// in constant time. Pure; no I/O.
#pragma once

#include <string>
#include <string_view>

namespace releasebot::integrations::webhooks {

// The raw 32-byte HMAC-SHA256 of content under key.
std::string hmac_sha256(std::string_view key, std::string_view content);
// Equal, in a time that does not depend on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// "sha256=<hex>" for this body.
std::string github_signature(std::string_view secret, std::string_view body);
// Empty when X-Hub-Signature-256 holds; else the reason, in one line.
std::string verify_github(std::string_view secret, std::string_view header, std::string_view body);
// Empty when X-Gitlab-Token is the secret; else the reason.
std::string verify_gitlab(std::string_view secret, std::string_view header);

}  // namespace releasebot::integrations::webhooks
