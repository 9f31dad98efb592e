#include "bot/dispatcher.hpp"
#include "commands/policy.hpp"
#include "storage/migrations.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace releasebot;
using counts = std::map<std::string, std::int64_t>;

const std::chrono::sys_seconds fixed_now =
    std::chrono::sys_seconds{std::chrono::sys_days{std::chrono::year{2026} / 3 / 2}} + 10h;

struct bot_fixture {
  storage::database db = storage::database::open_in_memory();
  commands::policy rules = commands::load_policy(RELEASEBOT_SOURCE_DIR "/deploy/policy.toml");
  commands::engine engine{db, rules, commands::engine_settings{{"alice"}, "UTC", {}, {}, {}}};
  bot::dispatcher dispatcher{db, engine, [] { return fixed_now; }};
  int next_event = 0;

  bot_fixture() { storage::migrate(db); }

  static bot::inbound event(std::string user, std::string text, std::string id) {
    bot::inbound in;
    in.platform = "slack";
    in.event_id = std::move(id);
    in.user = std::move(user);
    in.channel = "C1";
    in.text = std::move(text);
    return in;
  }

  bot::dispatch_result say(const std::string& user, const std::string& text) {
    return dispatcher.dispatch(event(user, text, "Ev" + std::to_string(++next_event)));
  }

  bot::dispatch_result click(const std::string& user, const std::string& action_id, const std::string& value) {
    auto in = event(user, "", "Click" + std::to_string(++next_event));
    in.action = bot::button_action{action_id, value};
    return dispatcher.dispatch(in);
  }

  // A command that must apply.
  bot::dispatch_result apply(const std::string& user, const std::string& text) {
    auto result = say(user, text);
    INFO(text << " → " << result.reply.plain_text());
    REQUIRE_FALSE(result.refused);
    REQUIRE(result.changed);
    return result;
  }

  std::int64_t count(const std::string& sql) {
    auto query = db.prepare(sql);
    REQUIRE(query.step());
    return query.column_int(0);
  }

  counts row_counts() {
    std::vector<std::string> tables;
    auto query = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
    while (query.step()) tables.push_back(query.column_text(0));
    counts result;
    for (const auto& table : tables) result[table] = count("SELECT count(*) FROM " + table);
    return result;
  }

  std::vector<std::string> outbox_payloads() {
    auto query = db.prepare("SELECT payload FROM outbox ORDER BY id");
    std::vector<std::string> payloads;
    while (query.step()) payloads.push_back(query.column_text(0));
    return payloads;
  }
};

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("an open is applied once; a redelivery answers from the stored reply", "[dispatcher]") {
  bot_fixture bot;
  const auto event = bot_fixture::event("alice", "open 4.2.0 minor Payments refresh", "EvOpen");
  const auto first = bot.dispatcher.dispatch(event);
  CHECK_FALSE(first.refused);
  CHECK_FALSE(first.duplicate);
  CHECK(first.changed);
  const auto reply = first.reply.plain_text();
  CHECK(contains(reply, "Opened 4.2.0 (minor) in planning"));
  CHECK(contains(reply, "announced in C1"));

  CHECK(bot.count("SELECT count(*) FROM releases") == 1);
  CHECK(bot.count("SELECT count(*) FROM releases WHERE version = '4.2.0' AND coordinator = 'alice' AND stage = 'planning' "
                  "AND title = 'Payments refresh' AND platform = 'slack' AND channel = 'C1'") == 1);
  CHECK(bot.count("SELECT count(*) FROM audit_log WHERE action = 'open' AND actor = 'alice' AND event_id = 'EvOpen'") == 1);
  CHECK(bot.count("SELECT count(*) FROM outbox WHERE starts_thread = 1 AND destination = 'channel' AND channel = 'C1'") == 1);
  CHECK(bot.count("SELECT count(*) FROM processed_events WHERE platform = 'slack' AND event_id = 'EvOpen'") == 1);
  const auto after_first = bot.row_counts();
  CHECK(after_first.at("audit_log") == 1);
  CHECK(after_first.at("outbox") == 1);

  const auto again = bot.dispatcher.dispatch(event);
  CHECK(again.duplicate);
  CHECK_FALSE(again.changed);
  CHECK_FALSE(again.refused);
  CHECK(again.reply.plain_text() == reply);
  CHECK(again.reply.kind == first.reply.kind);
  CHECK(bot.row_counts() == after_first);

  // Even if the release was changed in between, the redelivery still gets the original answer.
  bot.apply("alice", "schedule 4.2.0 cutoff 2026-04-01 12:00");
  const auto counts_now = bot.row_counts();
  const auto third = bot.dispatcher.dispatch(event);
  CHECK(third.duplicate);
  CHECK(third.reply.plain_text() == reply);
  CHECK(bot.row_counts() == counts_now);

  // The same event id on another platform is another event (and here refused: 4.2.0 exists).
  auto elsewhere = event;
  elsewhere.platform = "teams";
  const auto other = bot.dispatcher.dispatch(elsewhere);
  CHECK_FALSE(other.duplicate);
  CHECK(other.refused);
  CHECK(contains(other.reply.plain_text(), "4.2.0 already exists"));
  CHECK(bot.row_counts() == counts_now);
}

TEST_CASE("a refused command changes nothing and is not recorded as processed", "[dispatcher]") {
  bot_fixture bot;
  const auto empty = bot.row_counts();
  REQUIRE(empty.at("processed_events") == 0);

  SECTION("no role") {
    const auto result = bot.say("bob", "open 4.2.0 minor");
    CHECK(result.refused);
    CHECK_FALSE(result.changed);
    CHECK(result.reply.kind == commands::message_kind::error);
    const auto text = result.reply.plain_text();
    CHECK(contains(text, "only release-coordinator, product-manager or dev-lead can open"));
    CHECK(contains(text, "you hold: no role"));
    CHECK(bot.row_counts() == empty);
  }
  SECTION("a parse error carries the usage") {
    const auto result = bot.say("alice", "open 4.2.0");
    CHECK(result.refused);
    const auto text = result.reply.plain_text();
    CHECK(contains(text, "missing release type"));
    CHECK(contains(text, "usage: open <version>"));
    CHECK(bot.row_counts() == empty);
  }
  SECTION("an unknown command") {
    const auto result = bot.say("alice", "frobnicate 4.2.0");
    CHECK(result.refused);
    CHECK(contains(result.reply.plain_text(), "'frobnicate'"));
    CHECK(bot.row_counts() == empty);
  }
  SECTION("a refusal in the middle of a multi-step change rolls all of it back") {
    bot.apply("alice", "open 4.2.0 minor");
    const auto before = bot.row_counts();
    // PAY-1 is valid and would be added, then 'nonsense' is refused: nothing may stay.
    const auto result = bot.say("alice", "scope 4.2.0 add PAY-1 nonsense");
    CHECK(result.refused);
    CHECK(contains(result.reply.plain_text(), "'nonsense' is not a ticket key"));
    CHECK(bot.row_counts() == before);
    CHECK(bot.count("SELECT count(*) FROM tickets") == 0);
  }
  SECTION("a refused event id can be retried and then applies") {
    const auto event = bot_fixture::event("bob", "open 4.2.0 minor", "EvRetry");
    CHECK(bot.dispatcher.dispatch(event).refused);
    bot.apply("alice", "role <@bob> add dev-lead");
    const auto retried = bot.dispatcher.dispatch(event);
    CHECK_FALSE(retried.duplicate);
    CHECK(retried.changed);
    CHECK(bot.count("SELECT count(*) FROM releases WHERE coordinator = 'bob'") == 1);
  }
  CHECK_FALSE(bot.db.in_transaction());
}

TEST_CASE("a query commits nothing", "[dispatcher]") {
  bot_fixture bot;
  bot.apply("alice", "open 4.2.0 minor Payments refresh");
  const auto before = bot.row_counts();

  auto result = bot.say("bob", "status");
  CHECK_FALSE(result.refused);
  CHECK_FALSE(result.changed);
  CHECK_FALSE(result.duplicate);
  CHECK_FALSE(result.make_public);
  CHECK(contains(result.reply.plain_text(), "4.2.0"));
  CHECK(bot.row_counts() == before);

  result = bot.say("bob", "status 4.2 public");
  CHECK_FALSE(result.changed);
  CHECK(result.make_public);
  CHECK(contains(result.reply.plain_text(), "Payments refresh"));
  CHECK(bot.row_counts() == before);

  result = bot.say("bob", "help open");
  CHECK_FALSE(result.changed);
  CHECK(contains(result.reply.plain_text(), "usage: open <version>"));

  result = bot.say("alice", "audit verify");
  CHECK_FALSE(result.changed);
  CHECK(contains(result.reply.plain_text(), "Audit trail intact: 1 entries"));

  // A scope change that changes nothing is a query too.
  bot.apply("alice", "scope 4.2.0 add PAY-1");
  const auto with_ticket = bot.row_counts();
  result = bot.say("alice", "scope 4.2.0 add PAY-1");
  CHECK_FALSE(result.refused);
  CHECK_FALSE(result.changed);
  CHECK(contains(result.reply.plain_text(), "Nothing changed"));
  CHECK(bot.row_counts() == with_ticket);
  CHECK_FALSE(bot.db.in_transaction());
}

TEST_CASE("a sign-off button belongs to the person asked", "[dispatcher]") {
  bot_fixture bot;
  bot.apply("alice", "open 4.2.0 minor");
  bot.apply("alice", "role <@quinn> add qa");
  bot.apply("alice", "role <@mallory> add qa");
  bot.apply("alice", "signoff 4.2.0 qa <@quinn>");
  const auto request_id = bot.count("SELECT id FROM signoff_requests WHERE assignee = 'quinn' AND role = 'qa'");
  // The card went to quinn with the two buttons carrying the request id.
  {
    auto query = bot.db.prepare("SELECT payload FROM outbox WHERE destination = 'direct' AND recipient = 'quinn'");
    REQUIRE(query.step());
    const auto card = nlohmann::json::parse(query.column_text(0)).get<commands::message>();
    CHECK(card.kind == commands::message_kind::signoff_request);
    REQUIRE(card.buttons.size() == 2);
    CHECK(card.buttons[0].action_id == "signoff_approve");
    CHECK(card.buttons[0].value == std::to_string(request_id));
    CHECK(card.buttons[1].action_id == "signoff_reject");
  }
  const auto before = bot.row_counts();

  // Someone else, even holding the same role, cannot use quinn's button.
  auto result = bot.click("mallory", "signoff_approve", std::to_string(request_id));
  CHECK(result.refused);
  CHECK_FALSE(result.changed);
  CHECK(contains(result.reply.plain_text(), "only @quinn can use this button"));
  CHECK(bot.row_counts() == before);
  result = bot.click("bob", "signoff_reject", std::to_string(request_id));
  CHECK(result.refused);
  CHECK(bot.row_counts() == before);

  // Buttons that are not ours, or carry no request, are refused.
  CHECK(contains(bot.click("quinn", "launch_missiles", std::to_string(request_id)).reply.plain_text(),
                 "not one of mine"));
  CHECK(contains(bot.click("quinn", "signoff_approve", "12abc").reply.plain_text(), "carries no sign-off request"));
  CHECK(contains(bot.click("quinn", "signoff_approve", "999").reply.plain_text(), "no longer exists"));
  CHECK(bot.row_counts() == before);
  CHECK(bot.count("SELECT count(*) FROM signoff_decisions") == 0);

  // quinn can.
  result = bot.click("quinn", "signoff_approve", std::to_string(request_id));
  INFO(result.reply.plain_text());
  CHECK_FALSE(result.refused);
  CHECK(result.changed);
  CHECK(contains(result.reply.plain_text(), "Recorded your approval of 4.2.0 as qa"));
  CHECK(bot.count("SELECT count(*) FROM signoff_decisions WHERE role = 'qa' AND decided_by = 'quinn' AND "
                  "decision = 'approved'") == 1);
  CHECK(bot.count("SELECT count(*) FROM signoff_requests WHERE answered_at IS NOT NULL") == 1);
  // The card is updated in place.
  CHECK(bot.count("SELECT count(*) FROM outbox WHERE recipient = 'quinn' AND updates IS NOT NULL") == 1);

  // A second click on the answered card is refused.
  result = bot.click("quinn", "signoff_reject", std::to_string(request_id));
  CHECK(result.refused);
  CHECK(contains(result.reply.plain_text(), "already decided"));
}

TEST_CASE("pings typed into a title never reach a reply or announcement", "[dispatcher]") {
  bot_fixture bot;
  const std::string title = "<!channel> big @here release <!subteam^S1> <at>Everyone</at> @everyone";
  const auto opened = bot.apply("alice", "open 4.2.0 minor " + title);
  bot.apply("alice", "role <@quinn> add qa");
  bot.apply("alice", "signoff 4.2.0 qa <@quinn>");  // the card repeats the title
  bot.apply("alice", "cancel 4.2.0 <!here> @channel we stop");

  const std::vector<std::string> pings{"<!channel>", "<!here>", "@here", "<!subteam", "<at>", "@everyone", "@channel"};
  std::vector<std::string> texts{opened.reply.plain_text(), bot.say("bob", "status 4.2.0").reply.plain_text(),
                                 bot.say("bob", "list all").reply.plain_text()};
  const auto payloads = bot.outbox_payloads();
  REQUIRE(payloads.size() >= 4);  // opening, sign-off card, sign-off announcement, cancellation
  bool title_seen = false;
  for (const auto& payload : payloads) {
    const auto body = nlohmann::json::parse(payload).get<commands::message>();
    texts.push_back(body.plain_text());
    // The typed text is carried only in user_text spans, which every renderer escapes.
    for (const auto& paragraph : body.paragraphs) {
      for (const auto& span : paragraph) {
        if (span.kind == commands::span_kind::user_text) {
          title_seen = title_seen || span.value == title;
          continue;
        }
        for (const auto& ping : pings) {
          INFO("span '" << span.value << "'");
          CHECK_FALSE(contains(span.value, ping));
        }
      }
    }
  }
  CHECK(title_seen);
  for (const auto& text : texts) {
    INFO(text);
    for (const auto& ping : pings) CHECK_FALSE(contains(text, ping));
  }
  // The words themselves are still shown.
  CHECK(contains(texts[1], "big"));
  CHECK(contains(texts[1], "release"));
}

namespace {

// The shipped policy with one rule rewritten, as an organisation would edit it.
commands::policy shipped_policy_with(const std::string& shipped_rule, const std::string& own_rule) {
  std::ifstream in{RELEASEBOT_SOURCE_DIR "/deploy/policy.toml"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  const auto at = text.find(shipped_rule);
  REQUIRE(at != std::string::npos);
  return commands::parse_policy(text.replace(at, shipped_rule.size(), own_rule), "our-policy.toml");
}

}  // namespace

TEST_CASE("help says who may from the loaded policy, and the rule is the one applied", "[dispatcher][permissions]") {
  storage::database db = storage::database::open_in_memory();
  storage::migrate(db);
  const auto rules = shipped_policy_with("[permissions.deploy]\nroles = [\"infra\", \"dev-lead\", \"release-coordinator\"]",
                                         "[permissions.deploy]\nroles = [\"qa\"]\nrelease_coordinator = false");
  commands::engine engine{db, rules, commands::engine_settings{{"alice"}, "UTC", {}, {}, {}}};
  bot::dispatcher dispatcher{db, engine, [] { return fixed_now; }};
  int next = 0;
  const auto say = [&](const std::string& user, const std::string& text) {
    return dispatcher.dispatch(bot_fixture::event(user, text, "Ev" + std::to_string(++next)));
  };

  const auto help = say("bob", "help deploy").reply.plain_text();
  INFO(help);
  CHECK(contains(help, "who: qa (and admins)"));
  CHECK_FALSE(contains(help, "infra"));
  CHECK(contains(say("bob", "help status").reply.plain_text(), "who: anyone"));
  CHECK(contains(say("bob", "help review").reply.plain_text(),
                 "who: start, close: release-coordinator or the release's coordinator (and admins); add: anyone"));
  CHECK(contains(say("bob", "help approve").reply.plain_text(), "who: a holder of the role"));

  REQUIRE_FALSE(say("alice", "open 4.2.0 minor").refused);
  REQUIRE_FALSE(say("alice", "role <@dana> add infra").refused);
  REQUIRE_FALSE(say("alice", "role <@quinn> add qa").refused);
  const auto refused = say("dana", "deploy 4.2.0 local start");
  CHECK(refused.refused);
  CHECK(contains(refused.reply.plain_text(), "only qa can deploy 4.2.0"));
  const auto by_qa = say("quinn", "deploy 4.2.0 local start");
  INFO(by_qa.reply.plain_text());
  CHECK_FALSE(contains(by_qa.reply.plain_text(), "only qa can"));
}

TEST_CASE("a family restricted in the policy is refused to others, even a read", "[dispatcher][permissions]") {
  storage::database db = storage::database::open_in_memory();
  storage::migrate(db);
  const auto rules = shipped_policy_with("status = \"anyone\"", "status = [\"qa\"]");
  commands::engine engine{db, rules, commands::engine_settings{{"alice"}, "UTC", {}, {}, {}}};
  bot::dispatcher dispatcher{db, engine, [] { return fixed_now; }};
  const auto refused = dispatcher.dispatch(bot_fixture::event("bob", "status", "Ev1"));
  CHECK(refused.refused);
  CHECK(contains(refused.reply.plain_text(), "only qa or the release's coordinator can status"));
  CHECK_FALSE(dispatcher.dispatch(bot_fixture::event("alice", "status", "Ev2")).refused);  // an admin
  CHECK_FALSE(dispatcher.dispatch(bot_fixture::event("bob", "list", "Ev3")).refused);      // list is its own family
}
