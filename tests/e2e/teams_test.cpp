// End-to-end: the real `releasebot run` as a Teams bot, against fake Microsoft endpoints (OpenID
// metadata, JWKS, token endpoint, Bot Connector) on 127.0.0.1 that also play Teams.
#include "../fakes/fake_teams.hpp"
#include "database_probe.hpp"
#include "process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <thread>

using namespace std::chrono_literals;
using releasebot::testing::connector_call;
using releasebot::testing::fake_teams;
using releasebot::testing::jwt_minter;
using releasebot::testing::running_process;
using releasebot::testing::count;
using releasebot::testing::free_port;
using releasebot::testing::temp_dir;
using releasebot::testing::text_of;

namespace {

bool body_has(const connector_call& call, const std::string& needle) { return call.body.dump().find(needle) != std::string::npos; }

nlohmann::json with_mention(nlohmann::json activity, const std::string& aad, const std::string& name) {
  activity["entities"].push_back({{"type", "mention"},
                                  {"text", "<at>" + name + "</at>"},
                                  {"mentioned", {{"id", "29:" + aad}, {"name", name}, {"aadObjectId", aad}}}});
  return activity;
}

class teams_setup {
public:
  explicit teams_setup(const std::string& admin = "alice-aad") : port_{free_port()} {
    std::ofstream{config()} << "[bot]\npolicy = \"" << RELEASEBOT_SOURCE_DIR << "/deploy/policy.toml\"\n"
                            << "[access]\nadmins = [\"" << admin << "\"]\n"
                            << "[teams]\nopenid_metadata_url = \"" << teams.openid_metadata_url() << "\"\n"
                            << "token_url = \"" << teams.token_url() << "\"\n"
                            << "allowed_service_hosts = [\"127.0.0.1\"]\n"
                            << "[http]\nlisten = \"127.0.0.1:" << port_ << "\"\n";
  }

  std::string db() const { return dir_.file("bot.db"); }
  std::string config() const { return dir_.file("releasebot.toml"); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api/messages"; }

  std::unique_ptr<running_process> start_bot() {
    ::unsetenv("SLACK_APP_TOKEN");
    ::unsetenv("SLACK_BOT_TOKEN");
    ::setenv("MICROSOFT_APP_ID", teams.app_id().c_str(), 1);
    ::setenv("MICROSOFT_APP_PASSWORD", teams.app_password().c_str(), 1);
    ::setenv("MICROSOFT_APP_TENANT_ID", teams.tenant_id().c_str(), 1);
    ::setenv("SSL_CERT_FILE", teams.ca_file().c_str(), 1);
    auto bot = std::make_unique<running_process>(
        std::vector<std::string>{RELEASEBOT_BINARY, "run", "--db", db(), "--config", config(), "--log-level", "info"});
    bot->close_input();
    // Ready when the endpoint answers (401 without a token).
    for (int i = 0; i < 100; ++i) {
      if (teams.post_activity(endpoint(), nlohmann::json::object(), "x").status != 0) return bot;
      bot->wait_for_output("\x01", 50ms);
    }
    FAIL("the bot never answered on " << endpoint() << "; it said:\n" << bot->out() << bot->err());
    return bot;
  }

  int say(const nlohmann::json& activity, const std::string& token = {}) {
    return teams.post_activity(endpoint(), activity, token).status;
  }

  connector_call require_call(const std::function<bool(const connector_call&)>& match, std::chrono::milliseconds timeout = 5s) {
    auto call = teams.wait_for_call(match, timeout);
    if (!call) {
      std::string seen;
      for (const auto& c : teams.calls()) seen += c.method + " " + c.path + " " + std::to_string(c.status) + " " + c.body.dump().substr(0, 300) + "\n";
      FAIL("no matching connector call; calls were:\n" << seen);
    }
    return *call;
  }

  fake_teams teams;

private:
  temp_dir dir_;
  unsigned short port_;
};

// Everything a person reads in what the bot sent: text, summaries and card text blocks, not the
// ids in mention entities or member lists.
void collect_visible(const nlohmann::json& value, std::vector<std::string>& out) {
  if (value.is_object()) {
    for (const auto& [key, member] : value.items()) {
      if (key == "mentioned" || key == "members" || key == "bot" || key == "data") continue;
      if ((key == "text" || key == "summary" || key == "title" || key == "value") && member.is_string()) {
        out.push_back(member.get<std::string>());
      } else {
        collect_visible(member, out);
      }
    }
  } else if (value.is_array()) {
    for (const auto& member : value) collect_visible(member, out);
  }
}

// The object ids are GUIDs, as Entra gives them, so a leaked one would show.
const std::string alice = "0b5e6c1a-1111-4aaa-8aaa-00000000a11c";
const std::string quinn = "a7a194b8-1104-4310-9b1e-6c4f0d0e1f01";
const std::string pat = "c3d2e1f0-2222-4bbb-8bbb-0000000000a7";
const std::string sam = "d4e5f6a7-3333-4ccc-8ccc-000000000005";

void add_company(fake_teams& teams) {
  teams.add_member({alice, "29:1AliceChatIdxxxxxxxxxxxxxxxx", "Alice Smith", "alice@contoso.com", "alice@contoso.com"});
  teams.add_member({quinn, "29:168qMuSdMet2MfBV7m9cQuinn", "Quinn Jones", "quinn@contoso.com", "quinn@contoso.com"});
  teams.add_member({pat, "29:1PatChatIdxxxxxxxxxxxxxxxxxx", "Pat Lee", "pat@contoso.com", "pat@contoso.com"});
  teams.add_member({sam, "29:1SamChatIdxxxxxxxxxxxxxxxxxx", "Sam Rivera", "sam@contoso.com", "sam@contoso.com"});
}

// No "29:" id and no object id in anything a person reads.
void require_only_names(const std::vector<connector_call>& calls) {
  const std::regex guid{"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"};
  for (const auto& call : calls) {
    if (call.method != "POST" && call.method != "PUT") continue;
    std::vector<std::string> texts;
    collect_visible(call.body, texts);
    for (const auto& text : texts) {
      INFO(call.method << " " << call.path << ": " << text);
      CHECK(text.find("29:") == std::string::npos);
      CHECK(text.find("19:") == std::string::npos);  // nor a channel's id
      CHECK_FALSE(std::regex_search(text, guid));
    }
  }
}

std::string approve_request_of(const connector_call& card) {
  for (const auto& action : card.body["attachments"][0]["content"]["actions"]) {
    if (action.value("verb", "") == "signoff_approve") return action["data"].value("request", "");
  }
  return {};
}

}  // namespace

TEST_CASE("a team where nobody wrote to the bot: roster, a first 1:1 chat, names in every text", "[e2e][teams]") {
  teams_setup t{"alice@contoso.com"};  // an admin configured by UPN
  add_company(t.teams);
  auto bot = t.start_bot();

  // Installed in the team: the roster is read, page by page (two a page here).
  REQUIRE(t.say(t.teams.bot_added_to_team()) == 200);
  t.require_call([](const connector_call& c) { return c.method == "GET" && c.path.find("pagedmembers") != std::string::npos && c.response.contains("continuationToken") == false; });
  const auto pages = t.teams.calls();
  int roster_pages = 0;
  for (const auto& call : pages) roster_pages += call.path.find("/pagedmembers") != std::string::npos;
  CHECK(roster_pages == 2);
  for (int i = 0; i < 50 && count(t.db(), "SELECT count(*) FROM platform_users WHERE refreshed_at IS NOT NULL") < 4; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(count(t.db(), "SELECT count(*) FROM platform_users WHERE refreshed_at IS NOT NULL") == 4);
  CHECK(text_of(t.db(), "SELECT display_name FROM platform_users WHERE user_id = '" + quinn + "'") == "Quinn Jones");

  // Alice, an admin by UPN, grants Quinn a role by mention (the entity has her 29: id only).
  auto grant = t.teams.mention(t.teams.message_activity(alice, "<at>releasebot</at> role", false), quinn);
  grant["text"] = grant["text"].get<std::string>() + " add qa";
  REQUIRE(t.say(grant) == 200);
  const auto granted = t.require_call([](const connector_call& c) { return body_has(c, "Granted qa to"); });
  CHECK(body_has(granted, "Granted qa to <at>Quinn Jones</at>"));
  CHECK(granted.body["entities"][0]["mentioned"]["id"] == t.teams.chat_id_of(quinn));
  CHECK(count(t.db(), "SELECT count(*) FROM role_grants WHERE user_id = '" + quinn + "' AND role = 'qa'") == 1);

  REQUIRE(t.say(t.teams.message_activity(alice, "<at>releasebot</at> open 5.1.0 minor Checkout", false)) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "opened by") && body_has(c, "Alice Smith"); });
  t.require_call([](const connector_call& c) { return body_has(c, "with you as coordinator; announced in the release channel."); });

  // A sign-off for Quinn, who never wrote to the bot: a 1:1 chat is created and the card goes there.
  auto ask = t.teams.mention(t.teams.message_activity(alice, "<at>releasebot</at> signoff 5.1.0 qa", false), quinn);
  REQUIRE(t.say(ask) == 200);
  const auto created = t.require_call([](const connector_call& c) { return c.method == "POST" && c.path == "/v3/conversations"; });
  CHECK(created.body["members"][0]["id"] == t.teams.chat_id_of(quinn));
  CHECK(created.body["channelData"]["tenant"]["id"] == t.teams.tenant_id());
  CHECK(created.status == 200);
  const auto card = t.require_call([](const connector_call& c) { return body_has(c, "signoff_approve"); });
  CHECK(card.path.find(created.response.value("id", "")) != std::string::npos);
  CHECK(body_has(card, "Alice Smith"));
  t.require_call([](const connector_call& c) { return body_has(c, "qa sign-off requested from <at>Quinn Jones</at>"); });
  const auto request_id = approve_request_of(card);
  REQUIRE_FALSE(request_id.empty());
  // Known from the roster, a mentioned person needs no look-up, and stays one record.
  for (const auto& call : t.teams.calls()) CHECK(call.path.find("/members/") == std::string::npos);
  CHECK(count(t.db(), "SELECT count(*) FROM platform_users WHERE user_id LIKE '29:%'") == 0);
  CHECK(text_of(t.db(), "SELECT direct_conversation_id FROM platform_users WHERE user_id = '" + quinn + "'") ==
        created.response.value("id", ""));

  // Sam clicking Quinn's card is refused by name; Quinn's click is taken.
  const auto stranger = t.teams.post_activity(t.endpoint(), t.teams.card_action_activity(sam, "signoff_approve", request_id, "1"));
  CHECK(stranger.body.find("only @Quinn Jones can use this button") != std::string::npos);
  const auto click = t.teams.post_activity(t.endpoint(), t.teams.card_action_activity(quinn, "signoff_approve", request_id, "1"));
  CHECK(click.body.find("Recorded your approval of") != std::string::npos);
  CHECK(count(t.db(), "SELECT count(*) FROM signoff_decisions WHERE decided_by = '" + quinn + "'") == 1);

  // Status, roles and the audit trail read by name.
  REQUIRE(t.say(t.teams.message_activity(alice, "<at>releasebot</at> status 5.1.0", false)) == 200);
  const auto status = t.require_call([](const connector_call& c) { return body_has(c, "Coordinator:"); });
  CHECK(body_has(status, "Alice Smith"));
  CHECK(body_has(status, "Quinn Jones"));
  REQUIRE(t.say(t.teams.message_activity(alice, "<at>releasebot</at> roles", false)) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "Quinn Jones") && body_has(c, "qa"); });

  // Sam leaves the team: kept, marked, still shown by name.
  REQUIRE(t.say(t.teams.member_removed(sam)) == 200);
  for (int i = 0; i < 50 && count(t.db(), "SELECT count(*) FROM platform_users WHERE left_team_at IS NOT NULL") == 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(text_of(t.db(), "SELECT display_name FROM platform_users WHERE left_team_at IS NOT NULL") == "Sam Rivera");

  // Robin joins the team: looked up at once, so a request can reach her by name.
  const std::string robin = "e5f6a7b8-4444-4ddd-8ddd-0000000000b1";
  t.teams.add_member({robin, "29:1RobinChatIdxxxxxxxxxxxxxxxx", "Robin Diaz", "robin@contoso.com", "robin@contoso.com"});
  REQUIRE(t.say(t.teams.members_added({robin})) == 200);
  t.require_call([](const connector_call& c) { return c.method == "GET" && c.path.find("/members/29:1Robin") != std::string::npos; });
  for (int i = 0; i < 50 && text_of(t.db(), "SELECT display_name FROM platform_users WHERE user_id = '" + robin + "'") != "Robin Diaz"; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(text_of(t.db(), "SELECT email FROM platform_users WHERE user_id = '" + robin + "'") == "robin@contoso.com");

  std::this_thread::sleep_for(300ms);
  require_only_names(t.teams.calls());
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("the roster refused: mentions looked up one by one, a role given by a 29: id follows her", "[e2e][teams]") {
  teams_setup t{alice};
  add_company(t.teams);
  auto bot = t.start_bot();
  t.teams.fail_next_calls(403, 1, 0, "pagedmembers");
  REQUIRE(t.say(t.teams.installation_update("add")) == 200);
  t.require_call([](const connector_call& c) { return c.path.find("pagedmembers") != std::string::npos && c.status == 403; });
  // An upgrade of the app reads the roster again; 404 this time.
  t.teams.fail_next_calls(404, 1, 0, "pagedmembers");
  REQUIRE(t.say(t.teams.installation_update("add-upgrade")) == 200);
  t.require_call([](const connector_call& c) { return c.path.find("pagedmembers") != std::string::npos && c.status == 404; });
  CHECK(count(t.db(), "SELECT count(*) FROM platform_users WHERE refreshed_at IS NOT NULL") == 0);

  // Quinn is mentioned, unknown: looked up by her 29: id, and the role goes to her object id.
  auto grant = t.teams.mention(t.teams.message_activity(alice, "<at>releasebot</at> role", false), quinn);
  grant["text"] = grant["text"].get<std::string>() + " add qa";
  REQUIRE(t.say(grant) == 200);
  const auto lookup = t.require_call([](const connector_call& c) { return c.method == "GET" && c.path.find("/members/29:") != std::string::npos; });
  CHECK(lookup.path.find(t.teams.chat_id_of(quinn)) != std::string::npos);
  t.require_call([](const connector_call& c) { return body_has(c, "Granted qa to <at>Quinn Jones</at>"); });
  CHECK(count(t.db(), "SELECT count(*) FROM role_grants WHERE user_id = '" + quinn + "'") == 1);

  // Pat cannot be looked up (404): the role is kept under her 29: id, under the name Teams showed…
  t.teams.fail_next_calls(404, 1, 0, "/members/");
  auto grant_pat = t.teams.mention(t.teams.message_activity(alice, "<at>releasebot</at> role", false), pat);
  grant_pat["text"] = grant_pat["text"].get<std::string>() + " add qa";
  REQUIRE(t.say(grant_pat) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "Granted qa to <at>Pat Lee</at>"); });
  CHECK(count(t.db(), "SELECT count(*) FROM role_grants WHERE user_id = '" + t.teams.chat_id_of(pat) + "'") == 1);

  // …and when she speaks (from.aadObjectId), she is one person: the role is hers.
  REQUIRE(t.say(t.teams.message_activity(alice, "<at>releasebot</at> open 5.2.0 minor", false)) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "Opened 5.2.0"); });
  REQUIRE(t.say(t.teams.message_activity(pat, "roles")) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "you hold: qa") && c.path.find("a:conv") != std::string::npos; });
  CHECK(count(t.db(), "SELECT count(*) FROM role_grants WHERE user_id = '" + pat + "' AND role = 'qa'") == 1);
  CHECK(count(t.db(), "SELECT count(*) FROM role_grants WHERE user_id LIKE '29:%'") == 0);
  REQUIRE(t.say(t.teams.message_activity(pat, "approve 5.2.0 as qa")) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "Recorded your approval of"); });
  CHECK(count(t.db(), "SELECT count(*) FROM signoff_decisions WHERE decided_by = '" + pat + "'") == 1);

  std::this_thread::sleep_for(300ms);
  require_only_names(t.teams.calls());
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("someone the app cannot reach: the coordinator is told what to do, the card waits and then goes", "[e2e][teams]") {
  teams_setup t{alice};
  add_company(t.teams);
  t.teams.set_reachable(pat, false);
  auto bot = t.start_bot();
  REQUIRE(t.say(t.teams.bot_added_to_team()) == 200);
  for (int i = 0; i < 100 && count(t.db(), "SELECT count(*) FROM platform_users WHERE refreshed_at IS NOT NULL") < 4; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  auto grant = t.teams.mention(t.teams.message_activity(alice, "<at>releasebot</at> role", false), pat);
  grant["text"] = grant["text"].get<std::string>() + " add qa";
  REQUIRE(t.say(grant) == 200);
  REQUIRE(t.say(t.teams.message_activity(alice, "<at>releasebot</at> open 5.3.0 minor", false)) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "Opened 5.3.0"); });
  auto ask = t.teams.mention(t.teams.message_activity(alice, "<at>releasebot</at> signoff 5.3.0 qa", false), pat);
  REQUIRE(t.say(ask) == 200);

  const auto refused = t.require_call([](const connector_call& c) { return c.path == "/v3/conversations" && c.status == 403; });
  const auto notice = t.require_call([](const connector_call& c) { return body_has(c, "could not deliver"); }, 10s);
  CHECK(body_has(notice, "<at>Pat Lee</at>"));
  CHECK(body_has(notice, "install the app for them"));
  CHECK(body_has(notice, "It goes out as soon as they can be reached"));
  CHECK(count(t.db(), "SELECT count(*) FROM signoff_requests WHERE answered_at IS NULL") == 1);
  CHECK(count(t.db(), "SELECT count(*) FROM outbox WHERE failed_reason LIKE 'waiting for the recipient:%'") == 1);

  // The admin installs the app for Pat: Teams says so, and the held card goes out.
  t.teams.set_reachable(pat, true);
  auto installed = t.teams.message_activity(pat, "", true);
  installed["type"] = "installationUpdate";
  installed["action"] = "add";
  installed.erase("text");
  REQUIRE(t.say(installed) == 200);
  const auto card = t.require_call([](const connector_call& c) { return body_has(c, "signoff_approve") && c.status == 200; }, 10s);
  CHECK(card.path.find("a:conv") != std::string::npos);
  CHECK(count(t.db(), "SELECT count(*) FROM outbox WHERE failed_reason IS NOT NULL") == 0);
  (void)refused;

  std::this_thread::sleep_for(300ms);
  require_only_names(t.teams.calls());
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("a release driven from Teams: mentions, a 1:1 chat and card clicks", "[e2e][teams]") {
  teams_setup t;
  auto bot = t.start_bot();

  // Quinn has talked to the bot before, so it can write to Quinn first.
  REQUIRE(t.say(t.teams.message_activity("quinn-aad", "help")) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "What I can do"); });

  auto grant = with_mention(t.teams.message_activity("alice-aad", "<at>releasebot</at> role <at>Quinn</at> add qa", false),
                            "quinn-aad", "Quinn");
  REQUIRE(t.say(grant) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "Granted qa to"); });

  REQUIRE(t.say(t.teams.message_activity("alice-aad", "<at>releasebot</at> open 4.2.0 hotfix Checkout fix", false)) == 200);
  const auto reply = t.require_call([](const connector_call& c) { return body_has(c, "Opened 4.2.0 (hotfix)"); });
  CHECK(reply.body.value("replyToId", "") != "");
  CHECK(reply.authorization == "Bearer " + t.teams.last_issued_token());
  const auto opening = t.require_call([](const connector_call& c) { return body_has(c, "Release") && body_has(c, "4.2.0") && c.method == "POST" && c.path.find("thread.tacv2/") != std::string::npos; });
  CHECK(opening.path.find("messageid") == std::string::npos);

  auto request = with_mention(
      t.teams.message_activity("alice-aad", "<at>releasebot</at> signoff 4.2.0 qa <at>Quinn</at>", false), "quinn-aad", "Quinn");
  REQUIRE(t.say(request) == 200);
  const auto card = t.require_call([](const connector_call& c) { return body_has(c, "signoff_approve") && body_has(c, "Action.Execute"); });
  CHECK(card.path.find("quinn-aad") != std::string::npos);
  const auto request_id = approve_request_of(card);
  REQUIRE_FALSE(request_id.empty());
  const auto thread_line = t.require_call([](const connector_call& c) { return body_has(c, "sign-off requested from"); });
  CHECK(thread_line.path.find("messageid") != std::string::npos);
  const std::string card_id = card.response.value("id", "");

  // A stranger's click is refused, and only they see why.
  const auto stranger = t.teams.post_activity(t.endpoint(), t.teams.card_action_activity("pam-aad", "signoff_approve", request_id, card_id));
  CHECK(stranger.status == 200);
  CHECK(stranger.body.find("application/vnd.microsoft.activity.message") != std::string::npos);
  CHECK(stranger.body.find("only @Quinn can use this button") != std::string::npos);
  CHECK(count(t.db(), "SELECT count(*) FROM signoff_decisions") == 0);

  const auto click = t.teams.post_activity(t.endpoint(), t.teams.card_action_activity("quinn-aad", "signoff_approve", request_id, card_id));
  CHECK(click.status == 200);
  CHECK(click.body.find("application/vnd.microsoft.card.adaptive") != std::string::npos);
  CHECK(click.body.find("Recorded your approval of") != std::string::npos);
  const auto update = t.require_call([&](const connector_call& c) { return c.method == "PUT" && body_has(c, "approved by"); });
  CHECK(update.path.find(card_id) != std::string::npos);
  CHECK(count(t.db(), "SELECT count(*) FROM signoff_decisions WHERE decided_by = 'quinn-aad'") == 1);

  // Redelivery of the same activity changes nothing.
  auto again = t.teams.message_activity("alice-aad", "<at>releasebot</at> scope 4.2.0 add PAY-1", false, "act-scope-1");
  REQUIRE(t.say(again) == 200);
  REQUIRE(t.say(again) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "added to scope"); });
  std::this_thread::sleep_for(300ms);
  CHECK(count(t.db(), "SELECT count(*) FROM tickets") == 1);
  CHECK(count(t.db(), "SELECT count(*) FROM audit_log WHERE action = 'scope'") == 1);
  int answers = 0;
  for (const auto& call : t.teams.calls()) answers += body_has(call, "added to scope") && call.body.contains("replyToId");
  CHECK(answers == 1);  // …and posts its answer once

  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("requests that are not from the Bot Framework are refused and change nothing", "[e2e][teams]") {
  teams_setup t;
  auto bot = t.start_bot();
  const auto activity = t.teams.message_activity("alice-aad", "open 4.2.0 minor");
  const auto app = t.teams.app_id();
  const auto service = t.teams.service_url();
  auto& key = t.teams.signer();

  CHECK(t.teams.post_activity(t.endpoint(), activity, "").status == 200);  // sanity: the default token is valid
  const auto before = count(t.db(), "SELECT count(*) FROM releases");
  CHECK(before == 1);

  auto other = t.teams.message_activity("alice-aad", "open 4.3.0 minor");
  const auto good = key.token(app, service);
  auto forged = good;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  std::vector<std::pair<std::string, std::string>> bad_tokens{
      {"bad signature", forged},
      {"alg none", jwt_minter::unsigned_token({{"alg", "none"}, {"kid", key.kid()}},
                                              {{"iss", "https://api.botframework.com"}, {"aud", app}, {"serviceurl", service},
                                               {"exp", 4102444800}})},
      {"HS256", jwt_minter::sign_hs256({{"alg", "HS256"}, {"kid", key.kid()}},
                                       {{"iss", "https://api.botframework.com"}, {"aud", app}, {"serviceurl", service},
                                        {"exp", 4102444800}},
                                       "secret")},
      {"wrong audience", key.token("someone-else", service)},
      {"wrong issuer", key.token(app, service, {{"iss", "https://sts.windows.net/evil/"}})},
      {"expired beyond skew", key.token(app, service, {}, std::chrono::system_clock::now() - 2h)},
      {"serviceurl mismatch", key.token(app, "https://127.0.0.1:1/other/")},
  };
  for (const auto& [what, token] : bad_tokens) {
    INFO(what);
    CHECK(t.teams.post_activity(t.endpoint(), other, token).status == 401);
  }
  CHECK(t.teams.post_activity(t.endpoint(), other, "").status == 200);  // a good token still works
  CHECK(count(t.db(), "SELECT count(*) FROM releases") == 2);

  auto stranger_tenant = t.teams.message_activity("alice-aad", "open 4.4.0 minor");
  stranger_tenant["conversation"]["tenantId"] = "tenant-evil";
  stranger_tenant["channelData"]["tenant"]["id"] = "tenant-evil";
  CHECK(t.say(stranger_tenant) == 403);

  auto elsewhere = t.teams.message_activity("alice-aad", "open 4.5.0 minor");
  elsewhere["serviceUrl"] = "https://evil.invalid/";
  CHECK(t.teams.post_activity(t.endpoint(), elsewhere, key.token(app, "https://evil.invalid/")).status == 403);

  CHECK(t.teams.post_activity(t.endpoint(), nlohmann::json::parse(R"({"type":"message"})"), "").status == 400);
  nlohmann::json huge = t.teams.message_activity("alice-aad", std::string(300 * 1024, 'x'));
  CHECK(t.say(huge) == 413);

  // A rotated key: the bot fetches the keys again when it meets the new kid.
  const int fetches = t.teams.jwks_fetches();
  t.teams.rotate_key("test-key-2");
  CHECK(t.say(t.teams.message_activity("alice-aad", "list")) == 200);
  CHECK(t.teams.jwks_fetches() == fetches + 1);

  CHECK(count(t.db(), "SELECT count(*) FROM releases") == 2);
  for (const auto& call : t.teams.calls()) CHECK(call.path.find("evil") == std::string::npos);
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("429 on a burst of progress messages: each delivered once; roster errors are reported", "[e2e][teams]") {
  teams_setup t;
  auto bot = t.start_bot();
  REQUIRE(t.say(t.teams.message_activity("alice-aad", "<at>releasebot</at> open 4.2.0 hotfix", false)) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "Opened 4.2.0"); });
  for (int i = 0; i < 4; ++i) {
    REQUIRE(t.say(t.teams.message_activity("alice-aad", "<at>releasebot</at> advance 4.2.0 force drill", false)) == 200);
  }
  REQUIRE(t.say(t.teams.message_activity("alice-aad", "<at>releasebot</at> deploy 4.2.0 alpha start", false)) == 200);
  t.require_call([](const connector_call& c) { return body_has(c, "started by") && c.status == 200; }, 10s);
  // Only the release thread is throttled, so the asker's replies cannot use up the failures.
  const auto thread = "messageid=" + text_of(t.db(), "SELECT thread_ref FROM releases WHERE version = '4.2.0'");
  t.teams.fail_next_calls(429, 3, 1, thread);
  for (int i = 1; i <= 5; ++i) {
    REQUIRE(t.say(t.teams.message_activity("alice-aad", "<at>releasebot</at> deploy 4.2.0 alpha step step-" + std::to_string(i), false)) == 200);
  }
  t.require_call([](const connector_call& c) { return body_has(c, "step-5") && c.status == 200 && c.path.find("messageid") != std::string::npos; }, 20s);
  std::this_thread::sleep_for(500ms);
  // The steps are one progress message: posted once, then edited in place (a burst of edits
  // waiting behind the 429s goes out as one), the last edit showing every step.
  int posted = 0;
  int edits = 0;
  std::optional<connector_call> last_edit;
  for (const auto& call : t.teams.calls()) {
    if (call.status != 200 || !body_has(call, "in progress")) continue;
    if (call.method == "POST" && call.path.find("messageid") != std::string::npos) ++posted;
    if (call.method == "PUT") {
      ++edits;
      last_edit = call;
    }
  }
  CHECK(posted == 1);
  CHECK(edits >= 1);
  CHECK(edits < 4);
  REQUIRE(last_edit);
  for (int i = 1; i <= 5; ++i) CHECK(body_has(*last_edit, "step-" + std::to_string(i) + " ("));
  CHECK(body_has(*last_edit, "5 steps"));
  CHECK(count(t.db(), "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_reason IS NULL") == 0);

  // The bot was removed from the team: the coordinator hears what to do.
  t.teams.fail_next_calls(403, 1, 0, thread);
  REQUIRE(t.say(t.teams.message_activity("alice-aad", "<at>releasebot</at> deploy 4.2.0 alpha step lost", false)) == 200);
  const auto notice = t.require_call([](const connector_call& c) { return body_has(c, "releasebot is not a member there"); }, 10s);
  CHECK(notice.path.find("alice-aad") != std::string::npos);
  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}
