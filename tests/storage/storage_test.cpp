#include "storage/checkpointer.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/outbox.hpp"
#include "storage/people_directory.hpp"
#include "storage/processed_events.hpp"
#include "storage/release_repository.hpp"
#include "storage/role_grants.hpp"
#include "storage/timestamps.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace releasebot::storage;
namespace fs = std::filesystem;

const instant t0 = instant{std::chrono::sys_days{std::chrono::year{2026} / 3 / 1}} + 9h;

std::int64_t scalar(database& db, const std::string& sql) {
  auto query = db.prepare(sql);
  REQUIRE(query.step());
  return query.column_int(0);
}

std::set<std::string> table_names(database& db) {
  auto query = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  std::set<std::string> names;
  while (query.step()) names.insert(query.column_text(0));
  return names;
}

database migrated() {
  auto db = database::open_in_memory();
  migrate(db);
  return db;
}

// A directory of its own under the system temp dir, removed at the end of the test.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::random_device random;
    path = fs::temp_directory_path() / ("releasebot-storage-test-" + std::to_string(random()) + std::to_string(random()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

release_record sample_release(std::string version = "4.2.0") {
  release_record release;
  release.version = version;
  release.major = 4;
  release.minor = 2;
  release.patch = version == "4.2.0" ? 0 : 1;
  release.type = "minor";
  release.title = "Payments refresh";
  release.stage = "planning";
  release.coordinator = "U1";
  release.platform = "slack";
  release.channel = "C1";
  release.created_at = t0;
  return release;
}

}  // namespace

TEST_CASE("migrate creates the schema and records it", "[storage]") {
  auto db = database::open_in_memory();
  CHECK(db.name() == ":memory:");
  CHECK(table_names(db).empty());
  migrate(db);
  const auto tables = table_names(db);
  for (const auto* table : {"schema_migrations", "releases", "milestones", "checklist_marks", "readiness", "tickets",
                            "signoff_requests", "signoff_decisions", "stage_passages", "deployments",
                            "deployment_steps", "incidents", "reviews", "review_items", "role_grants", "audit_log",
                            "audit_head", "processed_events", "outbox"}) {
    INFO(table);
    CHECK(tables.count(table) == 1);
  }
  CHECK(latest_schema_version() >= 1);
  CHECK(scalar(db, "SELECT count(*) FROM schema_migrations") == latest_schema_version());
  CHECK(scalar(db, "SELECT max(version) FROM schema_migrations") == latest_schema_version());
  CHECK(scalar(db, "SELECT count(*) FROM schema_migrations WHERE description = '' OR applied_at NOT LIKE '20__-__-__T__:__:__Z'") == 0);
  CHECK_FALSE(db.in_transaction());
  CHECK(scalar(db, "PRAGMA foreign_keys") == 1);
}

TEST_CASE("migrate twice is a no-op that keeps the data", "[storage]") {
  auto db = migrated();
  release_repository releases{db};
  releases.insert(sample_release());
  const auto schema_before = scalar(db, "SELECT count(*) FROM sqlite_schema");
  const auto applied_at = [&] {
    auto q = db.prepare("SELECT applied_at FROM schema_migrations WHERE version = 1");
    REQUIRE(q.step());
    return q.column_text(0);
  }();
  migrate(db);
  CHECK(scalar(db, "SELECT count(*) FROM schema_migrations") == latest_schema_version());
  CHECK(scalar(db, "SELECT count(*) FROM sqlite_schema") == schema_before);
  CHECK(scalar(db, "SELECT count(*) FROM releases") == 1);
  auto q = db.prepare("SELECT applied_at FROM schema_migrations WHERE version = 1");
  REQUIRE(q.step());
  CHECK(q.column_text(0) == applied_at);
}

TEST_CASE("a database from a newer releasebot is refused", "[storage]") {
  auto db = migrated();
  const int newer = latest_schema_version() + 1;
  db.prepare("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, 'future', '2030-01-01T00:00:00Z')")
      .bind(1, newer)
      .execute();
  try {
    migrate(db);
    FAIL("migrate accepted a newer schema");
  } catch (const database_error& error) {
    const std::string message = error.what();
    CHECK(message.find("newer") != std::string::npos);
    CHECK(message.find(std::to_string(newer)) != std::string::npos);
    CHECK(message.find(":memory:") != std::string::npos);
  }
  // Nothing was left half done: no open transaction, the marker is still there.
  CHECK_FALSE(db.in_transaction());
  CHECK(scalar(db, "SELECT max(version) FROM schema_migrations") == newer);
}

TEST_CASE("a fresh database that only has a newer schema_migrations is refused before any table is made", "[storage]") {
  auto db = database::open_in_memory();
  db.execute_script(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);"
      "INSERT INTO schema_migrations VALUES (99, 'from the future', '2030-01-01T00:00:00Z');");
  CHECK_THROWS_WITH(migrate(db), Catch::Contains("newer"));
  CHECK(table_names(db) == std::set<std::string>{"schema_migrations"});
}

TEST_CASE("a file that is not a database is refused with its name", "[storage]") {
  temp_dir dir;
  const auto file = dir.path / "garbage.db";
  {
    std::ofstream out{file, std::ios::binary};
    for (int i = 0; i < 512; ++i) out << "this is certainly not a SQLite file \x01\x02\x03\xff";
  }
  try {
    auto db = database::open(file);
    FAIL("opened garbage as a database");
  } catch (const database_error& error) {
    const std::string message = error.what();
    CHECK(message.find(file.string()) != std::string::npos);
    CHECK(message.find("not a SQLite database") != std::string::npos);
  }
  // The garbage was left as it was.
  CHECK(fs::file_size(file) > 4096);
}

TEST_CASE("a path that cannot be opened is refused with its name", "[storage]") {
  temp_dir dir;
  const auto file = dir.path / "no" / "such" / "dir" / "bot.db";
  CHECK_THROWS_WITH(database::open(file), Catch::Contains(file.string()));
}

TEST_CASE("a real file database is created, migrated and reopened", "[storage]") {
  temp_dir dir;
  const auto file = dir.path / "bot.db";
  {
    auto db = database::open(file);
    CHECK(db.name() == file.string());
    migrate(db);
    release_repository{db}.insert(sample_release());
  }
  auto db = database::open(file);
  migrate(db);
  const auto found = release_repository{db}.find_by_version("4.2.0");
  REQUIRE(found.has_value());
  CHECK(found->title == "Payments refresh");
  auto mode = db.prepare("PRAGMA journal_mode");
  REQUIRE(mode.step());
  CHECK(mode.column_text(0) == "wal");
}

TEST_CASE("the checkpointer copies committed pages into the database file from its own thread", "[storage]") {
  temp_dir dir;
  const auto file = dir.path / "bot.db";
  auto db = database::open(file);
  migrate(db);
  checkpointer checkpoints{db, file, std::chrono::milliseconds{20}};
  auto automatic = db.prepare("PRAGMA wal_autocheckpoint");
  REQUIRE(automatic.step());
  CHECK(automatic.column_int(0) == 0);  // the bot's own commits never checkpoint
  {
    transaction tx{db};
    release_repository{db}.insert(sample_release());
    tx.commit();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (checkpoints.checkpoints_done() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  CHECK(checkpoints.checkpoints_done() > 0);
  // What a reader of the file alone sees (the WAL set aside): the release is in the database file.
  fs::copy_file(file, dir.path / "copy.db");
  auto copy = database::open(dir.path / "copy.db");
  CHECK(release_repository{copy}.find_by_version("4.2.0").has_value());
}

TEST_CASE("a transaction rolls back in its destructor unless committed", "[storage]") {
  auto db = migrated();
  role_grants grants{db};
  {
    transaction tx{db};
    CHECK(db.in_transaction());
    CHECK(grants.grant("U1", "qa", "admin", t0));
    CHECK(grants.roles_of("U1") == std::vector<std::string>{"qa"});
  }
  CHECK_FALSE(db.in_transaction());
  CHECK(grants.roles_of("U1").empty());
  {
    transaction tx{db};
    grants.grant("U1", "qa", "admin", t0);
    tx.commit();
    CHECK_FALSE(db.in_transaction());
  }
  CHECK(grants.roles_of("U1") == std::vector<std::string>{"qa"});

  SECTION("an exception unwinds through the transaction") {
    try {
      transaction tx{db};
      grants.grant("U2", "dev-lead", "admin", t0);
      throw std::runtime_error{"handler failed"};
    } catch (const std::runtime_error&) {
    }
    CHECK(grants.roles_of("U2").empty());
    CHECK_FALSE(db.in_transaction());
  }
}

TEST_CASE("savepoints undo one command and keep the others of the same transaction", "[storage]") {
  auto db = migrated();
  role_grants grants{db};
  {
    transaction tx{db};
    {
      savepoint first{db};
      grants.grant("U1", "qa", "admin", t0);
      first.commit();
    }
    {
      savepoint refused{db};
      grants.grant("U2", "qa", "admin", t0);
    }
    {
      savepoint third{db};
      grants.grant("U3", "qa", "admin", t0);
      third.commit();
    }
    tx.commit();
  }
  CHECK(grants.roles_of("U1") == std::vector<std::string>{"qa"});
  CHECK(grants.roles_of("U2").empty());
  CHECK(grants.roles_of("U3") == std::vector<std::string>{"qa"});
}

TEST_CASE("a reused compiled statement starts fresh, and the same text may run twice at once", "[storage]") {
  auto db = migrated();
  db.execute_script("CREATE TABLE numbers (n INTEGER); INSERT INTO numbers VALUES (1), (2), (3);");
  const std::string sql = "SELECT n FROM numbers WHERE n >= ? ORDER BY n";
  {
    auto query = db.prepare(sql);
    query.bind(1, 2);
    REQUIRE(query.step());
    CHECK(query.column_int(0) == 2);
    // Left mid-result on purpose: the next use must not see this cursor or this binding.
  }
  auto outer = db.prepare(sql);
  outer.bind(1, 1);
  std::vector<std::int64_t> pairs;
  while (outer.step()) {
    auto inner = db.prepare(sql);  // same text while the outer one is still running
    inner.bind(1, outer.column_int(0));
    while (inner.step()) pairs.push_back(outer.column_int(0) * 10 + inner.column_int(0));
  }
  CHECK(pairs == std::vector<std::int64_t>{11, 12, 13, 22, 23, 33});
  auto unbound = db.prepare(sql);
  CHECK_FALSE(unbound.step());  // NULL binding: n >= NULL matches nothing
}

TEST_CASE("statement errors name what failed", "[storage]") {
  auto db = migrated();
  CHECK_THROWS_AS(db.prepare("SELECT nope FROM nowhere"), database_error);
  CHECK_THROWS_WITH(db.execute_script("INSERT INTO nowhere VALUES (1)"), Catch::Contains("no such table"));
  release_repository releases{db};
  releases.insert(sample_release());
  CHECK_THROWS_AS(releases.insert(sample_release()), database_error);  // version is UNIQUE
}

TEST_CASE("timestamps are ISO-8601 UTC to the second", "[storage]") {
  CHECK(to_iso(t0) == "2026-03-01T09:00:00Z");
  CHECK(from_iso("2026-03-01T09:00:00Z") == t0);
  CHECK_THROWS_AS(from_iso("yesterday"), database_error);
  CHECK(from_optional_iso(std::nullopt) == std::nullopt);
  CHECK(from_optional_iso(std::string{"2026-03-01T09:00:05Z"}) == t0 + 5s);
  for (const char* bad : {"2026-02-30T09:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01 09:00:00Z", "2026-03-01T09:00:00",
                          "2026-3-01T09:00:00Z", "2026-03-01T09:00:6.Z", ""}) {
    INFO(bad);
    CHECK_THROWS_AS(from_iso(bad), database_error);
  }
  // Every second of a leap day and the turn of a year round-trips (hand-written formatting).
  for (const auto start : {instant{std::chrono::sys_days{std::chrono::year{2028} / 2 / 29}},
                           instant{std::chrono::sys_days{std::chrono::year{1999} / 12 / 31}} + 23h}) {
    for (auto at = start; at < start + 3h; at += 7s) REQUIRE(from_iso(to_iso(at)) == at);
  }
  CHECK(to_iso(instant{std::chrono::sys_days{std::chrono::year{2000} / 1 / 1}}) == "2000-01-01T00:00:00Z");
}

TEST_CASE("release_repository round trips", "[storage]") {
  auto db = migrated();
  release_repository releases{db};

  auto first = sample_release("4.2.0");
  first.forced_reason = "legal";
  first.id = releases.insert(first);
  auto second = sample_release("4.2.1");
  second.type = "hotfix";
  second.title = "";
  second.created_at = t0 + 24h;
  second.id = releases.insert(second);
  CHECK(first.id > 0);
  CHECK(second.id != first.id);

  SECTION("find_by_version, find, all") {
    const auto found = releases.find_by_version("4.2.0");
    REQUIRE(found.has_value());
    CHECK(found->id == first.id);
    CHECK(found->version == "4.2.0");
    CHECK(found->major == 4);
    CHECK(found->minor == 2);
    CHECK(found->patch == 0);
    CHECK(found->type == "minor");
    CHECK(found->title == "Payments refresh");
    CHECK(found->stage == "planning");
    CHECK(found->state == "active");
    CHECK(found->coordinator == "U1");
    CHECK(found->platform == "slack");
    CHECK(found->channel == "C1");
    CHECK_FALSE(found->thread_ref.has_value());
    REQUIRE(found->forced_reason.has_value());
    CHECK(*found->forced_reason == "legal");
    CHECK_FALSE(found->cancel_reason.has_value());
    CHECK_FALSE(found->unit_tests.has_value());
    CHECK(found->created_at == t0);
    CHECK_FALSE(found->ended_at.has_value());

    CHECK_FALSE(releases.find_by_version("9.9.9").has_value());
    CHECK(releases.find(second.id)->version == "4.2.1");
    CHECK_FALSE(releases.find(12345).has_value());

    const auto all = releases.all();
    REQUIRE(all.size() == 2);
    CHECK(all[0].version == "4.2.1");  // newest first
    CHECK(all[1].version == "4.2.0");

    const auto opened = releases.opened_between(t0, t0 + 1h);
    REQUIRE(opened.size() == 1);
    CHECK(opened[0].version == "4.2.0");
  }

  SECTION("updates to the release row") {
    releases.set_stage(first.id, "impact");
    releases.set_thread_ref(first.id, "1700000000.000100");
    releases.set_unit_tests(first.id, 1840);
    releases.end(second.id, "cancelled", t0 + 48h, std::string{"superseded"});
    const auto a = releases.find(first.id);
    CHECK(a->stage == "impact");
    CHECK(a->thread_ref == std::optional<std::string>{"1700000000.000100"});
    CHECK(a->unit_tests == std::optional<std::int64_t>{1840});
    const auto b = releases.find(second.id);
    CHECK(b->state == "cancelled");
    CHECK(b->cancel_reason == std::optional<std::string>{"superseded"});
    CHECK(b->ended_at == std::optional<instant>{t0 + 48h});
    CHECK_THROWS_AS(releases.end(first.id, "exploded", t0, std::nullopt), database_error);  // CHECK constraint
  }

  SECTION("milestones, newest plan wins, ordered by time") {
    releases.set_milestone(first.id, "production", t0 + 72h);
    releases.set_milestone(first.id, "cutoff", t0 + 24h);
    releases.set_milestone(first.id, "production", t0 + 96h);
    const auto milestones = releases.milestones(first.id);
    REQUIRE(milestones.size() == 2);
    CHECK(milestones[0].name == "cutoff");
    CHECK(milestones[0].planned_at == t0 + 24h);
    CHECK(milestones[1].name == "production");
    CHECK(milestones[1].planned_at == t0 + 96h);
    CHECK(releases.milestones(second.id).empty());
  }

  SECTION("checklist marks, per stage, updated in place") {
    releases.mark_item(first.id, {"planning", "scope-defined", "done", "", "U1", t0});
    releases.mark_item(first.id, {"planning", "schedule-set", "na", "no dates yet", "U2", t0 + 1h});
    releases.mark_item(first.id, {"planning", "scope-defined", "open", "reopened", "U3", t0 + 2h});
    releases.mark_item(first.id, {"impact", "marketing", "done", "", "U1", t0});
    auto marks = releases.checklist_marks(first.id, "planning");
    REQUIRE(marks.size() == 2);
    std::sort(marks.begin(), marks.end(), [](const auto& a, const auto& b) { return a.item < b.item; });
    CHECK(marks[0].item == "schedule-set");
    CHECK(marks[0].state == "na");
    CHECK(marks[0].note == "no dates yet");
    CHECK(marks[0].marked_by == "U2");
    CHECK(marks[1].item == "scope-defined");
    CHECK(marks[1].state == "open");
    CHECK(marks[1].note == "reopened");
    CHECK(marks[1].marked_by == "U3");
    CHECK(marks[1].marked_at == t0 + 2h);
    CHECK(releases.checklist_marks(first.id, "impact").size() == 1);
    CHECK(releases.checklist_marks(second.id, "planning").empty());
  }

  SECTION("readiness") {
    releases.confirm_team(first.id, {"sales", "U5", "pricing done", t0});
    releases.confirm_team(first.id, {"uat", "U6", "", t0 + 1h});
    releases.confirm_team(first.id, {"sales", "U7", "again", t0 + 2h});
    const auto teams = releases.readiness(first.id);
    REQUIRE(teams.size() == 2);
    CHECK(teams[0].team == "uat");
    CHECK(teams[1].team == "sales");
    CHECK(teams[1].confirmed_by == "U7");
    CHECK(teams[1].note == "again");
  }

  SECTION("tickets: adding twice returns false") {
    CHECK(releases.add_ticket(first.id, "PAY-13"));
    CHECK(releases.add_ticket(first.id, "PAY-12"));
    CHECK_FALSE(releases.add_ticket(first.id, "PAY-12"));
    CHECK(releases.add_ticket(second.id, "PAY-12"));  // another release may hold it too
    CHECK(releases.set_ticket_resolved(first.id, "PAY-12", true));
    CHECK_FALSE(releases.set_ticket_resolved(first.id, "PAY-12", true));
    CHECK_FALSE(releases.set_ticket_resolved(first.id, "PAY-99", true));
    auto tickets = releases.tickets(first.id);
    REQUIRE(tickets.size() == 2);
    CHECK(tickets[0].ticket == "PAY-12");
    CHECK(tickets[0].resolved);
    CHECK(tickets[1].ticket == "PAY-13");
    CHECK_FALSE(tickets[1].resolved);
    CHECK(releases.remove_ticket(first.id, "PAY-13"));
    CHECK_FALSE(releases.remove_ticket(first.id, "PAY-13"));
    tickets = releases.tickets(first.id);
    REQUIRE(tickets.size() == 1);
    CHECK(tickets[0].ticket == "PAY-12");
    CHECK(releases.tickets(second.id).size() == 1);
  }

  SECTION("sign-off requests and decisions") {
    const auto r1 = releases.add_signoff_request(first.id, {0, "qa", "U8", "U1", t0, std::nullopt});
    const auto r2 = releases.add_signoff_request(first.id, {0, "qa", "U9", "U1", t0 + 1min, std::nullopt});
    const auto r3 = releases.add_signoff_request(first.id, {0, "dev-lead", "U10", "U1", t0 + 2min, std::nullopt});
    CHECK(r1 != r2);
    auto requests = releases.signoff_requests(first.id);
    REQUIRE(requests.size() == 3);
    CHECK(requests[0].id == r1);
    CHECK(requests[0].role == "qa");
    CHECK(requests[0].assignee == "U8");
    CHECK(requests[0].requested_by == "U1");
    CHECK(requests[0].requested_at == t0);
    CHECK_FALSE(requests[0].answered_at.has_value());

    const auto found = releases.find_signoff_request(r2);
    REQUIRE(found.has_value());
    CHECK(found->first == first.id);
    CHECK(found->second.assignee == "U9");
    CHECK_FALSE(releases.find_signoff_request(9999).has_value());

    CHECK_FALSE(releases.request_card(r1).has_value());  // no card yet (NULL)
    outbox box{db};
    outbox_message card;
    card.platform = "slack";
    card.destination = "direct";
    card.recipient = "U8";
    card.payload = "{}";
    card.created_at = t0;
    const auto card_id = box.enqueue(card);
    releases.set_request_card(r1, card_id);
    CHECK(releases.request_card(r1) == std::optional<row_id>{card_id});
    CHECK_FALSE(releases.request_card(9999).has_value());

    releases.answer_signoff_requests(first.id, "qa", t0 + 1h);
    requests = releases.signoff_requests(first.id);
    CHECK(requests[0].answered_at == std::optional<instant>{t0 + 1h});
    CHECK(requests[1].answered_at == std::optional<instant>{t0 + 1h});
    CHECK_FALSE(requests[2].answered_at.has_value());
    CHECK(requests[2].id == r3);
    // Already answered requests keep their first answer time.
    releases.answer_signoff_requests(first.id, "qa", t0 + 5h);
    CHECK(releases.signoff_requests(first.id)[0].answered_at == std::optional<instant>{t0 + 1h});

    releases.add_signoff_decision(first.id, {0, "qa", "U8", "rejected", "broken on Safari", false, t0 + 1h, "", std::nullopt});
    releases.add_signoff_decision(first.id, {0, "qa", "U9", "approved", "", true, t0 + 2h, "", std::nullopt});
    const auto decisions = releases.signoff_decisions(first.id);
    REQUIRE(decisions.size() == 2);
    CHECK(decisions[0].role == "qa");
    CHECK(decisions[0].decided_by == "U8");
    CHECK(decisions[0].decision == "rejected");
    CHECK(decisions[0].note == "broken on Safari");
    CHECK_FALSE(decisions[0].retroactive);
    CHECK(decisions[1].decision == "approved");
    CHECK(decisions[1].retroactive);
    CHECK(decisions[1].decided_at == t0 + 2h);
    CHECK(releases.signoff_decisions(second.id).empty());
    CHECK_THROWS_AS(releases.add_signoff_decision(first.id, {0, "qa", "U8", "maybe", "", false, t0, "", std::nullopt}), database_error);
  }

  SECTION("stage passages") {
    releases.enter_stage(first.id, "planning", t0);
    releases.leave_stage(first.id, "planning", t0 + 1h, std::string{"U1"}, std::string{"urgent"});
    releases.enter_stage(first.id, "impact", t0 + 1h);
    const auto passages = releases.stage_passages(first.id);
    REQUIRE(passages.size() == 2);
    CHECK(passages[0].stage == "planning");
    CHECK(passages[0].left_at == std::optional<instant>{t0 + 1h});
    CHECK(passages[0].override_by == std::optional<std::string>{"U1"});
    CHECK(passages[0].override_reason == std::optional<std::string>{"urgent"});
    CHECK(passages[1].stage == "impact");
    CHECK_FALSE(passages[1].left_at.has_value());
  }

  SECTION("deployments, steps and incidents") {
    deployment_record start;
    start.environment = "uat";
    start.started_by = "U4";
    start.started_at = t0;
    start.estimated_downtime = 5;
    const auto d1 = releases.start_deployment(first.id, start);
    releases.add_deployment_step(d1, {"migrations applied", "U4", t0 + 5min});
    releases.add_deployment_step(d1, {"cache warmed", "U4", t0 + 7min});
    releases.finish_deployment(d1, "succeeded", t0 + 10min, 3, "");
    start.environment = "beta";
    start.estimated_downtime = std::nullopt;
    const auto d2 = releases.start_deployment(first.id, start);
    releases.finish_deployment(d2, "rolled_back", t0 + 20min, std::nullopt, "data loss risk");

    const auto deployments = releases.deployments(first.id);
    REQUIRE(deployments.size() == 2);
    CHECK(deployments[0].id == d1);
    CHECK(deployments[0].environment == "uat");
    CHECK(deployments[0].outcome == "succeeded");
    CHECK(deployments[0].started_by == "U4");
    CHECK(deployments[0].started_at == t0);
    CHECK(deployments[0].finished_at == std::optional<instant>{t0 + 10min});
    CHECK(deployments[0].estimated_downtime == std::optional<std::int64_t>{5});
    CHECK(deployments[0].actual_downtime == std::optional<std::int64_t>{3});
    CHECK(deployments[0].reason.empty());
    CHECK(deployments[1].environment == "beta");
    CHECK(deployments[1].outcome == "rolled_back");
    CHECK_FALSE(deployments[1].estimated_downtime.has_value());
    CHECK_FALSE(deployments[1].actual_downtime.has_value());
    CHECK(deployments[1].reason == "data loss risk");

    const auto steps = releases.deployment_steps(d1);
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].text == "migrations applied");
    CHECK(steps[1].text == "cache warmed");
    CHECK(steps[1].reported_at == t0 + 7min);
    CHECK(releases.deployment_steps(d2).empty());

    releases.add_incident(first.id, {"sev2", "checkout slow", "U5", t0 + 1h});
    const auto incidents = releases.incidents(first.id);
    REQUIRE(incidents.size() == 1);
    CHECK(incidents[0].severity == "sev2");
    CHECK(incidents[0].description == "checkout slow");
    CHECK(incidents[0].reported_by == "U5");
  }

  SECTION("review and review items") {
    CHECK_FALSE(releases.review(first.id).has_value());
    releases.start_review(first.id, "U1", t0);
    releases.add_review_item(first.id, {"good", "fast rollback", std::nullopt, "U2", t0 + 1min});
    releases.add_review_item(first.id, {"action", "automate smoke tests", std::string{"U3"}, "U2", t0 + 2min});
    releases.close_review(first.id, t0 + 1h);
    const auto review = releases.review(first.id);
    REQUIRE(review.has_value());
    CHECK(review->started_by == "U1");
    CHECK(review->closed_at == std::optional<instant>{t0 + 1h});
    const auto items = releases.review_items(first.id);
    REQUIRE(items.size() == 2);
    CHECK(items[0].kind == "good");
    CHECK_FALSE(items[0].owner.has_value());
    CHECK(items[1].kind == "action");
    CHECK(items[1].owner == std::optional<std::string>{"U3"});
    CHECK_THROWS_AS(releases.start_review(first.id, "U1", t0), database_error);  // one review per release
  }
}

TEST_CASE("outbox enqueue, pending, mark_sent", "[storage]") {
  auto db = migrated();
  const auto release_id = release_repository{db}.insert(sample_release());
  outbox box{db};

  outbox_message announcement;
  announcement.platform = "slack";
  announcement.destination = "channel";
  announcement.channel = "C1";
  announcement.release_id = release_id;
  announcement.starts_thread = true;
  announcement.payload = R"({"kind":"announcement","paragraphs":[]})";
  announcement.created_at = t0;
  const auto a = box.enqueue(announcement);

  outbox_message direct;
  direct.platform = "slack";
  direct.destination = "direct";
  direct.recipient = "U8";
  direct.payload = "{}";
  direct.created_at = t0 + 1s;
  const auto b = box.enqueue(direct);

  outbox_message update = direct;
  update.updates = b;
  update.broadcast = true;
  update.destination = "thread";
  const auto c = box.enqueue(update);

  outbox_message teams = direct;
  teams.platform = "teams";
  box.enqueue(teams);

  auto pending = box.pending("slack");
  REQUIRE(pending.size() == 3);
  CHECK(pending[0].id == a);
  CHECK(pending[0].platform == "slack");
  CHECK(pending[0].destination == "channel");
  CHECK(pending[0].channel == "C1");
  CHECK(pending[0].release_id == std::optional<row_id>{release_id});
  CHECK(pending[0].starts_thread);
  CHECK_FALSE(pending[0].broadcast);
  CHECK(pending[0].payload == announcement.payload);
  CHECK(pending[0].created_at == t0);
  CHECK(pending[0].attempts == 0);
  CHECK_FALSE(pending[0].updates.has_value());
  CHECK(pending[1].id == b);
  CHECK(pending[1].recipient == "U8");
  CHECK_FALSE(pending[1].release_id.has_value());
  CHECK(pending[2].id == c);
  CHECK(pending[2].updates == std::optional<row_id>{b});
  CHECK(pending[2].broadcast);
  CHECK(box.pending("slack", 1).size() == 1);
  CHECK(box.pending_count("slack") == 3);
  CHECK(box.pending_count("teams") == 1);
  CHECK(box.pending("console").empty());

  box.count_attempt(a);
  box.count_attempt(a);
  CHECK(box.pending("slack")[0].attempts == 2);

  CHECK_FALSE(box.platform_ref_of(a).has_value());
  box.mark_sent(a, t0 + 1min, "1700000000.000100");
  CHECK(box.platform_ref_of(a) == std::optional<std::string>{"1700000000.000100"});
  pending = box.pending("slack");
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].id == b);
  CHECK(box.pending_count("slack") == 2);
  CHECK_FALSE(box.platform_ref_of(9999).has_value());

  outbox_message bad = direct;
  bad.destination = "carrier-pigeon";
  CHECK_THROWS_AS(box.enqueue(bad), database_error);
}

TEST_CASE("outbox pending_heads: the oldest pending message of each conversation", "[storage]") {
  auto db = migrated();
  outbox box{db};
  const auto enqueue = [&](const std::string& destination, const std::string& channel, const std::string& recipient) {
    outbox_message message;
    message.platform = "slack";
    message.destination = destination;
    message.channel = channel;
    message.recipient = recipient;
    message.payload = "{}";
    message.created_at = t0;
    return box.enqueue(message);
  };
  const auto channel_first = enqueue("channel", "C1", "");
  enqueue("thread", "C1", "");  // the same channel: waits behind the first
  const auto dm_first = enqueue("direct", "", "U8");
  enqueue("direct", "", "U8");
  const auto other_channel = enqueue("thread", "C2", "");
  const auto other_person = enqueue("direct", "", "U9");
  auto heads = box.pending_heads("slack");
  std::vector<row_id> ids;
  for (const auto& head : heads) ids.push_back(head.id);
  CHECK(ids == std::vector<row_id>{channel_first, dm_first, other_channel, other_person});
  box.mark_sent(channel_first, t0, "C1/1.0");
  heads = box.pending_heads("slack");
  REQUIRE_FALSE(heads.empty());
  CHECK(heads.front().channel == "C1");  // the next of C1 is now its head (the oldest of all)
  CHECK(box.pending_heads("slack", 2).size() == 2);
  CHECK(box.pending_heads("teams").empty());
}

TEST_CASE("processed_events stores the reply per platform and event", "[storage]") {
  auto db = migrated();
  processed_events seen{db};
  CHECK_FALSE(seen.stored_reply("slack", "Ev1").has_value());
  seen.record("slack", "Ev1", R"({"reply":"ok"})", t0);
  CHECK(seen.stored_reply("slack", "Ev1")->reply == R"({"reply":"ok"})");
  CHECK_FALSE(seen.stored_reply("slack", "Ev1")->posted);
  CHECK_FALSE(seen.stored_reply("teams", "Ev1").has_value());
  CHECK_FALSE(seen.stored_reply("slack", "Ev2").has_value());
  // An event id is applied once: recording it again is an error, not a silent overwrite.
  CHECK_THROWS_AS(seen.record("slack", "Ev1", "other", t0), database_error);
  CHECK(seen.stored_reply("slack", "Ev1")->reply == R"({"reply":"ok"})");
  seen.record("teams", "Ev1", "teams reply", t0);
  CHECK(seen.stored_reply("teams", "Ev1")->reply == "teams reply");
  seen.mark_reply_posted("slack", "Ev1", t0);
  CHECK(seen.stored_reply("slack", "Ev1")->posted);
  CHECK_FALSE(seen.stored_reply("teams", "Ev1")->posted);
}

TEST_CASE("people_directory completes records, finds by chat id and address, adopts an early chat id", "[storage]") {
  auto db = migrated();
  people_directory people{db, "teams"};
  CHECK(readable_name(people.find("aad-quinn")) == "a person not yet seen");
  // A mention the roster could not resolve: known by the chat id only, and granted a role.
  const auto record = [](std::string id, std::string chat, std::string name, std::string email) {
    person_record person;
    person.user_id = std::move(id);
    person.chat_id = std::move(chat);
    person.display_name = std::move(name);
    person.email = std::move(email);
    return person;
  };
  people.remember(record("29:quinn", "29:quinn", "Quinn Jones", ""), t0);
  role_grants{db}.grant("29:quinn", "qa", "aad-admin", t0);
  CHECK(readable_name(people.find("29:quinn")) == "Quinn Jones");
  // Then she speaks (or the roster answers): one person, under her object id, with her role.
  people.remember(record("aad-quinn", "29:quinn", "", "quinn@contoso.com"), t0 + std::chrono::seconds{5}, true);
  CHECK_FALSE(people.find("29:quinn").has_value());
  const auto quinn = people.find("aad-quinn");
  REQUIRE(quinn.has_value());
  CHECK(quinn->display_name == "Quinn Jones");  // kept: the later record had no name
  CHECK(quinn->refreshed_at.has_value());
  CHECK(role_grants{db}.roles_of("aad-quinn") == std::vector<std::string>{"qa"});
  CHECK(role_grants{db}.roles_of("29:quinn").empty());
  CHECK(people.find_by_chat_id("29:quinn")->user_id == "aad-quinn");
  CHECK(people.find_by_address("QUINN@contoso.com")->user_id == "aad-quinn");
  CHECK_FALSE(people.find_by_address("nobody@contoso.com").has_value());
  CHECK_FALSE(people_directory{db, "slack"}.find("aad-quinn").has_value());
  people.left_team("aad-quinn", t0 + std::chrono::seconds{9});
  CHECK(people.find("aad-quinn")->left_team_at.has_value());
  CHECK(readable_name(people.find("aad-quinn")) == "Quinn Jones");
  people.remember(record("aad-nameless", "", "", "pat@contoso.com"), t0);
  CHECK(readable_name(people.find("aad-nameless")) == "pat@contoso.com");
}

TEST_CASE("role_grants grant, revoke, roles_of", "[storage]") {
  auto db = migrated();
  role_grants grants{db};
  CHECK(grants.roles_of("U1").empty());
  CHECK(grants.grant("U1", "qa", "admin", t0));
  CHECK_FALSE(grants.grant("U1", "qa", "admin", t0));
  CHECK(grants.grant("U1", "dev-lead", "admin", t0));
  CHECK(grants.grant("U2", "qa", "admin", t0));
  CHECK(grants.roles_of("U1") == std::vector<std::string>{"dev-lead", "qa"});
  CHECK(grants.holders_of("qa") == std::vector<std::string>{"U1", "U2"});
  CHECK(grants.holders_of("infra").empty());
  const auto everyone = grants.everyone();
  REQUIRE(everyone.size() == 2);
  CHECK(everyone.at("U1") == std::vector<std::string>{"dev-lead", "qa"});
  CHECK(everyone.at("U2") == std::vector<std::string>{"qa"});
  CHECK(grants.revoke("U1", "qa"));
  CHECK_FALSE(grants.revoke("U1", "qa"));
  CHECK_FALSE(grants.revoke("U3", "qa"));
  CHECK(grants.roles_of("U1") == std::vector<std::string>{"dev-lead"});
  CHECK(grants.holders_of("qa") == std::vector<std::string>{"U2"});
}
