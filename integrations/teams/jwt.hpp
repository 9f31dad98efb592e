// Validation of the Bot Framework's bearer tokens: RS256 JWTs signed with keys from the OpenID
// metadata's JWKS document, checked for issuer, audience, lifetime, service URL and endorsement.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace releasebot::integrations::teams {

struct json_web_key {
  std::string kid;
  std::string n;  // RSA modulus, base64url
  std::string e;  // RSA exponent, base64url
  std::vector<std::string> endorsements;  // channels the key may sign for ("msteams")
};

class key_set {
public:
  // Parses a JWKS document ({"keys":[{"kty":"RSA","kid":…,"n":…,"e":…,"endorsements":[…]}]});
  // keys that are not RSA signing keys are skipped. An error string when it is not a JWKS.
  static std::variant<key_set, std::string> parse(std::string_view jwks_json);
  const json_web_key* find(std::string_view kid) const;
  std::size_t size() const { return keys_.size(); }

private:
  std::vector<json_web_key> keys_;
};

// The jwks_uri of an OpenID metadata document, if it has one.
std::optional<std::string> jwks_uri_of(std::string_view openid_metadata_json);

struct token_expectations {
  std::string issuer = "https://api.botframework.com";
  std::string audience;      // the bot's app id
  std::string service_url;   // the activity's serviceUrl; the token's serviceurl claim must equal it
  std::string endorsement = "msteams";  // the signing key must be endorsed for this channel
  std::chrono::seconds clock_skew{300};
};

struct validated_token {
  nlohmann::json header;
  nlohmann::json claims;
};

struct token_rejection {
  std::string reason;        // one line for the log, never the token itself
  bool unknown_key = false;  // the kid is not in the key set: refresh the keys and try once more
};

// Checks, in this order: three base64url parts; header alg exactly RS256 (none, HS256 … refused);
// kid known; RSA-SHA256 signature valid for the key; iss; aud; exp and nbf within the skew;
// serviceurl claim; key endorsement.
std::variant<validated_token, token_rejection> validate_token(std::string_view token, const key_set& keys,
                                                              const token_expectations& expected,
                                                              std::chrono::system_clock::time_point now);

// "Bearer <token>" → token; empty when the header is not a bearer credential.
std::string bearer_token(std::string_view authorization_header);

}  // namespace releasebot::integrations::teams
