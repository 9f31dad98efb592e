// End-to-end: the real `releasebot run` against a fake Slack (HTTPS Web API + TLS Socket Mode)
// on 127.0.0.1, asserting on the Web API calls and acks a real Slack would see.
#include "../fakes/fake_slack.hpp"
#include "database_probe.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

using namespace std::chrono_literals;
using releasebot::testing::api_call;
using releasebot::testing::fake_slack;
using releasebot::testing::running_process;
using releasebot::testing::count;
using releasebot::testing::temp_dir;
using releasebot::testing::text_of;

namespace {

bool text_has(const api_call& call, const std::string& needle) {
  return call.body.value("text", std::string{}).find(needle) != std::string::npos;
}

// What a sign-off card's buttons carry (the request they decide).
std::string button_value_of(const api_call& card) {
  std::string value;
  for (const auto& block : card.body["blocks"]) {
    if (block.value("type", "") == "actions") value = block["elements"][0].value("value", "");
  }
  return value;
}

// A fake Slack, a config that points the bot at it, and the bot itself.
class slack_setup {
public:
  slack_setup() {
    std::ofstream{config()} << "[bot]\npolicy = \"" << RELEASEBOT_SOURCE_DIR << "/deploy/policy.toml\"\n"
                            << "[access]\nadmins = [\"UALICE\"]\n"
                            << "[slack]\nrelease_channel = \"CREL\"\nidle_timeout_ms = 2000\n"
                            << "[http]\nlisten = \"127.0.0.1:0\"\n";
  }

  std::string db() const { return dir_.file("bot.db"); }
  std::string config() const { return dir_.file("releasebot.toml"); }

  std::unique_ptr<running_process> start_bot(const std::string& app_token = {}) {
    ::setenv("SLACK_APP_TOKEN", (app_token.empty() ? slack.app_token() : app_token).c_str(), 1);
    ::setenv("SLACK_BOT_TOKEN", slack.bot_token().c_str(), 1);
    ::setenv("SLACK_API_URL", slack.api_url().c_str(), 1);
    ::setenv("SSL_CERT_FILE", slack.ca_file().c_str(), 1);
    auto bot = std::make_unique<running_process>(
        std::vector<std::string>{RELEASEBOT_BINARY, "run", "--db", db(), "--config", config(), "--log-level", "info"});
    bot->close_input();
    return bot;
  }

  // Sends a slash command and returns its ack payload's text.
  std::string slash(const std::string& user, const std::string& text) {
    const auto id = slack.send_slash_command(user, "CREL", text);
    const auto ack = slack.wait_for_ack(id, 5s);
    INFO("slash: " << text);
    REQUIRE(ack);
    return ack->contains("payload") ? (*ack)["payload"].value("text", std::string{}) : std::string{};
  }

  api_call require_call(const std::string& method, const std::function<bool(const api_call&)>& match,
                        std::chrono::milliseconds timeout = 5s) {
    auto call = slack.wait_for_call(method, match, timeout);
    INFO("waiting for " << method);
    REQUIRE(call);
    return *call;
  }

  fake_slack slack;

private:
  temp_dir dir_;
};

}  // namespace

TEST_CASE("a release driven from Slack: slash commands, mentions, DMs and buttons", "[e2e][slack]") {
  slack_setup s;
  auto bot = s.start_bot();
  if (!s.slack.wait_for_connections(1, 10s)) {
    bot->signal(SIGTERM);
    bot->wait();
    FAIL("no Socket Mode connection; the bot said:\n" << bot->err());
  }

  CHECK(s.slash("UALICE", "role <@UQA> add qa") == "Granted qa to <@UQA>.");
  const auto opened = s.slash("UALICE", "open 4.2.0 hotfix Checkout & <!channel> fix");
  CHECK(opened.find("Opened 4.2.0 (hotfix) in planning") != std::string::npos);
  const auto opening = s.require_call("chat.postMessage", [](const api_call& c) {
    return c.body.value("channel", "") == "CREL" && text_has(c, "Release 4.2.0");
  });
  CHECK(opening.authorization == "Bearer " + s.slack.bot_token());
  CHECK(opening.content_type == "application/json; charset=utf-8");
  CHECK_FALSE(opening.body.contains("thread_ts"));
  CHECK(opening.body.dump().find("<!channel>") == std::string::npos);
  CHECK(opening.body.value("text", "").find("Checkout &amp; !channel fix") != std::string::npos);
  REQUIRE(opening.body.contains("blocks"));

  // A mention is answered ephemerally to the asker.
  s.slack.send_app_mention("UALICE", "CREL", "<@UBOT> status 4.2");
  const auto status = s.require_call("chat.postEphemeral", [](const api_call& c) { return text_has(c, "Stage: planning"); });
  CHECK(status.body.value("user", "") == "UALICE");
  CHECK(status.body.value("channel", "") == "CREL");

  // A sign-off request: a DM with buttons, and a line in the release thread.
  CHECK(s.slash("UALICE", "signoff 4.2.0 qa <@UQA>").find("Asked 1 person") != std::string::npos);
  const auto card = s.require_call("chat.postMessage", [](const api_call& c) {
    return c.body.value("channel", "") == "DUQA" && text_has(c, "asks you to sign off");
  });
  const auto blocks = card.body["blocks"].dump();
  CHECK(blocks.find("\"action_id\":\"signoff_approve\"") != std::string::npos);
  CHECK(blocks.find("\"style\":\"danger\"") != std::string::npos);
  const auto request_value = button_value_of(card);
  REQUIRE_FALSE(request_value.empty());
  const auto thread_line = s.require_call("chat.postMessage", [](const api_call& c) {
    return c.body.value("channel", "") == "CREL" && text_has(c, "sign-off requested from");
  });
  const auto release_thread = thread_line.body.value("thread_ts", "");
  CHECK_FALSE(release_thread.empty());

  // Someone else clicking the card is refused; the person asked is not.
  s.slack.send_button_click("UPM", "signoff_approve", request_value, "DUQA", "1.000001");
  // People by name in the words of notifications; Slack's own <@U…> in the blocks.
  const auto refusal = s.require_call("chat.postEphemeral", [](const api_call& c) { return text_has(c, "only @\u2060User UQA can use"); });
  CHECK(refusal.body.value("user", "") == "UPM");
  CHECK(refusal.body["blocks"].dump().find("<@UQA>") != std::string::npos);
  CHECK(count(s.db(), "SELECT count(*) FROM signoff_decisions") == 0);

  const auto click = s.slack.send_button_click("UQA", "signoff_approve", request_value, "DUQA", "1.000001");
  const auto update = s.require_call("chat.update", [](const api_call& c) { return text_has(c, "approved by"); });
  const auto confirmation = s.require_call("chat.postEphemeral", [](const api_call& c) { return text_has(c, "Recorded your approval"); });
  CHECK(confirmation.body.value("user", "") == "UQA");
  // The same click delivered again (a lost ack): acked, applied once, and nothing posted again.
  s.slack.send_button_click("UQA", "signoff_approve", request_value, "DUQA", "1.000001", click, 1);
  for (int i = 0; i < 100 && s.slack.ack_count(click) < 2; ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(s.slack.ack_count(click) == 2);
  CHECK(update.body.value("channel", "") == "DUQA");
  const auto decision_line = s.require_call("chat.postMessage", [](const api_call& c) {
    return c.body.value("channel", "") == "CREL" && text_has(c, "approved by");
  });
  CHECK(decision_line.body.value("thread_ts", "") == release_thread);
  CHECK_FALSE(update.body.value("ts", "").empty());
  CHECK(count(s.db(), "SELECT count(*) FROM signoff_decisions WHERE decided_by = 'UQA'") == 1);
  std::this_thread::sleep_for(300ms);
  int confirmations = 0;
  for (const auto& call : s.slack.calls("chat.postEphemeral")) confirmations += text_has(call, "Recorded your approval");
  CHECK(confirmations == 1);
  CHECK(s.slack.calls("chat.update").size() == 1);

  // A direct message gets its answer in the DM.
  s.slack.send_direct_message("UQA", "status 4.2.0");
  const auto dm_answer = s.require_call("chat.postMessage", [](const api_call& c) {
    return c.body.value("channel", "") == "DUQA" && text_has(c, "qa ✓");
  });
  CHECK(dm_answer.body.contains("blocks"));

  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
  CHECK(s.slack.other_frames().empty());
}

TEST_CASE("the same envelope delivered twice is applied once and answered alike", "[e2e][slack]") {
  slack_setup s;
  auto bot = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(1, 10s));
  const auto id = s.slack.send_slash_command("UALICE", "CREL", "open 4.2.0 minor Payments");
  const auto first = s.slack.wait_for_ack(id, 5s);
  REQUIRE(first);
  s.slack.send_slash_command("UALICE", "CREL", "open 4.2.0 minor Payments", 1, id);
  REQUIRE(s.slack.wait_for_call("chat.postMessage", [](const api_call&) { return true; }, 5s));
  std::this_thread::sleep_for(500ms);
  CHECK(s.slack.ack_count(id) == 2);
  CHECK(count(s.db(), "SELECT count(*) FROM releases") == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM outbox") == 1);
  CHECK(s.slack.calls("chat.postMessage").size() == 1);
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("refresh_requested: the new connection says hello before the old goes, nothing is lost", "[e2e][slack]") {
  slack_setup s;
  auto bot = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(1, 10s));
  s.slack.send_disconnect("refresh_requested", 1);
  // Commands keep arriving on the old connection while the bot switches.
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(s.slack.send_slash_command("UALICE", "CREL", "open 4." + std::to_string(i) + ".0 minor", 0));
  REQUIRE(s.slack.wait_for_connections(2, 10s));
  for (int i = 5; i < 10; ++i) ids.push_back(s.slack.send_slash_command("UALICE", "CREL", "open 4." + std::to_string(i) + ".0 minor", 0));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    INFO("command " << i << "; bot log:\n" << bot->err());
    CHECK(s.slack.wait_for_ack(ids[i], 5s));
  }
  CHECK(count(s.db(), "SELECT count(*) FROM releases") == 10);
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("an abrupt TCP drop reconnects quickly and carries on", "[e2e][slack]") {
  slack_setup s;
  auto bot = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(1, 10s));
  s.slack.drop_connection();
  REQUIRE(s.slack.wait_for_connections(2, 5s));
  CHECK(s.slash("UALICE", "open 4.2.0 minor").find("Opened 4.2.0") != std::string::npos);
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("a silent connection (no pong) is replaced", "[e2e][slack]") {
  slack_setup s;
  auto bot = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(1, 10s));
  s.slack.go_silent();
  REQUIRE(s.slack.wait_for_connections(2, 8s));
  CHECK(s.slash("UALICE", "list").find("No active releases") != std::string::npos);
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("429 with Retry-After on chat.postMessage: every announcement still posted once", "[e2e][slack]") {
  slack_setup s;
  auto bot = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(1, 10s));
  s.slack.rate_limit("chat.postMessage", 3, 1);
  s.slash("UALICE", "open 4.2.0 minor");
  s.slash("UALICE", "scope 4.2.0 add PAY-1");
  s.slash("UALICE", "scope 4.2.0 resolved PAY-1");
  REQUIRE(s.slack.wait_for_call("chat.postMessage", [](const api_call& c) { return text_has(c, "PAY-1 resolved"); }, 15s));
  std::this_thread::sleep_for(500ms);
  int accepted = 0;
  for (const auto& call : s.slack.calls("chat.postMessage")) {
    if (text_has(call, "Release 4.2.0") || text_has(call, "added to scope") || text_has(call, "PAY-1 resolved")) ++accepted;
  }
  CHECK(accepted == 3 + 3);  // three refused attempts, then each of the three once
  CHECK(count(s.db(), "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0);
  CHECK(count(s.db(), "SELECT count(DISTINCT platform_ref) FROM outbox") == 3);
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("a busy release channel does not hold up a sign-off request's DM", "[e2e][slack]") {
  slack_setup s;
  auto bot = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(1, 10s));
  s.slash("UALICE", "role <@UQA> add qa");
  s.slash("UALICE", "open 4.2.0 minor");
  for (int ticket = 1; ticket <= 10; ++ticket) s.slash("UALICE", "scope 4.2.0 add PAY-" + std::to_string(ticket));
  // The channel takes four messages at once and then about one a second: its eleven announcements
  // need about seven seconds. The person asked to sign off must not wait for them.
  const auto asked = std::chrono::steady_clock::now();
  CHECK(s.slash("UALICE", "signoff 4.2.0 qa <@UQA>").find("Asked 1 person") != std::string::npos);
  const auto card = s.require_call("chat.postMessage", [](const api_call& c) {
    return c.body.value("channel", "") == "DUQA" && text_has(c, "asks you to sign off");
  });
  CHECK(card.at - asked < 1500ms);
  const auto last = s.require_call("chat.postMessage", [](const api_call& c) { return text_has(c, "PAY-10"); }, 20s);
  CHECK(last.at > card.at);
  // Within the channel nothing overtook anything: the tickets went out in the order they were added.
  std::vector<int> order;
  for (const auto& call : s.slack.calls("chat.postMessage")) {
    const auto text = call.body.value("text", std::string{});
    if (const auto at = text.find("PAY-"); at != std::string::npos && text_has(call, "added to scope")) {
      order.push_back(std::stoi(text.substr(at + 4)));
    }
  }
  CHECK(order == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("a refused app token stops the bot with a clear message", "[e2e][slack]") {
  slack_setup s;
  auto bot = s.start_bot("xapp-wrong");
  const int code = bot->wait();
  CHECK(code == 1);
  CHECK(bot->err().find("Slack refused the app token (apps.connections.open: invalid_auth)") != std::string::npos);
  CHECK(bot->err().find("xapp-wrong") == std::string::npos);
  CHECK(s.slack.calls("apps.connections.open").size() == 1);  // no retry loop on a bad token
}

TEST_CASE("kill -9 between commit and ack: the redelivery is answered from the stored reply", "[e2e][slack]") {
  slack_setup s;
  ::setenv("RELEASEBOT_FAILPOINT", "slack_after_commit", 1);
  auto bot = s.start_bot();
  ::unsetenv("RELEASEBOT_FAILPOINT");
  REQUIRE(s.slack.wait_for_connections(1, 10s));
  const auto id = s.slack.send_slash_command("UALICE", "CREL", "open 4.2.0 minor Payments");
  CHECK(bot->wait() == 137);  // died after the commit, before the ack
  CHECK(s.slack.ack_count(id) == 0);
  CHECK(count(s.db(), "SELECT count(*) FROM releases") == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 1);

  auto again = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(2, 10s));
  s.slack.send_slash_command("UALICE", "CREL", "open 4.2.0 minor Payments", 1, id);
  const auto ack = s.slack.wait_for_ack(id, 5s);
  REQUIRE(ack);
  CHECK((*ack)["payload"].value("text", "").find("Opened 4.2.0 (minor)") != std::string::npos);
  REQUIRE(s.slack.wait_for_call("chat.postMessage", [](const api_call& c) { return text_has(c, "Release 4.2.0"); }, 5s));
  std::this_thread::sleep_for(500ms);
  CHECK(s.slack.calls("chat.postMessage").size() == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM releases") == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM audit_log") == 1);
  again->signal(SIGTERM);
  CHECK(again->wait() == 0);
}

TEST_CASE("a click's confirmation: posted after a crash before the ack, never twice across restarts", "[e2e][slack]") {
  slack_setup s;
  auto bot = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(1, 10s));
  s.slash("UALICE", "role <@UQA> add qa");
  s.slash("UALICE", "open 4.2.0 minor Payments");
  s.slash("UALICE", "signoff 4.2.0 qa <@UQA>");
  const auto card = s.require_call("chat.postMessage", [](const api_call& c) { return text_has(c, "asks you to sign off"); });
  const auto request_value = button_value_of(card);
  REQUIRE_FALSE(request_value.empty());
  bot->signal(SIGTERM);
  REQUIRE(bot->wait() == 0);

  const auto confirmations = [&] {
    int posted = 0;
    for (const auto& call : s.slack.calls("chat.postEphemeral")) posted += text_has(call, "Recorded your approval");
    return posted;
  };
  // Killed after the decision committed, before the ack and before the confirmation went out.
  ::setenv("RELEASEBOT_FAILPOINT", "slack_after_commit", 1);
  auto crashing = s.start_bot();
  ::unsetenv("RELEASEBOT_FAILPOINT");
  REQUIRE(s.slack.wait_for_connections(2, 10s));
  const auto click = s.slack.send_button_click("UQA", "signoff_approve", request_value, "DUQA", "1.000001");
  CHECK(crashing->wait() == 137);
  CHECK(count(s.db(), "SELECT count(*) FROM signoff_decisions") == 1);
  CHECK(confirmations() == 0);

  // Slack redelivers to the restarted bot: the stored reply is posted, once.
  auto again = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(3, 10s));
  s.slack.send_button_click("UQA", "signoff_approve", request_value, "DUQA", "1.000001", click, 1);
  REQUIRE(s.slack.wait_for_call("chat.postEphemeral", [](const api_call& c) { return text_has(c, "Recorded your approval"); }, 5s));
  again->signal(SIGTERM);
  REQUIRE(again->wait() == 0);

  // Another redelivery after a restart (its ack was lost): acked, nothing posted again.
  auto last = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(4, 10s));
  s.slack.send_button_click("UQA", "signoff_approve", request_value, "DUQA", "1.000001", click, 2);
  for (int i = 0; i < 100 && s.slack.ack_count(click) < 2; ++i) std::this_thread::sleep_for(50ms);
  CHECK(s.slack.ack_count(click) == 2);
  std::this_thread::sleep_for(500ms);
  CHECK(confirmations() == 1);
  CHECK(count(s.db(), "SELECT count(*) FROM signoff_decisions") == 1);
  last->signal(SIGTERM);
  CHECK(last->wait() == 0);
}

TEST_CASE("a deployment's steps are one thread message, edited in place with chat.update", "[e2e][slack]") {
  slack_setup s;
  auto bot = s.start_bot();
  REQUIRE(s.slack.wait_for_connections(1, 10s));
  s.slash("UALICE", "open 4.2.0 hotfix Progress");
  s.slash("UALICE", "advance 4.2.0 force drill");
  s.slash("UALICE", "deploy 4.2.0 alpha start");
  s.require_call("chat.postMessage", [](const api_call& c) { return text_has(c, "started by"); });
  for (const auto* step : {"migrations applied", "cache warmed", "smoke tests green"}) {
    s.slash("UALICE", std::string{"deploy 4.2.0 alpha step "} + step);
  }
  const auto first = s.require_call("chat.postMessage", [](const api_call& c) { return text_has(c, "in progress: 1 step"); });
  CHECK_FALSE(first.body.value("thread_ts", "").empty());
  const auto last = s.require_call("chat.update", [](const api_call& c) { return text_has(c, "3 steps"); });
  CHECK(last.body.value("ts", "") == first.response.value("ts", ""));
  CHECK(last.body.value("channel", "") == first.response.value("channel", ""));
  CHECK(text_has(last, "migrations applied"));
  CHECK(text_has(last, "smoke tests green"));
  // No step became a message of its own.
  int step_posts = 0;
  for (const auto& call : s.slack.calls("chat.postMessage")) step_posts += text_has(call, "in progress") ? 1 : 0;
  CHECK(step_posts == 1);

  s.slash("UALICE", "deploy 4.2.0 alpha done");
  s.require_call("chat.postMessage", [](const api_call& c) { return text_has(c, "is deployed to alpha"); });
  s.require_call("chat.update", [](const api_call& c) { return text_has(c, "succeeded: 3 steps"); });
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}
