// End-to-end: durable reminders through the real binary, across a kill -9.
#include "database_probe.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <csignal>
#include <ctime>
#include <fstream>
#include <iterator>
#include <thread>

using namespace std::chrono_literals;
using releasebot::testing::running_process;
using releasebot::testing::count;
using releasebot::testing::temp_dir;
using releasebot::testing::text_of;

namespace {

// The shipped config (its policy beside it), listening on a port of its own so that suites running side by side do not
// fight over 3978.
std::string shipped_config_in(const temp_dir& dir) {
  std::ifstream in{std::string{RELEASEBOT_SOURCE_DIR} + "/deploy/releasebot.toml"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  const auto replace = [&text](const std::string& shipped, const std::string& here) {
    const auto at = text.find(shipped);
    REQUIRE(at != std::string::npos);
    text.replace(at, shipped.size(), here);
  };
  replace("listen = \"127.0.0.1:3978\"", "listen = \"127.0.0.1:0\"");
  replace("policy = \"policy.toml\"", "policy = \"" + std::string{RELEASEBOT_SOURCE_DIR} + "/deploy/policy.toml\"");
  const auto path = dir.file("releasebot.toml");
  std::ofstream{path} << text;
  return path;
}

std::string utc_in(std::chrono::seconds ahead) {
  const std::time_t at = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + ahead);
  std::tm parts{};
  gmtime_r(&at, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &parts);
  return std::string{text} + " UTC";
}

std::vector<std::string> bot_command(const temp_dir& dir) {
  return {RELEASEBOT_BINARY, "run", "--as", "alice", "--db", dir.file("bot.db"), "--config", shipped_config_in(dir)};
}

}  // namespace

TEST_CASE("a near-future cut-off really fires, and the daemon stops cleanly on SIGTERM", "[e2e][scheduler]") {
  temp_dir dir;
  running_process bot{bot_command(dir)};
  bot.write("open 4.2.0 minor\ncutoff 4.2.0 " + utc_in(3s) + "\n");
  bot.close_input();  // `run` keeps serving its timers after its input ends
  REQUIRE(bot.wait_for_output("Next reminder: cut-off in effect at", 10s));
  INFO(bot.out());
  REQUIRE(bot.wait_for_output("[#releases › 4.2.0, also in channel] ⛔ Code cut-off for 4.2.0 is now in effect", 15s));
  bot.signal(SIGTERM);
  CHECK(bot.wait() == 0);
  CHECK(count(dir.file("bot.db"), "SELECT count(*) FROM timers WHERE state = 'fired'") == 1);
}

TEST_CASE("a reminder due while the bot was killed fires once at the next start", "[e2e][scheduler]") {
  temp_dir dir;
  const auto db = dir.file("bot.db");
  {
    running_process bot{bot_command(dir)};
    bot.write("open 4.2.0 minor\ncutoff 4.2.0 " + utc_in(2s) + "\n");
    REQUIRE(bot.wait_for_output("Next reminder: cut-off in effect at", 10s));
    bot.signal(SIGKILL);
    CHECK(bot.wait() == -SIGKILL);
    CHECK(bot.out().find("now in effect") == std::string::npos);
  }
  std::this_thread::sleep_for(3s);
  {
    running_process bot{bot_command(dir)};
    bot.close_input();
    INFO(bot.out());
    REQUIRE(bot.wait_for_output("⛔ Code cut-off for 4.2.0 is now in effect", 10s));
    bot.signal(SIGTERM);
    CHECK(bot.wait() == 0);
  }
  {
    running_process bot{bot_command(dir)};
    bot.close_input();
    CHECK_FALSE(bot.wait_for_output("now in effect", 1500ms));
    bot.signal(SIGTERM);
    CHECK(bot.wait() == 0);
  }
  CHECK(count(db, "SELECT count(*) FROM timers WHERE kind = 'cutoff_reminder' AND state = 'fired'") == 1);
  CHECK(count(db, "SELECT count(*) FROM outbox WHERE payload LIKE '%now in effect%'") == 1);
  CHECK(count(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0);
}
