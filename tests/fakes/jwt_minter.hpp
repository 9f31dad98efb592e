// Makes RSA keys, JWKS documents and signed JWTs for tests: good ones and every kind of bad one.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace releasebot::testing {

class jwt_minter {
public:
  explicit jwt_minter(std::string kid = "test-key-1");  // a fresh 2048-bit RSA key
  ~jwt_minter();
  jwt_minter(const jwt_minter&) = delete;
  jwt_minter& operator=(const jwt_minter&) = delete;

  const std::string& kid() const { return kid_; }
  // {"kty":"RSA","use":"sig","kid":…,"n":…,"e":…,"endorsements":[…]} for this key.
  nlohmann::json jwk(const std::vector<std::string>& endorsements = {"msteams"}) const;

  // A token as the Bot Framework would send: iss api.botframework.com, aud app_id, serviceurl,
  // nbf now-1min, exp now+1h; `override_claims` replaces/adds claims (null values remove them).
  std::string token(const std::string& app_id, const std::string& service_url,
                    const nlohmann::json& override_claims = nlohmann::json::object(),
                    std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

  // Signs arbitrary header and claims with this key (RS256 signature over header.payload).
  std::string sign(const nlohmann::json& header, const nlohmann::json& claims) const;
  // The same header/claims with an HMAC-SHA256 signature keyed by `secret` (alg HS256 attack).
  static std::string sign_hs256(const nlohmann::json& header, const nlohmann::json& claims, const std::string& secret);
  // header.payload. with an empty signature (alg none attack).
  static std::string unsigned_token(const nlohmann::json& header, const nlohmann::json& claims);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string kid_;
};

std::string base64url(std::string_view bytes);

}  // namespace releasebot::testing
