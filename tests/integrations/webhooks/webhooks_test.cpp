// The Standard Webhooks scheme against the specification's own example, and the generic
// pipeline body turned into the command a person would type.
#include "integrations/webhooks/signatures.hpp"
#include "integrations/webhooks/standard_webhooks.hpp"
#include "integrations/webhooks/webhook_app.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

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

source_settings settings(std::string name, std::string display_name, std::map<std::string, std::string> environments) {
  source_settings source;
  source.name = std::move(name);
  source.display_name = std::move(display_name);
  source.key = "k";
  source.environments = std::move(environments);
  return source;
}

// The command as a person would type it, to compare with the grammar's own examples.
std::string command_or_problem(const std::string& body) {
  const auto source = settings("release-script", "the release script", {{"staging", "uat"}});
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

TEST_CASE("GitHub and GitLab: the documented signature and token checks", "[webhooks]") {
  // docs.github.com, "Validating webhook deliveries": this secret and payload give this signature.
  const std::string github_secret = "It's a Secret to Everybody";
  const std::string expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  CHECK(github_signature(github_secret, "Hello, World!") == expected);
  CHECK(verify_github(github_secret, expected, "Hello, World!").empty());
  CHECK(verify_github(github_secret, expected, "Hello, World?") ==
        "X-Hub-Signature-256 does not match (wrong secret, or the body was changed)");
  CHECK(verify_github("another secret", expected, "Hello, World!").starts_with("X-Hub-Signature-256 does not match"));
  CHECK(verify_github(github_secret, "", "Hello, World!").starts_with("X-Hub-Signature-256 is missing"));
  CHECK(verify_github(github_secret, expected.substr(0, 20), "Hello, World!").starts_with("X-Hub-Signature-256 does not"));
  CHECK(verify_gitlab("glsecret", "glsecret").empty());
  CHECK(verify_gitlab("glsecret", "glsecreT") == "X-Gitlab-Token is not this source's secret token");
  CHECK(verify_gitlab("glsecret", "").starts_with("X-Gitlab-Token is missing"));
}

namespace {

std::string typed(const forge_report& report) {
  if (const auto* problem = std::get_if<pipeline_problem>(&report)) {
    return "problem " + std::to_string(problem->status) + ": " + problem->problem;
  }
  if (const auto* ignored = std::get_if<ignored_event>(&report)) return "ignored: " + ignored->reason;
  const auto& cmd = std::get<releasebot::commands::deploy_command>(report);
  CHECK(cmd.repeat_is_harmless);
  std::string out = "deploy " + cmd.version + " " + cmd.environment + " " + cmd.action;
  if (!cmd.text.empty()) out += " " + cmd.text;
  return out;
}

source_settings github_source() {
  auto source = settings("github", "GitHub Actions", {{"staging", "uat"}});
  source.kind = source_kind::github;
  source.workflows = {"Deploy"};
  return source;
}

std::string workflow_run(const std::string& action, const std::string& conclusion, const std::string& name = "Deploy",
                         const std::string& branch = "v4.2.0", const std::string& title = "Deploy 4.2.0 to staging") {
  nlohmann::json body{{"action", action},
                      {"workflow_run",
                       {{"name", name},
                        {"head_branch", branch},
                        {"display_title", title},
                        {"html_url", "https://github.com/acme/shop/actions/runs/7"},
                        {"conclusion", conclusion.empty() ? nlohmann::json(nullptr) : nlohmann::json(conclusion)}}}};
  return body.dump();
}

}  // namespace

TEST_CASE("GitHub: workflow runs and deployment statuses become deploy commands", "[webhooks]") {
  auto source = github_source();
  CHECK(typed(command_of_github_event("workflow_run", workflow_run("requested", ""), source)) == "deploy 4.2.0 uat start");
  CHECK(typed(command_of_github_event("workflow_run", workflow_run("in_progress", ""), source)) == "deploy 4.2.0 uat start");
  CHECK(typed(command_of_github_event("workflow_run", workflow_run("completed", "success"), source)) ==
        "deploy 4.2.0 uat done");
  CHECK(typed(command_of_github_event("workflow_run", workflow_run("completed", "failure"), source)) ==
        "deploy 4.2.0 uat failed the workflow run failed — https://github.com/acme/shop/actions/runs/7");
  CHECK(typed(command_of_github_event("workflow_run", workflow_run("completed", "cancelled"), source)).find(
            "was cancelled") != std::string::npos);
  CHECK(typed(command_of_github_event("workflow_run", workflow_run("completed", "skipped"), source)) ==
        "ignored: nothing to record yet");
  // Not a deployment workflow: ignored, with the reason GitHub shows in its delivery log.
  CHECK(typed(command_of_github_event("workflow_run", workflow_run("completed", "success", "CI"), source)) ==
        "ignored: workflow 'CI' is not one of this source's deployment workflows");
  // A deployment workflow run on a branch: the mapping cannot find the version.
  CHECK(typed(command_of_github_event("workflow_run", workflow_run("requested", "", "Deploy", "main"), source)) ==
        "problem 422: workflow 'Deploy' has no release version in its tag (like v4.2.0)");
  source.version_from = "title";
  CHECK(typed(command_of_github_event("workflow_run", workflow_run("requested", "", "Deploy", "main"), source)) ==
        "deploy 4.2.0 uat start");
  CHECK(typed(command_of_github_event("workflow_run",
                                      workflow_run("requested", "", "Deploy", "main", "Deploy 4.2.0 somewhere"), source)) ==
        "problem 422: workflow 'Deploy' has no environment in its title (\"… to <environment>\")");
  source.environment_from = "workflow";
  source.environments["Deploy"] = "alpha";
  CHECK(typed(command_of_github_event("workflow_run", workflow_run("requested", ""), source)) == "deploy 4.2.0 alpha start");

  const auto status = [](const std::string& state, const std::string& environment = "staging") {
    return nlohmann::json{{"deployment_status", {{"state", state}, {"description", "smoke tests red"},
                                                 {"target_url", "https://ci/logs/9"}}},
                          {"deployment", {{"ref", "refs/tags/v4.2.1"}, {"environment", environment},
                                          {"payload", {{"version", "4.3.0"}}}}}}
        .dump();
  };
  source = github_source();
  CHECK(typed(command_of_github_event("deployment_status", status("in_progress"), source)) == "deploy 4.2.1 uat start");
  CHECK(typed(command_of_github_event("deployment_status", status("success", "production"), source)) ==
        "deploy 4.2.1 production done");
  CHECK(typed(command_of_github_event("deployment_status", status("failure"), source)) ==
        "deploy 4.2.1 uat failed smoke tests red — https://ci/logs/9");
  CHECK(typed(command_of_github_event("deployment_status", status("queued"), source)) == "ignored: nothing to record yet");
  source.version_from = "field:/deployment/payload/version";
  CHECK(typed(command_of_github_event("deployment_status", status("success"), source)) == "deploy 4.3.0 uat done");
  source.version_from = "field:/deployment/payload/missing";
  CHECK(typed(command_of_github_event("deployment_status", status("success"), source)) ==
        "problem 422: the deployment has no release version in field:/deployment/payload/missing");

  CHECK(typed(command_of_github_event("ping", R"({"zen":"Keep it logically awesome."})", source)) == "ignored: pong");
  // A long description is cut whole characters at a time: the command still writes as JSON.
  source.version_from = "tag";
  std::string long_text;
  for (int i = 0; i < 800; ++i) long_text += "é";
  auto long_status = nlohmann::json::parse(status("failure"));
  long_status["deployment_status"]["description"] = long_text;
  const auto cut = command_of_github_event("deployment_status", long_status.dump(), source);
  REQUIRE(std::holds_alternative<releasebot::commands::deploy_command>(cut));
  const auto& cut_text = std::get<releasebot::commands::deploy_command>(cut).text;
  CHECK(cut_text.size() <= 1000);
  CHECK_NOTHROW(nlohmann::json(cut_text).dump());
  CHECK(typed(command_of_github_event("push", "{}", source)).starts_with("ignored: GitHub's push event"));
  CHECK(typed(command_of_github_event("workflow_run", "{", source)).starts_with("problem 400: the body is not JSON"));
  CHECK(typed(command_of_github_event("workflow_run", R"({"action":"requested"})", source)) ==
        "problem 400: workflow_run is missing");
}

TEST_CASE("GitLab: pipeline and deployment events become deploy commands", "[webhooks]") {
  auto source = settings("gitlab", "GitLab CI", {});
  source.kind = source_kind::gitlab;
  source.version_from = "variable:RELEASE_VERSION";
  source.environment_from = "variable:RELEASE_ENV";
  const auto pipeline = [](const std::string& status, bool with_variables = true) {
    nlohmann::json attributes{{"id", 31}, {"ref", "main"}, {"tag", false}, {"status", status}};
    if (with_variables) {
      attributes["variables"] = {{{"key", "RELEASE_VERSION"}, {"value", "4.2.0"}}, {{"key", "RELEASE_ENV"}, {"value", "uat"}}};
    }
    return nlohmann::json{{"object_kind", "pipeline"}, {"object_attributes", attributes},
                          {"project", {{"web_url", "https://gitlab.example.com/acme/shop"}}}}
        .dump();
  };
  CHECK(typed(command_of_gitlab_event("Pipeline Hook", pipeline("running"), source)) == "deploy 4.2.0 uat start");
  CHECK(typed(command_of_gitlab_event("Pipeline Hook", pipeline("success"), source)) == "deploy 4.2.0 uat done");
  CHECK(typed(command_of_gitlab_event("Pipeline Hook", pipeline("failed"), source)) ==
        "deploy 4.2.0 uat failed the pipeline failed — https://gitlab.example.com/acme/shop/-/pipelines/31");
  CHECK(typed(command_of_gitlab_event("Pipeline Hook", pipeline("pending"), source)) == "ignored: nothing to record yet");
  // An ordinary CI pipeline (no release variables) is not a deployment.
  CHECK(typed(command_of_gitlab_event("Pipeline Hook", pipeline("success", false), source)).starts_with("ignored: pipeline"));

  source.version_from = "tag";
  const auto deployment = nlohmann::json{{"object_kind", "deployment"}, {"status", "success"}, {"ref", "v4.2.0"},
                                         {"environment", "UAT"}, {"deployable_url", "https://gitlab.example.com/j/5"}}
                              .dump();
  CHECK(typed(command_of_gitlab_event("Deployment Hook", deployment, source)) == "deploy 4.2.0 uat done");
  CHECK(typed(command_of_gitlab_event("Push Hook", "{}", source)).starts_with("ignored: GitLab's Push Hook"));
}

TEST_CASE("the mapping settings are checked with the fix in the message", "[webhooks]") {
  CHECK(mapping_problem(source_kind::github, "tag", false).empty());
  CHECK(mapping_problem(source_kind::github, "field:/deployment/payload/version", false).empty());
  CHECK(mapping_problem(source_kind::github, "field:deployment", false) ==
        "'deployment' is not a JSON pointer (like /deployment/payload/version)");
  CHECK(mapping_problem(source_kind::github, "variable:V", false) ==
        "variable:<NAME> is for GitLab pipelines (their CI variables)");
  CHECK(mapping_problem(source_kind::gitlab, "variable:V", true).empty());
  CHECK(mapping_problem(source_kind::github, "tag", true).starts_with("'tag' is not a place I can read it from"));
}
