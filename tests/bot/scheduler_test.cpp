// The durable scheduler with an injected clock: reminders, downtime, reschedules, nudges, DST.
#include "bot/dispatcher.hpp"
#include "bot/scheduler.hpp"
#include "commands/policy.hpp"
#include "commands/working_time.hpp"
#include "storage/migrations.hpp"
#include "storage/outbox.hpp"
#include "storage/timer_store.hpp"

#include <catch2/catch.hpp>
#include <date/date.h>
#include <date/tz.h>
#include <nlohmann/json.hpp>

using namespace std::chrono_literals;
using releasebot::bot::inbound;

namespace {

std::chrono::sys_seconds utc(int y, unsigned m, unsigned d, int h, int min) {
  return date::sys_days{date::year{y} / date::month{m} / date::day{d}} + std::chrono::hours{h} +
         std::chrono::minutes{min};
}

std::chrono::sys_seconds local(std::string_view zone, int y, unsigned m, unsigned d, int h, int min) {
  const auto wall = date::local_days{date::year{y} / date::month{m} / date::day{d}} + std::chrono::hours{h} +
                    std::chrono::minutes{min};
  return std::chrono::floor<std::chrono::seconds>(date::locate_zone(zone)->to_sys(wall));
}

struct fixture {
  releasebot::storage::database db = releasebot::storage::database::open_in_memory();
  releasebot::commands::policy rules =
      releasebot::commands::load_policy(std::string{RELEASEBOT_SOURCE_DIR} + "/deploy/policy.toml");
  releasebot::commands::engine engine{db, rules, {{"alice"}, "UTC", {{"console", "#releases"}}, {}, {}}};
  std::chrono::sys_seconds now = utc(2026, 11, 2, 0, 0);  // a Monday
  releasebot::bot::dispatcher dispatch{db, engine, [this] { return now; }};
  releasebot::bot::scheduler timers{db, engine, [this] { return now; }};
  int events = 0;

  fixture() { releasebot::storage::migrate(db); }

  std::string say(const std::string& user, const std::string& text, const std::string& zone = "") {
    inbound event;
    event.platform = "console";
    event.event_id = "e" + std::to_string(++events);
    event.user = user;
    event.channel = "console";
    event.time_zone = zone;
    event.text = text;
    const auto result = dispatch.dispatch(event);
    INFO(result.reply.plain_text());
    REQUIRE_FALSE(result.refused);
    return result.reply.plain_text();
  }

  // Texts of messages queued since the last call, in order.
  std::vector<std::string> sent() {
    releasebot::storage::outbox outbox{db};
    std::vector<std::string> texts;
    for (const auto& message : outbox.pending("console", 1000)) {
      const auto body = nlohmann::json::parse(message.payload).get<releasebot::commands::message>();
      texts.push_back((message.destination == "direct" ? "DM " + message.recipient + ": " : "") + body.plain_text());
      outbox.mark_sent(message.id, now, "test");
    }
    return texts;
  }

  int fire_at(std::chrono::sys_seconds at) {
    now = at;
    return timers.fire_due();
  }
};

bool any_contains(const std::vector<std::string>& texts, std::string_view needle) {
  for (const auto& text : texts) {
    if (text.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("cut-off reminders fire at their instants, in order, once", "[scheduler]") {
  fixture f;
  f.say("alice", "open 4.2.0 minor");
  f.say("alice", "cutoff 4.2.0 2026-11-04 00:00");  // 48 h ahead
  f.sent();
  CHECK(f.timers.next_due() == utc(2026, 11, 3, 0, 0));

  CHECK(f.fire_at(utc(2026, 11, 2, 23, 59)) == 0);
  CHECK(f.fire_at(utc(2026, 11, 3, 0, 0)) == 1);
  auto texts = f.sent();
  REQUIRE(texts.size() == 1);
  CHECK(texts[0] == "⏰ Code cut-off for 4.2.0 in 24 h — at 2026-11-04 00:00 UTC");
  CHECK(f.fire_at(utc(2026, 11, 3, 0, 30)) == 0);  // once

  CHECK(f.fire_at(utc(2026, 11, 3, 23, 0)) == 1);
  CHECK(f.sent() == std::vector<std::string>{"⏰ Code cut-off for 4.2.0 in 1 h — at 2026-11-04 00:00 UTC"});
  CHECK(f.fire_at(utc(2026, 11, 4, 0, 0)) == 1);
  CHECK(f.sent() == std::vector<std::string>{"⛔ Code cut-off for 4.2.0 is now in effect (2026-11-04 00:00 UTC)"});
  CHECK(f.fire_at(utc(2026, 11, 9, 0, 0)) == 0);
  CHECK_FALSE(f.timers.next_due());
}

TEST_CASE("reminders that came due while the bot was down fire once, late, without a burst", "[scheduler]") {
  fixture f;
  f.say("alice", "open 4.2.0 minor");
  f.say("alice", "cutoff 4.2.0 2026-11-04 00:00");
  f.sent();
  CHECK(f.fire_at(utc(2026, 11, 4, 2, 0)) == 1);  // all three were due
  const auto texts = f.sent();
  REQUIRE(texts.size() == 1);
  CHECK(texts[0] == "⛔ Code cut-off for 4.2.0 is now in effect (2026-11-04 00:00 UTC)\n"
                    "(late: this was due 2026-11-04 00:00 UTC while I was not running)");
  CHECK(f.fire_at(utc(2026, 11, 4, 3, 0)) == 0);
  auto states = f.db.prepare("SELECT state, late FROM timers ORDER BY due_at");
  std::vector<std::string> seen;
  while (states.step()) seen.push_back(states.column_text(0) + (states.column_int(1) != 0 ? "/late" : ""));
  CHECK(seen == std::vector<std::string>{"skipped/late", "skipped/late", "fired/late"});
}

TEST_CASE("reminders whose moment passed when they were set are not armed", "[scheduler]") {
  fixture f;
  f.say("alice", "open 4.2.0 minor");
  const auto reply = f.say("alice", "cutoff 4.2.0 2026-11-02 00:30");
  CHECK(reply.find("Next reminder: cut-off in effect at 2026-11-02 00:30 UTC") != std::string::npos);
  CHECK(f.db.prepare("SELECT count(*) FROM timers WHERE state = 'pending'").step());
  auto count = f.db.prepare("SELECT count(*) FROM timers WHERE state = 'pending'");
  count.step();
  CHECK(count.column_int(0) == 1);
}

TEST_CASE("rescheduling the cut-off moves its reminders; cancelling the release removes them", "[scheduler]") {
  fixture f;
  f.say("alice", "open 4.2.0 minor");
  f.say("alice", "cutoff 4.2.0 2026-11-04 00:00");
  f.say("alice", "schedule 4.2.0 cutoff 2026-11-05 00:00");
  f.sent();
  CHECK(f.fire_at(utc(2026, 11, 3, 0, 0)) == 0);
  CHECK(f.fire_at(utc(2026, 11, 4, 0, 0)) == 1);
  CHECK(f.sent() == std::vector<std::string>{"⏰ Code cut-off for 4.2.0 in 24 h — at 2026-11-05 00:00 UTC"});

  f.say("alice", "cancel 4.2.0 superseded");
  f.sent();
  CHECK(f.fire_at(utc(2026, 11, 6, 0, 0)) == 0);
  CHECK(f.sent().empty());
}

TEST_CASE("a planned date that passes without the deployment starting warns once", "[scheduler]") {
  fixture f;
  f.say("alice", "open 4.2.0 minor");
  f.say("alice", "schedule 4.2.0 uat 2026-11-03 10:00");
  f.say("alice", "schedule 4.2.0 delta 2026-11-03 09:00");
  f.sent();
  CHECK(f.fire_at(utc(2026, 11, 3, 10, 0)) == 2);
  const auto texts = f.sent();
  REQUIRE(texts.size() == 2);
  CHECK(texts[0].rfind("⚠️ 4.2.0: delta was planned for 2026-11-03 09:00 UTC and has not started", 0) == 0);
  CHECK(texts[1].rfind("⚠️ 4.2.0: uat was planned for 2026-11-03 10:00 UTC and has not started", 0) == 0);
  CHECK(f.fire_at(utc(2026, 11, 4, 10, 0)) == 0);
  const auto status = f.say("bob", "status 4.2.0");
  CHECK(status.find("delta 2026-11-03 09:00 UTC (slipped)") != std::string::npos);
}

TEST_CASE("sign-off nudges wait for working hours in the assignee's zone, once a working day, then escalate",
          "[scheduler]") {
  fixture f;
  f.say("alice", "role <@quinn> add qa");
  f.say("quinn", "help", "Australia/Adelaide");  // the platform told us quinn's zone
  f.now = local("Australia/Adelaide", 2026, 11, 5, 16, 0);  // Thursday 16:00 in Adelaide
  f.say("alice", "open 4.2.0 minor");
  f.say("alice", "signoff 4.2.0 qa <@quinn>");
  f.sent();
  // 24 h later is Friday 16:00 there: inside working hours.
  CHECK(f.timers.next_due() == local("Australia/Adelaide", 2026, 11, 6, 16, 0));
  CHECK(f.fire_at(local("Australia/Adelaide", 2026, 11, 6, 16, 0)) == 1);
  auto texts = f.sent();
  REQUIRE(texts.size() == 1);
  CHECK(texts[0].rfind("DM quinn: ⏳ Reminder: @alice asked you on 2026-11-05 16:00 ACDT (Australia/Adelaide) to sign "
                       "off 4.2.0 as qa.", 0) == 0);
  // Next working day is Monday 09:00 there, not the weekend.
  CHECK(f.timers.next_due() == local("Australia/Adelaide", 2026, 11, 9, 9, 0));
  CHECK(f.fire_at(local("Australia/Adelaide", 2026, 11, 9, 9, 0)) == 1);
  texts = f.sent();
  REQUIRE(texts.size() == 2);
  CHECK(any_contains(texts, "DM alice: 📣 @quinn has not answered the qa sign-off of 4.2.0 after 2 reminders"));

  f.say("quinn", "approve 4.2.0");
  f.sent();
  CHECK(f.fire_at(local("Australia/Adelaide", 2026, 11, 12, 9, 0)) == 0);
}

TEST_CASE("an emergency's retroactive sign-offs are chased until given", "[scheduler]") {
  fixture f;
  f.say("alice", "open 4.2.1 emergency");
  for (int i = 1; i <= 3; ++i) f.say("alice", "check 4.2.1 " + std::to_string(i) + " done");
  f.say("alice", "advance 4.2.1");
  f.say("alice", "deploy 4.2.1 alpha start");
  f.say("alice", "deploy 4.2.1 alpha done downtime 0");
  f.say("alice", "deploy 4.2.1 production start");
  f.sent();
  CHECK(f.fire_at(utc(2026, 11, 3, 9, 0)) == 1);
  const auto texts = f.sent();
  REQUIRE(texts.size() == 1);
  CHECK(texts[0] == "DM alice: ⏳ 4.2.1 went out with sign-offs still owed: dev-lead, product-manager. Ask for them: "
                    "signoff 4.2.1 <role> @person");
  CHECK(f.timers.next_due() == utc(2026, 11, 4, 9, 0));
}

TEST_CASE("a cut-off across the Adelaide daylight-saving switch keeps true 24 h and 1 h offsets", "[scheduler][dst]") {
  fixture f;
  f.now = utc(2026, 9, 28, 0, 0);
  f.say("alice", "open 4.2.0 minor");
  // Clocks in Adelaide go from 02:00 ACST to 03:00 ACDT on 2026-10-04.
  const auto reply = f.say("alice", "cutoff 4.2.0 2026-10-04 12:00 Australia/Adelaide");
  CHECK(reply.find("for 2026-10-04 01:30 UTC") != std::string::npos);
  f.sent();
  const auto cutoff = local("Australia/Adelaide", 2026, 10, 4, 12, 0);
  CHECK(cutoff == utc(2026, 10, 4, 1, 30));
  CHECK(f.timers.next_due() == cutoff - 24h);  // 11:00 on the 3rd, wall clock, because of the switch
  CHECK(f.fire_at(cutoff - 24h) == 1);
  CHECK(f.fire_at(cutoff - 1h) == 1);
  CHECK(f.fire_at(cutoff) == 1);
}

TEST_CASE("working hours respect daylight saving and weekends", "[scheduler][dst]") {
  const releasebot::commands::nudge_policy hours;
  using releasebot::commands::next_working_moment;
  // Friday 2026-10-02 18:00 ACST → Monday 2026-10-05 09:00 ACDT (after the switch).
  CHECK(next_working_moment(local("Australia/Adelaide", 2026, 10, 2, 18, 0), "Australia/Adelaide", hours) ==
        utc(2026, 10, 4, 22, 30));
  // Inside hours stays as it is; before opening moves to opening.
  CHECK(next_working_moment(utc(2026, 11, 2, 10, 0), "UTC", hours) == utc(2026, 11, 2, 10, 0));
  CHECK(next_working_moment(utc(2026, 11, 2, 7, 0), "UTC", hours) == utc(2026, 11, 2, 9, 0));
  CHECK(next_working_moment(utc(2026, 11, 2, 17, 0), "UTC", hours) == utc(2026, 11, 3, 9, 0));
}
