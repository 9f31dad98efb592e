#include "tests/fakes/jwt_minter.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace releasebot::testing {
namespace {

struct md_ctx_free {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct bn_free {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using bn_ptr = std::unique_ptr<BIGNUM, bn_free>;

[[noreturn]] void fail(const char* what) {
  ERR_clear_error();
  throw std::runtime_error(std::string("jwt_minter: ") + what);
}

std::string big_endian_param(EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1 || raw == nullptr) fail("cannot read an RSA key parameter");
  const bn_ptr value(raw);
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(value.get())), '\0');
  BN_bn2bin(value.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  return bytes;
}

std::string signing_input(const nlohmann::json& header, const nlohmann::json& claims) {
  return base64url(header.dump()) + "." + base64url(claims.dump());
}

}  // namespace

struct jwt_minter::impl {
  EVP_PKEY* key = nullptr;
  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() { EVP_PKEY_free(key); }
};

jwt_minter::jwt_minter(std::string kid) : impl_(std::make_unique<impl>()), kid_(std::move(kid)) {
  impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
  if (impl_->key == nullptr) fail("RSA key generation failed");
}

jwt_minter::~jwt_minter() = default;

nlohmann::json jwt_minter::jwk(const std::vector<std::string>& endorsements) const {
  nlohmann::json key = {
      {"kty", "RSA"},
      {"use", "sig"},
      {"kid", kid_},
      {"n", base64url(big_endian_param(impl_->key, OSSL_PKEY_PARAM_RSA_N))},
      {"e", base64url(big_endian_param(impl_->key, OSSL_PKEY_PARAM_RSA_E))},
  };
  if (!endorsements.empty()) key["endorsements"] = endorsements;
  return key;
}

std::string jwt_minter::token(const std::string& app_id, const std::string& service_url,
                              const nlohmann::json& override_claims, std::chrono::system_clock::time_point now) const {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  nlohmann::json claims = {
      {"iss", "https://api.botframework.com"},
      {"aud", app_id},
      {"serviceurl", service_url},
      {"nbf", seconds - 60},
      {"exp", seconds + 3600},
  };
  if (override_claims.is_object()) {
    for (const auto& [name, value] : override_claims.items()) {
      if (value.is_null())
        claims.erase(name);
      else
        claims[name] = value;
    }
  }
  const nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", kid_}};
  return sign(header, claims);
}

std::string jwt_minter::sign(const nlohmann::json& header, const nlohmann::json& claims) const {
  const std::string input = signing_input(header, claims);
  md_ctx_ptr md(EVP_MD_CTX_new());
  if (!md) fail("out of memory");
  if (EVP_DigestSignInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, impl_->key, nullptr) != 1)
    fail("EVP_DigestSignInit_ex failed");
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(md.get(), nullptr, &length, data, input.size()) != 1) fail("EVP_DigestSign (size) failed");
  std::string signature(length, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data, input.size()) != 1)
    fail("EVP_DigestSign failed");
  signature.resize(length);
  return input + "." + base64url(signature);
}

std::string jwt_minter::sign_hs256(const nlohmann::json& header, const nlohmann::json& claims, const std::string& secret) {
  const std::string input = signing_input(header, claims);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  std::size_t length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(), mac.size(),
                &length) == nullptr)
    fail("HMAC-SHA256 failed");
  return input + "." + base64url(std::string_view(reinterpret_cast<const char*>(mac.data()), length));
}

std::string jwt_minter::unsigned_token(const nlohmann::json& header, const nlohmann::json& claims) {
  return signing_input(header, claims) + ".";
}

std::string base64url(std::string_view bytes) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t chunk = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                                (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                                std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out.push_back(alphabet[(chunk >> 18) & 0x3F]);
    out.push_back(alphabet[(chunk >> 12) & 0x3F]);
    out.push_back(alphabet[(chunk >> 6) & 0x3F]);
    out.push_back(alphabet[chunk & 0x3F]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t chunk = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    out.push_back(alphabet[(chunk >> 18) & 0x3F]);
    out.push_back(alphabet[(chunk >> 12) & 0x3F]);
  } else if (rest == 2) {
    const std::uint32_t chunk = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                                (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8);
    out.push_back(alphabet[(chunk >> 18) & 0x3F]);
    out.push_back(alphabet[(chunk >> 12) & 0x3F]);
    out.push_back(alphabet[(chunk >> 6) & 0x3F]);
  }
  return out;
}

}  // namespace releasebot::testing
