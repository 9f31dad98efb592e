#include "storage/audit_log.hpp"
#include "storage/migrations.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace releasebot::storage;

const instant t0 = instant{std::chrono::sys_days{std::chrono::year{2026} / 3 / 1}} + 9h;
const std::string genesis(64, '0');

audit_entry entry(std::string action, std::optional<row_id> release, std::string details, instant at) {
  audit_entry e;
  e.at = at;
  e.actor = "U1";
  e.platform = "slack";
  e.event_id = "Ev-" + action;
  e.release_id = release;
  e.action = std::move(action);
  e.details = std::move(details);
  return e;
}

// A database holding a chain of five entries, appended in one committed transaction.
struct chain {
  database db = database::open_in_memory();
  audit_log log{db};
  std::vector<audit_entry> written;

  chain() {
    migrate(db);
    transaction tx{db};
    written.push_back(log.append(entry("open", 1, R"({"version":"4.2.0"})", t0)));
    written.push_back(log.append(entry("schedule", 1, R"({"milestone":"cutoff"})", t0 + 1min)));
    written.push_back(log.append(entry("role_grant", std::nullopt, R"({"user":"U2","role":"qa"})", t0 + 2min)));
    written.push_back(log.append(entry("approve", 1, R"({"role":"qa"})", t0 + 3min)));
    written.push_back(log.append(entry("open", 2, R"({"version":"4.3.0"})", t0 + 4min)));
    tx.commit();
  }

  audit_verification verify() { return log.verify(); }
};

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("append numbers entries and chains their hashes", "[audit]") {
  chain c;
  REQUIRE(c.written.size() == 5);
  CHECK(c.written[0].seq == 1);
  CHECK(c.written[0].prev_hash == genesis);
  for (std::size_t i = 0; i < c.written.size(); ++i) {
    INFO("entry " << i + 1);
    CHECK(c.written[i].seq == static_cast<std::int64_t>(i + 1));
    CHECK(c.written[i].hash.size() == 64);
    CHECK(c.written[i].hash.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(c.written[i].hash == audit_log::hash_of(c.written[i]));
    if (i > 0) CHECK(c.written[i].prev_hash == c.written[i - 1].hash);
  }
  // Every hash differs.
  for (std::size_t i = 1; i < c.written.size(); ++i) CHECK(c.written[i].hash != c.written[i - 1].hash);

  const auto verification = c.verify();
  CHECK(verification.intact);
  CHECK(verification.entries == 5);
  CHECK(verification.problem.empty());
}

TEST_CASE("entries are read back as written, per release", "[audit]") {
  chain c;
  const auto first = c.log.for_release(1);
  REQUIRE(first.size() == 3);
  CHECK(first[0].seq == 1);
  CHECK(first[1].seq == 2);
  CHECK(first[2].seq == 4);
  CHECK(first[0].action == "open");
  CHECK(first[0].actor == "U1");
  CHECK(first[0].platform == "slack");
  CHECK(first[0].event_id == "Ev-open");
  CHECK(first[0].release_id == std::optional<row_id>{1});
  CHECK(first[0].details == R"({"version":"4.2.0"})");
  CHECK(first[0].at == t0);
  CHECK(first[0].hash == c.written[0].hash);
  CHECK(first[2].prev_hash == c.written[2].hash);
  CHECK(c.log.for_release(2).size() == 1);
  CHECK(c.log.for_release(3).empty());
}

TEST_CASE("hash_of covers every field", "[audit]") {
  const auto base = entry("open", 1, "{}", t0);
  const auto h = audit_log::hash_of(base);
  auto changed = base;
  changed.actor = "U2";
  CHECK(audit_log::hash_of(changed) != h);
  changed = base;
  changed.at += 1s;
  CHECK(audit_log::hash_of(changed) != h);
  changed = base;
  changed.release_id = std::nullopt;
  CHECK(audit_log::hash_of(changed) != h);
  changed = base;
  changed.details = "{ }";
  CHECK(audit_log::hash_of(changed) != h);
  changed = base;
  changed.prev_hash = "x";
  CHECK(audit_log::hash_of(changed) != h);
  changed = base;
  changed.seq = 2;
  CHECK(audit_log::hash_of(changed) != h);
  // The stored hash itself is not an input.
  changed = base;
  changed.hash = "anything";
  CHECK(audit_log::hash_of(changed) == h);
}

TEST_CASE("an empty trail is intact", "[audit]") {
  auto db = database::open_in_memory();
  migrate(db);
  audit_log log{db};
  const auto verification = log.verify();
  CHECK(verification.intact);
  CHECK(verification.entries == 0);
}

TEST_CASE("an append rolled back with its transaction leaves no trace", "[audit]") {
  chain c;
  {
    transaction tx{c.db};
    c.log.append(entry("cancel", 1, "{}", t0 + 1h));
  }
  CHECK(c.verify().intact);
  CHECK(c.verify().entries == 5);
  transaction tx{c.db};
  const auto next = c.log.append(entry("close", 1, "{}", t0 + 2h));
  tx.commit();
  CHECK(next.seq == 6);
  CHECK(next.prev_hash == c.written[4].hash);
  CHECK(c.verify().intact);
}

TEST_CASE("verify detects tampering", "[audit]") {
  chain c;

  SECTION("an edited row") {
    c.db.execute_script(R"(UPDATE audit_log SET details = '{"role":"dev-lead"}' WHERE seq = 4)");
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(v.entries == 3);
    CHECK(contains(v.problem, "#4"));
    CHECK(contains(v.problem, "altered"));
  }
  SECTION("an edited actor on the first row") {
    c.db.execute_script("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1");
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(v.entries == 0);
    CHECK(contains(v.problem, "#1 was altered"));
  }
  SECTION("an edited row whose hash was recomputed breaks the next link") {
    auto forged = c.written[1];
    forged.details = R"({"milestone":"production"})";
    forged.hash = audit_log::hash_of(forged);
    c.db.prepare("UPDATE audit_log SET details = ?, hash = ? WHERE seq = 2").bind_all(forged.details, forged.hash).execute();
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(v.entries == 2);
    CHECK(contains(v.problem, "#3"));
    CHECK(contains(v.problem, "does not follow"));
  }
  SECTION("a deleted middle row") {
    c.db.execute_script("DELETE FROM audit_log WHERE seq = 3");
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(v.entries == 2);
    CHECK(contains(v.problem, "#3 is missing"));
  }
  SECTION("a deleted last row: the head no longer matches") {
    c.db.execute_script("DELETE FROM audit_log WHERE seq = 5");
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(v.entries == 4);
    CHECK(contains(v.problem, "#5"));
    CHECK(contains(v.problem, "removed"));
  }
  SECTION("every row deleted, head left") {
    c.db.execute_script("DELETE FROM audit_log");
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(contains(v.problem, "removed"));
  }
  SECTION("the head deleted") {
    c.db.execute_script("DELETE FROM audit_head");
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(contains(v.problem, "newest entry is missing"));
  }
  SECTION("an inserted row at the end, correctly chained, is noticed by the head") {
    auto forged = entry("approve", 1, R"({"role":"dev-lead"})", t0 + 10min);
    forged.seq = 6;
    forged.prev_hash = c.written[4].hash;
    forged.hash = audit_log::hash_of(forged);
    c.db.prepare("INSERT INTO audit_log (seq, at, actor, platform, event_id, release_id, action, details, prev_hash, "
                 "hash) VALUES (?,?,?,?,?,?,?,?,?,?)")
        .bind_all(forged.seq, to_iso(forged.at), forged.actor, forged.platform, forged.event_id, forged.release_id,
                  forged.action, forged.details, forged.prev_hash, forged.hash)
        .execute();
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(v.entries == 6);
    CHECK(contains(v.problem, "#6"));
    CHECK(contains(v.problem, "added"));
    CHECK_FALSE(contains(v.problem, "removed"));
  }
  SECTION("an inserted row in the middle (later rows renumbered)") {
    c.db.execute_script("UPDATE audit_log SET seq = seq + 10 WHERE seq >= 3; UPDATE audit_log SET seq = seq - 9 WHERE seq >= 13");
    auto forged = entry("approve", 1, R"({"role":"dev-lead"})", t0 + 150s);
    forged.seq = 3;
    forged.prev_hash = c.written[1].hash;
    forged.hash = audit_log::hash_of(forged);
    c.db.prepare("INSERT INTO audit_log (seq, at, actor, platform, event_id, release_id, action, details, prev_hash, "
                 "hash) VALUES (?,?,?,?,?,?,?,?,?,?)")
        .bind_all(forged.seq, to_iso(forged.at), forged.actor, forged.platform, forged.event_id, forged.release_id,
                  forged.action, forged.details, forged.prev_hash, forged.hash)
        .execute();
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(v.entries == 3);  // #1, #2 and the forged #3 chain; the renumbered old #3 does not
    CHECK(contains(v.problem, "#4"));
  }
  SECTION("a changed hash") {
    c.db.execute_script("UPDATE audit_log SET hash = '" + std::string(64, 'a') + "' WHERE seq = 2");
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(v.entries == 1);
    CHECK(contains(v.problem, "#2 was altered"));
  }
  SECTION("a changed prev_hash") {
    c.db.execute_script("UPDATE audit_log SET prev_hash = '" + genesis + "' WHERE seq = 2");
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(v.entries == 1);
    CHECK(contains(v.problem, "#2 does not follow"));
  }
  SECTION("an unreadable time") {
    c.db.execute_script("UPDATE audit_log SET at = 'last tuesday' WHERE seq = 2");
    const auto v = c.verify();
    CHECK_FALSE(v.intact);
    CHECK(contains(v.problem, "unreadable"));
  }
}
