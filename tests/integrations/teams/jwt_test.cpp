#include "integrations/teams/jwt.hpp"
#include "tests/fakes/jwt_minter.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

namespace teams = releasebot::integrations::teams;
using releasebot::testing::base64url;
using releasebot::testing::jwt_minter;
using Catch::Matchers::Contains;
using json = nlohmann::json;
using std::chrono::seconds;

const std::string app_id = "11111111-2222-3333-4444-555555555555";
const std::string service_url = "https://smba.trafficmanager.net/amer/";
const std::chrono::system_clock::time_point now{seconds{1'750'000'000}};

// RSA key generation is slow: one key per kid for the whole run.
jwt_minter& minter() {
  static jwt_minter instance("key-1");
  return instance;
}
jwt_minter& other_minter() {
  static jwt_minter instance("key-2");
  return instance;
}

teams::key_set keys_from(const json& jwks) {
  auto parsed = teams::key_set::parse(jwks.dump());
  REQUIRE(std::holds_alternative<teams::key_set>(parsed));
  return std::get<teams::key_set>(std::move(parsed));
}

teams::key_set default_keys() { return keys_from({{"keys", json::array({minter().jwk()})}}); }

teams::token_expectations expectations() {
  teams::token_expectations expected;
  expected.audience = app_id;
  expected.service_url = service_url;
  return expected;
}

std::string good_token(const json& overrides = json::object()) { return minter().token(app_id, service_url, overrides, now); }

json default_header() { return {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", minter().kid()}}; }

json default_claims() {
  return {{"iss", "https://api.botframework.com"},
          {"aud", app_id},
          {"serviceurl", service_url},
          {"nbf", 1'750'000'000 - 60},
          {"exp", 1'750'000'000 + 3600}};
}

teams::validated_token accepted(const std::string& token, const teams::key_set& keys = default_keys(),
                                const teams::token_expectations& expected = expectations(),
                                std::chrono::system_clock::time_point at = now) {
  auto result = teams::validate_token(token, keys, expected, at);
  if (const auto* rejection = std::get_if<teams::token_rejection>(&result)) FAIL("rejected: " << rejection->reason);
  return std::get<teams::validated_token>(std::move(result));
}

teams::token_rejection rejected(const std::string& token, const teams::key_set& keys = default_keys(),
                                const teams::token_expectations& expected = expectations(),
                                std::chrono::system_clock::time_point at = now) {
  auto result = teams::validate_token(token, keys, expected, at);
  REQUIRE(std::holds_alternative<teams::token_rejection>(result));
  auto rejection = std::get<teams::token_rejection>(std::move(result));
  INFO("reason: " << rejection.reason);
  CHECK_FALSE(rejection.reason.empty());
  CHECK(rejection.reason.find('\n') == std::string::npos);
  if (token.size() > 16) CHECK(rejection.reason.find(token) == std::string::npos);
  // Not even one of the token's parts ends up in the log line.
  for (std::size_t start = 0; start < token.size();) {
    const auto dot = token.find('.', start);
    const auto part = token.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.size() > 16) CHECK(rejection.reason.find(part) == std::string::npos);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return rejection;
}

}  // namespace

TEST_CASE("a Bot Framework token signed by a published, endorsed key is accepted", "[jwt]") {
  const auto token = accepted(good_token());
  CHECK(token.header.at("alg") == "RS256");
  CHECK(token.header.at("kid") == "key-1");
  CHECK(token.claims.at("iss") == "https://api.botframework.com");
  CHECK(token.claims.at("aud") == app_id);
  CHECK(token.claims.at("serviceurl") == service_url);
  CHECK(token.claims.at("exp") == 1'750'000'000 + 3600);

  SECTION("extra claims are returned") {
    const auto with_extra = accepted(good_token({{"appid", "botframework-app"}}));
    CHECK(with_extra.claims.at("appid") == "botframework-app");
  }
  SECTION("aud as an array containing the app id") {
    accepted(good_token({{"aud", json::array({"someone-else", app_id})}}));
  }
  SECTION("typ may be absent") {
    json header = default_header();
    header.erase("typ");
    accepted(minter().sign(header, default_claims()));
  }
  SECTION("nbf is optional") { accepted(good_token({{"nbf", nullptr}})); }
  SECTION("no serviceUrl expected: the claim is not checked") {
    auto expected = expectations();
    expected.service_url.clear();
    accepted(good_token({{"serviceurl", nullptr}}), default_keys(), expected);
  }
  SECTION("no endorsement expected: a key without endorsements will do") {
    auto expected = expectations();
    expected.endorsement.clear();
    accepted(good_token(), keys_from({{"keys", json::array({minter().jwk({})})}}), expected);
  }
  SECTION("padded base64url parts are accepted") {
    const std::string token = good_token();
    const auto first_dot = token.find('.');
    const auto second_dot = token.find('.', first_dot + 1);
    std::string header = token.substr(0, first_dot);
    std::string payload = token.substr(first_dot + 1, second_dot - first_dot - 1);
    std::string signature = token.substr(second_dot + 1);
    // Only the signature can carry padding: header and payload are signed as the text they are.
    while (signature.size() % 4 != 0) signature += '=';
    accepted(header + "." + payload + "." + signature);
  }
}

TEST_CASE("tokens with a bad signature are rejected", "[jwt]") {
  const std::string token = good_token();
  const auto last_dot = token.rfind('.');

  SECTION("a flipped byte in the signature") {
    std::string tampered = token;
    char& c = tampered[last_dot + 1 + (token.size() - last_dot) / 2];  // one base64url digit changed: signature bits flip
    c = c == 'A' ? 'B' : 'A';
    const auto rejection = rejected(tampered);
    CHECK_THAT(rejection.reason, Contains("signature"));
    CHECK_FALSE(rejection.unknown_key);
  }
  SECTION("a changed claim under the original signature") {
    const std::string forged = minter().token(app_id, service_url, {{"aud", "attacker"}}, now);
    const std::string spliced = forged.substr(0, forged.rfind('.')) + token.substr(last_dot);
    CHECK_THAT(rejected(spliced).reason, Contains("signature"));
  }
  SECTION("signed by another key claiming our kid") {
    json header = default_header();
    const jwt_minter& impostor = other_minter();
    CHECK_THAT(rejected(impostor.sign(header, default_claims())).reason, Contains("signature"));
  }
  SECTION("no signature at all") {
    CHECK_THAT(rejected(token.substr(0, last_dot + 1)).reason, Contains("signature"));
  }
  SECTION("a truncated signature") {
    CHECK_THAT(rejected(token.substr(0, token.size() - 4)).reason, Contains("signature"));
  }
}

TEST_CASE("only RS256 is accepted as alg", "[jwt]") {
  SECTION("alg none, unsigned") {
    json header = default_header();
    header["alg"] = "none";
    const auto rejection = rejected(jwt_minter::unsigned_token(header, default_claims()));
    CHECK_THAT(rejection.reason, Contains("alg"));
    CHECK_THAT(rejection.reason, Contains("none"));
  }
  SECTION("alg none, signed anyway") {
    json header = default_header();
    header["alg"] = "none";
    CHECK_THAT(rejected(minter().sign(header, default_claims())).reason, Contains("alg"));
  }
  SECTION("alg HS256 keyed with the public key (algorithm confusion)") {
    json header = default_header();
    header["alg"] = "HS256";
    const std::string n = minter().jwk().at("n").get<std::string>();
    const auto rejection = rejected(jwt_minter::sign_hs256(header, default_claims(), n));
    CHECK_THAT(rejection.reason, Contains("alg"));
    CHECK_THAT(rejection.reason, Contains("HS256"));
    CHECK_THAT(rejected(jwt_minter::sign_hs256(header, default_claims(), minter().jwk().dump())).reason,
               Contains("alg"));
  }
  SECTION("missing alg") {
    json header = default_header();
    header.erase("alg");
    CHECK_THAT(rejected(minter().sign(header, default_claims())).reason, Contains("alg"));
  }
  SECTION("other spellings and algorithms") {
    for (const json& alg : {json("rs256"), json("RS384"), json("PS256"), json("ES256"), json(""), json(256), json(nullptr)}) {
      json header = default_header();
      header["alg"] = alg;
      CHECK_THAT(rejected(minter().sign(header, default_claims())).reason, Contains("alg"));
    }
  }
  SECTION("typ other than JWT") {
    json header = default_header();
    header["typ"] = "at+jwt";
    CHECK_THAT(rejected(minter().sign(header, default_claims())).reason, Contains("typ"));
  }
  SECTION("critical header extensions") {
    json header = default_header();
    header["crit"] = json::array({"b64"});
    header["b64"] = false;
    CHECK_THAT(rejected(minter().sign(header, default_claims())).reason, Contains("critical"));
  }
}

TEST_CASE("the signing key is looked up by kid", "[jwt]") {
  SECTION("missing kid") {
    json header = default_header();
    header.erase("kid");
    const auto rejection = rejected(minter().sign(header, default_claims()));
    CHECK_THAT(rejection.reason, Contains("kid"));
    CHECK_FALSE(rejection.unknown_key);
  }
  SECTION("kid that is not a string") {
    json header = default_header();
    header["kid"] = 7;
    CHECK_THAT(rejected(minter().sign(header, default_claims())).reason, Contains("kid"));
  }
  SECTION("unknown kid asks for a key refresh") {
    const std::string token = other_minter().token(app_id, service_url, json::object(), now);
    const auto rejection = rejected(token);
    CHECK(rejection.unknown_key);
    CHECK_THAT(rejection.reason, Contains("key-2"));
    CHECK_THAT(rejection.reason, Contains("not in the key set"));
  }
  SECTION("a hostile kid is logged on one printable line") {
    json header = default_header();
    header["kid"] = "evil\nkid\"" + std::string(200, 'x');
    const auto rejection = rejected(minter().sign(header, default_claims()));
    CHECK(rejection.unknown_key);
    CHECK(rejection.reason.size() < 200);
  }
  SECTION("an empty key set knows no kid") {
    const auto rejection = rejected(good_token(), keys_from({{"keys", json::array()}}));
    CHECK(rejection.unknown_key);
  }
}

TEST_CASE("key rotation: every key in the set validates its own tokens", "[jwt]") {
  const auto keys = keys_from({{"keys", json::array({minter().jwk(), other_minter().jwk()})}});
  REQUIRE(keys.size() == 2);
  CHECK(accepted(minter().token(app_id, service_url, json::object(), now), keys).header.at("kid") == "key-1");
  CHECK(accepted(other_minter().token(app_id, service_url, json::object(), now), keys).header.at("kid") == "key-2");

  SECTION("a token claiming the other kid is not verified with the wrong key") {
    json header = default_header();
    header["kid"] = "key-2";
    CHECK_THAT(rejected(minter().sign(header, default_claims()), keys).reason, Contains("signature"));
  }
  SECTION("after the old key is withdrawn its tokens are unknown") {
    const auto new_only = keys_from({{"keys", json::array({other_minter().jwk()})}});
    CHECK(rejected(minter().token(app_id, service_url, json::object(), now), new_only).unknown_key);
    accepted(other_minter().token(app_id, service_url, json::object(), now), new_only);
  }
}

TEST_CASE("issuer and audience must match", "[jwt]") {
  SECTION("wrong audience") {
    CHECK_THAT(rejected(good_token({{"aud", "another-bot"}})).reason, Contains("aud"));
  }
  SECTION("audience array without the app id") {
    CHECK_THAT(rejected(good_token({{"aud", json::array({"a", "b"})}})).reason, Contains("aud"));
    CHECK_THAT(rejected(good_token({{"aud", json::array()}})).reason, Contains("aud"));
  }
  SECTION("audience of the wrong type or missing") {
    CHECK_THAT(rejected(good_token({{"aud", 42}})).reason, Contains("aud"));
    CHECK_THAT(rejected(good_token({{"aud", nullptr}})).reason, Contains("aud"));
  }
  SECTION("no configured app id accepts nothing") {
    auto expected = expectations();
    expected.audience.clear();
    CHECK_THAT(rejected(good_token({{"aud", ""}}), default_keys(), expected).reason, Contains("audience"));
  }
  SECTION("wrong issuer") {
    CHECK_THAT(rejected(good_token({{"iss", "https://evil.example"}})).reason, Contains("iss"));
    CHECK_THAT(rejected(good_token({{"iss", "https://api.botframework.com/"}})).reason, Contains("iss"));
    CHECK_THAT(rejected(good_token({{"iss", nullptr}})).reason, Contains("iss"));
  }
}

TEST_CASE("lifetime is checked with a five minute clock skew", "[jwt]") {
  const auto issued = now;
  const auto token = good_token();  // nbf now-60, exp now+3600
  const auto exp = issued + seconds{3600};

  SECTION("expired within the skew is still accepted") {
    accepted(token, default_keys(), expectations(), exp + seconds{299});
    accepted(token, default_keys(), expectations(), exp + seconds{300});
  }
  SECTION("expired beyond the skew is rejected") {
    CHECK_THAT(rejected(token, default_keys(), expectations(), exp + seconds{301}).reason, Contains("expired"));
    CHECK_THAT(rejected(token, default_keys(), expectations(), exp + std::chrono::hours{24}).reason, Contains("expired"));
  }
  SECTION("a smaller configured skew") {
    auto expected = expectations();
    expected.clock_skew = seconds{0};
    accepted(token, default_keys(), expected, exp);
    CHECK_THAT(rejected(token, default_keys(), expected, exp + std::chrono::milliseconds{1}).reason, Contains("expired"));
  }
  SECTION("nbf in the future within the skew is accepted") {
    accepted(good_token({{"nbf", 1'750'000'000 + 300}}));
  }
  SECTION("nbf in the future beyond the skew is rejected") {
    CHECK_THAT(rejected(good_token({{"nbf", 1'750'000'000 + 301}})).reason, Contains("not yet valid"));
    CHECK_THAT(rejected(token, default_keys(), expectations(), issued - seconds{361}).reason, Contains("not yet valid"));
  }
  SECTION("exp is required and numeric") {
    CHECK_THAT(rejected(good_token({{"exp", nullptr}})).reason, Contains("exp"));
    CHECK_THAT(rejected(good_token({{"exp", "1750003600"}})).reason, Contains("exp"));
    CHECK_THAT(rejected(good_token({{"exp", true}})).reason, Contains("exp"));
  }
  SECTION("fractional NumericDate values work") {
    accepted(good_token({{"exp", 1'750'000'000.5}}), default_keys(), expectations(), now + seconds{300});
    CHECK_THAT(rejected(good_token({{"exp", 1'750'000'000.5}}), default_keys(), expectations(), now + seconds{301}).reason,
               Contains("expired"));
  }
  SECTION("nbf must be numeric when present") {
    CHECK_THAT(rejected(good_token({{"nbf", "soon"}})).reason, Contains("nbf"));
  }
}

TEST_CASE("the serviceurl claim must equal the activity's serviceUrl", "[jwt]") {
  SECTION("a different service URL") {
    CHECK_THAT(rejected(good_token({{"serviceurl", "https://evil.example/amer/"}})).reason, Contains("serviceurl"));
  }
  SECTION("compared exactly") {
    CHECK_THAT(rejected(good_token({{"serviceurl", "https://smba.trafficmanager.net/amer"}})).reason,
               Contains("serviceurl"));
    CHECK_THAT(rejected(good_token({{"serviceurl", "HTTPS://smba.trafficmanager.net/amer/"}})).reason,
               Contains("serviceurl"));
  }
  SECTION("missing") {
    CHECK_THAT(rejected(good_token({{"serviceurl", nullptr}})).reason, Contains("serviceurl"));
  }
}

TEST_CASE("a key that carries endorsements must be endorsed for the channel", "[jwt]") {
  SECTION("a key without endorsements is accepted (Microsoft has published such keys)") {
    accepted(good_token(), keys_from({{"keys", json::array({minter().jwk({})})}}));
  }
  SECTION("a key with an empty endorsements list is accepted") {
    json jwk = minter().jwk();
    jwk["endorsements"] = json::array();
    accepted(good_token(), keys_from({{"keys", json::array({jwk})}}));
  }
  SECTION("a key endorsed for other channels only") {
    const auto keys = keys_from({{"keys", json::array({minter().jwk({"skype", "webchat", "MSTEAMS"})})}});
    const auto rejection = rejected(good_token(), keys);
    CHECK_THAT(rejection.reason, Contains("endorsed"));
    CHECK_THAT(rejection.reason, Contains("msteams"));
  }
  SECTION("a key endorsed for several channels including msteams") {
    accepted(good_token(), keys_from({{"keys", json::array({minter().jwk({"skype", "msteams"})})}}));
  }
}

TEST_CASE("malformed tokens are rejected before any key is used", "[jwt]") {
  const std::string token = good_token();
  const auto first_dot = token.find('.');
  const auto last_dot = token.rfind('.');

  SECTION("two parts only") {
    CHECK_THAT(rejected(token.substr(0, last_dot)).reason, Contains("three"));
  }
  SECTION("four parts") {
    CHECK_THAT(rejected(token + ".abc").reason, Contains("three"));
  }
  SECTION("empty and dot-only tokens") {
    CHECK_FALSE(rejected("").reason.empty());
    CHECK_THAT(rejected("..").reason, Contains("header"));
    CHECK_THAT(rejected("abc").reason, Contains("three"));
  }
  SECTION("standard base64 characters in the payload") {
    std::string bad = token;
    bad[first_dot + 5] = '+';
    CHECK_THAT(rejected(bad).reason, Contains("base64url"));
    bad[first_dot + 5] = '/';
    CHECK_THAT(rejected(bad).reason, Contains("base64url"));
  }
  SECTION("invalid characters in header and signature") {
    std::string bad_header = token;
    bad_header[2] = '*';
    CHECK_THAT(rejected(bad_header).reason, Contains("header"));
    std::string bad_signature = token;
    bad_signature[last_dot + 3] = ' ';
    CHECK_THAT(rejected(bad_signature).reason, Contains("signature"));
  }
  SECTION("impossible lengths and misplaced padding") {
    CHECK_THAT(rejected("A." + token.substr(first_dot + 1)).reason, Contains("base64url"));
    CHECK_THAT(rejected("e30=." + token.substr(first_dot + 1)).reason, Contains("no alg"));  // "{}" padded: decodes
    CHECK_THAT(rejected("e30==." + token.substr(first_dot + 1)).reason, Contains("base64url"));
    CHECK_THAT(rejected("e31." + token.substr(first_dot + 1)).reason, Contains("base64url"));  // non-zero spare bits
    CHECK_THAT(rejected("e3=0." + token.substr(first_dot + 1)).reason, Contains("base64url"));
    CHECK_THAT(rejected("e30===." + token.substr(first_dot + 1)).reason, Contains("base64url"));
  }
  SECTION("header that is not a JSON object") {
    CHECK_THAT(rejected(base64url("[1,2]") + token.substr(first_dot)).reason, Contains("header"));
    CHECK_THAT(rejected(base64url("{\"alg\":") + token.substr(first_dot)).reason, Contains("header"));
  }
  SECTION("payload that is not a JSON object, even correctly signed") {
    CHECK_THAT(rejected(minter().sign(default_header(), json("just a string"))).reason, Contains("payload"));
    CHECK_THAT(rejected(minter().sign(default_header(), json::array({default_claims()}))).reason, Contains("payload"));
  }
  SECTION("oversize") {
    const std::string huge = good_token({{"padding", std::string(17 * 1024, 'x')}});
    const auto rejection = rejected(huge);
    CHECK_THAT(rejection.reason, Contains("16 KiB"));
    CHECK_THAT(rejected(std::string(16 * 1024 + 1, 'a')).reason, Contains("16 KiB"));
  }
  SECTION("just under the size limit is fine") {
    const std::string small = good_token({{"padding", std::string(10 * 1024, 'x')}});
    REQUIRE(small.size() < 16 * 1024);
    accepted(small);
  }
}

TEST_CASE("weak or broken published keys are not used", "[jwt]") {
  SECTION("a tiny modulus") {
    json jwk = minter().jwk();
    jwk["n"] = base64url(std::string("\xC5\x0B\x3D", 3));
    CHECK_THAT(rejected(good_token(), keys_from({{"keys", json::array({jwk})}})).reason, Contains("2048"));
  }
  SECTION("exponent one") {
    json jwk = minter().jwk();
    jwk["e"] = "AQ";
    CHECK_THAT(rejected(good_token(), keys_from({{"keys", json::array({jwk})}})).reason, Contains("RSA key"));
  }
}

TEST_CASE("JWKS documents are parsed into RSA signing keys", "[jwt]") {
  SECTION("a Bot Framework style document") {
    json jwk = minter().jwk({"msteams", "skype"});
    jwk["x5t"] = "abc";
    jwk["x5c"] = json::array({"MIIB..."});
    const auto keys = keys_from({{"keys", json::array({jwk})}});
    REQUIRE(keys.size() == 1);
    const auto* key = keys.find("key-1");
    REQUIRE(key != nullptr);
    CHECK(key->n == jwk.at("n"));
    CHECK(key->e == "AQAB");
    CHECK(key->endorsements == std::vector<std::string>{"msteams", "skype"});
    CHECK(keys.find("key-2") == nullptr);
    CHECK(keys.find("") == nullptr);
  }
  SECTION("keys that are not RSA signing keys are skipped") {
    json ec = {{"kty", "EC"}, {"kid", "ec"}, {"crv", "P-256"}, {"x", "AA"}, {"y", "AA"}};
    json encryption = minter().jwk();
    encryption["kid"] = "enc";
    encryption["use"] = "enc";
    json no_n = minter().jwk();
    no_n["kid"] = "no-n";
    no_n.erase("n");
    json no_kid = minter().jwk();
    no_kid.erase("kid");
    json bad_base64 = minter().jwk();
    bad_base64["kid"] = "bad";
    bad_base64["n"] = "not+base64url/";
    const auto keys =
        keys_from({{"keys", json::array({ec, encryption, no_n, no_kid, bad_base64, 42, "x", minter().jwk()})}});
    CHECK(keys.size() == 1);
    CHECK(keys.find("key-1") != nullptr);
    CHECK(keys.find("ec") == nullptr);
    CHECK(keys.find("enc") == nullptr);
  }
  SECTION("non-string endorsements are ignored") {
    json jwk = minter().jwk();
    jwk["endorsements"] = json::array({"msteams", 3, nullptr});
    const auto keys = keys_from({{"keys", json::array({jwk})}});
    CHECK(keys.find("key-1")->endorsements == std::vector<std::string>{"msteams"});
  }
  SECTION("documents that are not a JWKS are errors") {
    for (const std::string_view document : {"", "not json", "{\"keys\":", "[]", "\"keys\"", "{}", "{\"keys\":{}}",
                                       "{\"keys\":null}", "{\"keys\":\"x\"}"}) {
      INFO("document: " << document);
      const auto parsed = teams::key_set::parse(document);
      REQUIRE(std::holds_alternative<std::string>(parsed));
      CHECK_FALSE(std::get<std::string>(parsed).empty());
    }
    CHECK_THAT(std::get<std::string>(teams::key_set::parse("nope")), Contains("JSON"));
    CHECK_THAT(std::get<std::string>(teams::key_set::parse("{}")), Contains("keys"));
  }
}

TEST_CASE("jwks_uri_of reads the OpenID metadata", "[jwt]") {
  const json metadata = {{"issuer", "https://api.botframework.com"},
                         {"authorization_endpoint", "https://invalid.botframework.com"},
                         {"jwks_uri", "https://login.botframework.com/v1/.well-known/keys"},
                         {"id_token_signing_alg_values_supported", json::array({"RS256"})}};
  CHECK(teams::jwks_uri_of(metadata.dump()) == std::optional<std::string>("https://login.botframework.com/v1/.well-known/keys"));
  CHECK_FALSE(teams::jwks_uri_of(R"({"issuer":"x"})").has_value());
  CHECK_FALSE(teams::jwks_uri_of(R"({"jwks_uri":42})").has_value());
  CHECK_FALSE(teams::jwks_uri_of(R"({"jwks_uri":""})").has_value());
  CHECK_FALSE(teams::jwks_uri_of(R"(["jwks_uri"])").has_value());
  CHECK_FALSE(teams::jwks_uri_of("<html>").has_value());
  CHECK_FALSE(teams::jwks_uri_of("").has_value());
}

TEST_CASE("bearer_token extracts the credential of a Bearer Authorization header", "[jwt]") {
  CHECK(teams::bearer_token("Bearer abc.def.ghi") == "abc.def.ghi");
  CHECK(teams::bearer_token("bearer abc.def.ghi") == "abc.def.ghi");
  CHECK(teams::bearer_token("BEARER abc") == "abc");
  CHECK(teams::bearer_token("BeArEr abc") == "abc");
  CHECK(teams::bearer_token("Bearer   abc  ") == "abc");
  CHECK(teams::bearer_token("  Bearer\tabc") == "abc");

  CHECK(teams::bearer_token("").empty());
  CHECK(teams::bearer_token("Bearer").empty());
  CHECK(teams::bearer_token("Bearer ").empty());
  CHECK(teams::bearer_token("Bearerabc").empty());
  CHECK(teams::bearer_token("Basic dXNlcjpwYXNz").empty());
  CHECK(teams::bearer_token("Bear abc").empty());
  CHECK(teams::bearer_token("Bearer abc def").empty());
  CHECK(teams::bearer_token("abc.def.ghi").empty());
}
