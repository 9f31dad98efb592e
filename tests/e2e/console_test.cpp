// End-to-end: the real releasebot binary driven through its console, as people would use it.
#include "process.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <fstream>
#include <sstream>

using releasebot::testing::process_result;
using releasebot::testing::run_process;
using releasebot::testing::temp_dir;

namespace {

const std::string config_file = std::string{RELEASEBOT_SOURCE_DIR} + "/deploy/releasebot.toml";

class console_bot {
public:
  process_result say(const std::string& user, const std::string& lines, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{RELEASEBOT_BINARY, "console", "--as", user, "--db", db(), "--config", config_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto result = run_process(argv, lines);
    INFO("stderr: " << result.err);
    CHECK(result.exit_code == 0);
    return result;
  }

  std::string db() const { return dir_.file("releasebot.db"); }
  const temp_dir& dir() const { return dir_; }
  void use_config(std::string path) { config_ = std::move(path); }

  // Every row of every table, in a stable order: equal dumps mean equal content.
  std::string dump() const {
    sqlite3* handle = nullptr;
    REQUIRE(sqlite3_open_v2(db().c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    std::ostringstream out;
    std::vector<std::string> tables;
    sqlite3_exec(
        handle, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
        [](void* list, int, char** values, char**) {
          static_cast<std::vector<std::string>*>(list)->push_back(values[0]);
          return 0;
        },
        &tables, nullptr);
    for (const auto& table : tables) {
      out << "## " << table << '\n';
      const auto sql = "SELECT * FROM \"" + table + "\" ORDER BY rowid";
      sqlite3_exec(
          handle, sql.c_str(),
          [](void* stream, int columns, char** values, char**) {
            auto& os = *static_cast<std::ostringstream*>(stream);
            for (int i = 0; i < columns; ++i) os << (values[i] != nullptr ? values[i] : "NULL") << '|';
            os << '\n';
            return 0;
          },
          &out, nullptr);
    }
    sqlite3_close(handle);
    return out.str();
  }

  long count(const std::string& sql) const {
    sqlite3* handle = nullptr;
    REQUIRE(sqlite3_open_v2(db().c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    long value = -1;
    sqlite3_exec(
        handle, sql.c_str(),
        [](void* target, int, char** values, char**) {
          *static_cast<long*>(target) = values[0] != nullptr ? std::stol(values[0]) : 0;
          return 0;
        },
        &value, nullptr);
    sqlite3_close(handle);
    return value;
  }

  void execute(const std::string& sql) const {
    sqlite3* handle = nullptr;
    REQUIRE(sqlite3_open(db().c_str(), &handle) == SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &error);
    INFO((error != nullptr ? error : ""));
    sqlite3_free(error);
    sqlite3_close(handle);
    REQUIRE(rc == SQLITE_OK);
  }

private:
  temp_dir dir_;
  std::string config_ = config_file;
};

std::string checks(const std::string& version, int count, const std::string& state = "done") {
  std::string lines;
  for (int i = 1; i <= count; ++i) lines += "check " + version + " " + std::to_string(i) + " " + state + "\n";
  return lines;
}

const std::string grant_everyone =
    "role @cora add release-coordinator\n"
    "role @pam add product-manager\n"
    "role @quinn add qa\n"
    "role @dana add dev-lead\n"
    "role @bo add business-owner\n"
    "role @cli add client\n"
    "role @ivan add infra\n"
    "role @devi add developer\n";

const std::vector<std::string> readiness_teams = {"sales",     "schedules", "support", "marketing",
                                                  "client-services", "client",    "uat"};

// A release forced straight into production, so the version rules have a last production release.
std::string forced_to_production(const std::string& version, const std::string& type,
                                 const std::vector<std::string>& path, int advances) {
  std::string lines = "open " + version + " " + type + " seed\n";
  for (int i = 0; i < advances; ++i) lines += "advance " + version + " force seeding history\n";
  for (const auto& environment : path) {
    lines += "deploy " + version + " " + environment + " start\n";
    lines += "deploy " + version + " " + environment + " done downtime 0\n";
  }
  return lines;
}

void require_contains(const std::string& haystack, const std::string& needle) {
  INFO("looking for: " << needle << "\nin:\n" << haystack);
  REQUIRE(haystack.find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("a release opened in one run is listed and shown by the next", "[e2e][console]") {
  console_bot bot;
  auto first = bot.say("alice", "open 4.2.0 minor Payments refresh\n");
  require_contains(first.out, "Opened 4.2.0 (minor) in planning with you as coordinator; announced in #releases.");
  require_contains(first.out, "[#releases] 🚀 Release 4.2.0 (minor) — Payments refresh opened by @alice");

  auto second = bot.say("bob", "list\nstatus v4.2\nstatus 4.2.0\n");
  require_contains(second.out, "4.2.0 · minor · planning · next: — · 1 blocker");
  require_contains(second.out, "Stage: planning (1 of 8: planning → impact → regression");
  require_contains(second.out, "Coordinator: @alice");
  require_contains(second.out, "Sign-offs: product-manager pending; qa pending; dev-lead pending; business-owner pending;");
  require_contains(second.out, "Blocks the next stage: 3 checklist items open");
  CHECK(bot.count("SELECT count(*) FROM releases") == 1);
  CHECK(bot.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0);
}

TEST_CASE("the example from the README works in scripts: one reply per command, exit 0", "[e2e][console]") {
  console_bot bot;
  const auto result = bot.say("alice", "open 4.2.0 minor Payments\nstatus 4.2.0\n");
  CHECK(result.exit_code == 0);
  require_contains(result.out, "Opened 4.2.0");
  require_contains(result.out, "4.2.0 · minor · Payments");
  CHECK(result.err.empty());
}

TEST_CASE("bad input gets a one-line reply that says what to do and changes nothing", "[e2e][console]") {
  console_bot bot;
  bot.say("alice", "open 4.2.0 minor Payments\n");
  const auto before = bot.dump();
  const auto result = bot.say("alice",
                              "frobnicate 4.2.0\n"
                              "open 4.2.0 minor again\n"
                              "open 4.2 minor\n"
                              "open 4.2.x minor\n"
                              "open 4.3.0 weekly\n"
                              "open\n"
                              "status 9.9\n"
                              "advance\n"
                              "deploy 4.2.0 moon start\n");
  require_contains(result.out, "I don't know 'frobnicate' — say help to see what I can do");
  require_contains(result.out, "4.2.0 already exists (minor, planning) — say status 4.2.0");
  require_contains(result.out, "'4.2' is not a full version — open needs MAJOR.MINOR.PATCH, like 4.2.0");
  require_contains(result.out, "'4.2.x' is not a full version");
  require_contains(result.out, "'weekly' is not a release type — use one of: major|minor|hotfix|emergency");
  require_contains(result.out, "missing version\nusage: open <version> <major|minor|hotfix|emergency>");
  require_contains(result.out, "no active release matches 9.9 — say list to see them");
  require_contains(result.out, "missing version\nusage: advance <version> [force <reason…>]");
  require_contains(result.out, "moon is not on 4.2.0's path (delta → uat → beta → production)");
  CHECK(bot.dump() == before);
}

TEST_CASE("a version prefix that matches two active releases asks which", "[e2e][console]") {
  console_bot bot;
  bot.say("alice", "open 4.3.0 minor\nopen 4.3.1 hotfix\n");
  const auto before = bot.dump();
  const auto result = bot.say("alice", "status 4.3\nadvance 4.3 force why not\n");
  require_contains(result.out, "4.3 matches 4.3.0 and 4.3.1 — say which");
  CHECK(bot.dump() == before);
}

TEST_CASE("a garbage database file is a clear error, never a crash, and is left alone", "[e2e][storage]") {
  temp_dir dir;
  const auto file = dir.file("garbage.db");
  {
    std::ofstream out{file, std::ios::binary};
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 131) % 251));
  }
  std::ifstream in{file, std::ios::binary};
  const std::string original{std::istreambuf_iterator<char>{in}, {}};
  const auto result = run_process({RELEASEBOT_BINARY, "console", "--db", file, "--config", config_file}, "list\n");
  CHECK(result.exit_code == 1);
  require_contains(result.err, "releasebot: database: cannot use " + file);
  require_contains(result.err, "not a SQLite database or it is damaged");
  std::ifstream again{file, std::ios::binary};
  CHECK(std::string{std::istreambuf_iterator<char>{again}, {}} == original);
}

TEST_CASE("a database from a newer releasebot is refused", "[e2e][storage]") {
  console_bot bot;
  bot.say("alice", "list\n");
  bot.execute("INSERT INTO schema_migrations (version, description, applied_at) VALUES (999, 'future', 'x')");
  const auto result = run_process({RELEASEBOT_BINARY, "console", "--db", bot.db(), "--config", config_file}, "list\n");
  CHECK(result.exit_code == 1);
  require_contains(result.err, "has schema version 999 but this releasebot knows only up to");
  require_contains(result.err, "written by a newer releasebot");
}

TEST_CASE("a config with only [access] admins is complete: the shipped policy applies", "[e2e][policy]") {
  console_bot bot;
  const auto config = bot.dir().file("releasebot.toml");  // no policy.toml beside it
  std::ofstream{config} << "[access]\nadmins = [\"alice\"]\n";
  const auto result = run_process({RELEASEBOT_BINARY, "console", "--as", "alice", "--db", bot.db(), "--config", config},
                                  "help deploy\nopen 4.2.0 minor\n");
  INFO(result.err);
  CHECK(result.exit_code == 0);
  require_contains(result.out, "who: infra, dev-lead, release-coordinator or the release's coordinator (and admins)");
  require_contains(result.out, "Opened 4.2.0 (minor) in planning");
}

TEST_CASE("a broken policy file stops the bot with file, line and fix", "[e2e][policy]") {
  console_bot bot;
  const auto policy = bot.dir().file("policy.toml");
  {
    std::ifstream in{std::string{RELEASEBOT_SOURCE_DIR} + "/deploy/policy.toml"};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    const std::string emergency_path = "path = [\"alpha\", \"production\"]";
    const auto at = text.find(emergency_path);
    REQUIRE(at != std::string::npos);
    text.replace(at, emergency_path.size(), "path = [\"alpha\", \"moon\"]");
    std::ofstream{policy} << text;
  }
  const auto config = bot.dir().file("releasebot.toml");
  std::ofstream{config} << "[bot]\npolicy = \"policy.toml\"\n[access]\nadmins = [\"alice\"]\n";
  const auto result = run_process({RELEASEBOT_BINARY, "console", "--db", bot.db(), "--config", config}, "list\n");
  CHECK(result.exit_code == 1);
  require_contains(result.err, "releasebot: policy: " + policy + ":");
  require_contains(result.err, "moon");
}

TEST_CASE("a major release from open to close, with every stage, sign-off and deployment", "[e2e][lifecycle]") {
  console_bot bot;
  bot.say("alice", grant_everyone);

  auto planning = bot.say("cora",
                          "open 5.0.0 major Big bang <!channel> @here\n"
                          "scope 5.0.0 add PAY-1 PAY-2\n"
                          "scope 5.0.0 resolved PAY-1\n"
                          "schedule 5.0.0 production 2030-01-10 10:00 Australia/Adelaide\n"
                          "tests 5.0.0 1840\n" +
                              checks("5.0.0", 3) + "advance 5.0.0\n",
                          {"--tz", "Australia/Adelaide"});
  require_contains(planning.out, "Opened 5.0.0 (major) in planning");
  CHECK(planning.out.find("<!channel>") == std::string::npos);
  CHECK(planning.out.find("@here") == std::string::npos);
  require_contains(planning.out, "PAY-1, PAY-2 added to scope on 5.0.0.");
  // The asker reads their own zone; the channel reads the team's configured zone.
  require_contains(planning.out, "Scheduled production of 5.0.0 for 2030-01-10 10:00 ACDT (Australia/Adelaide).");
  require_contains(planning.out, "[#releases › 5.0.0] 📅 5.0.0: production planned for 2030-01-09 23:30 UTC\n");
  require_contains(planning.out, "[#releases › 5.0.0] ➡️ 5.0.0 moved from planning to impact");

  auto impact = bot.say("cora", checks("5.0.0", 9) + "check 5.0.0 10 na no integration changes\nadvance 5.0.0\n");
  require_contains(impact.out, "Marked [10] integration-code na on 5.0.0.");
  require_contains(impact.out, "moved from impact to regression");

  auto regression = bot.say("cora",
                            "/as dana\ncheck 5.0.0 dev-issues-fixed done\n"
                            "/as quinn\ncheck 5.0.0 qa-regression done all green\n"
                            "check 5.0.0 tickets-followed-up done\n"
                            "/as bo\ncheck 5.0.0 uat-done done\n"
                            "/as cora\ncheck 5.0.0 2 done\ncheck 5.0.0 3 done\ncheck 5.0.0 6 done\n"
                            "/as ivan\ndeploy 5.0.0 delta start downtime 5\ndeploy 5.0.0 delta step migrations applied\n"
                            "deploy 5.0.0 delta done downtime 4\n"
                            "/as cora\nadvance 5.0.0\n");
  require_contains(regression.out, "Marked [4] qa-regression done on 5.0.0.");
  require_contains(regression.out, "only release-coordinator or the release's coordinator can check 5.0.0; you hold: qa");
  // One progress message per deployment, edited as steps arrive.
  require_contains(regression.out, "[#releases › 5.0.0] 🔧 5.0.0 → delta, in progress: 1 step\n• migrations applied (@ivan)");
  require_contains(regression.out, "[#releases › 5.0.0, also in channel] ✅ 5.0.0 is deployed to delta — downtime 4 min (estimated 5 min)");
  require_contains(regression.out, "moved from regression to readiness");

  std::string ready_lines;
  for (const auto& team : readiness_teams) ready_lines += "ready 5.0.0 " + team + "\n";
  auto readiness = bot.say("cora", "advance 5.0.0\n" + ready_lines + "advance 5.0.0\n" + checks("5.0.0", 3) +
                                       "advance 5.0.0\n");
  require_contains(readiness.out, "5.0.0 cannot leave readiness: readiness not confirmed by: sales, schedules, support, "
                                  "marketing, client-services, client, uat");
  require_contains(readiness.out, "moved from readiness to communication");
  require_contains(readiness.out, "moved from communication to signoff");

  auto signoff = bot.say("cora",
                         "signoff 5.0.0 product-manager @pam\nsignoff 5.0.0 qa @quinn\nsignoff 5.0.0 dev-lead @dana\n"
                         "signoff 5.0.0 business-owner @bo\nsignoff 5.0.0 client @cli\n"
                         "signoff 5.0.0 qa @dana\n"
                         "advance 5.0.0\n"
                         "/as pam\napprove 5.0.0\n"
                         "/as quinn\napprove 5.0.0 as dev-lead\napprove 5.0.0 regression clean\n"
                         "/as dana\nreject 5.0.0 rollback script untested\napprove 5.0.0 as dev-lead script tested\n"
                         "/as bo\napprove 5.0.0\n"
                         "/as cli\napprove 5.0.0 UAT passed\n"
                         "/as cora\nadvance 5.0.0\n");
  require_contains(signoff.out, "@dana does not hold qa — grant it first: role @dana add qa");
  require_contains(signoff.out, "[DM @pam] @cora asks you to sign off 5.0.0 (major — Big bang");
  require_contains(signoff.out, "  [Approve]\n  [Reject]");
  require_contains(signoff.out, "5.0.0 cannot leave signoff: sign-off missing from: product-manager, qa, dev-lead, "
                                "business-owner, client");
  require_contains(signoff.out, "[DM @pam, card updated] ✅ 5.0.0 — product-manager sign-off approved by @pam");
  require_contains(signoff.out, "only dev-lead can approve as dev-lead; you hold: qa");
  require_contains(signoff.out, "Recorded your approval of 5.0.0 as qa.");
  require_contains(signoff.out, "[#releases › 5.0.0, also in channel] ❌ 5.0.0 — dev-lead sign-off rejected by @dana: "
                                "rollback script untested");
  require_contains(signoff.out, "[#releases › 5.0.0, also in channel] 🎉 Every sign-off for 5.0.0 is in: "
                                "product-manager, qa, dev-lead, business-owner, client");
  require_contains(signoff.out, "moved from signoff to deployment");

  auto deployment = bot.say("ivan",
                            "cutoff 5.0.0 2030-01-09 17:00\n"
                            "deploy 5.0.0 production start downtime 10\n"
                            "deploy 5.0.0 uat start\ndeploy 5.0.0 uat done downtime 0\n"
                            "deploy 5.0.0 beta start\ndeploy 5.0.0 beta failed smoke tests red\n"
                            "deploy 5.0.0 production start downtime 10\n"
                            "deploy 5.0.0 beta start\ndeploy 5.0.0 beta done downtime 0\n"
                            "deploy 5.0.0 production start downtime 10\n"
                            "deploy 5.0.0 production step release script executed\n"
                            "deploy 5.0.0 production done downtime 12\n"
                            "/as cora\n" +
                                checks("5.0.0", 7) + "advance 5.0.0\n");
  require_contains(deployment.out, "[#releases › 5.0.0, also in channel] ✂️ Code cut-off for 5.0.0: 2030-01-09 17:00 UTC");
  require_contains(deployment.out, "production comes after beta, which has not been deployed — deploy 5.0.0 beta start first");
  require_contains(deployment.out, "🔥 5.0.0 on beta failed: smoke tests red");
  require_contains(deployment.out, "production comes after beta, which has failed");
  require_contains(deployment.out, "✅ 5.0.0 is deployed to production — downtime 12 min (estimated 10 min)");
  require_contains(deployment.out, "moved from deployment to review");

  auto review = bot.say("cora",
                        "close 5.0.0\n"
                        "review 5.0.0 start\n"
                        "/as quinn\nreview 5.0.0 add good smooth regression\n"
                        "/as dana\nreview 5.0.0 add action automate smoke tests @dana\n"
                        "/as cora\nreview 5.0.0 close\n" +
                            checks("5.0.0", 2) + "close 5.0.0\n");
  require_contains(review.out, "5.0.0 cannot close yet: 2 checklist items open");
  require_contains(review.out, "[DM @quinn] 📝 The review of 5.0.0 is open.");
  require_contains(review.out, "📋 Review of 5.0.0 closed — 2 items\nWent well\n• smooth regression\nActions\n• automate "
                               "smoke tests — owner @dana");
  require_contains(review.out, "[#releases › 5.0.0, also in channel] 🏁 5.0.0 is closed. Thank you all.");

  auto after = bot.say("cora", "status 5.0.0\nlist\nlist all\naudit verify\naudit 5.0.0\nreport 2026-01-01 2027-01-01\n");
  require_contains(after.out, "State: closed");
  require_contains(after.out, "Sign-offs: product-manager ✓ @pam; qa ✓ @quinn; dev-lead ✓ @dana; business-owner ✓ @bo; "
                              "client ✓ @cli;");
  require_contains(after.out, "Path: delta ✓ → uat ✓ → beta ✓ → production ✓");
  require_contains(after.out, "No active releases");
  require_contains(after.out, "5.0.0 · major · review (closed)");
  require_contains(after.out, "✅ Audit trail intact:");
  require_contains(after.out, "Audit trail of 5.0.0 (");
  require_contains(after.out, "Releases: 1 (emergency 0, hotfix 0, major 1, minor 0)");
  require_contains(after.out, "Tickets: 1 resolved, 1 not resolved");
  require_contains(after.out, "Downtime: estimated 15 min, actual 16 min; where both were recorded, actual − estimated = +1 min");
  require_contains(after.out, "Outcome: 1 successful, 0 failed, 0 other");
  require_contains(after.out, "Schedule slip (production, actual − planned): average -");
  require_contains(after.out, "unit tests 1840");

  CHECK(bot.count("SELECT count(*) FROM signoff_decisions") == 6);
  CHECK(bot.count("SELECT count(DISTINCT decided_by) FROM signoff_decisions WHERE decision = 'approved'") == 5);
  CHECK(bot.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0);
  CHECK(bot.count("SELECT count(*) FROM outbox WHERE starts_thread = 1") == 1);
  CHECK(bot.count("SELECT count(*) FROM releases WHERE thread_ref IS NOT NULL") == 1);
}

TEST_CASE("a hotfix skips impact and readiness and goes alpha → beta → production", "[e2e][lifecycle]") {
  console_bot bot;
  bot.say("alice", grant_everyone + forced_to_production("4.2.0", "minor", {"delta", "uat", "beta", "production"}, 6));
  auto result = bot.say("cora",
                        "open 4.2.1 hotfix Checkout fix\n" + checks("4.2.1", 3) + "advance 4.2.1\n" +
                            checks("4.2.1", 6) + "advance 4.2.1\n" + checks("4.2.1", 3) + "advance 4.2.1\n" +
                            "signoff 4.2.1 qa @quinn\n"
                            "/as pam\napprove 4.2.1\n/as quinn\napprove 4.2.1\n/as dana\napprove 4.2.1\n"
                            "/as cora\nadvance 4.2.1\n"
                            "/as ivan\ndeploy 4.2.1 delta start\n"
                            "deploy 4.2.1 alpha start\ndeploy 4.2.1 alpha done downtime 0\n"
                            "deploy 4.2.1 production start\n"
                            "deploy 4.2.1 beta start\ndeploy 4.2.1 beta done downtime 0\n"
                            "deploy 4.2.1 production start downtime 2\ndeploy 4.2.1 production done downtime 1\n");
  require_contains(result.out, "Opened 4.2.1 (hotfix) in planning");
  require_contains(result.out, "moved from planning to regression");
  require_contains(result.out, "moved from regression to communication");
  require_contains(result.out, "moved from communication to signoff");
  require_contains(result.out, "moved from signoff to deployment");
  require_contains(result.out, "delta is not on 4.2.1's path (alpha → beta → production)");
  require_contains(result.out, "production comes after beta, which has not been deployed");
  require_contains(result.out, "✅ 4.2.1 is deployed to production — downtime 1 min (estimated 2 min)");
  CHECK(result.out.find("to impact") == std::string::npos);
  CHECK(result.out.find("to readiness") == std::string::npos);
}

TEST_CASE("an emergency deploys with sign-offs pending, which are then chased until given", "[e2e][lifecycle]") {
  console_bot bot;
  bot.say("alice", grant_everyone + forced_to_production("4.2.0", "minor", {"delta", "uat", "beta", "production"}, 6));
  auto deploy = bot.say("cora",
                        "open 4.2.1 emergency Card data exposure\n" + checks("4.2.1", 3) + "advance 4.2.1\n" +
                            "/as ivan\ndeploy 4.2.1 alpha start\ndeploy 4.2.1 alpha done downtime 0\n"
                            "deploy 4.2.1 production start downtime 3\ndeploy 4.2.1 production done downtime 2\n"
                            "status 4.2.1\n");
  require_contains(deploy.out, "🚚 Deployment of 4.2.1 to production started by @ivan — estimated downtime 3 min\n"
                               "Sign-offs owed retroactively: dev-lead, product-manager");
  require_contains(deploy.out, "Stage: deployment");
  require_contains(deploy.out, "Sign-offs: dev-lead owed (retroactive); product-manager owed (retroactive);");
  require_contains(deploy.out, "Gate of regression overridden by @ivan: emergency deployment to production");

  auto chase = bot.say("dana", "approve 4.2.1 script verified\nstatus 4.2.1\n");
  require_contains(chase.out, "Recorded your approval of 4.2.1 as dev-lead (retroactive).");
  require_contains(chase.out, "Sign-offs: dev-lead ✓ @dana; product-manager owed (retroactive);");
  CHECK(bot.count("SELECT retroactive FROM signoff_decisions WHERE decided_by = 'dana'") == 1);
}

TEST_CASE("refusals leave the database unchanged in content", "[e2e][refusals]") {
  console_bot bot;
  bot.say("alice", grant_everyone + forced_to_production("4.2.0", "minor", {"delta", "uat", "beta", "production"}, 6) +
                       "open 4.3.0 minor\n" + checks("4.3.0", 3) + "advance 4.3.0\n" +
                       "open 4.2.1 hotfix\nadvance 4.2.1 force quick\nadvance 4.2.1 force quick\n"
                       "advance 4.2.1 force quick\nadvance 4.2.1 force quick\n"
                       "deploy 4.2.1 alpha start\ndeploy 4.2.1 alpha done downtime 0\n"
                       "open 4.4.0 minor force: skipping 4.3\ncancel 4.4.0 superseded\n");
  const auto before = bot.dump();

  SECTION("wrong role approving") {
    const auto result = bot.say("quinn", "approve 4.3.0 as dev-lead\n");
    require_contains(result.out, "only dev-lead can approve as dev-lead; you hold: qa");
  }
  SECTION("advancing with an open gate") {
    const auto result = bot.say("cora", "advance 4.3.0\n");
    require_contains(result.out, "4.3.0 cannot leave impact: 10 checklist items open");
  }
  SECTION("deploying to production before beta succeeded") {
    const auto result = bot.say("ivan", "deploy 4.2.1 production start\n");
    require_contains(result.out, "production comes after beta, which has not been deployed");
  }
  SECTION("approving a cancelled release") {
    const auto result = bot.say("pam", "approve 4.4.0\n");
    require_contains(result.out, "4.4.0 is cancelled — nothing more can be recorded on it");
  }
  SECTION("opening 5.0.0 as a hotfix") {
    const auto result = bot.say("cora", "open 5.0.0 hotfix\n");
    require_contains(result.out, "5.0.0 is not a hotfix after 4.2.0: a hotfix would be 4.2.1 — fix the version or the "
                                 "type, or end with force: <reason>");
  }
  SECTION("someone without the role opening or granting") {
    const auto result = bot.say("devi", "open 4.5.0 minor\nrole @devi add qa\n");
    require_contains(result.out, "only release-coordinator, product-manager or dev-lead can open; you hold: developer");
    require_contains(result.out, "only admins can role; you hold: developer");
  }
  CHECK(bot.dump() == before);
}

TEST_CASE("force on open is accepted with a reason and audited", "[e2e][refusals]") {
  console_bot bot;
  bot.say("alice", grant_everyone + forced_to_production("4.2.0", "minor", {"delta", "uat", "beta", "production"}, 6));
  const auto result = bot.say("cora", "open 5.0.0 hotfix Urgent force: customer contract needs 5.x\nstatus 5.0.0\n");
  require_contains(result.out, "Opened 5.0.0 (hotfix)");
  require_contains(result.out, "Version rule overridden: customer contract needs 5.x");
  require_contains(result.out, "Opened with force: customer contract needs 5.x");
  CHECK(bot.count("SELECT count(*) FROM audit_log WHERE action = 'open' AND details LIKE '%customer contract%'") == 1);
}

TEST_CASE("audit verify notices an edited, inserted or deleted row", "[e2e][audit]") {
  console_bot bot;
  bot.say("alice", "open 4.2.0 minor\nschedule 4.2.0 uat 2030-01-01 10:00\ncheck 4.2.0 1 done\n");
  require_contains(bot.say("alice", "audit verify\n").out, "✅ Audit trail intact: 3 entries");

  SECTION("edited") {
    bot.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2");
    require_contains(bot.say("alice", "audit verify\n").out, "❌ Audit trail ALTERED: entry #2 was altered");
  }
  SECTION("deleted in the middle") {
    bot.execute("DELETE FROM audit_log WHERE seq = 2");
    require_contains(bot.say("alice", "audit verify\n").out, "entry #2 is missing");
  }
  SECTION("deleted at the end") {
    bot.execute("DELETE FROM audit_log WHERE seq = 3");
    require_contains(bot.say("alice", "audit verify\n").out, "entries at the end were removed");
  }
  SECTION("inserted") {
    bot.execute("UPDATE audit_log SET seq = seq + 10 WHERE seq >= 3; UPDATE audit_log SET seq = seq - 9 WHERE seq >= 13; "
                "INSERT INTO audit_log (seq, at, actor, platform, event_id, release_id, action, details, prev_hash, hash) "
                "SELECT 3, at, 'mallory', platform, 'x', release_id, 'approve', '{}', hash, hash FROM audit_log WHERE seq = 2");
    require_contains(bot.say("alice", "audit verify\n").out, "❌ Audit trail ALTERED");
  }
}

TEST_CASE("help lists every command and explains one", "[e2e][help]") {
  console_bot bot;
  const auto result = bot.say("bob", "help\nhelp deploy\nhelp nothing\n");
  for (const auto* usage : {"open <version>", "status [<version>]", "signoff <version> <role>", "deploy <version> <env>",
                            "review <version>", "report [", "audit <version> | audit verify", "role <@user>"}) {
    require_contains(result.out, usage);
  }
  require_contains(result.out, "deploy — announces deployment progress");
  require_contains(result.out, "I don't know 'nothing'");
}

TEST_CASE("report gives the KPIs of a seeded history", "[e2e][report]") {
  console_bot bot;
  const auto advance = [](const std::string& version, int times) {
    std::string lines;
    for (int i = 0; i < times; ++i) lines += "advance " + version + " force seeding\n";
    return lines;
  };
  bot.say("alice",
          "open 1.0.0 minor A force: seed\n" + advance("1.0.0", 6) +
              "deploy 1.0.0 delta start downtime 1\ndeploy 1.0.0 delta done downtime 1\n"
              "deploy 1.0.0 uat start downtime 2\ndeploy 1.0.0 uat done downtime 3\n"
              "deploy 1.0.0 beta start\ndeploy 1.0.0 beta done downtime 0\n"
              "deploy 1.0.0 production start downtime 10\ndeploy 1.0.0 production done downtime 15\n"
              "schedule 1.0.0 production 2026-06-01 12:00\n"
              "scope 1.0.0 add A-1 A-2 A-3\nscope 1.0.0 resolved A-1 A-2\n"
              "incident 1.0.0 sev1 payments down\nincident 1.0.0 sev2 slow reports\n"
              "tests 1.0.0 321\n"
              "open 1.0.1 hotfix B force: seed\n" +
              advance("1.0.1", 4) +
              "deploy 1.0.1 alpha start\ndeploy 1.0.1 alpha done downtime 0\n"
              "deploy 1.0.1 beta start\ndeploy 1.0.1 beta done downtime 0\n"
              "deploy 1.0.1 production start downtime 5\ndeploy 1.0.1 production done downtime 4\n"
              "schedule 1.0.1 production 2026-06-10 09:00\n"
              "scope 1.0.1 add B-1\nincident 1.0.1 sev3 typo on invoice\n"
              "open 1.0.2 hotfix C force: seed\n" +
              advance("1.0.2", 4) +
              "deploy 1.0.2 alpha start\ndeploy 1.0.2 alpha done downtime 0\n"
              "deploy 1.0.2 beta start\ndeploy 1.0.2 beta done downtime 0\n"
              "deploy 1.0.2 production start downtime 5\ndeploy 1.0.2 production rollback broke login\n"
              "open 1.1.0 emergency D force: seed\n" +
              advance("1.1.0", 1) +
              "deploy 1.1.0 alpha start downtime 2\ncancel 1.1.0 abandoned\n"
              "open 2.0.0 major E force: seed\n");
  // Fix the moments the clock decided, so the slip and the measured downtime are known.
  bot.execute(
      "UPDATE deployments SET finished_at = '2026-06-01T14:00:00Z' WHERE environment = 'production' AND release_id = "
      "(SELECT id FROM releases WHERE version = '1.0.0');"
      "UPDATE deployments SET finished_at = '2026-06-10T10:00:00Z' WHERE environment = 'production' AND release_id = "
      "(SELECT id FROM releases WHERE version = '1.0.1');"
      "UPDATE deployments SET actual_downtime = 7 WHERE environment = 'production' AND release_id = "
      "(SELECT id FROM releases WHERE version = '1.0.2');");

  const auto result = bot.say("bob", "report 2000-01-01 2100-01-01\nreport\n");
  require_contains(result.out, "Releases: 5 (emergency 1, hotfix 2, major 1, minor 1)");
  require_contains(result.out, "Incidents caused by releases: 3 (sev1 1, sev2 1, sev3 1)");
  require_contains(result.out, "Tickets: 2 resolved, 2 not resolved");
  require_contains(result.out, "Downtime: estimated 25 min, actual 30 min; where both were recorded, actual − estimated "
                               "= +7 min");
  require_contains(result.out, "Outcome: 2 successful, 2 failed, 1 other");
  require_contains(result.out, "Schedule slip (production, actual − planned): average +90 min over 2 releases");
  require_contains(result.out, "• 1.0.0 (minor): successful; tickets 2 resolved / 1 not; unit tests 321; production "
                               "slip +120 min");
  require_contains(result.out, "• 1.0.2 (hotfix): failed");
  require_contains(result.out, "• 1.1.0 (emergency): failed");
  require_contains(result.out, "• 2.0.0 (major): not yet in production");
  // The default period is this quarter, which holds all five.
  const auto first = result.out.find("Releases: 5");
  CHECK(result.out.find("Releases: 5", first + 1) != std::string::npos);
}

TEST_CASE("a sign-off request remembers its card, so the decision can update it", "[e2e][signoff]") {
  console_bot bot;
  bot.say("alice", grant_everyone + "role @qa2 add qa\nopen 4.2.0 minor\nsignoff 4.2.0 qa @quinn\n");
  CHECK(bot.count("SELECT count(*) FROM signoff_requests WHERE assignee = 'quinn' AND card_outbox_id IS NOT NULL") == 1);
}

TEST_CASE("an over-long line is refused and the console carries on", "[e2e][console]") {
  console_bot bot;
  const auto result = bot.say("alice", "open " + std::string(5000, 'x') + "\n" + std::string(100000, 'y') +
                                           "\nopen 4.2.0 minor\nlist");
  require_contains(result.out, "that message is too long (5005 characters; at most 4000)");
  require_contains(result.out, "That line is longer than 65536 bytes; it was ignored.");
  require_contains(result.out, "Opened 4.2.0 (minor)");
  require_contains(result.out, "4.2.0 · minor · planning");
  CHECK(bot.count("SELECT count(*) FROM releases") == 1);
}
