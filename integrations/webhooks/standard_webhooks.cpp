#include "integrations/webhooks/standard_webhooks.hpp"

#include "integrations/webhooks/signatures.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <vector>

namespace releasebot::integrations::webhooks {

namespace {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '/' || c == '=';
    if (!ok) return std::nullopt;
  }
  std::string out(3 * text.size() / 4, '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (written < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
  out.resize(static_cast<std::size_t>(written) - padding);
  return out;
}

}  // namespace

std::optional<std::string> secret_key(std::string_view secret) {
  if (secret.starts_with("whsec_")) secret.remove_prefix(6);
  auto key = base64_decode(secret);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string sign(std::string_view key, std::string_view id, std::string_view timestamp, std::string_view body) {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  return "v1," + base64_encode(hmac_sha256(key, content));
}

std::string verify(std::string_view key, std::string_view id, std::string_view timestamp,
                   std::string_view signatures, std::string_view body, std::chrono::sys_seconds now) {
  if (id.empty()) return "webhook-id is missing";
  if (timestamp.empty()) return "webhook-timestamp is missing";
  if (signatures.empty()) return "webhook-signature is missing";
  long long seconds = 0;
  const auto [end, error] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), seconds);
  if (error != std::errc{} || end != timestamp.data() + timestamp.size()) return "webhook-timestamp is not Unix seconds";
  const auto at = std::chrono::sys_seconds{std::chrono::seconds{seconds}};
  if (at < now - timestamp_tolerance) return "webhook-timestamp is more than 5 minutes old";
  if (at > now + timestamp_tolerance) return "webhook-timestamp is more than 5 minutes in the future";
  const auto expected = sign(key, id, timestamp, body);
  // Several signatures may be sent (a key rotation); any v1 one that matches will do.
  std::size_t start = 0;
  while (start < signatures.size()) {
    auto stop = signatures.find(' ', start);
    if (stop == std::string_view::npos) stop = signatures.size();
    const auto candidate = signatures.substr(start, stop - start);
    if (constant_time_equal(candidate, expected)) {
      return {};
    }
    start = stop + 1;
  }
  return "no webhook-signature matches (wrong secret, or the body was changed)";
}

}  // namespace releasebot::integrations::webhooks
