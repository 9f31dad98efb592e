// End-to-end: a release script posting signed pipeline events (Standard Webhooks) to the real
// `releasebot run`; the release itself driven from the console of the same process.
#include "database_probe.hpp"
#include "integrations/webhooks/standard_webhooks.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

using namespace std::chrono_literals;
using releasebot::testing::count;
using releasebot::testing::free_port;
using releasebot::testing::http_reply;
using releasebot::testing::http_request;
using releasebot::testing::running_process;
using releasebot::testing::start_http_bot;
using releasebot::testing::temp_dir;
using releasebot::testing::text_of;
namespace hooks = releasebot::integrations::webhooks;

namespace {

const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

class script_setup {
public:
  script_setup() : port_{free_port()} {
    std::ofstream{config()} << "[access]\nadmins = [\"alice\"]\n"
                            << "[http]\nlisten = \"127.0.0.1:" << port_ << "\"\n"
                            << "[webhooks.release-script]\nsecret_env = \"RELEASEBOT_TEST_HOOK_SECRET\"\n"
                            << "name = \"the release script\"\n"
                            << "[webhooks.release-script.environments]\nstaging = \"alpha\"\n";
  }

  std::string db() const { return dir_.file("bot.db"); }
  std::string config() const { return dir_.file("releasebot.toml"); }

  std::unique_ptr<running_process> start_bot() {
    ::setenv("RELEASEBOT_TEST_HOOK_SECRET", secret.c_str(), 1);
    return start_http_bot(RELEASEBOT_BINARY, db(), config(), port_);
  }

  // A signed POST, as the README's script sends it; `id` repeats for a redelivery.
  http_reply post(const nlohmann::json& event, const std::string& id, std::string path = "/hooks/release-script",
                  std::chrono::seconds age = 0s, const std::string& key_secret = secret) {
    const auto body = event.dump();
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) - age;
    const auto timestamp = std::to_string(now.time_since_epoch().count());
    const auto key = *hooks::secret_key(key_secret);
    return http_request(port_, "POST", path,
                        {{"Content-Type", "application/json"},
                         {"webhook-id", id},
                         {"webhook-timestamp", timestamp},
                         {"webhook-signature", hooks::sign(key, id, timestamp, body)}},
                        body);
  }

private:
  temp_dir dir_;
  unsigned short port_;
};

nlohmann::json pipeline(const std::string& event, const std::string& text = {}) {
  nlohmann::json body{{"release", "4.2.0"}, {"environment", "staging"}, {"event", event}};
  if (!text.empty()) body["text"] = text;
  return body;
}

void open_release(running_process& bot) {
  // Pre-production deployments are recorded from regression on.
  bot.write("open 4.2.0 hotfix Checkout fix\nadvance 4.2.0 force drill\n");
  REQUIRE(bot.wait_for_output("4.2.0 is now in regression", 5s));
}

}  // namespace

TEST_CASE("a release script reports a deployment; every bad request is refused and changes nothing", "[e2e][webhooks]") {
  script_setup s;
  auto bot = s.start_bot();
  open_release(*bot);

  // Refused, each with its reason, nothing stored.
  auto wrong = s.post(pipeline("started"), "msg_1", "/hooks/release-script", 0s, "whsec_c2Vjb25kIHNlY3JldCBrZXk=");
  CHECK(wrong.status == 401);
  CHECK(wrong.body.find("no webhook-signature matches") != std::string::npos);
  CHECK(s.post(pipeline("started"), "msg_2", "/hooks/release-script", 600s).status == 401);
  CHECK(s.post(pipeline("started"), "msg_3", "/hooks/somebody-else").status == 404);
  auto malformed = s.post(nlohmann::json{{"release", "4.2.0"}}, "msg_4");
  CHECK(malformed.status == 400);
  CHECK(malformed.body.find("environment is missing") != std::string::npos);
  auto unknown = s.post(nlohmann::json{{"release", "9.9.9"}, {"environment", "alpha"}, {"event", "started"}}, "msg_5");
  CHECK(unknown.status == 422);
  CHECK(unknown.body.find("there is no release 9.9.9") != std::string::npos);
  auto early = s.post(pipeline("step", "migrations applied"), "msg_6");
  CHECK(early.status == 422);
  CHECK(early.body.find("has no deployment to alpha in progress") != std::string::npos);
  // The release matched: its thread hears about the report it could not record.
  CHECK(bot->wait_for_output("the release script reported a step of the deployment of 4.2.0 to alpha, which I could "
                             "not record: 4.2.0 has no deployment to alpha in progress",
                             5s));
  CHECK(count(s.db(), "SELECT count(*) FROM deployments") == 0);
  CHECK(count(s.db(), "SELECT count(*) FROM audit_log WHERE platform = 'webhook'") == 0);

  // The script's run: started, steps, done — announced in the thread, attributed to the script.
  auto started = s.post(pipeline("started"), "msg_10");
  CHECK(started.status == 200);
  CHECK(bot->wait_for_output("Deployment of 4.2.0 to alpha started by the release script", 5s));
  CHECK(s.post(pipeline("step", "migrations applied"), "msg_11").status == 200);
  CHECK(bot->wait_for_output("4.2.0 → alpha, in progress: 1 step\n• migrations applied (the release script)", 5s));
  // The same delivery again (the script retried): applied once.
  auto again = s.post(pipeline("step", "migrations applied"), "msg_11");
  CHECK(again.status == 200);
  CHECK(nlohmann::json::parse(again.body).value("duplicate", false));
  CHECK(s.post(pipeline("succeeded"), "msg_12").status == 200);
  for (int i = 0; i < 50 && count(s.db(), "SELECT count(*) FROM deployments WHERE outcome = 'succeeded'") == 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(count(s.db(), "SELECT count(*) FROM deployments WHERE environment = 'alpha' AND outcome = 'succeeded'") == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM deployment_steps") == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM audit_log WHERE platform = 'webhook' AND actor = 'webhook:release-script'") == 3);
  CHECK(text_of(s.db(), "SELECT started_by FROM deployments") == "webhook:release-script");

  // Status names the script, not an id.
  bot->write("status 4.2.0\n");
  CHECK(bot->wait_for_output("by the release script", 5s));
  CHECK(bot->wait_for_output("1 step, last: migrations applied", 5s));
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("kill -9 between applying a webhook and answering it: the retried delivery is applied once", "[e2e][webhooks]") {
  script_setup s;
  {
    auto bot = s.start_bot();
    open_release(*bot);
    bot->signal(SIGTERM);
    REQUIRE(bot->wait() == 0);
  }
  ::setenv("RELEASEBOT_FAILPOINT", "webhook_after_commit", 1);
  auto crashing = s.start_bot();
  ::unsetenv("RELEASEBOT_FAILPOINT");
  const auto cut = s.post(pipeline("started"), "msg_crash");
  CHECK(cut.status == 0);  // no answer: the process died after its commit
  CHECK(crashing->wait() == 137);
  CHECK(count(s.db(), "SELECT count(*) FROM deployments") == 1);

  auto again = s.start_bot();
  const auto retried = s.post(pipeline("started"), "msg_crash");
  CHECK(retried.status == 200);
  CHECK(nlohmann::json::parse(retried.body).value("duplicate", false));
  CHECK(count(s.db(), "SELECT count(*) FROM deployments") == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM audit_log WHERE action = 'deploy_start'") == 1);
  again->signal(SIGTERM);
  CHECK(again->wait() == 0);
}

TEST_CASE("a QA sign-off is bound to the build it approved: a newer build voids it and asks again", "[e2e][webhooks]") {
  script_setup s;
  auto bot = s.start_bot();
  open_release(*bot);
  bot->write("role @quinn add qa\nsignoff 4.2.0 qa @quinn\n");
  CHECK(bot->wait_for_output("qa sign-off requested from @quinn", 5s));

  // The script deploys build 1234 to alpha (hotfixes are tested there), and QA approves it.
  auto started = pipeline("started");
  started["build"] = "1234";
  started["commit"] = "9fceb02d0ae598e95dc970b74767f19372d61af8";
  started["url"] = "https://ci.example.com/job/1234";
  CHECK(s.post(started, "b-1").status == 200);
  CHECK(bot->wait_for_output("4.2.0 build 1234 is on alpha — commit 9fceb02d0ae5 https://ci.example.com/job/1234", 5s));
  CHECK(s.post(pipeline("succeeded"), "b-2").status == 200);
  bot->write("/as quinn\napprove 4.2.0 as qa smoke tests green\n/as alice\n");
  CHECK(bot->wait_for_output("4.2.0 — qa sign-off of build 1234 approved by @quinn", 5s));
  CHECK(text_of(s.db(), "SELECT build FROM signoff_decisions") == "1234");

  // The same build reported again changes nothing; a deployment of it again is refused.
  auto same = pipeline("started");
  same["build"] = "1234";
  const auto again = s.post(same, "b-3");
  CHECK(again.status == 422);
  CHECK(again.body.find("already succeeded on alpha with build 1234") != std::string::npos);

  // Build 1240 reaches alpha: the approval no longer counts, Quinn is asked again.
  auto newer = pipeline("started");
  newer["build"] = "1240";
  CHECK(s.post(newer, "b-4").status == 200);
  CHECK(bot->wait_for_output("4.2.0 build 1240 is on alpha (was 1234)", 5s));
  CHECK(bot->wait_for_output("qa sign-off by @quinn voided by build 1234 → 1240 — asking @quinn again", 5s));
  CHECK(bot->wait_for_output("Build 1240 reached alpha after you approved build 1234, so your qa sign-off no longer counts.", 5s));
  CHECK(count(s.db(), "SELECT count(*) FROM signoff_decisions WHERE voided_by_build = '1240'") == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM audit_log WHERE action = 'signoff_voided'") == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM signoff_requests WHERE assignee = 'quinn' AND answered_at IS NULL") == 1);
  bot->write("status 4.2.0\n");
  CHECK(bot->wait_for_output("qa pending (approval by @quinn voided by build 1234 → 1240), asked @quinn;", 5s));
  CHECK(bot->wait_for_output("Builds: alpha 1240;", 5s));

  // Quinn approves the new build; the gate sees qa approved again.
  bot->write("/as quinn\napprove 4.2.0 as qa\n/as alice\nstatus 4.2.0\n");
  CHECK(bot->wait_for_output("4.2.0 — qa sign-off of build 1240 approved by @quinn", 5s));
  CHECK(bot->wait_for_output("qa ✓ @quinn (build 1240);", 5s));

  // After a success, a new build is recorded first, then deployed; recording it voids again.
  CHECK(s.post(pipeline("succeeded"), "b-5").status == 200);
  bot->write("deploy 4.2.0 alpha start\n");
  CHECK(bot->wait_for_output("already succeeded on alpha — to deploy a new build there, record it first: build 4.2.0 "
                             "<build-id> on alpha",
                             5s));
  bot->write("build 4.2.0 1250\n");
  CHECK(bot->wait_for_output("Recorded build 1250 of 4.2.0 on alpha.", 5s));
  CHECK(bot->wait_for_output("qa sign-off by @quinn voided by build 1240 → 1250", 5s));
  bot->write("deploy 4.2.0 alpha start\n");
  CHECK(bot->wait_for_output("Deployment of 4.2.0 to alpha started.", 5s));
  CHECK(count(s.db(), "SELECT count(*) FROM deployments WHERE environment = 'alpha'") == 3);
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("a client's UAT sign-off is voided by a new build reaching UAT and requested again", "[e2e][webhooks]") {
  script_setup s;
  auto bot = s.start_bot();
  bot->write("open 5.0.0 major Checkout redesign\nadvance 5.0.0 force drill\nadvance 5.0.0 force drill\n"
             "role @cli add client\n");
  REQUIRE(bot->wait_for_output("5.0.0 is now in regression", 5s));
  const auto report = [&](const std::string& environment, const std::string& event, const std::string& build,
                          const std::string& id) {
    nlohmann::json body{{"release", "5.0.0"}, {"environment", environment}, {"event", event}};
    if (!build.empty()) body["build"] = build;
    return s.post(body, id).status;
  };
  CHECK(report("delta", "started", "", "c-1") == 200);
  CHECK(report("delta", "step", "", "c-2") == 400);  // a step needs its text
  CHECK(report("delta", "succeeded", "", "c-3") == 200);
  CHECK(report("uat", "started", "77", "c-4") == 200);
  CHECK(report("uat", "succeeded", "", "c-5") == 200);
  bot->write("signoff 5.0.0 client @cli\n");
  CHECK(bot->wait_for_output("as client — build 77 on uat.", 5s));
  bot->write("/as cli\napprove 5.0.0 as client UAT passed\n/as alice\n");
  CHECK(bot->wait_for_output("5.0.0 — client sign-off of build 77 approved by @cli", 5s));

  CHECK(report("uat", "started", "78", "c-6") == 200);
  CHECK(bot->wait_for_output("client sign-off by @cli voided by build 77 → 78 — asking @cli again", 5s));
  CHECK(bot->wait_for_output("[DM @cli] Build 78 reached uat after you approved build 77, so your client sign-off no "
                             "longer counts.",
                             5s));
  bot->write("status 5.0.0\n");
  CHECK(bot->wait_for_output("client pending (approval by @cli voided by build 77 → 78), asked @cli;", 5s));
  CHECK(bot->wait_for_output("Builds: uat 78;", 5s));
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}
