// The reply ledger: one answer per event across redeliveries, our own failures never in the way,
// a failed post leaving the next delivery to try, and the stored mark written a moment later.
#include "bot/reply_ledger.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/processed_events.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <chrono>

namespace {

using namespace std::chrono_literals;
using namespace releasebot;

bot::inbound event_with_id(std::string id) {
  bot::inbound event;
  event.platform = "slack";
  event.event_id = std::move(id);
  return event;
}

bot::dispatch_result applied() {
  bot::dispatch_result result;
  result.changed = true;
  return result;
}

}  // namespace

TEST_CASE("reply_ledger: each event's reply is posted once", "[bot]") {
  auto db = storage::database::open_in_memory();
  storage::migrate(db);
  boost::asio::io_context loop;
  bot::reply_ledger ledger{db, loop.get_executor(), 1ms};
  const auto at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  {
    storage::transaction tx{db};
    storage::processed_events{db}.record("slack", "E1", R"({"reply":{}})", at);
    tx.commit();
  }

  SECTION("a second delivery while or after the first posts: nothing more") {
    const auto event = event_with_id("E1");
    REQUIRE(ledger.claim(event, applied()));
    CHECK_FALSE(ledger.claim(event, applied()));
    ledger.settle(event, applied(), true);
    CHECK_FALSE(ledger.claim(event, applied()));
  }
  SECTION("a failed post leaves a redelivery to try again") {
    const auto event = event_with_id("E1");
    REQUIRE(ledger.claim(event, applied()));
    ledger.settle(event, applied(), false);
    CHECK(ledger.claim(event, applied()));
  }
  SECTION("our own failure is answered, and the redelivery that applies it is answered too") {
    const auto event = event_with_id("E1");
    bot::dispatch_result failed;
    failed.refused = true;
    failed.failed = true;
    CHECK(ledger.claim(event, failed));
    ledger.settle(event, failed, true);
    CHECK(ledger.claim(event, applied()));
  }
  SECTION("the stored mark is written a moment later, and found by a later process") {
    const auto event = event_with_id("E1");
    REQUIRE(ledger.claim(event, applied()));
    ledger.settle(event, applied(), true);
    {
      storage::transaction tx{db};
      CHECK_FALSE(storage::processed_events{db}.stored_reply("slack", "E1")->posted);
    }
    loop.run_one();  // the flush timer
    {
      storage::transaction tx{db};
      CHECK(storage::processed_events{db}.stored_reply("slack", "E1")->posted);
    }
    bot::reply_ledger restarted{db, loop.get_executor()};
    bot::dispatch_result redelivered;
    redelivered.duplicate = true;
    redelivered.reply_posted = true;
    CHECK_FALSE(restarted.claim(event, redelivered));
  }
}
