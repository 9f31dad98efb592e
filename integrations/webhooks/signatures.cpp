#include "integrations/webhooks/signatures.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace releasebot::integrations::webhooks {

std::string hmac_sha256(std::string_view key, std::string_view content) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), digest, &length);
  return std::string{reinterpret_cast<const char*>(digest), length};
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string github_signature(std::string_view secret, std::string_view body) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto digest = hmac_sha256(secret, body);
  std::string out = "sha256=";
  for (const unsigned char byte : digest) {
    out += hex[byte >> 4];
    out += hex[byte & 0x0f];
  }
  return out;
}

std::string verify_github(std::string_view secret, std::string_view header, std::string_view body) {
  if (header.empty()) return "X-Hub-Signature-256 is missing (set the webhook's secret on GitHub)";
  if (!constant_time_equal(header, github_signature(secret, body))) {
    return "X-Hub-Signature-256 does not match (wrong secret, or the body was changed)";
  }
  return {};
}

std::string verify_gitlab(std::string_view secret, std::string_view header) {
  if (header.empty()) return "X-Gitlab-Token is missing (set the webhook's secret token on GitLab)";
  if (!constant_time_equal(header, secret)) return "X-Gitlab-Token is not this source's secret token";
  return {};
}

}  // namespace releasebot::integrations::webhooks
