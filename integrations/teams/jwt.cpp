// Bot Framework bearer token validation: a pure function over the token, a key set and the
// expectations. Nothing is cached and nothing escapes as an exception; every failure is a
// token_rejection whose reason is one line and never echoes the token.
#include "integrations/teams/jwt.hpp"

#include "integrations/net/json_reader.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <utility>

namespace releasebot::integrations::teams {
namespace {

constexpr std::size_t max_token_bytes = 16 * 1024;
constexpr int min_rsa_bits = 2048;
constexpr int max_rsa_bits = 16384;

struct pkey_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct pkey_ctx_free {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct bn_free {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct param_bld_free {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct params_free {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using bn_ptr = std::unique_ptr<BIGNUM, bn_free>;
using param_bld_ptr = std::unique_ptr<OSSL_PARAM_BLD, param_bld_free>;
using params_ptr = std::unique_ptr<OSSL_PARAM, params_free>;

// Leaves no stale errors in this thread's OpenSSL error queue for someone else to misread.
struct openssl_error_guard {
  openssl_error_guard() = default;
  openssl_error_guard(const openssl_error_guard&) = delete;
  openssl_error_guard& operator=(const openssl_error_guard&) = delete;
  ~openssl_error_guard() { ERR_clear_error(); }
};

int base64url_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Strict base64url (RFC 4648 §5): only the URL-safe alphabet, optional '=' padding that must then
// be complete, no impossible lengths, and unused trailing bits must be zero (canonical encoding).
std::optional<std::string> decode_base64url(std::string_view in) {
  std::size_t length = in.size();
  std::size_t padding = 0;
  while (length > 0 && in[length - 1] == '=') {
    --length;
    ++padding;
  }
  if (padding > 0 && (padding > 2 || in.size() % 4 != 0)) return std::nullopt;
  if (length % 4 == 1) return std::nullopt;

  std::string out;
  out.reserve(length / 4 * 3 + 2);
  std::uint32_t accumulator = 0;
  int bits = 0;
  for (std::size_t i = 0; i < length; ++i) {
    const int value = base64url_value(static_cast<unsigned char>(in[i]));
    if (value < 0) return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xFFu));
      accumulator &= (1u << bits) - 1u;
    }
  }
  if (accumulator != 0) return std::nullopt;  // non-zero leftover bits: not a canonical encoding
  return out;
}

// A value from the token, made safe for a one-line log message.
std::string printable(std::string_view text, std::size_t limit = 64) {
  std::string out;
  for (const char c : text.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7F && c != '"' && c != '\\' ? c : '?');
  }
  if (text.size() > limit) out += "...";
  return out;
}

token_rejection reject(std::string reason, bool unknown_key = false) {
  return token_rejection{std::move(reason), unknown_key};
}

nlohmann::json parse_json(std::string_view text) { return net::parse_json_or_discarded(text); }

std::optional<double> numeric_date(const nlohmann::json& value) {
  if (!value.is_number()) return std::nullopt;
  const double seconds = value.get<double>();
  if (!std::isfinite(seconds)) return std::nullopt;
  return seconds;
}

std::variant<pkey_ptr, std::string> rsa_public_key(const json_web_key& key) {
  const std::string unusable = "signing key \"" + printable(key.kid) + "\" is not a usable RSA key";
  const auto n = decode_base64url(key.n);
  const auto e = decode_base64url(key.e);
  if (!n || !e || n->empty() || e->empty()) return unusable;
  if (n->size() > static_cast<std::size_t>(max_rsa_bits / 8) || e->size() > 64) return unusable;

  bn_ptr modulus(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr));
  bn_ptr exponent(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr));
  if (!modulus || !exponent) return unusable;
  if (!BN_is_odd(modulus.get()) || !BN_is_odd(exponent.get()) || BN_is_one(exponent.get())) return unusable;
  if (BN_num_bits(modulus.get()) < min_rsa_bits)
    return "signing key \"" + printable(key.kid) + "\" is shorter than 2048 bits";

  param_bld_ptr builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1)
    return unusable;
  params_ptr params(OSSL_PARAM_BLD_to_param(builder.get()));
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) return unusable;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0 || raw == nullptr) {
    EVP_PKEY_free(raw);
    return unusable;
  }
  return pkey_ptr(raw);
}

// RSASSA-PKCS1-v1_5 with SHA-256 over signing_input.
bool rs256_verifies(EVP_PKEY* key, std::string_view signing_input, std::string_view signature) {
  if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key))) return false;
  md_ctx_ptr md(EVP_MD_CTX_new());
  if (!md) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  if (EVP_DigestVerifyInit_ex(md.get(), &pctx, "SHA256", nullptr, nullptr, key, nullptr) != 1) return false;
  if (pctx == nullptr || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) return false;
  return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
}

bool audience_matches(const nlohmann::json& aud, const std::string& expected) {
  if (aud.is_string()) return aud.get_ref<const std::string&>() == expected;
  if (aud.is_array()) {
    return std::any_of(aud.begin(), aud.end(), [&](const nlohmann::json& entry) {
      return entry.is_string() && entry.get_ref<const std::string&>() == expected;
    });
  }
  return false;
}

std::variant<validated_token, token_rejection> validate(std::string_view token, const key_set& keys,
                                                        const token_expectations& expected,
                                                        std::chrono::system_clock::time_point now) {
  if (token.size() > max_token_bytes) return reject("token is larger than 16 KiB");
  if (token.empty()) return reject("token is empty");

  // ---- three base64url parts
  const auto first_dot = token.find('.');
  const auto second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (first_dot == std::string_view::npos || second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos)
    return reject("token does not have three dot-separated parts");
  const std::string_view header_part = token.substr(0, first_dot);
  const std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_part = token.substr(second_dot + 1);
  const std::string_view signing_input = token.substr(0, second_dot);

  const auto header_bytes = decode_base64url(header_part);
  if (!header_bytes) return reject("token header is not valid base64url");
  const auto payload_bytes = decode_base64url(payload_part);
  if (!payload_bytes) return reject("token payload is not valid base64url");
  const auto signature = decode_base64url(signature_part);
  if (!signature) return reject("token signature is not valid base64url");

  // ---- header: alg exactly RS256, typ JWT if present, no critical extensions, kid
  nlohmann::json header = parse_json(*header_bytes);
  if (!header.is_object()) return reject("token header is not a JSON object");
  const auto alg = header.find("alg");
  if (alg == header.end()) return reject("token header has no alg");
  if (!alg->is_string()) return reject("token alg is not a string");
  if (alg->get_ref<const std::string&>() != "RS256")
    return reject("token alg \"" + printable(alg->get_ref<const std::string&>()) + "\" is refused; only RS256 is accepted");
  if (const auto typ = header.find("typ"); typ != header.end()) {
    if (!typ->is_string() || typ->get_ref<const std::string&>() != "JWT") return reject("token typ is not JWT");
  }
  if (header.contains("crit")) return reject("token header has critical extensions that are not understood");
  const auto kid = header.find("kid");
  if (kid == header.end()) return reject("token header has no kid");
  if (!kid->is_string() || kid->get_ref<const std::string&>().empty())
    return reject("token kid is not a non-empty string");
  const std::string& kid_value = kid->get_ref<const std::string&>();

  // ---- key and signature
  const json_web_key* key = keys.find(kid_value);
  if (key == nullptr) return reject("token kid \"" + printable(kid_value) + "\" is not in the key set", true);
  if (signature->empty()) return reject("token has no signature");
  auto public_key = rsa_public_key(*key);
  if (auto* problem = std::get_if<std::string>(&public_key)) return reject(std::move(*problem));
  if (!rs256_verifies(std::get<pkey_ptr>(public_key).get(), signing_input, *signature))
    return reject("token signature does not verify with key \"" + printable(kid_value) + "\"");

  // ---- claims
  nlohmann::json claims = parse_json(*payload_bytes);
  if (!claims.is_object()) return reject("token payload is not a JSON object");

  const auto iss = claims.find("iss");
  if (iss == claims.end()) return reject("token has no iss claim");
  if (!iss->is_string() || iss->get_ref<const std::string&>() != expected.issuer)
    return reject("token iss is not the expected issuer " + printable(expected.issuer, 200));

  if (expected.audience.empty()) return reject("no audience (app id) is configured to check the token against");
  const auto aud = claims.find("aud");
  if (aud == claims.end()) return reject("token has no aud claim");
  if (!audience_matches(*aud, expected.audience)) return reject("token aud is not this bot's app id");

  const double skew = static_cast<double>(std::max<std::chrono::seconds::rep>(expected.clock_skew.count(), 0));
  const double now_seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
  const auto exp = claims.find("exp");
  if (exp == claims.end()) return reject("token has no exp claim");
  const auto exp_value = numeric_date(*exp);
  if (!exp_value) return reject("token exp is not a number");
  if (now_seconds > *exp_value + skew) return reject("token expired (beyond the allowed clock skew)");
  if (const auto nbf = claims.find("nbf"); nbf != claims.end()) {
    const auto nbf_value = numeric_date(*nbf);
    if (!nbf_value) return reject("token nbf is not a number");
    if (now_seconds < *nbf_value - skew) return reject("token is not yet valid (nbf beyond the allowed clock skew)");
  }

  if (!expected.service_url.empty()) {
    const auto service_url = claims.find("serviceurl");
    if (service_url == claims.end()) return reject("token has no serviceurl claim");
    if (!service_url->is_string() || service_url->get_ref<const std::string&>() != expected.service_url)
      return reject("token serviceurl does not match the activity's serviceUrl");
  }

  // Endorsements bind only a key that carries them, as Microsoft's SDKs do: Microsoft has
  // published signing keys without any, and refusing those would stop the bot hearing Teams.
  if (!expected.endorsement.empty() && !key->endorsements.empty() &&
      std::find(key->endorsements.begin(), key->endorsements.end(), expected.endorsement) == key->endorsements.end())
    return reject("signing key \"" + printable(kid_value) + "\" is not endorsed for " + printable(expected.endorsement));

  return validated_token{std::move(header), std::move(claims)};
}

}  // namespace

std::variant<key_set, std::string> key_set::parse(std::string_view jwks_json) {
  try {
    const nlohmann::json document = parse_json(jwks_json);
    if (document.is_discarded()) return std::string("JWKS document is not valid JSON");
    if (!document.is_object()) return std::string("JWKS document is not a JSON object");
    const auto keys = document.find("keys");
    if (keys == document.end()) return std::string("JWKS document has no keys member");
    if (!keys->is_array()) return std::string("JWKS keys member is not an array");

    key_set result;
    for (const auto& entry : *keys) {
      if (!entry.is_object()) continue;
      const auto string_member = [&](const char* name) -> const std::string* {
        const auto it = entry.find(name);
        return it != entry.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
      };
      const std::string* kty = string_member("kty");
      const std::string* kid = string_member("kid");
      const std::string* n = string_member("n");
      const std::string* e = string_member("e");
      if (kty == nullptr || *kty != "RSA" || kid == nullptr || kid->empty() || n == nullptr || e == nullptr) continue;
      if (const auto use = entry.find("use"); use != entry.end() && (!use->is_string() || *use != "sig")) continue;
      if (!decode_base64url(*n) || !decode_base64url(*e)) continue;

      json_web_key key{*kid, *n, *e, {}};
      if (const auto endorsements = entry.find("endorsements"); endorsements != entry.end() && endorsements->is_array()) {
        for (const auto& endorsement : *endorsements)
          if (endorsement.is_string()) key.endorsements.push_back(endorsement.get<std::string>());
      }
      result.keys_.push_back(std::move(key));
    }
    return result;
  } catch (const std::exception&) {
    return std::string("JWKS document could not be read");
  }
}

const json_web_key* key_set::find(std::string_view kid) const {
  const auto it = std::find_if(keys_.begin(), keys_.end(), [&](const json_web_key& key) { return key.kid == kid; });
  return it == keys_.end() ? nullptr : &*it;
}

std::optional<std::string> jwks_uri_of(std::string_view openid_metadata_json) {
  try {
    const nlohmann::json document = parse_json(openid_metadata_json);
    if (!document.is_object()) return std::nullopt;
    const auto uri = document.find("jwks_uri");
    if (uri == document.end() || !uri->is_string() || uri->get_ref<const std::string&>().empty()) return std::nullopt;
    return uri->get<std::string>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::variant<validated_token, token_rejection> validate_token(std::string_view token, const key_set& keys,
                                                              const token_expectations& expected,
                                                              std::chrono::system_clock::time_point now) {
  const openssl_error_guard clear_errors_afterwards;
  try {
    return validate(token, keys, expected, now);
  } catch (const std::exception&) {
    return reject("token could not be validated (internal error)");
  }
}

std::string bearer_token(std::string_view authorization_header) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!authorization_header.empty() && is_space(authorization_header.front())) authorization_header.remove_prefix(1);
  while (!authorization_header.empty() && is_space(authorization_header.back())) authorization_header.remove_suffix(1);

  constexpr std::string_view scheme = "bearer";
  if (authorization_header.size() <= scheme.size() || !is_space(authorization_header[scheme.size()])) return {};
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization_header[i])) != scheme[i]) return {};
  }
  std::string_view credential = authorization_header.substr(scheme.size());
  while (!credential.empty() && is_space(credential.front())) credential.remove_prefix(1);
  const bool well_formed = !credential.empty() && std::none_of(credential.begin(), credential.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u >= 0x7F;
  });
  return well_formed ? std::string(credential) : std::string();
}

}  // namespace releasebot::integrations::teams
