// The Standard Webhooks scheme against the specification's own example, and the generic
// pipeline body turned into the command a person would type.
#include "integrations/webhooks/standard_webhooks.hpp"
#include "integrations/webhooks/webhook_app.hpp"

#include <catch2/catch.hpp>

using namespace releasebot::integrations::webhooks;
using namespace std::chrono_literals;

namespace {

// standardwebhooks.com's example: secret, id, timestamp, body and the signature it must give.
const std::string spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const std::string spec_timestamp = "1614265330";
const std::string spec_body = R"({"test": 2432232314})";
const std::string spec_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const auto spec_time = std::chrono::sys_seconds{std::chrono::seconds{1614265330}};

// The command as a person would type it, to compare with the grammar's own examples.
std::string command_or_problem(const std::string& body) {
  source_settings source{"release-script", "the release script", "k", {{"staging", "uat"}}};
  auto out = command_of_pipeline_event(body, source);
  if (const auto* problem = std::get_if<pipeline_problem>(&out)) return "problem: " + problem->problem;
  const auto& cmd = std::get<releasebot::commands::deploy_command>(out);
  std::string typed = "deploy " + cmd.version + " " + cmd.environment + " " + cmd.action;
  if (cmd.downtime_minutes) typed += " downtime " + std::to_string(*cmd.downtime_minutes);
  if (!cmd.text.empty()) typed += " " + cmd.text;
  return typed;
}

}  // namespace

TEST_CASE("Standard Webhooks: the specification's example signs and verifies", "[webhooks]") {
  const auto key = secret_key(spec_secret);
  REQUIRE(key);
  CHECK(sign(*key, spec_id, spec_timestamp, spec_body) == spec_signature);
  CHECK(verify(*key, spec_id, spec_timestamp, spec_signature, spec_body, spec_time).empty());
  CHECK(verify(*key, spec_id, spec_timestamp, "v1,bm9wZQ== " + spec_signature, spec_body, spec_time).empty());
  CHECK(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == key);
  CHECK_FALSE(secret_key("whsec_not base64!"));
  CHECK_FALSE(secret_key(""));
}

TEST_CASE("Standard Webhooks: what is refused, and why", "[webhooks]") {
  const auto key = *secret_key(spec_secret);
  CHECK(verify(key, spec_id, spec_timestamp, spec_signature, R"({"test": 2432232315})", spec_time) ==
        "no webhook-signature matches (wrong secret, or the body was changed)");
  CHECK(verify("other key", spec_id, spec_timestamp, spec_signature, spec_body, spec_time).starts_with("no webhook-signature"));
  CHECK(verify(key, spec_id, spec_timestamp, spec_signature, spec_body, spec_time + 301s) ==
        "webhook-timestamp is more than 5 minutes old");
  CHECK(verify(key, spec_id, spec_timestamp, spec_signature, spec_body, spec_time - 301s) ==
        "webhook-timestamp is more than 5 minutes in the future");
  CHECK(verify(key, spec_id, spec_timestamp, spec_signature, spec_body, spec_time + 299s).empty());
  CHECK(verify(key, "", spec_timestamp, spec_signature, spec_body, spec_time) == "webhook-id is missing");
  CHECK(verify(key, spec_id, "", spec_signature, spec_body, spec_time) == "webhook-timestamp is missing");
  CHECK(verify(key, spec_id, "16142x", spec_signature, spec_body, spec_time) == "webhook-timestamp is not Unix seconds");
  CHECK(verify(key, spec_id, spec_timestamp, "", spec_body, spec_time) == "webhook-signature is missing");
  // The signature of another id does not carry over.
  CHECK_FALSE(verify(key, "msg_other", spec_timestamp, spec_signature, spec_body, spec_time).empty());
}

TEST_CASE("a pipeline event becomes the deploy command a person would type", "[webhooks]") {
  CHECK(command_or_problem(R"({"release":"4.2.0","environment":"staging","event":"started","downtime_minutes":5})") ==
        "deploy 4.2.0 uat start downtime 5");
  CHECK(command_or_problem(R"({"release":"4.2.0","environment":"uat","event":"step","text":"migrations\napplied"})") ==
        "deploy 4.2.0 uat step migrations applied");
  CHECK(command_or_problem(R"({"release":"4.2.0","environment":"uat","event":"succeeded","build":"1240"})") ==
        "deploy 4.2.0 uat done");
  CHECK(command_or_problem(R"({"release":"4.2.0","environment":"uat","event":"failed"})") ==
        "deploy 4.2.0 uat failed reported by the release script");
  CHECK(command_or_problem(R"({"release":"4.2.0","environment":"uat","event":"rolled_back","text":"smoke test red"})") ==
        "deploy 4.2.0 uat rollback smoke test red");
  CHECK(command_or_problem("not json") == "problem: the body is not JSON");
  CHECK(command_or_problem("[1]") == "problem: the body must be a JSON object");
  CHECK(command_or_problem(R"({"environment":"uat","event":"started"})") ==
        "problem: release is missing (the version, like 4.2.0)");
  CHECK(command_or_problem(R"({"release":"4.2.0 uat done;","environment":"uat","event":"started"})") ==
        "problem: release '4.2.0 uat done;' is not a version");
  CHECK(command_or_problem(R"({"release":"4.2.0","environment":"uat","event":"exploded"})") ==
        "problem: event 'exploded' is not one of started, step, succeeded, failed, rolled_back");
  CHECK(command_or_problem(R"({"release":"4.2.0","environment":"uat","event":"step"})") == "problem: a step needs its text");
  CHECK(command_or_problem(R"({"release":"4.2.0","environment":"uat","event":"started","downtime_minutes":-1})") ==
        "problem: downtime_minutes must be a whole number of minutes from 0 to 10000");
  CHECK(command_or_problem(R"({"release":4,"environment":"uat","event":"started"})") == "problem: release must be a string");
  // Quotes in a script's text are words, not the grammar's grouping.
  CHECK(command_or_problem(R"({"release":"4.2.0","environment":"UAT","event":"step","text":"ran \"smoke\" tests"})") ==
        "deploy 4.2.0 uat step ran \"smoke\" tests");
}
